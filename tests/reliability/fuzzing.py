"""What the fuzz tests share: hypothesis strategies for hostile JSONL, uploads and result lines, the
bounded/long example counts, and helpers that run one target and record it in the report.
"""

from __future__ import annotations

import functools
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from batches_ext import spec
from batches_ext.client import BatchesClient
from batches_ext.errors import BatchesError, InputError
from batches_ext.jobs import submit
from batches_ext.jsonl import Preflight, ResultLine, iter_jsonl, iter_raw_lines, parse_result_line, preflight
from batches_ext.spec import FAKE_ERROR_PREFIX
from fake_server import FakeBatchesAPI, ManualClock
from tests.fake_server.calls import call, multipart

ENDPOINTS = tuple(spec.ENDPOINTS)


PROMPT_KEY = {url: e.prompt_key for url, e in spec.ENDPOINTS.items()}


COUNTS: Counter = Counter()


def run_examples(test: Any, examples: int) -> None:
    """Run a module-level `@given` function with `examples`, wrapped afresh (the bounded and the long variant
    of a test both run it, and hypothesis allows one `settings` per wrapped function)."""
    inner = test.hypothesis.inner_test

    @functools.wraps(inner, updated=())  # a new function object: no settings applied to it yet
    def fresh(*args: Any, **kwargs: Any) -> Any:
        return inner(*args, **kwargs)

    given(**test.hypothesis._given_kwargs)(example_settings(examples)(fresh))()


def example_settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["POST", "GET", "", "post", "/v1/chat/completions", "gpt-4o-mini", "fake-error-500",
                     "fake-error-429", "\x00", "\ufeff", "\ud800", "a" * 300]),
)


json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


BODY_EXTRAS = ("model", "messages", "input", "prompt", "stream", "dimensions", "encoding_format", "n", "size",
               "max_tokens", "instructions", "temperature")


@st.composite
def request_lines(draw: Any, endpoint: str) -> Any:
    """A request line: mostly right, with any field possibly missing, of the wrong type, or hostile."""
    shape = draw(st.sampled_from(["valid-ish", "valid-ish", "valid-ish", "any"]))
    if shape == "any":
        return draw(json_values)
    line: dict[str, Any] = {
        "custom_id": draw(st.one_of(st.text(max_size=12), st.sampled_from(["r-1", "r-2", "r-1"]),
                                    json_values)),
        "method": draw(st.one_of(st.just("POST"), st.just("POST"), json_values)),
        "url": draw(st.one_of(st.just(endpoint), st.just(endpoint), st.sampled_from(ENDPOINTS), json_values)),
    }
    body: dict[str, Any] = {
        "model": draw(st.one_of(st.sampled_from(["gpt-4o-mini", "gpt-4o-mini", "fake-error-500",
                                                 "fake-error-400", "other-model", ""]), json_values)),
        PROMPT_KEY[endpoint]: draw(st.one_of(st.text(max_size=30), json_values)),
    }
    for key in draw(st.lists(st.sampled_from(BODY_EXTRAS), max_size=3)):
        body[key] = draw(json_values)
    line["body"] = draw(st.one_of(st.just(body), st.just(body), json_values))
    for key in draw(st.lists(st.sampled_from(["custom_id", "method", "url", "body"]), max_size=2)):
        line.pop(key, None)
    return line


@st.composite
def clean_lines(draw: Any, endpoint: str) -> dict:
    """A valid request line whose prompt and extra body parameters are arbitrary (non-null) JSON."""
    finite = st.recursive(
        st.one_of(st.booleans(), st.integers(-(10**40), 10**40),
                  st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)),
        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                st.dictionaries(st.text(max_size=8), inner, max_size=4)),
        max_leaves=10,
    )
    model = draw(st.sampled_from(["gpt-4o-mini"] * 3
                                 + ["fake-error-400", "fake-error-500", "fake-error-429"]))
    body = {"model": model, PROMPT_KEY[endpoint]: draw(st.one_of(st.text(max_size=30), finite))}
    for key in draw(st.lists(st.sampled_from(BODY_EXTRAS[5:]), max_size=3)):
        body[key] = draw(finite)
    return {"custom_id": "", "method": "POST", "url": endpoint, "body": body}


