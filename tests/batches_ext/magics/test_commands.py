"""%batches through IPython's own InteractiveShell, against the fake on a ManualClock: every subcommand's
return value and what the cell shows."""

from __future__ import annotations

import json
import os
import time

import pytest

from batches_ext.jobs import Results
from batches_ext.magics import BatchesMagics, BatchList, DryRun, SettingsView
from batches_ext.models import Batch
from fake_server import ManualClock

from .conftest import CANARY, WIDGET_MIME, html, magics, run


def test_cell_prompts_to_results_end_to_end(shell, tmp_path) -> None:
    sh, fake = shell
    result, text, _ = run(sh, "%%batches create --model gpt-4o-mini --system 'One word.'\nName a colour\n\nName a fruit")
    assert result.success, text
    batch = result.result
    assert isinstance(batch, Batch) and batch.status == "validating"
    sent = [json.loads(line) for line in fake.file_content(batch.input_file_id).splitlines()]
    assert [s["custom_id"] for s in sent] == ["request-1", "request-2"]
    assert sent[0]["body"]["messages"][0] == {"role": "system", "content": "One word."}

    fake.advance(10_000)
    got = sh.run_line_magic("batches", f"get {batch.id}")
    assert got.status == "completed" and "OFFLINE FAKE" in html(sh, got)

    out = tmp_path / "res.jsonl"
    res = sh.run_line_magic("batches", f"results {batch.id} -o {out} --as myres")
    assert isinstance(res, Results) and sh.user_ns["myres"] is res
    assert [row.custom_id for row in res] == ["request-1", "request-2"] and all(row.ok for row in res)
    assert [json.loads(line)["custom_id"] for line in out.read_text().splitlines()] == ["request-1", "request-2"]
    assert "OFFLINE FAKE" in html(sh, res) and "2 results" in html(sh, res)
    assert len(sh.run_line_magic("batches", f"results {batch.id} --errors")) == 0


def test_a_returned_value_shows_once(shell) -> None:
    sh, fake = shell
    seeded = fake.seed_batch("completed")
    result, text, cap = run(sh, f"%batches get {seeded['id']}")
    assert result.success and isinstance(result.result, Batch)
    assert cap.outputs == [] and text.count(seeded["id"]) == 1  # only the Out[] value, no extra display
    result, text, cap = run(sh, f"b = %batches get {seeded['id']}")
    assert result.success and sh.user_ns["b"].id == seeded["id"] and text == "" and cap.outputs == []


def test_create_from_a_file_with_metadata_and_dry_run(shell, tmp_path) -> None:
    sh, fake = shell
    path = tmp_path / "in.jsonl"
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {i}"}]}} for i in range(3)]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))

    dry = sh.run_line_magic("batches", f"create {path} --dry-run")
    assert isinstance(dry, DryRun) and fake.batches() == []
    assert (dry.lines, dry.endpoint, dry.model, dry.needs_split) == (3, "/v1/chat/completions", "gpt-4o-mini", False)
    assert dry.bytes == path.stat().st_size
    assert repr(dry).splitlines()[0] == (f"[offline fake] dry run: 3 lines, {dry.bytes:,} bytes, endpoint "
                                         "/v1/chat/completions, model gpt-4o-mini; one batch; nothing created")
    assert "  input tokens 27 (exact)" in repr(dry) and "not capped (3 lines set no max_tokens)" in repr(dry)
    assert "OFFLINE FAKE" in dry._repr_html_()

    # the PATH may follow --meta pairs
    batch = sh.run_line_magic("batches", f"create --meta team=nlp run=7 {path}")
    assert batch.metadata["team"] == "nlp" and batch.metadata["run"] == "7"
    repeated = sh.run_line_magic("batches", f"create {path} --meta team=nlp --meta run=8 owner=al")
    assert {k: repeated.metadata[k] for k in ("team", "run", "owner")} == {"team": "nlp", "run": "8", "owner": "al"}
    assert fake.file_content(batch.input_file_id).decode().splitlines() == path.read_text().splitlines()


def test_dry_run_reports_a_split(shell, tmp_path) -> None:
    sh, fake = shell
    path = tmp_path / "big.jsonl"
    line = {"custom_id": "", "method": "POST", "url": "/v1/embeddings", "body": {"model": "e", "input": "x"}}
    path.write_text("".join(json.dumps({**line, "custom_id": f"r{i}"}) + "\n" for i in range(50_001)))
    dry = sh.run_line_magic("batches", f"create {path} --dry-run")
    assert dry.needs_split and dry.lines == 50_001 and fake.batches() == []
    assert "; 2 batches: 50,000 + 1 lines; nothing created" in repr(dry) and dry.batches == 2
    assert "2 batches: 50,000 + 1 lines" in dry._repr_html_()


