"""Every notebook in notebooks/ runs offline against the bundled fake with no error output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted(p for p in (Path(__file__).parent.parent / "notebooks").glob("*.ipynb")
                   if not p.name.endswith(".executed.ipynb"))
# What a reader must see in each notebook's outputs (every notebook must at least run cleanly).
EXPECTED = {
    "quickstart.ipynb": ["offline fake", "'completed'", "'cancelled'"],
    "testing_with_the_fake.ipynb": ["'completed'", "429: 429", "batches now held: 2", "'expired'"],
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_offline_without_errors(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("BATCHES_FAKE_SPEED", "2000")
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    for needle in EXPECTED.get(path.name, []):
        assert needle in text
    if path.name == "quickstart.ipynb":
        state = json.dumps(nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}))
        assert "completed" in state and "cancelled" in state  # the saved widget views hold the final statuses
