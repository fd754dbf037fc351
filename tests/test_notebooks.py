"""Every notebook in notebooks/ runs offline against the bundled fake with no error output, three times in a
row while other processes keep every core busy: a notebook that raced the wall clock would fail here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted(p for p in (Path(__file__).parent.parent / "notebooks").glob("*.ipynb")
                   if not p.name.endswith(".executed.ipynb"))
RUNS = 3
# What a reader must see in each notebook's outputs (every notebook must at least run cleanly).
EXPECTED = {
    "quickstart.ipynb": ["offline fake", "'completed'", "'cancelled'", "input tokens", "batch prices of",
                         "estimated before: $0.0000", "spent:            $0.0000", "2 jobs (journal", "1/1 parts done"],
    "testing_with_the_fake.ipynb": ["'completed'", "429: 429", "batches now held: 2", "'expired'"],
}


@pytest.fixture(scope="module")
def cpu_load() -> Iterator[int]:
    """One busy process per core for the whole module; yields how many."""
    n = os.cpu_count() or 2
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield n
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("run", range(1, RUNS + 1), ids=lambda n: f"run{n}")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_offline_without_errors_under_load(path: Path, run: int, cpu_load: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue")
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    for needle in EXPECTED.get(path.name, []):
        assert needle in text
    if path.name == "quickstart.ipynb":
        state = json.dumps(nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}))
        assert "completed" in state and "cancelled" in state  # the saved widget views hold the final statuses