def deep_json(depth: int, kind: str) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@st.composite
def hostile_lines(draw: Any, endpoint: str) -> bytes:
    """One raw line: a JSON encoding of a request line, or something that is not quite one."""
    kind = draw(st.sampled_from(["json"] * 6
                                + ["binary", "deep", "huge_number", "nan", "long", "bad_utf8", "text"]))
    if kind == "json":
        raw = json.dumps(draw(request_lines(endpoint)), ensure_ascii=draw(st.booleans())).encode("utf-8",
                                                                                              "surrogatepass")
    elif kind == "binary":
        raw = draw(st.binary(max_size=60))
    elif kind == "deep":
        depth = draw(st.sampled_from([50, 400, 900, 990, 1_000, 3_000, 50_000]))
        inner = deep_json(depth, draw(st.sampled_from(["array", "object"])))
        raw = b'{"custom_id":"deep","method":"POST","url":"%s","body":%s}' % (endpoint.encode(), inner)
        if draw(st.booleans()):
            raw = inner
    elif kind == "huge_number":
        digits = draw(st.sampled_from([20, 400, 4_300, 4_301, 10_000]))
        number = b"9" * digits + draw(st.sampled_from([b"", b".5", b"e999", b"e-999"]))
        raw = b'{"custom_id":%s,"method":"POST","url":"%s","body":{"model":"gpt-4o-mini","n":%s}}' % (
            number if draw(st.booleans()) else b'"n"', endpoint.encode(), number)
    elif kind == "nan":
        raw = b'{"custom_id":"nan","method":"POST","url":"%s","body":{"model":"gpt-4o-mini","%s":%s}}' % (
            endpoint.encode(), PROMPT_KEY[endpoint].encode(),
            draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity"])))
    elif kind == "long":
        size = draw(st.sampled_from([10_000, 300_000]))
        raw = json.dumps({"custom_id": "long", "method": "POST", "url": endpoint,
                          "body": {"model": "gpt-4o-mini", PROMPT_KEY[endpoint]: "x" * size}}).encode()
    elif kind == "bad_utf8":
        bad = draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]))
        raw = b'{"custom_id":"' + bad + b'","method":"POST","url":"' + endpoint.encode() + \
            b'","body":{"model":"gpt-4o-mini"}}'
    else:
        raw = draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:  # sprinkle: a BOM, a NUL byte, a stray CR
        raw = draw(st.sampled_from([b"\xef\xbb\xbf" + raw, raw + b"\x00", b"\x00" + raw, raw + b"\r"]))
    return raw


@st.composite
def hostile_files(draw: Any) -> tuple[str, bytes]:
    """(endpoint, file bytes): a few hostile lines joined by LF or CRLF, or arbitrary bytes."""
    endpoint = draw(st.sampled_from(ENDPOINTS))
    kind = draw(st.sampled_from(["hostile"] * 5 + ["clean"] * 4 + ["binary"]))
    if kind == "binary":
        return endpoint, draw(st.binary(max_size=300))
    if kind == "clean":  # lines that pass validation, with hostile values where the endpoint takes any JSON
        lines = draw(st.lists(clean_lines(endpoint), min_size=1, max_size=5))
        for i, line in enumerate(lines):
            line["custom_id"] = f"r-{i}"
        return endpoint, b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    lines = draw(st.lists(hostile_lines(endpoint), min_size=0, max_size=6))
    newline = draw(st.sampled_from([b"\n", b"\n", b"\r\n"]))
    content = newline.join(lines)
    if lines and draw(st.booleans()):
        content += newline
    if draw(st.integers(0, 7)) == 0:
        content += draw(st.sampled_from([b"\n\n", b"\n", b"   ", b"\n\x00"]))
    return endpoint, content


