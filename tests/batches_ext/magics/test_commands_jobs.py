"""%batches and jobs: create with a batch size and a token budget (the rest created as `watch` goes), `jobs` from the
journal (a discarded fake's job shown as gone), `--remote`, `results -o` noted in the journal, `retry` and
`cancel` of a job, the budget as a setting, and a new IPython in another process resuming a job from the journal
and joining its results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from traitlets import TraitError

from batches_ext.client import BatchesClient
from batches_ext.jobs import Job, JobList, submit
from batches_ext.jsonl import build_requests
from fake_server import FakeBatchesAPI, ManualClock

from .conftest import magics, run

ROOT = Path(__file__).resolve().parents[3]
PROMPTS = "\n".join(f"Name thing number {i}." for i in range(1, 9))


def test_a_job_over_its_budget_is_created_as_watch_goes_and_listed_with_its_spend(shell, tmp_path) -> None:
    sh, fake = shell
    result, text, _ = run(sh, f"%%batches create --model gpt-4o-mini --batch-size 2 --max-enqueued-tokens 50\n"
                              f"{PROMPTS}")  # 12 tokens a line: two parts of two lines fit
    assert result.success, text
    job = result.result
    assert isinstance(job, Job) and len(job.parts) == 4 and len(fake.batches()) == 2
    assert "pending: waits for room in the token budget" in str(job)
    result, text, cap = run(sh, f"%batches watch {job.id} --text")
    assert result.success, text
    frames = [f for f in cap.stderr.replace("\n", "\r").split("\r") if "100%|" in f]
    assert frames and "8/8 done" in frames[-1] and not any("pending" in f for f in frames), frames
    assert "parts 3, 4 pending" in cap.stderr  # the bar's total is the job's 8 lines from the start
    assert [b.status for b in result.result] == ["completed"] * 4 and len(fake.batches()) == 4
    out = tmp_path / "res.csv"
    res = sh.run_line_magic("batches", f"results {job.id} -o {out}")
    assert len(res) == 8 and all(r.ok for r in res) and res.spend > 0
    listed = sh.run_line_magic("batches", "jobs")
    assert isinstance(listed, JobList) and listed.ids == [job.id]
    shown = repr(listed)
    assert "4/4 parts done" in shown and "/res.csv" in shown and "$0.0000" in shown and "offline fake" in shown
    assert listed[0].results_path == str(out)


def test_jobs_shows_a_discarded_fakes_job_as_gone_and_watch_says_so(shell) -> None:
    sh, fake = shell
    job = sh.run_cell_magic("batches", "create --model gpt-4o-mini --batch-size 1", "a\nb")
    sh.run_line_magic("batches", "fake on --manual")  # a new fake: the old one and its batches are gone
    assert "offline fake (gone)" in repr(sh.run_line_magic("batches", "jobs"))
    result, text, _ = run(sh, f"%batches watch {job.id}")
    assert not result.success and "Traceback" not in text
    assert f"%batches watch: {job.id} ran on an offline fake that no longer exists" in text


def test_jobs_remote_adds_a_job_found_only_on_the_server(shell) -> None:
    sh, fake = shell
    client = magics(sh).session.client()
    elsewhere = submit(client, build_requests(["x", "y"], model="gpt-4o-mini"), batch_size=1, journal=False)
    assert sh.run_line_magic("batches", "jobs").ids == []
    remote = sh.run_line_magic("batches", "jobs --remote")
    assert remote.ids == [elsewhere.id] and "(from the server)" in repr(remote)
    assert [p.batch_id for p in remote[0].parts] == elsewhere.batch_ids


def test_the_budget_is_a_setting_and_create_uses_it(shell) -> None:
    sh, fake = shell
    sh.run_line_magic("config", "BatchesMagics.max_enqueued_tokens = {'gpt-4o-mini': 50}")
    try:
        assert "{'gpt-4o-mini': 50}" in repr(sh.run_line_magic("batches", "config"))
        job = sh.run_cell_magic("batches", "create --model gpt-4o-mini --batch-size 2", PROMPTS)
        assert len(job.parts) == 4 and len(fake.batches()) == 2
        assert job.options["max_enqueued_tokens"] == {"gpt-4o-mini": 50}
        dry = sh.run_cell_magic("batches", "create --model gpt-4o-mini --batch-size 2 --dry-run", PROMPTS)
        assert dry.batches == 4 and "input tokens 96 (exact)" in repr(dry) and "cost" in repr(dry)
        with pytest.raises(TraitError, match="max_enqueued_tokens must be a positive number"):
            magics(sh).max_enqueued_tokens = {"gpt-4o-mini": -1}
    finally:
        sh.run_line_magic("config", "BatchesMagics.max_enqueued_tokens = None")


def test_create_warns_in_one_line_when_inputs_may_expire_first(shell) -> None:
    sh, _ = shell
    result, text, _ = run(sh, f"%%batches create --model gpt-4o-mini --batch-size 2 --max-enqueued-tokens 20 "
                              f"--expires-after 1h\n{PROMPTS}")
    assert result.success and "Traceback" not in text
    assert "%batches create: warning: the input files expire 1 hour after upload" in text


def test_retry_and_cancel_of_a_job(shell) -> None:
    sh, fake = shell
    fake.backend.quota.limits["gpt-4o-mini"] = 3  # no part fits: each is refused until it is given up
    job = sh.run_cell_magic("batches", "create --model gpt-4o-mini --batch-size 4", PROMPTS)
    sh.run_line_magic("batches", f"watch {job.id} --text")
    fake.backend.quota.limits["gpt-4o-mini"] = 10_000
    again = sh.run_line_magic("batches", f"retry {job.id} --batch-size 8")
    assert isinstance(again, Job) is False and again.status == "validating"  # one part: its Batch
    assert again.metadata["batches_ext_retry_of"] == job.id
    later = sh.run_cell_magic("batches", "create --model gpt-4o-mini --batch-size 2 --max-enqueued-tokens 30",
                              PROMPTS)
    result, text, _ = run(sh, f"%batches cancel {later.id}")
    assert result.success and f"{later.id}: 3 parts not created yet withdrawn" in text
    assert [p.state for p in Job.load(later.id).parts][1:] == ["withdrawn"] * 3


def test_retry_of_a_job_whose_inputs_expired_says_what_to_do_in_one_line(shell) -> None:
    sh, fake = shell
    job = sh.run_cell_magic("batches", "create --model gpt-4o-mini --batch-size 4 --expires-after 1h", PROMPTS)
    sh.run_line_magic("batches", f"watch {job.id} --text")
    fake.advance(2 * 3600)
    result, text, _ = run(sh, f"%batches retry {job.id}")
    assert not result.success and "Traceback" not in text, text
    assert (f"retry_failed(client, job, inputs=...); %batches retry cannot read them: in Python, "
            f"job = Job.load({job.id!r}) first") in text, text


NEW_KERNEL = textwrap.dedent("""
    import json, sys
    import requests
    from IPython.core.interactiveshell import InteractiveShell
    base, job_id = sys.argv[1], sys.argv[2]
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "batches_ext")
    sh.run_line_magic("config", f"BatchesMagics.base_url = '{base}'")
    client = sh.magics_manager.registry["BatchesMagics"].session.client()
    control = base.rsplit("/v1", 1)[0] + "/__fake__/clock"
    client.sleep = lambda s: requests.post(control, json={"advance": s}, timeout=10)  # time moves as it waits
    listed = sh.run_line_magic("batches", "jobs")
    final = sh.run_line_magic("batches", f"watch {job_id} --text")
    res = sh.run_line_magic("batches", f"results {job_id}")
    print(json.dumps({"listed": listed.ids, "final": [b.status for b in final],
                      "rows": [[r.custom_id, r.status, r.answer] for r in res]}))
