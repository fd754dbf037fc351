"""The layout's rules, read from the source with `ast`: no import cycle in either package, no module importing
another module's underscore name, fake_server never importing batches_ext, and batches_ext's wings importing
each other only through their doors (docs/architecture.md draws the same picture)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("batches_ext", "fake_server")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    if level == 0:
        return target or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _imports(package: str, type_checking: bool = False) -> list[tuple[str, str, list[str], bool]]:
    """(importer, imported module, names imported from it, at module level) for every import in `package`
    (those under `if TYPE_CHECKING:` too when `type_checking`)."""
    known = _modules(package)
    found = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(), str(path))
        is_package = path.name == "__init__.py"
        top_level = {id(n) for n in tree.body}
        guarded = set()  # imports under `if TYPE_CHECKING:` cost nothing at run time
        for node in tree.body:
            if not type_checking and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                guarded.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            if isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node.level, node.module)
                names = [a.name for a in node.names]
                for name in names:  # `from . import x` imports the module x
                    if f"{base}.{name}" in known:
                        found.append((module, f"{base}.{name}", [], id(node) in top_level))
                found.append((module, base, names, id(node) in top_level))
            elif isinstance(node, ast.Import):
                found.extend((module, a.name, [], id(node) in top_level) for a in node.names)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package: str) -> None:
    """Counting every import: module level, inside functions and under TYPE_CHECKING alike."""
    known = _modules(package)
    graph: dict[str, set[str]] = {m: set() for m in known}
    for importer, imported, _, _ in _imports(package, type_checking=True):
        if imported in known and imported != importer:
            if importer.startswith(imported + "."):  # a module importing its own package's door
                continue
            graph[importer].add(imported)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_another_modules_underscore_name(package: str) -> None:
    offenders = [
        f"{importer} imports {name} from {imported}"
        for importer, imported, names, _ in _imports(package)
        for name in names
        if name.startswith("_") and not name.startswith("__") and imported.startswith(package)
    ]
    assert not offenders, offenders


def test_fake_server_never_imports_batches_ext() -> None:
    offenders = [(a, b) for a, b, _, _ in _imports("fake_server") if b.split(".")[0] == "batches_ext"]
    assert not offenders, offenders


WINGS = ("client", "jsonl", "jobs", "magics", "widgets", "render")


def test_batches_ext_wings_meet_only_through_their_doors() -> None:
    """`batches_ext.jobs.submit` may import `batches_ext.client` (the door), never `batches_ext.client.uploads`."""
    offenders = []
    for importer, imported, _, _ in _imports("batches_ext", type_checking=True):
        parts = imported.split(".")
        if parts[0] != "batches_ext" or len(parts) < 3 or parts[1] not in WINGS:
            continue
        if importer.split(".")[:2] != parts[:2]:
            offenders.append(f"{importer} imports {imported}")
    assert not offenders, offenders


def test_only_the_client_wing_imports_requests() -> None:
    offenders = [
        importer for importer, imported, _, _ in _imports("batches_ext")
        if imported.split(".")[0] in ("requests", "urllib3", "requests_toolbelt")
        and not importer.startswith("batches_ext.client")
    ]
    assert not offenders, offenders