def fuzz(area: str, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run one input through `target`, counting it; an exception the target may not raise is a crash."""
    COUNTS[f"{area} inputs"] += 1
    try:
        return target(*args, **kwargs)
    except InputError:
        raise
    except AssertionError:
        raise
    except BaseException as exc:
        COUNTS[f"{area} crashes"] += 1
        raise AssertionError(f"{area}: {type(exc).__name__}: {str(exc)[:200]}") from exc


def handle_request(fake: FakeBatchesAPI, method: str, path: str, body: Any = None, **kw: Any) -> Any:
    answer = call(fake, method, path, body, **kw)
    assert answer.status < 500, (method, path, answer.status, answer.read()[:300])
    assert "x-request-id" in answer.headers
    if answer.status >= 400:
        envelope = answer.json()
        assert set(envelope) == {"error"}, envelope
        assert set(envelope["error"]) == {"message", "type", "param", "code"}, envelope
        assert isinstance(envelope["error"]["message"], str) and envelope["error"]["message"]
    return answer


def raw_lines(content: bytes) -> list[bytes]:
    return list(iter_raw_lines(content))


def record(report: Any, area: str, target: str) -> None:
    report.add("fuzzing", f"{target} inputs tried", COUNTS[f"{area} inputs"])
    report.loss("fuzzing", f"{target} crashes", COUNTS[f"{area} crashes"])


def fake_outcome(fake: FakeBatchesAPI, endpoint: str, content: bytes, filename: str) -> str:
    """Upload, create, let it run; check the outcome is one the API documents. Returns it."""
    body, ctype = multipart({"purpose": "batch"}, filename, content)
    uploaded = handle_request(fake, "POST", "/files", body, headers={"content-type": ctype})
    if uploaded.status != 200:
        return "upload 4xx"
    file_id = uploaded.json()["id"]
    created = handle_request(fake, "POST", "/batches", {"input_file_id": file_id, "endpoint": endpoint,
                                                 "completion_window": "24h"})
    if created.status != 200:
        return "create 4xx"
    batch_id = created.json()["id"]
    assert created.json()["status"] == "validating"
    fake.advance(7_300)  # validation + at most 3,600 s of processing + finalizing
    batch = handle_request(fake, "GET", f"/batches/{batch_id}").json()
    n = len(raw_lines(content))
    if batch["status"] == "failed":
        data = batch["errors"]["data"]
        assert data, batch
        for error in data:
            assert set(error) == {"code", "message", "param", "line"}, error
            assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
            line = error["line"]
            assert line is None or (isinstance(line, int) and 1 <= line <= n), (error, n)
        assert batch["output_file_id"] is None and batch["error_file_id"] is None
        return "failed"
    assert batch["status"] == "completed", batch
    assert batch["errors"] is None
    counts = batch["request_counts"]
    assert counts["total"] == n and counts["completed"] + counts["failed"] == n, (counts, n)
    results: list[ResultLine] = []
    for key in ("output_file_id", "error_file_id"):
        if batch[key]:
            text = handle_request(fake, "GET", f"/files/{batch[key]}/content").read()
            results += [fuzz("parse_result_line", parse_result_line, raw) for raw in text.splitlines()]
    ids = [r.custom_id for r in results]
    models = models_by_custom_id(content)
    assert len(ids) == len(set(ids)) == n, "every input line has exactly one result"
    assert set(ids) == set(models), "a result for a custom_id that is not in the input"
    assert len([r for r in results if r.ok]) == counts["completed"], (counts, results)
    for result in results:
        check_line_answer(result, models[result.custom_id])
    return "completed"


RESERVED_MODEL = re.compile(r"fake-error-([45]\d\d)")


def models_by_custom_id(content: bytes) -> dict[str, Any]:
    """custom_id -> body.model of an input file the fake's validation accepted."""
    models = {}
    for raw in raw_lines(content):
        line = json.loads(raw.decode("utf-8"))
        models[line["custom_id"]] = line["body"].get("model")
    return models


#: The codes of the per-line 400s the fake documents (fake_server.line_schemas: the body checked against its
#: endpoint's request schema); an unknown parameter has no code ("Unrecognized request argument supplied: X").
LINE_400_CODES = {"invalid_type", "invalid_value", "missing_required_parameter", "empty_array",
                  "array_below_min_length", "array_above_max_length", "string_above_max_length",
                  "string_below_min_length", "integer_above_max_value", "integer_below_min_value",
                  "decimal_above_max_value", "decimal_below_min_value"}


def check_line_answer(result: ResultLine, model: Any) -> None:
    """A `fake-error-NNN` line fails with NNN; any other line succeeds, or gets one of the per-line 400s the
    fake documents for a body its endpoint refuses (its request schema). Never a 404 (the fake did not know
    the endpoint) or a 500 (the fake's own responder crashed)."""
    reserved = RESERVED_MODEL.fullmatch(model) if isinstance(model, str) else None
    if reserved is not None:
        assert not result.ok and result.status_code == int(reserved.group(1)), (model, result)
    elif not result.ok:
        assert result.status_code == 400, (model, result)
        error = result.body["error"]
        assert error["type"] == "invalid_request_error" and set(error) == {"message", "type", "param", "code"}
        unknown = error["message"].startswith("Unrecognized request argument supplied: ")
        assert (unknown and error["code"] is None) or error["code"] in LINE_400_CODES, (model, result)
        COUNTS["fake per-line 400s"] += 1


@given(case=hostile_files(),
       filename=st.sampled_from(["input.jsonl"] * 8 + ["x.JSONL", "in.txt", "", "a\\b.jsonl"]))
def run_fake_validator(case: tuple[str, bytes], filename: str) -> None:
    endpoint, content = case
    fake = FakeBatchesAPI(clock=ManualClock())
    outcome = fuzz("fake", fake_outcome, fake, endpoint, content, filename)
    COUNTS[f"fake outcome {outcome}"] += 1


safe_text = st.text(st.characters(blacklist_characters='"\r\n', blacklist_categories=("Cs",)), max_size=20)


@st.composite
def upload_requests(draw: Any) -> tuple[bytes, str]:
    """(body, content-type) of a POST /files: well-formed multipart with hostile fields, or not multipart."""
    if draw(st.integers(0, 3)) == 0:
        ctype = draw(st.sampled_from(["application/json", "text/plain", "multipart/form-data", "",
                                      "multipart/form-data; charset=utf-8"]))
        return draw(st.binary(max_size=200)), ctype
    fields = draw(st.dictionaries(
        st.sampled_from(["purpose", "expires_after[seconds]", "expires_after[anchor]", "other"]),
        st.one_of(st.sampled_from(["batch", "assistants", "user_data", "fine-tune", "BATCH", ""]), safe_text,
                  st.integers(-(10**6), 10**30).map(str)),
        max_size=3,
    ))
    filename = draw(st.one_of(st.sampled_from(["in.jsonl", "in.txt", "", "../x.jsonl"]), safe_text))
    content = draw(st.one_of(st.binary(max_size=200), hostile_files().map(lambda case: case[1])))
    body, ctype = multipart(fields, filename, content)
    if draw(st.booleans()):  # no file part at all
        file_part = body.rindex(b"--", 0, body.index(b'Content-Disposition: form-data; name="file"'))
        boundary = ctype.partition("boundary=")[2].encode()
        body = body[:file_part] + b"--" + boundary + b"--\r\n"
    return body, ctype


@given(method=st.sampled_from(["POST", "GET", "DELETE", "PUT"]),
       path=st.one_of(st.sampled_from(["/batches", "/batches/batch_x", "/batches/batch_x/cancel",
                                       "/files/file-x",
                                       "/files/file-x/content"]),
                      st.text(max_size=30).map(lambda t: "/" + t)),
       body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                      st.fixed_dictionaries({}, optional={"input_file_id": json_values,
                                                          "endpoint": json_values,
                                                          "completion_window": json_values,
                                                          "metadata": json_values,
                                                          "output_expires_after": json_values})
                      .map(lambda v: json.dumps(v).encode())),
       ctype=st.sampled_from(["application/json", "text/plain", ""]),
       query=st.one_of(st.just(""), st.text(max_size=30),
                       st.builds(lambda a, b: f"limit={a}&after={b}", st.text(max_size=8),
                                 st.text(max_size=8))))