def test_cell_of_jsonl_request_lines(shell) -> None:
    sh, fake = shell
    body = "\n".join(json.dumps({"custom_id": f"q{i}", "method": "POST", "url": "/v1/chat/completions",
                                 "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}})
                     for i in range(2))
    batch = sh.run_cell_magic("batches", "create", body)
    sent = [json.loads(x)["custom_id"] for x in fake.file_content(batch.input_file_id).splitlines()]
    assert sent == ["q0", "q1"]
    dry = sh.run_cell_magic("batches", "create --model m --dry-run", "one\ntwo\nthree")
    assert dry.lines == 3 and dry.model == "m" and len(fake.batches()) == 1


def test_create_watch_shows_a_monitor_and_returns_the_batch(shell, monkeypatch) -> None:
    sh, fake = shell
    monkeypatch.setattr(sh, "kernel", object(), raising=False)  # a shell with a kernel: a notebook frontend
    result, text, cap = run(sh, "%%batches create --model gpt-4o-mini --watch\nhello")
    assert result.success, text
    assert isinstance(result.result, Batch)
    assert [o for o in cap.outputs if WIDGET_MIME in o.data]
    assert magics(sh).session.widgets()[0].batch_ids == [result.result.id]


def test_list_limit_status_all(shell) -> None:
    sh, fake = shell
    for i in range(30):
        fake.seed_batch("completed" if i % 3 else "failed", requests=1)
    listed = sh.run_line_magic("batches", "list")
    assert isinstance(listed, BatchList) and len(listed) == 25  # page_size
    assert listed.ids == [b["id"] for b in fake.batches()][:25]  # newest first, like the API
    assert len(sh.run_line_magic("batches", "list --limit 3")) == 3
    failed = sh.run_line_magic("batches", "list --status failed")
    assert len(failed) == 10 and {b.status for b in failed} == {"failed"}
    assert len(sh.run_line_magic("batches", "list --status failed --limit 4")) == 4
    assert len(sh.run_line_magic("batches", "list --all")) == 30
    assert len(sh.run_line_magic("batches", "list --all --status completed,failed")) == 30
    page = listed._repr_html_()
    assert "OFFLINE FAKE" in page and "25 batches" in page and listed[0].id in page
    assert repr(listed).startswith("[offline fake]") and repr(listed).endswith("25 batches")


def test_cancel_one_and_several(shell) -> None:
    sh, fake = shell
    one, two, three = (fake.seed_batch("in_progress", requests=20)["id"] for _ in range(3))
    cancelled = sh.run_line_magic("batches", f"cancel {one}")
    assert isinstance(cancelled, Batch) and cancelled.status == "cancelling"
    both = sh.run_line_magic("batches", f"cancel {two} {three}")
    assert isinstance(both, BatchList) and [b.status for b in both] == ["cancelling", "cancelling"]


def test_watch_and_table_return_live_widgets_that_unload_closes(shell) -> None:
    sh, fake = shell
    sh.run_line_magic("config", "BatchesMagics.poll_interval = 0.05")
    seeded = fake.seed_batch("in_progress", requests=5)
    monitor = sh.run_line_magic("batches", f"watch --widget {seeded['id']}")
    table = sh.run_line_magic("batches", "table")
    bare = sh.run_line_magic("batches", "")
    assert monitor.batch_ids == [seeded["id"]] and seeded["id"] in table.batch_ids
    assert type(bare) is type(table)
    assert monitor.interval == 0.05 and table.page_size == 25
    assert monitor.offline and table.offline
    threads = [w.refresher_thread for w in (monitor, table, bare)]
    assert all(t is not None and t.is_alive() for t in threads)

    # a bare `watch` follows the latest batch this session touched
    done = sh.run_line_magic("batches", f"get {fake.seed_batch('completed')['id']}")
    again = sh.run_line_magic("batches", "watch --widget")
    assert again.batch_ids == [done.id]

    sh.run_line_magic("unload_ext", "batches_ext")
    assert all(w.closed for w in (monitor, table, bare, again))
    for t in threads:
        t.join(timeout=2)
    assert not any(t.is_alive() for t in threads)
    sh.run_line_magic("load_ext", "batches_ext")  # the fixture's teardown unloads again


def test_results_of_a_partly_failed_batch_and_retry(shell, tmp_path) -> None:
    sh, fake = shell
    seeded = fake.seed_batch("completed", requests=5, failed=2)
    errors = sh.run_line_magic("batches", f"results {seeded['id']} --errors -o {tmp_path / 'e.csv'}")
    assert [r.status for r in errors] == ["error", "error"]
    assert (tmp_path / "e.csv").read_text().count("\n") == 3
    retried = sh.run_line_magic("batches", f"retry {seeded['id']}")
    assert isinstance(retried, Batch) and len(fake.file_content(retried.input_file_id).splitlines()) == 2
    assert retried.metadata["batches_ext_retry_of"] == seeded["id"]


def test_download_saves_a_batch_s_files_and_a_single_file(shell, tmp_path) -> None:
    sh, fake = shell
    seeded = fake.seed_batch("completed", requests=3, failed=1)
    paths = sh.run_line_magic("batches", f"download {seeded['id']} -o {tmp_path}")
    assert paths == [str(tmp_path / f"{seeded['id']}_output.jsonl"), str(tmp_path / f"{seeded['id']}_error.jsonl")]
    assert [len(open(p).read().splitlines()) for p in paths] == [2, 1]
    hostile = fake.upload(b"x\n", filename="../../../outside.jsonl")
    assert sh.run_line_magic("batches", f"download {hostile['id']} -o {tmp_path}") == [str(tmp_path / "outside.jsonl")]
    result, text, _ = run(sh, f"%batches download {fake.seed_batch('in_progress')['id']} -o {tmp_path}")
    assert not result.success and "has no output or error file yet (status in_progress)" in text


def test_path_options_expand_the_home_folder_and_download_makes_its_folder(shell, tmp_path, monkeypatch) -> None:
    """`~` in create PATH, results -o and download -o is the home folder; `download -o DIR` creates DIR (only when
    there is something to save) and `results -o` its file's folder; `-o` naming a file is one line; a folder as
    the input is named as one."""
    sh, fake = shell
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "in.jsonl").write_text(json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                                                   "body": {"model": "gpt-4o-mini", "messages": []}}) + "\n")
    created = sh.run_line_magic("batches", "create ~/in.jsonl")
    assert created.status == "validating"
    done = fake.seed_batch("completed", requests=2)["id"]
    paths = sh.run_line_magic("batches", f"download {done} -o ~/new/dir")
    assert paths == [str(tmp_path / "new" / "dir" / f"{done}_output.jsonl")] and os.path.isfile(paths[0])
    sh.run_line_magic("batches", f"results {done} -o ~/rows.jsonl")
    assert len((tmp_path / "rows.jsonl").read_text().splitlines()) == 2
    sh.run_line_magic("batches", f"results {done} -o '~/no such dir/rows.csv'")  # made, like download's DIR
    assert len((tmp_path / "no such dir" / "rows.csv").read_text().splitlines()) == 3  # header + 2 rows
    (tmp_path / "afolder").mkdir()
    result, text, _ = run(sh, f"%batches create {tmp_path / 'afolder'}")
    assert not result.success and "is a folder; give the JSONL file in it" in text
    result, text, _ = run(sh, f"%batches download {fake.seed_batch('in_progress')['id']} -o ~/never")
    assert not result.success and not (tmp_path / "never").exists()
    result, text, _ = run(sh, f"%batches download {done} -o ~/rows.jsonl")
    assert not result.success and "'~/rows.jsonl' is not a directory" in text and "Traceback" not in text


