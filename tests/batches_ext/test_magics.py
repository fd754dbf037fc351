"""%batches through IPython's own InteractiveShell, against the fake on a ManualClock."""

from __future__ import annotations

import subprocess
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from batches_ext import BatchesClient
from fake_server import FakeBatchesAPI, ManualClock

CANARY = "sk-CANARY-do-not-print"


@pytest.fixture
def shell(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "batches_ext")
    magics = sh.magics_manager.registry["BatchesMagics"]
    fake = FakeBatchesAPI(clock=ManualClock())
    magics._offline = BatchesClient.offline(fake)
    yield sh, fake
    magics._offline = None
    sh.run_line_magic("unload_ext", "batches_ext")


def run(sh, cell: str):
    with capture_output() as cap:
        result = sh.run_cell(cell, store_history=False)
    text = cap.stdout + cap.stderr + "".join(str(o.data) for o in cap.outputs)
    return result, text


def test_whole_workflow_from_cells(shell, tmp_path) -> None:
    sh, fake = shell
    result, _ = run(sh, "b = %batches create --meta team=nlp x.jsonl")
    assert not result.success  # no such file
    result, text = run(sh, "%%batches create --model gpt-4o-mini\nName a colour\nName a fruit")
    assert result.success, text
    batch = result.result
    assert batch.status == "validating"
    fake.advance(10_000)
    result, _ = run(sh, f"%batches get {batch.id}")
    assert result.result.status == "completed"
    listed = sh.run_line_magic("batches", "list --status completed")
    assert [b.id for b in listed] == [batch.id] and "offline fake" in listed._repr_html_()
    out = tmp_path / "res.jsonl"
    res = sh.run_line_magic("batches", f"results {batch.id} -o {out} --as myres")
    assert len(res) == 2 and sh.user_ns["myres"] is res and out.exists()
    assert [row.custom_id for row in res] == ["request-1", "request-2"]


def test_cancel_dry_run_and_fake_controls(shell) -> None:
    sh, fake = shell
    seeded = fake.seed_batch("in_progress", requests=20)
    cancelled = sh.run_line_magic("batches", f"cancel {seeded['id']}")
    assert cancelled.status == "cancelling"
    result, text = run(sh, f"%batches cancel {fake.seed_batch('completed')['id']}")
    assert not result.success and "409" in text and "Cannot cancel" in text and "Traceback" not in text
    dry = sh.run_cell_magic("batches", "create --model m --dry-run", "one\ntwo\nthree")
    assert "3 lines" in repr(dry) and "nothing created" in repr(dry)
    assert len(fake.batches()) == 2


@pytest.mark.parametrize(
    ("cell", "needle"),
    [
        ("%batches frobnicate", "unknown subcommand 'frobnicate'"),
        ("%batches list --limit many", "invalid int value"),
        ("%batches create missing.jsonl", "no such file"),
        ("%batches get batch_nope", "404 Not Found"),
        ("%%batches create\nhello", "--model is required"),
        ("%%batches create --model m\n{\"custom_id\": \"a\"}", "line 1"),
        ("%batches create --meta novalue x", "KEY=VALUE"),
        ("%batches fake advance", "seconds"),
    ],
)
def test_mistakes_are_one_line_and_fail_the_cell(shell, cell: str, needle: str) -> None:
    sh, _ = shell
    result, text = run(sh, cell)
    assert not result.success
    assert needle in text
    assert "Traceback" not in text


def test_the_key_never_appears(shell) -> None:
    sh, fake = shell
    fake.seed_batch("completed")
    texts = [run(sh, cell)[1] for cell in ("%batches config", "%batches list", "%batches help", "%batches fake status",
                                          "%batches get batch_nope")]
    assert texts and all(CANARY not in t for t in texts)
    assert "api_key" in texts[0] and "set" in texts[0]


def test_no_key_and_no_fake_says_how_to_fix_it(monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "batches_ext")
    try:
        result, text = run(sh, "%batches list")
        assert not result.success and "OPENAI_API_KEY" in text and "fake on" in text
    finally:
        sh.run_line_magic("unload_ext", "batches_ext")


def test_load_ext_is_light() -> None:
    code = ("import sys; from IPython.core.interactiveshell import InteractiveShell as S; "
            "S.instance().run_line_magic('load_ext', 'batches_ext'); "
            "print(sorted(m for m in ('requests', 'ipywidgets', 'pandas', 'fake_server') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_watch_table_and_unload_close_every_widget(shell) -> None:
    from batches_ext.widgets import live_views

    sh, fake = shell
    batch = fake.seed_batch("in_progress", requests=5)
    monitor = sh.run_line_magic("batches", f"watch {batch['id']}")
    table = sh.run_line_magic("batches", "table")
    assert batch["id"] in monitor.batch_ids and batch["id"] in table.batch_ids
    assert len(live_views()) >= 2
    sh.run_line_magic("unload_ext", "batches_ext")
    assert live_views() == [] and table.closed and monitor.closed
    sh.run_line_magic("load_ext", "batches_ext")
    sh.magics_manager.registry["BatchesMagics"]._offline = BatchesClient.offline(fake)


def test_completion_offers_subcommands_then_recent_ids(shell) -> None:
    sh, fake = shell
    batch = fake.seed_batch("completed")
    sh.run_line_magic("batches", f"get {batch['id']}")
    _, first = sh.complete("", "%batches ")
    assert "list" in first and "create" in first
    _, second = sh.complete("", "%batches get ")
    assert batch["id"] in second


def test_question_mark_shows_the_full_help(shell) -> None:
    sh, _ = shell
    doc = sh.find_line_magic("batches").__doc__
    assert all(word in doc for word in ("create", "results", "--dry-run", "fake", "config"))