def run_raw_requests(method: str, path: str, body: bytes, ctype: str, query: str) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    headers = {"content-type": ctype} if ctype else {}
    fuzz("raw request", handle_request, fake, method, path, body, query=query, headers=headers)


@given(upload=upload_requests())
def run_uploads(upload: tuple[bytes, str]) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    body, ctype = upload
    headers = {"content-type": ctype} if ctype else {}
    answer = fuzz("raw request", handle_request, fake, "POST", "/files", body, headers=headers)
    COUNTS["uploads accepted" if answer.status == 200 else "uploads refused"] += 1


def check_preflight(content: bytes, endpoint: str | None) -> Preflight:
    result = preflight(content, endpoint, unchecked_model_prefix=FAKE_ERROR_PREFIX)
    n = len(raw_lines(content))
    assert isinstance(result, Preflight) and result.lines == n and result.bytes == len(content)
    for problem in result.problems:
        assert problem.line is None or 1 <= problem.line <= n, (problem, n)
        assert isinstance(problem.code, str) and problem.message
    assert result.ok == (not result.problems)
    if result.ok:
        assert result.raise_for_problems() is result
    else:
        with pytest.raises(InputError) as raised:
            result.raise_for_problems()
        assert raised.value.line == result.problems[0].line and raised.value.problems == result.problems
    return result