def test_fake_switch_status_advance_and_off(shell, monkeypatch) -> None:
    sh, fake = shell
    _, text, _ = run(sh, "%batches fake status")
    assert "offline fake: on; a manual clock" in text and "ManualClock" not in text and " UTC; 0 batches" in text
    before = fake.clock.now()
    _, text, _ = run(sh, "%batches fake advance 5m")
    assert fake.clock.now() == before + 300 and "advanced 300 s" in text

    _, text, _ = run(sh, "%batches fake on --speed 1e6")
    session = magics(sh).session
    assert "offline fake on (a clock 1,000,000× real time)" in text and "SystemClock" not in text
    assert session.fake is not fake and session.fake.clock.speed == 1e6
    batch = sh.run_cell_magic("batches", "create --model gpt-4o-mini", "hi")
    assert session.fake.batch(batch.id)["id"] == batch.id

    _, text, _ = run(sh, "%batches fake off")
    assert "fake off" in text and not session.offline
    _, text, _ = run(sh, "%batches fake status")
    assert "offline fake: off" in text
    monkeypatch.delenv("OPENAI_API_KEY")
    result, text, _ = run(sh, "%batches list")
    assert not result.success and "No API key: set OPENAI_API_KEY, or run `%batches fake on`" in text


def test_fake_on_manual_runs_on_simulated_time_that_moves_when_the_kernel_waits(shell) -> None:
    sh, _ = shell
    _, text, _ = run(sh, "%batches fake on --manual")
    session = magics(sh).session
    assert "manual clock" in text and isinstance(session.fake.clock, ManualClock)
    assert abs(session.fake.clock.now() - time.time()) < 60  # starts at today's date, then moves only when told
    batch = sh.run_cell_magic("batches", "create --model gpt-4o-mini", "hi")
    monitor = sh.run_line_magic("batches", f"watch --widget {batch.id}")
    assert monitor.wait(timeout=3600)[0].status == "completed"
    result, text, _ = run(sh, "%batches fake on --manual --speed 5")
    assert not result.success and "not allowed with argument" in text


