"""Fuzzing with hostile bytes, end to end: the fake's input validation over HTTP, the core's preflight and
submit, and the result reader (download, decode, parse) each give every input a clean outcome.

A clean outcome is: a 4xx with OpenAI's error envelope, a batch that ends `failed` with errors naming
their lines, a batch that runs, or the core's own `BatchesError` naming the problem. Never a 5xx, never
an exception of another type. The inputs mix valid request lines with mutated ones (keys dropped, wrong
types, wrong url or method, `stream: true`, duplicate ids, a second model), random JSON values, random
bytes, BOMs, CRLF, NUL, invalid UTF-8, deep nesting, huge numbers, NaN and very long lines. The unit
fuzzers in tests/fake_server/test_validation.py and tests/batches_ext/test_jsonl.py cover each function
alone; these go through the doors a user's data takes, and check that the core's preflight agrees with
the fake: input the preflight passes is never failed by the server's validation.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batches_ext.client import BatchesClient
from batches_ext.errors import BatchesError, InputError
from batches_ext.jobs import submit
from batches_ext.jsonl import FAKE_ERROR_PREFIX, iter_jsonl, preflight
from batches_ext.resultset import parse_result_line
from fake_server import FakeBatchesAPI, ManualClock
from tests.reliability.conftest import bounded_or_long

BASE = "https://fake.test/v1"
TERMINAL = {"completed", "failed", "expired", "cancelled"}


def _good(i: int) -> dict:
    return {"custom_id": f"r-{i}", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"hi {i}"}]}}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated(draw) -> bytes:
    line = _good(draw(st.integers(0, 3)))
    how = draw(st.sampled_from(["drop", "retype", "url", "method", "stream", "model", "body", "extra"]))
    if how == "drop":
        line.pop(draw(st.sampled_from(["custom_id", "method", "url", "body"])))
    elif how == "retype":
        line[draw(st.sampled_from(["custom_id", "method", "url", "body"]))] = draw(json_values)
    elif how == "url":
        line["url"] = draw(st.sampled_from(["/v1/embeddings", "/v1/nope", "", "v1/chat/completions"]))
    elif how == "method":
        line["method"] = draw(st.sampled_from(["GET", "post", ""]))
    elif how == "stream":
        line["body"]["stream"] = True
    elif how == "model":
        line["body"]["model"] = draw(st.sampled_from(["gpt-4.1", "", None, 7, "fake-error-500"]))
    elif how == "body":
        line["body"] = draw(json_values)
    else:
        line[draw(st.text(max_size=8))] = draw(json_values)
    return json.dumps(line).encode()


raw_lines = st.one_of(
    st.builds(lambda i: json.dumps(_good(i)).encode(), st.integers(0, 5)),  # valid (duplicates possible)
    mutated(),
    st.builds(lambda v: json.dumps(v).encode(), json_values),
    st.binary(max_size=60),
    st.sampled_from([b"", b" ", b"\xef\xbb\xbf" + json.dumps(_good(9)).encode(), json.dumps(_good(8)).encode() + b"\r",
                     b"\x00", b"\xff\xfe\xfd", b"[" * 3000 + b"]" * 3000, b'{"custom_id": 1e999999}', b"NaN",
                     b'{"custom_id": "x", "body": ' + b"9" * 5000 + b"}", b"{" + b'"k": "' + b"x" * 70_000 + b'"}']),
)
endings = st.sampled_from([b"\n", b"", b"\r\n"])
mixed = st.builds(lambda lines, end: b"\n".join(lines) + end, st.lists(raw_lines, max_size=8), endings)


@st.composite
def mostly_valid(draw) -> bytes:
    """A valid file of 1-8 lines with at most one line swapped for a hostile one (half are left valid)."""
    lines = [json.dumps(_good(i)).encode() for i in range(draw(st.integers(1, 8)))]
    if draw(st.booleans()):
        lines[draw(st.integers(0, len(lines) - 1))] = draw(raw_lines)
    return b"\n".join(lines) + draw(endings)


inputs = st.one_of(mixed, mostly_valid())
COUNTS: Counter = Counter()


def _envelope(answer) -> None:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["message"]


def _fuzz_settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _run(examples: int, body) -> None:
    given(data=inputs)(_fuzz_settings(examples)(body))()


@pytest.mark.parametrize("examples", bounded_or_long(300, 5000))
def test_the_fake_answers_every_input_file_cleanly(examples: int, report) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    http = fake.requests_session(BASE)
    http.headers["Authorization"] = "Bearer sk-fuzz"
    outcomes: Counter = Counter()

    def one(data: bytes) -> None:
        COUNTS["fake"] += 1
        upload = http.post(BASE + "/files", files={"file": ("in.jsonl", data)}, data={"purpose": "batch"})
        if upload.status_code != 200:
            _envelope(upload)
            outcomes["refused at upload"] += 1
            return
        create = http.post(BASE + "/batches", json={"input_file_id": upload.json()["id"], "completion_window": "24h",
                                                    "endpoint": "/v1/chat/completions"})
        if create.status_code != 200:
            _envelope(create)
            outcomes["refused at create"] += 1
            return
        batch_id = create.json()["id"]
        fake.advance(90_000)
        batch = http.get(f"{BASE}/batches/{batch_id}").json()
        assert batch["status"] in TERMINAL
        if batch["status"] == "failed":
            for error in batch["errors"]["data"]:
                assert error["code"] and error["message"]
                assert error["line"] is None or (isinstance(error["line"], int) and error["line"] >= 1)
        outcomes[f"batch {batch['status']}"] += 1

    COUNTS["fake"] = 0
    _run(examples, one)
    report.add("fuzzing", "fake over HTTP: input files tried", COUNTS["fake"])
    report.add("fuzzing", "fake over HTTP: outcomes", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    report.loss("fuzzing", "fake over HTTP: crashes or 5xx", 0)  # any would have failed the test above
    assert outcomes["batch failed"] and outcomes["batch completed"]  # both validation failures and runs


@pytest.mark.parametrize("examples", bounded_or_long(300, 5000))
def test_the_core_preflight_and_submit_agree_with_the_fake(examples: int, report) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    client = BatchesClient.offline(fake=fake)
    outcomes: Counter = Counter()

    def one(data: bytes) -> None:
        COUNTS["core"] += 1
        report_ = preflight(data, unchecked_model_prefix=FAKE_ERROR_PREFIX)  # as submit does offline; never raises
        assert report_.lines >= 0 and all(p.code and p.message for p in report_.problems)
        try:
            list(iter_jsonl(data))
        except InputError as err:
            assert err.line is not None and err.line >= 1
        try:
            job = submit(client, data)
        except InputError as err:
            assert report_.problems and str(err)
            outcomes["refused by the core"] += 1
            return
        assert report_.ok, report_
        batch_id = job.batch_ids[0]
        fake.advance(90_000)
        status = fake.batch(batch_id)["status"]
        # preflight passed, so the server's own validation must pass too
        assert status != "failed", fake.batch(batch_id)["errors"]
        outcomes[f"batch {status}"] += 1

    COUNTS["core"] = 0
    _run(examples, one)
    report.add("fuzzing", "core preflight + submit: inputs tried", COUNTS["core"])
    report.add("fuzzing", "core: outcomes", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    report.loss("fuzzing", "core: crashes, or preflight passing what the server fails", 0)
    assert outcomes["refused by the core"] and len(outcomes) >= 2


result_lines = st.one_of(
    raw_lines,
    st.builds(lambda v: json.dumps({"custom_id": "r-1", "response": v, "error": None}).encode(), json_values),
    st.builds(lambda v: json.dumps({"custom_id": "r-1", "response": None, "error": v}).encode(), json_values),
    st.builds(lambda s, b: json.dumps({"custom_id": "r-1", "response": {"status_code": s, "body": b}}).encode(),
              st.one_of(st.integers(), json_values), json_values),
)


@pytest.mark.parametrize("examples", bounded_or_long(300, 5000))
def test_the_result_reader_turns_any_file_into_rows_or_a_clean_error(examples: int, report) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    client = BatchesClient.offline(fake=fake)
    outcomes: Counter = Counter()

    @_fuzz_settings(examples)
    @given(lines=st.lists(result_lines, max_size=6), end=st.sampled_from([b"\n", b"", b"\r\n"]))
    def one(lines: list[bytes], end: bytes) -> None:
        COUNTS["reader"] += 1
        file_id = fake.upload(b"\n".join(lines) + end, filename="out.jsonl")["id"]
        try:
            for n, text in enumerate(client.iter_file_lines(file_id), start=1):  # what results() reads
                if text.strip():
                    row = parse_result_line(text, n)
                    assert isinstance(row.custom_id, str) and row.status in ("ok", "error", "expired", "cancelled")
                    outcomes["rows"] += 1
        except BatchesError as err:
            assert str(err)
            outcomes["clean errors"] += 1

    COUNTS["reader"] = 0
    one()
    report.add("fuzzing", "result reader: files tried", COUNTS["reader"])
    report.add("fuzzing", "result reader: outcomes", ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())))
    report.loss("fuzzing", "result reader: crashes", 0)
    assert outcomes["rows"] and outcomes["clean errors"]
