"""The whole error tree: every exception batches_ext raises on purpose is a BatchesError (read from the source:
no `raise ValueError(...)`, `TypeError`, `KeyError`, `FileNotFoundError`, `RuntimeError` escapes a module), and
the tree is what errors.py draws."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import pytest

from batches_ext import errors

PACKAGE = Path(errors.__file__).parent
BUILTIN_ERRORS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}
# (module, exception, why it is not a BatchesError)
ALLOWED = {
    ("__init__.py", "AttributeError"): "the lazy face's module __getattr__: the protocol for an unknown name",
    ("jsonl/lines.py", "ValueError"): "json's parse_constant hook: caught at once, never escapes parse_json_line",
    ("magics/views.py", "KeyError"): "SettingsView['name'] is a mapping lookup: the mapping protocol's KeyError",
}


def _raises() -> list[tuple[str, str, int]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and isinstance(node.exc.func, ast.Name):
                found.append((path.relative_to(PACKAGE).as_posix(), node.exc.func.id, node.lineno))
    return found


def test_no_builtin_exception_is_raised_on_purpose() -> None:
    offenders = [f"{module}:{line} raises {name}" for module, name, line in _raises()
                 if name in BUILTIN_ERRORS and (module, name) not in ALLOWED]
    assert not offenders, offenders


def test_the_allowances_are_still_needed() -> None:
    present = {(module, name) for module, name, _ in _raises()}
    assert set(ALLOWED) <= present, set(ALLOWED) - present


@pytest.mark.parametrize("name", errors.__all__)
def test_every_exception_of_the_module_is_in_the_tree(name: str) -> None:
    value = getattr(errors, name)
    if isinstance(value, type) and issubclass(value, BaseException):
        assert issubclass(value, errors.BatchesError)
        assert name in (errors.__doc__ or ""), f"{name} is not drawn in the tree of errors.py's docstring"


def test_input_errors_are_value_errors_and_job_errors_carry_the_job() -> None:
    assert issubclass(errors.InputError, ValueError)
    err = errors.JobError("part 2 failed", job="the job")
    assert err.job == "the job" and str(err) == "part 2 failed"