def test_fake_speed_trait_is_the_default_speed(shell) -> None:
    sh, _ = shell
    sh.run_line_magic("config", "BatchesMagics.fake_speed = 250.0")
    try:
        sh.run_line_magic("batches", "fake on")
        assert magics(sh).session.fake.clock.speed == 250.0
    finally:
        magics(sh).fake_speed = None


def test_config_shows_values_and_sources_never_the_key(shell, monkeypatch) -> None:
    sh, _ = shell
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    sh.run_line_magic("config", "BatchesMagics.base_url = 'https://proxy.example/v1'")
    sh.run_line_magic("config", "BatchesMagics.page_size = 7")
    result, text, _ = run(sh, "%batches config")
    view = result.result
    assert isinstance(view, SettingsView)
    assert view["api_key"] == "set" and view.source("api_key") == "environment OPENAI_API_KEY"
    assert view["base_url"] == "https://proxy.example/v1"
    assert view.source("base_url") == "%config BatchesMagics.base_url"
    assert (view["organization"], view.source("organization")) == ("org-env", "environment OPENAI_ORG_ID")
    assert (view["page_size"], view.source("page_size")) == (7, "%config BatchesMagics.page_size")
    assert view.source("timeout") == "default" and view["fake"] == "on"
    assert "offline fake" in text and CANARY not in text and CANARY not in view._repr_html_()
    result, text, _ = run(sh, "%config BatchesMagics")
    assert result.success and "base_url" in text and CANARY not in text and "api_key" not in text
    assert view["deadline"] == "181.5 s"  # timeout x (max_retries + 1) + backoff, at the defaults


def test_config_hides_the_base_url_s_credentials(shell, monkeypatch) -> None:
    sh, _ = shell
    monkeypatch.setenv("OPENAI_BASE_URL", "https://alice:pw-s3cret@proxy.example/v1")
    sh.run_line_magic("config", "BatchesMagics.base_url = ''")  # (an earlier test's %config lives on)
    result, text, _ = run(sh, "%batches config")
    view = result.result
    assert view["base_url"] == "https://***@proxy.example/v1"
    assert "pw-s3cret" not in text + view._repr_html_() + repr(view)


def test_help_everywhere(shell) -> None:
    sh, _ = shell
    result, text, _ = run(sh, "%batches help")
    assert result.success and all(cmd in text for cmd in ("list", "create", "results", "fake", "config"))
    result, text, _ = run(sh, "%batches help create")
    assert result.success and "--dry-run" in text and "--meta" in text
    result, text, _ = run(sh, "%batches results -h")
    assert result.success and result.result is None and "--as VAR" in text
    result, text, _ = run(sh, "%batches fake advance --help")
    assert result.success and "SECONDS" in text
    doc = BatchesMagics.batches.getdoc()
    assert all(f"%batches {cmd}" in doc for cmd in ("list", "create", "cancel", "watch", "retry", "fake", "config"))
    result, text, _ = run(sh, "%batches?")
    assert result.success and "---- %batches create ----" in text and "--dry-run" in text  # the whole help


def test_load_is_idempotent_and_reload_works(shell) -> None:
    sh, _ = shell
    first = magics(sh)
    sh.run_line_magic("load_ext", "batches_ext")
    import batches_ext.magics as module

    module.load_ipython_extension(sh)
    assert magics(sh) is first
    sh.run_line_magic("reload_ext", "batches_ext")
    assert magics(sh) is not first and isinstance(magics(sh), BatchesMagics)
    assert sh.magics_manager.magics["line"]["batches"].__self__ is magics(sh)


def test_trait_values_are_validated() -> None:
    from traitlets import TraitError

    m = BatchesMagics(shell=None)
    for name, bad in (("poll_interval", 0.0), ("page_size", 0), ("timeout", -1.0), ("max_retries", -1),
                      ("fake_speed", 0.0)):
        with pytest.raises(TraitError, match=name):
            setattr(m, name, bad)