def check_iter_jsonl(content: bytes, checked: Preflight) -> None:
    values: list[Any] = []
    first_bad = next((p.line for p in checked.problems if p.code == "invalid_json_line"
                      and not p.message.startswith("not a JSON object")), None)
    try:
        for value in iter_jsonl(content):
            values.append(value)
    except InputError as err:
        assert err.line == first_bad == len(values) + 1, (err.line, first_bad, len(values))
        return
    assert first_bad is None and len(values) == checked.lines


@given(case=hostile_files(), infer=st.booleans())
def run_preflight(case: tuple[str, bytes], infer: bool) -> None:
    endpoint, content = case
    checked = fuzz("preflight", check_preflight, content, None if infer else endpoint)
    fuzz("iter_jsonl", check_iter_jsonl, content, checked)
    # the same verdict from a path and from a bytearray
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as handle:
        handle.write(content)
    try:
        from_path = fuzz("preflight", preflight, handle.name, None if infer else endpoint,
                          unchecked_model_prefix=FAKE_ERROR_PREFIX)
    finally:
        os.unlink(handle.name)
    from_buffer = fuzz("preflight", preflight, bytearray(content), None if infer else endpoint,
                        unchecked_model_prefix=FAKE_ERROR_PREFIX)
    for other in (from_path, from_buffer):
        assert (other.lines, other.problems, other.model) == (checked.lines, checked.problems, checked.model)


@given(objects=st.lists(st.one_of(json_values, st.builds(object), st.sets(st.integers(), max_size=2),
                                  st.binary(max_size=5), st.just(float("nan")),
                                  st.builds(lambda v: {"custom_id": "x", "body": {"model": v}}, json_values)),
                        max_size=6),
       endpoint=st.one_of(st.none(), st.sampled_from(ENDPOINTS), st.text(max_size=10)))
def run_preflight_objects(objects: list[Any], endpoint: str | None) -> None:
    result = fuzz("preflight", preflight, objects, endpoint)
    assert isinstance(result, Preflight) and result.lines == len(objects)
    assert all(p.line is None or 1 <= p.line <= len(objects) for p in result.problems)


def verdicts(fake: FakeBatchesAPI, endpoint: str, content: bytes) -> tuple[set, set]:
    """The (line, code) pairs the fake's validator reports, and the ones preflight reports."""
    from tests.fake_server.calls import upload

    file_id = upload(fake, content).json()["id"]
    created = call(fake, "POST", "/batches", {"input_file_id": file_id, "endpoint": endpoint,
                                              "completion_window": "24h"}).json()
    fake.advance(60)
    batch = call(fake, "GET", f"/batches/{created['id']}").json()
    server = {(e["line"], e["code"]) for e in (batch["errors"] or {}).get("data", [])}
    checked = preflight(content, endpoint, unchecked_model_prefix=FAKE_ERROR_PREFIX)
    local = {(p.line, p.code) for p in checked.problems}
    return server, local


@given(case=hostile_files())
def run_agreement(case: tuple[str, bytes]) -> None:
    endpoint, content = case
    fake = FakeBatchesAPI(clock=ManualClock(), models="any")  # the core checks structure, never the catalogue
    server, local = fuzz("agreement", verdicts, fake, endpoint, content)
    COUNTS["agreement rejected"] += bool(server)
    assert {line for line, _ in server} == {line for line, _ in local}, (server, local)
    assert server == local, (server, local)


