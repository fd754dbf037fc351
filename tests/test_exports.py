"""Every public face exports what it claims: each name in a door's `__all__` resolves, `__all__` lists every
public class and function the door holds, and the top-level lazy face resolves each name to the same object
as the wing that defines it (httpx's tests/test_exported_members.py, for our doors)."""

from __future__ import annotations

import importlib
import inspect

import pytest

DOORS = [
    "batches_ext",
    "batches_ext.client",
    "batches_ext.jsonl",
    "batches_ext.jobs",
    "batches_ext.magics",
    "batches_ext.render",
    "batches_ext.widgets",
    "batches_ext.errors",
    "batches_ext.models",
    "batches_ext.spec",
    "batches_ext.config",
    "batches_ext.pricing",
    "batches_ext.tokens",
    "fake_server",
]


@pytest.mark.parametrize("name", DOORS)
def test_every_exported_name_resolves(name: str) -> None:
    module = importlib.import_module(name)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, missing
    assert len(set(module.__all__)) == len(module.__all__), "a name is exported twice"


@pytest.mark.parametrize("name", [d for d in DOORS if d not in ("batches_ext", "fake_server")])
def test_every_public_class_and_function_of_a_door_is_exported(name: str) -> None:
    module = importlib.import_module(name)
    public = {
        n for n, value in vars(module).items()
        if not n.startswith("_") and (inspect.isclass(value) or inspect.isfunction(value))
        and (value.__module__ == name or value.__module__.startswith(name + "."))  # defined here, not imported
    }
    assert public <= set(module.__all__), sorted(public - set(module.__all__))


def test_the_lazy_top_level_face_gives_each_wings_own_object() -> None:
    """`batches_ext.X` is the very object the wing (or root module) that defines X exports."""
    import batches_ext

    for name in batches_ext.__all__:
        value = getattr(batches_ext, name)
        parts = value.__module__.split(".")
        door = importlib.import_module(".".join(parts[:2]))  # batches_ext.client.batches_client -> batches_ext.client
        assert name in door.__all__ and getattr(door, name) is value, name
    assert set(dir(batches_ext)) >= set(batches_ext.__all__)
