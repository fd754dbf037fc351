"""Every way a %batches cell can go wrong: one line naming the problem, the cell failed, no traceback;
and the API key in no output, including over a real HTTP round trip to the fake."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from fake_server import FakeBatchesAPI, ManualClock

from .conftest import CANARY, magics, run


def assert_fails(sh, cell: str, *needles: str) -> str:
    result, text, _ = run(sh, cell)
    assert not result.success, text
    assert isinstance(result.error_in_exec or result.error_before_exec, UsageError), text
    assert "Traceback" not in text and "Error in " not in text
    error_lines = [line for line in text.splitlines() if line.startswith("UsageError")]
    assert len(error_lines) == 1, text  # one line
    for needle in needles:
        assert needle in error_lines[0], text
    return error_lines[0]


@pytest.fixture
def jsonl(tmp_path):
    good = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "custom_id": "b"}) + "\n{not json\n")
    return path


@pytest.mark.parametrize(
    ("cell", "needles"),
    [
        ("%batches frobnicate", ("unknown subcommand 'frobnicate'", "%batches help")),
        ("%batches list --limit many", ("--limit", "expected a whole number, got 'many'")),
        ("%batches list --limit 500", ("--limit", "at most 100", "--all")),
        ("%batches list --status done", ("unknown status 'done'", "completed")),
        ("%batches list extra", ("unrecognized arguments: extra",)),
        ("%batches get", ("the following arguments are required: ID",)),
        ("%batches get 'unclosed", ("check the quotes",)),
        ("%batches get batch_nope", ("%batches get: 404", "batch_nope", "(request req_")),
        ("%batches create missing.jsonl", ("no such file 'missing.jsonl'",)),
        ("%batches create", ("give a JSONL path",)),
        ("%batches create --window 1h x.jsonl", ("--window", "invalid choice: '1h'",)),
        ("%batches create --meta =novalue", ("expected KEY=VALUE, got '=novalue'",)),
        ("%batches create in.jsonl --meta novalue", ("expected KEY=VALUE, got 'novalue'",)),
        ("%batches create --meta team=nlp novalue", ("expected KEY=VALUE, got 'novalue'",)),
        ("%%batches create --model m --meta novalue\nhi", ("expected KEY=VALUE, got 'novalue'",)),
        ("%%batches create\nhello", ("--model is required",)),
        ("%%batches create --model m\n\n  \n", ("the cell is empty",)),
        ("%%batches create --model m --endpoint /v1/nope\nhi", ("unsupported endpoint '/v1/nope'",)),
        ("%%batches create --model m\n{\"custom_id\": \"a\"}", ("line 1",)),
        ("%%batches get x\nbody", ("only `create` takes a cell body",)),
        ("%batches fake", ("required: ACTION",)),
        ("%batches fake sideways", ("invalid choice: 'sideways'",)),
        ("%batches fake advance", ("required: SECONDS",)),
        ("%batches fake advance soon", ("expected seconds like 90",)),
        ("%batches fake on --speed 0", ("must be a positive number",)),
        ("%batches watch", ("name a batch id",)),
        ("%batches watch batch_nope", ("%batches watch: 404", "batch_nope")),
        ("%batches results batch_x --as 'not a name'", ("'not a name' is not a valid variable name",)),
        ("%batches results batch_x --as class", ("'class' is not a valid variable name",)),
        ("%batches retry batch_nope", ("%batches retry: 404",)),
        ("%batches help nothing", ("unknown subcommand 'nothing'",)),
        ("%batches cancel job_nope", ("no job job_nope: not in the journal", "no batch carries metadata")),
        ("%batches results job_nope", ("no batch carries metadata",)),
        ("%batches download batch_nope", ("%batches download: 404", "batch_nope")),
        ("%batches download", ("the following arguments are required: ID",)),
    ],
)
def test_mistakes_are_one_line_and_fail_the_cell(shell, cell: str, needles: tuple[str, ...]) -> None:
    sh, _ = shell
    assert_fails(sh, cell, *needles)


def test_malformed_jsonl_names_its_line(shell, jsonl) -> None:
    sh, fake = shell
    assert_fails(sh, f"%batches create {jsonl}", "line 3")
    assert_fails(sh, f"%batches create {jsonl} --dry-run", "line 3")
    assert fake.files() == [] and fake.batches() == []  # nothing uploaded


def test_model_mismatch_and_system_with_a_file(shell, tmp_path) -> None:
    sh, fake = shell
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                                "body": {"model": "gpt-4o-mini", "messages": []}}) + "\n")
    assert_fails(sh, f"%batches create {path} --model other", "'gpt-4o-mini'", "'other'")
    assert_fails(sh, f"%batches create {path} --system hi", "--system applies to prompts")


def test_api_errors_on_cancel_results_retry(shell, tmp_path) -> None:
    sh, fake = shell
    done = fake.seed_batch("completed")["id"]
    running = fake.seed_batch("in_progress", requests=10)["id"]
    line = assert_fails(sh, f"%batches cancel {running} {done}", "409", done, f"cancelling {running}")
    assert "(request req_" in line
    running = fake.seed_batch("in_progress", requests=10)["id"]
    line = assert_fails(sh, f"%batches results {running}", "still in_progress")
    assert line == (f"UsageError: %batches results: batch {running} is still in_progress (0/10 done): "
                    f"`%batches watch {running}` follows it to the end")
    assert "wait(" not in line
    assert_fails(sh, f"%batches results {done} -o {tmp_path / 'out.txt'}", "use .jsonl or .csv")
    (tmp_path / "afile").write_text("x")
    assert_fails(sh, f"%batches results {done} -o {tmp_path / 'afile' / 'out.jsonl'}", "not a folder", "afile")
    assert_fails(sh, f"%batches retry {done}", "nothing to retry")


def test_fake_advance_when_off_and_no_key(shell, monkeypatch) -> None:
    sh, _ = shell
    sh.run_line_magic("batches", "fake off")
    assert_fails(sh, "%batches fake advance 10", "the fake is off", "%batches fake on")
    monkeypatch.delenv("OPENAI_API_KEY")
    for cell in ("%batches", "%batches list", "%batches get b", "%batches watch b", "%%batches create --model m\nhi"):
        assert_fails(sh, cell, "No API key: set OPENAI_API_KEY, or run `%batches fake on` to use the offline fake.")
    result, text, _ = run(sh, "%%batches create --model m --dry-run\nhi")  # a dry run needs no key
    assert result.success, text


def test_a_bad_trait_value_is_a_one_line_error(shell) -> None:
    sh, _ = shell
    sh.run_line_magic("batches", "fake off")
    magics(sh).base_url = "not a url"
    try:
        assert_fails(sh, "%batches list")  # the client's own error, still one line
    finally:
        magics(sh).base_url = ""


def test_the_key_never_appears_over_http(shell, tmp_path) -> None:
    """Fake off: the real client sends the canary key over loopback HTTP to the fake; no output shows it."""
    sh, _ = shell
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={CANARY})  # only the canary key is accepted
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                                "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}})
                    + "\n")
    with fake.serve() as server:
        sh.run_line_magic("batches", "fake off")
        sh.run_line_magic("config", f"BatchesMagics.base_url = {server.base_url!r}")
        sh.run_line_magic("config", "BatchesMagics.max_retries = 0")
        texts = []
        try:
            result, text, _ = run(sh, f"%batches create {path} --meta who=canary")
            assert result.success, text
            batch = result.result
            texts.append(text + repr(batch) + sh.display_formatter.format(batch)[0]["text/html"])
            fake.advance(10_000)
            for cell in (f"%batches get {batch.id}", "%batches list", "%batches list --all --status completed",
                         f"%batches results {batch.id} --as r", f"%batches cancel {batch.id}",
                         f"%batches retry {batch.id}", "%batches config", "%config BatchesMagics",
                         "%batches fake status", "%batches help", "%batches?", "%batches get nope",
                         f"%batches watch {batch.id}", "%batches table", f"%batches create {path} --dry-run"):
                result, text, cap = run(sh, cell)
                shown = [sh.display_formatter.format(result.result)[0]] if result.result is not None else []
                texts.append(cell + text + repr(result.result) + str(shown) + str(getattr(result.result, "__dict__", "")))
            fake.api_keys = {"sk-some-other-key"}
            texts.append(assert_fails(sh, "%batches list", "401", "Incorrect API key"))
        finally:
            sh.run_line_magic("config", "BatchesMagics.base_url = ''")
            sh.run_line_magic("config", "BatchesMagics.max_retries = 2")
    assert len(texts) > 15 and not [t for t in texts if CANARY in t]


def test_malformed_answers_and_hostile_servers_are_one_line(shell) -> None:
    """Fake off, against the hostile loopback server: a 200 whose body is `[]`, `null`, or has wrong types, a 302
    answering a create, a Retry-After above 120 s, a trickle cut at the deadline: each is one line naming what
    was wrong (and the request id when there is one), never AttributeError / KeyError or a traceback."""
    from tests.batches_ext.client.hostile_server import hostile_server

    sh, _ = shell
    sh.run_line_magic("batches", "fake off")
    try:
        with hostile_server() as server:
            cases = [
                ("shape/list", "%batches get batch_1", "malformed answer to GET", "the batch is a list, not an object"),
                ("shape/null", "%batches get batch_1", "malformed answer to GET", "the batch is null"),
                ("shape/counts-list", "%batches get batch_1", "`request_counts` is a list, not an object"),
                ("shape/page-item-null", "%batches list", "item 0 of `data`: the batch is null"),
                ("redirect/302", "%batches cancel batch_1", "answered 302 redirecting to http://127.0.0.1:9/"),
                ("retry-after/600", "%batches get batch_1", "429", "wait 600 s"),
            ]
            for behaviour, cell, *needles in cases:
                magics(sh).base_url = server.url(behaviour)
                assert_fails(sh, cell, *needles)
            magics(sh).base_url = server.url("trickle")
            magics(sh).timeout = 0.5
            magics(sh).max_retries = 0
            assert_fails(sh, "%batches get batch_1", "no complete answer within the call's deadline (0.5 s")
    finally:
        magics(sh).base_url = ""
        magics(sh).timeout = 60.0
        magics(sh).max_retries = 2


def test_load_ext_is_light() -> None:
    code = ("import sys; from IPython.core.interactiveshell import InteractiveShell as S; "
            "S.instance().run_line_magic('load_ext', 'batches_ext'); "
            "heavy = ('requests', 'ipywidgets', 'pandas', 'fake_server', 'batches_ext.client', 'batches_ext.render'); "
            "print(sorted(m for m in heavy if m in sys.modules)); "
            "print('batches' in S.instance().magics_manager.magics['line'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-2:] == ["[]", "True"]


def test_unloaded_means_gone(shell) -> None:
    sh, _ = shell
    sh.run_line_magic("unload_ext", "batches_ext")
    try:
        result, text, _ = run(sh, "%batches list")
        assert not result.success and "batches" in text
        assert "BatchesMagics" not in sh.magics_manager.registry
        from batches_ext.models import Batch

        with pytest.raises(KeyError):  # our HTML printers are gone too
            sh.display_formatter.formatters["text/html"].lookup_by_type(Batch)
        assert "batches" not in sh.magics_manager.magics["cell"]
    finally:
        sh.run_line_magic("load_ext", "batches_ext")
    assert isinstance(InteractiveShell.instance().magics_manager.registry["BatchesMagics"], type(magics(sh)))


def test_messages_count_in_words_a_person_would_write(shell) -> None:
    sh, fake = shell
    fake.seed_batch("completed")
    _, text, _ = run(sh, "%batches fake status")
    assert "; 1 batch, " in text and "1 batches" not in text
    listed = sh.run_line_magic("batches", "list")
    assert repr(listed).endswith("\n1 batch") and "1 batch<" in listed._repr_html_().replace("</b>", "<")


def test_a_file_with_a_bom_says_so(shell, tmp_path) -> None:
    sh, fake = shell
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                                                    "body": {"model": "m", "messages": []}}).encode() + b"\n")
    for cell in (f"%batches create {path}", f"%batches create {path} --dry-run"):
        assert assert_fails(sh, cell) == ("UsageError: %batches create: line 1: starts with a UTF-8 byte-order mark "
                                          "(BOM): save the file as UTF-8 without a BOM")
    assert fake.files() == []