def submit_offline(fake: FakeBatchesAPI, client: BatchesClient, endpoint: str, content: bytes) -> str:
    """`submit` refuses the input with InputError, or the batch it makes is never failed by the server."""
    try:
        job = submit(client, content, endpoint=endpoint)
    except InputError as err:
        assert str(err) and not preflight(content, endpoint, unchecked_model_prefix=FAKE_ERROR_PREFIX).ok
        return "refused by the core"
    fake.advance(7_300)
    statuses = {fake.batch(batch_id)["status"] for batch_id in job.batch_ids}
    assert statuses == {"completed"}, [fake.batch(batch_id)["errors"] for batch_id in job.batch_ids]
    return "completed"


@given(case=hostile_files())
def run_submit(case: tuple[str, bytes]) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), models="any")  # the core checks structure, never the catalogue
    client = BatchesClient.offline(fake=fake)
    COUNTS["submit " + fuzz("submit", submit_offline, fake, client, *case)] += 1


def check_result_line(raw: str | bytes) -> None:
    try:
        parsed = parse_result_line(raw, line=7)
    except InputError as err:
        assert err.line == 7 and str(err).startswith("line 7: ")
        COUNTS["parse_result_line refused"] += 1
        return
    assert isinstance(parsed, ResultLine) and isinstance(parsed.custom_id, str)
    assert parsed.status in ("ok", "error", "expired", "cancelled")
    if parsed.ok:
        assert 200 <= parsed.status_code < 300 and parsed.error_code is None
    else:
        assert parsed.error_code is not None
    COUNTS["parse_result_line parsed"] += 1


result_like = st.fixed_dictionaries(
    {"custom_id": st.one_of(st.text(max_size=8), json_values)},
    optional={
        "id": json_values,
        "response": st.one_of(
            json_values,
            st.fixed_dictionaries({}, optional={
                "status_code": st.one_of(st.sampled_from([200, 204, 299, 300, 400, 429, 500]), json_values),
                "request_id": json_values,
                "body": st.one_of(json_values, st.fixed_dictionaries({"error": json_values})),
            }),
        ),
        "error": st.one_of(json_values, st.fixed_dictionaries({}, optional={"code": json_values,
                                                                          "message": json_values})),
    },
)


result_lines = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    result_like.map(lambda v: json.dumps(v)),
    result_like.map(lambda v: json.dumps(v).encode("utf-8", "surrogatepass")),
    result_like.map(lambda v: b"\xef\xbb\xbf" + json.dumps(v).encode("utf-8", "surrogatepass")),
    result_like.map(lambda v: "\ufeff" + json.dumps(v)),
    st.sampled_from([1, 50, 900, 990, 1_000, 5_000, 100_000]).map(
        lambda d: b'{"custom_id":"x","error":' + deep_json(d, "array") + b"}"),
    st.sampled_from([1, 50, 900, 990, 1_000, 5_000, 100_000]).map(
        lambda d: b'{"custom_id":"x","response":{"status_code":400,"body":{"error":'
        + deep_json(d, "object") + b"}}}"),
    st.sampled_from([b"NaN", b"1e999", b"9" * 5000, b'"\\ud800"', b"-0"]).map(
        lambda v: b'{"custom_id":"x","response":{"status_code":%s,"body":%s},"error":%s}' % (v, v, v)),
)


@given(raw=result_lines)
def run_result_lines(raw: str | bytes) -> None:
    fuzz("parse_result_line", check_result_line, raw)


def read_results(client: BatchesClient, file_id: str) -> int:
    """Read a file as `results()` does (download, decode, parse): rows, or the core's own error."""
    rows = 0
    try:
        for n, text in enumerate(client.iter_file_lines(file_id), start=1):
            if text.strip():
                assert isinstance(parse_result_line(text, n), ResultLine)
                rows += 1
    except BatchesError as err:
        assert str(err)
        COUNTS["reader clean errors"] += 1
    return rows


@given(lines=st.lists(st.one_of(result_lines, hostile_lines("/v1/chat/completions")), max_size=6),
       end=st.sampled_from([b"\n", b"", b"\r\n"]))
def run_reader(lines: list[str | bytes], end: bytes) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    content = b"\n".join(x.encode("utf-8", "surrogatepass") if isinstance(x, str) else x for x in lines) + end
    file_id = fake.upload(content, filename="out.jsonl")["id"]
    COUNTS["reader rows"] += fuzz("result reader", read_results, BatchesClient.offline(fake=fake), file_id)