def test_a_comment_after_a_magic_is_ignored_but_a_hash_inside_a_value_is_kept(shell) -> None:
    sh, fake = shell
    batch_id = fake.seed_batch("in_progress", requests=3)["id"]
    result, text, _ = run(sh, f"%batches cancel {batch_id}   # no longer needed")
    assert result.success, text
    assert result.result.status in ("cancelling", "cancelled")
    from batches_ext.magics.parser import parse

    assert parse("create in.jsonl --meta tag=#1 '#x=y'").meta == ["tag=#1", "#x=y"]


def test_watch_in_a_terminal_blocks_with_a_text_bar_and_returns_the_final_batches(shell) -> None:
    sh, fake = shell
    batch = sh.run_cell_magic("batches", "create --model gpt-4o-mini", "one\ntwo\nthree")
    result, text, cap = run(sh, f"%batches watch {batch.id}")  # a shell without a kernel: the terminal view
    assert result.success, text
    final = result.result
    assert isinstance(final, Batch) and final.id == batch.id and final.status == "completed"
    assert f"{batch.id}: queued (validating" in cap.stderr
    took = final.finished_at - final.created_at
    assert f"{batch.id}: 100%|" in cap.stderr and f"3/3 done · completed · took {took // 60}m {took % 60:02d}s" in cap.stderr
    assert not [o for o in cap.outputs if WIDGET_MIME in o.data] and magics(sh).session.widgets() == []
    several = sh.run_line_magic("batches", f"watch {batch.id} {fake.seed_batch('in_progress', requests=2)['id']}")
    assert isinstance(several, BatchList) and {b.status for b in several} == {"completed"}


def test_watch_chooses_the_widget_where_a_kernel_shows_it_and_either_can_be_forced(shell, monkeypatch) -> None:
    sh, fake = shell
    seeded = fake.seed_batch("in_progress", requests=5)["id"]
    monkeypatch.setattr(sh, "kernel", object(), raising=False)  # ipykernel's shell has a `kernel`
    monitor = sh.run_line_magic("batches", f"watch {seeded}")
    assert monitor.batch_ids == [seeded] and not monitor.done
    final = sh.run_line_magic("batches", f"watch --text {seeded}")
    assert isinstance(final, Batch) and final.status == "completed"
    monkeypatch.delattr(sh, "kernel")
    assert sh.run_line_magic("batches", f"watch --widget {seeded}").batch_ids == [seeded]
    result, text, _ = run(sh, f"%batches watch --text --widget {seeded}")
    assert not result.success and "not allowed with argument" in text


def test_create_watch_in_a_terminal_returns_the_finished_batch(shell) -> None:
    sh, _ = shell
    result, text, cap = run(sh, "%%batches create --model gpt-4o-mini --watch\nhello")
    assert result.success, text
    assert isinstance(result.result, Batch) and result.result.status == "completed" and "100%|" in cap.stderr


def test_ctrl_c_stops_a_terminal_watch_with_one_line(shell, monkeypatch) -> None:
    sh, fake = shell
    seeded = fake.seed_batch("in_progress", requests=5)["id"]
    client = magics(sh).session.client()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(client, "sleep", interrupted)
    result, text, _ = run(sh, f"%batches watch {seeded}")
    assert not result.success and "Traceback" not in text
    assert ("UsageError: %batches watch: stopped watching (Ctrl-C); the batches keep running: `%batches watch` "
            "follows the latest again") in text
    assert fake.batch(seeded)["status"] == "in_progress"


def test_a_terminal_shows_batches_and_results_as_text_a_person_reads(shell) -> None:
    from IPython.lib.pretty import pretty

    sh, fake = shell
    batch = sh.run_cell_magic("batches", "create --model gpt-4o-mini --system 'One word.'", "Name a colour.")
    done = sh.run_line_magic("batches", f"watch {batch.id}")
    card = pretty(done).splitlines()
    assert card[0] == f"Batch {batch.id}  completed  [offline fake]" and "  requests     1/1 done" in card
    res = sh.run_line_magic("batches", f"results {batch.id}")
    table = pretty(res).splitlines()
    assert table[0] == f"1 result: 1 ok from {batch.id}  [offline fake]"
    assert table[1].startswith("spend $0.0000") and table[1].endswith("(gpt-4o-mini batch prices of 2026-07-05)")
    assert table[2].split() == ["custom_id", "prompt", "answer", "status"]
    assert table[3].startswith("request-1  Name a colour.  ") and table[3].endswith("  ok")
