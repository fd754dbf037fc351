"""instructor's BatchProcessor and bespokelabs-curator's batch mode, as shipped, against the loopback fake.

Before issue 13 both failed: their in-memory uploads (named `upload` by the SDK) were refused, and
structured outputs came back as `Echo: ...`. Marked `thirdparty` (`pytest -m thirdparty` runs only these);
they take a few seconds and skip, with the reason, where the clients are not installed (see conftest.py).
"""

from __future__ import annotations

import json

import pytest

from fake_server import FakeBatchesAPI, ManualClock, SystemClock
from tests.thirdparty.conftest import run_script

pytestmark = pytest.mark.thirdparty


def _last_json(out: str) -> dict:
    return json.loads([line for line in out.splitlines() if line.startswith("{")][-1])


def test_instructor_batch_processor_submits_in_memory_and_parses_every_result(thirdparty_python, tmp_path) -> None:
    python = thirdparty_python("instructor", "instructor")
    fake = FakeBatchesAPI(clock=ManualClock())  # the script moves it through the control plane
    with fake.serve(control=True) as server:
        done = run_script(python, "instructor_batch.py", server.base_url, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    result = _last_json(done.stdout)
    assert result["status"] == "completed" and result["counts"] == {"total": 5, "completed": 5, "failed": 0}
    assert result["results"] == 5 and result["errors"] == [] and len(result["parsed"]) == 5
    assert result["custom_ids"] == [f"request-{i}" for i in range(5)]
    assert all(row["name"] and row["population"] >= 0 for row in result["parsed"])
    [uploaded] = [f for f in fake.files() if f["purpose"] == "batch"]
    assert uploaded["filename"] == "upload"  # the SDK's name for in-memory bytes: accepted as JSONL
    [batch] = fake.batches()
    assert batch["metadata"] == {"job": "instructor"} and result["listed"] == [batch["id"]]


def test_curator_batch_mode_returns_parsed_rows(thirdparty_python, tmp_path) -> None:
    python = thirdparty_python("bespokelabs.curator", "bespokelabs-curator")
    fake = FakeBatchesAPI(clock=SystemClock(speed=3600))  # curator sleeps between polls: simulated hours fly
    with fake.serve() as server:
        done = run_script(python, "curator_batch.py", server.base_url, tmp_path, timeout=400)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    result = _last_json(done.stdout)
    assert result["rows"] == 4 and {"title", "lines"} <= set(result["columns"]), result
    assert len(result["first"]["lines"]) == 3
    assert {b["status"] for b in fake.batches()} == {"completed"}
    assert all(b["request_counts"]["failed"] == 0 for b in fake.batches())
