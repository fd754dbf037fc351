"""Every import the README shows runs, and every dotted name it mentions (`batches_ext.save_batch_files`,
`fake_server.responders`) exists: a reader who copies one gets what it names, not an ImportError."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
IMPORTS = sorted({line.strip() for block in BLOCKS for line in block.splitlines()
                  if re.match(r"\s*(from \S+ import |import )", line)})
DOTTED = sorted(set(re.findall(r"`((?:batches_ext|fake_server)(?:\.\w+)+)", README)))


def test_the_readme_shows_imports_and_names() -> None:
    assert len(IMPORTS) >= 2 and len(DOTTED) >= 3


@pytest.mark.parametrize("statement", IMPORTS)
def test_each_import_in_the_readme_runs(statement: str) -> None:
    exec(compile(statement, "README.md", "exec"), {})


@pytest.mark.parametrize("dotted", DOTTED)
def test_each_dotted_name_in_the_readme_exists(dotted: str) -> None:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr)
        return
    pytest.fail(f"{dotted} does not import")