""")


def test_a_new_ipython_in_another_process_resumes_a_job_from_the_journal_and_joins_its_results(monkeypatch) -> None:
    """Kernel 1 creates a job that exceeds its budget, with most parts still to create, and goes away. A new
    IPython (another process, nothing in memory) finds it in the journal, watches it to the end (creating the rest)
    and joins every line's result in input order."""
    fake = FakeBatchesAPI(clock=ManualClock())
    with fake.serve(control=True) as server:
        client = BatchesClient(api_key="sk-test", base_url=server.base_url)
        lines = build_requests([f"Name thing number {i}." for i in range(1, 9)], model="gpt-4o-mini")
        job = submit(client, lines, batch_size=2, max_enqueued_tokens=50)
        assert len(fake.batches()) == 2 and len(job.pending) == 2
        client.close()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENAI_API_KEY": "sk-test"}
        done = subprocess.run([sys.executable, "-c", NEW_KERNEL, server.base_url, job.id], env=env,
                              capture_output=True, timeout=180)
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        got = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert got["listed"] == [job.id] and got["final"] == ["completed"] * 4
    assert [row[0] for row in got["rows"]] == [line["custom_id"] for line in lines]
    assert all(status == "ok" for _, status, _ in got["rows"])
    assert got["rows"][0][2] == "Echo: Name thing number 1." and len(fake.batches()) == 4


def test_an_interrupted_job_says_so_in_one_line_everywhere(shell, monkeypatch) -> None:
    """A submit stopped during its uploads: `jobs` names the parts never uploaded, `watch` and `results` end with
    one warning line (no module path, no source line) saying how to run them, and `retry` says the same."""
    sh, _ = shell
    client = magics(sh).session.client()
    real, calls = client.upload_file, {"n": 0}

    def upload(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(client, "upload_file", upload)
    with pytest.raises(KeyboardInterrupt):
        submit(client, build_requests(["a", "b", "c", "d"], model="gpt-4o-mini"), batch_size=2)
    monkeypatch.setattr(client, "upload_file", real)
    [job] = sh.run_line_magic("batches", "jobs")
    _, text, _ = run(sh, "%batches jobs")
    assert "1 part never uploaded (submit interrupted; 2 lines: retry with inputs=)" in text
    for cell in (f"%batches watch {job.id} --text", f"%batches results {job.id}"):
        result, text, _ = run(sh, cell)
        warned = [line for line in text.splitlines() if "warning:" in line]
        assert result.success and len(warned) == 1, text
        assert "2 lines (part 2/2) are missing" in warned[0] and "retry_failed(client, job, inputs=...)" in warned[0]
        assert "commands.py" not in text and "res = results" not in text
    result, text, _ = run(sh, f"%batches retry {job.id}")
    assert not result.success and f"Job.load('{job.id}')" in text
