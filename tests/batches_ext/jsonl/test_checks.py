"""preflight: every rule of the Batch API's input validation, reported on its line, agreeing with the fake's
validator, never crashing on arbitrary bytes.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batches_ext.errors import InputError
from batches_ext.jsonl import (
    Preflight,
    preflight,
)
from fake_server.validation import validate_input

from .samples import jsonl, line


def test_clean_input_reports_sizes_endpoint_and_model(tmp_path) -> None:
    data = jsonl(line("a"), line("b"))
    path = tmp_path / "in.jsonl"
    path.write_bytes(data)
    for source in (data, path, str(path), [line("a"), line("b")]):
        report = preflight(source)
        assert (report.lines, report.endpoint, report.model, report.problems) == (
            2, "/v1/chat/completions", "gpt-4o-mini", [])
        assert report.ok and not report.needs_split
        assert report.raise_for_problems() is report
    assert preflight(data).bytes == len(data)


def codes(report: Preflight) -> list[tuple[int | None, str]]:
    return [(p.line, p.code) for p in report.problems]


def test_each_rule_is_reported_on_its_line() -> None:
    bad_url = line("u")
    bad_url["url"] = "/v1/embeddings"
    get = line("g")
    get["method"] = "GET"
    no_body = {"custom_id": "nb", "method": "POST", "url": "/v1/chat/completions"}
    data = b"".join([
        jsonl(line("a")),  # 1 ok
        b"not json\n",  # 2
        jsonl([1, 2]),  # 3 not an object
        jsonl(no_body),  # 4
        jsonl(get),  # 5
        jsonl(bad_url),  # 6
        jsonl(line("s", stream=True)),  # 7
        jsonl(line("m", model="gpt-other")),  # 8
        jsonl(line("a")),  # 9 duplicate
        b"\n",  # 10 blank line in the middle
        jsonl({**line("nm"), "body": {"messages": []}}),  # 11 no model
    ])
    report = preflight(data)
    assert codes(report) == [
        (2, "invalid_json_line"),
        (3, "invalid_json_line"),
        (4, "missing_required_parameter"),
        (5, "invalid_value"),
        (6, "invalid_url"),
        (7, "streaming_unsupported"),
        (8, "mismatched_model"),
        (9, "duplicate_custom_id"),
        (10, "invalid_json_line"),
        (11, "invalid_request"),
    ]
    assert report.lines == 11


def test_preflight_agrees_with_the_fake_servers_validation() -> None:
    get = line("g")
    get["method"] = "GET"
    raw = [
        json.dumps(line("a")).encode(), b"{oops", json.dumps(line("a")).encode(), json.dumps(get).encode(),
        json.dumps(line("s", stream=True)).encode(), json.dumps(line("z", model="other")).encode(),
        json.dumps({"custom_id": "x", "method": "POST", "url": "/v1/chat/completions"}).encode(),
    ]
    ours = preflight(b"\n".join(raw), "/v1/chat/completions")
    server = validate_input(raw, "/v1/chat/completions")
    assert codes(ours) == [(e["line"], e["code"]) for e in server.errors]


def test_raise_for_problems_names_the_first_bad_line_and_carries_all() -> None:
    report = preflight(jsonl(line("request-1"), line("request-2"), line("request-1"), line("x", stream=True)))
    with pytest.raises(InputError) as info:
        report.raise_for_problems()
    err = info.value
    assert str(err).startswith("line 3: duplicate custom_id 'request-1'")
    assert "1 more problem" in str(err)
    assert err.line == 3
    assert [(p.line, p.code) for p in err.problems] == [(3, "duplicate_custom_id"), (4, "streaming_unsupported")]


def test_endpoint_given_or_inferred() -> None:
    data = jsonl(line("a"))
    assert codes(preflight(data, "/v1/embeddings")) == [(1, "invalid_url"), (1, "invalid_request")]
    bad = line("a")
    bad["url"] = "/v1/whatever"
    assert (None, "invalid_endpoint") in codes(preflight(jsonl(bad)))


def test_empty_and_limits() -> None:
    assert codes(preflight(b"")) == [(None, "empty_file")]
    assert codes(preflight([])) == [(None, "empty_file")]
    data = jsonl(*(line(f"r{i}") for i in range(5)))
    report = preflight(data, max_lines=3)
    assert report.needs_split and codes(report) == [(None, "too_many_requests")]
    assert report.line_problems() == []
    report.raise_for_problems(allow_split=True)
    with pytest.raises(InputError, match="5 requests, more than 3"):
        report.raise_for_problems()
    by_bytes = preflight(data, max_bytes=100)
    assert by_bytes.needs_split and codes(by_bytes) == [(None, "file_too_large")]


def test_problem_list_is_bounded() -> None:
    report = preflight(b"x\n" * 50, "/v1/chat/completions", max_problems=10)
    assert len(report.problems) == 11
    assert report.problems[-1].code == "too_many_problems" and "40 more" in report.problems[-1].message


def test_preflight_streams_a_path(tmp_path) -> None:
    path = tmp_path / "big.jsonl"
    body_text = "x" * 5000
    with open(path, "wb") as handle:
        for i in range(2000):  # ~10 MB
            handle.write(json.dumps(line(f"r{i}", extra=body_text)).encode() + b"\n")
    tracemalloc.start()
    try:
        report = preflight(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok and report.lines == 2000
    assert peak < 3 * 1024 * 1024  # never the whole 10 MB file


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_preflight_never_crashes_on_arbitrary_bytes(data: bytes) -> None:
    report = preflight(data)
    assert report.bytes == len(data)
    assert all(isinstance(p.line, (int, type(None))) for p in report.problems)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["custom_id", "method", "url", "body", "model", "stream", "messages", "input"]),
        inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(json_values, max_size=8), st.sampled_from([None, "/v1/chat/completions", "/v1/embeddings"]))
def test_preflight_never_crashes_on_json_shaped_garbage(values: list, endpoint: str | None) -> None:
    data = b"".join(json.dumps(v).encode() + b"\n" for v in values)
    from_bytes = preflight(data, endpoint)
    from_list = preflight(values, endpoint)
    assert codes(from_bytes) == codes(from_list)


def test_fake_error_models_are_exempt_from_the_one_model_rule_only_when_asked() -> None:
    lines = [line("a"), line("b", model="fake-error-429"), line("c")]
    assert [p.code for p in preflight(lines).problems] == ["mismatched_model"]
    report = preflight(lines, unchecked_model_prefix="fake-error-")
    assert report.ok and report.model == "gpt-4o-mini"


def test_bom_and_nan_are_not_json() -> None:
    data = b"\xef\xbb\xbf" + jsonl(line("a")) + b'{"custom_id": "b", "x": NaN}\n'
    assert [c for c in codes(preflight(data, "/v1/chat/completions")) if c[1] == "invalid_json_line"] == [
        (1, "invalid_json_line"), (2, "invalid_json_line")]


def test_a_bom_or_another_encoding_says_so_not_just_not_json() -> None:
    text = json.dumps(line("a", messages=[{"role": "user", "content": "café au lait"}]), ensure_ascii=False)
    bom = preflight(b"\xef\xbb\xbf" + text.encode() + b"\n").problems
    assert [str(p) for p in bom] == ["line 1: starts with a UTF-8 byte-order mark (BOM): save the file as UTF-8 "
                                     "without a BOM"]
    [latin] = preflight(text.encode("latin-1") + b"\n").problems
    column = text.index("é") + 1
    assert str(latin) == (f"line 1: is not UTF-8: byte 0xE9 at column {column} ('café' in Latin-1 / Windows-1252?); "
                          f"the Batch API reads UTF-8 only: save the file as UTF-8")
    assert latin.code == "invalid_json_line"  # the server's code: only the words changed
    assert str(preflight(text.encode("utf-16") + b"\n").problems[0]) == (
        "line 1: is UTF-16, not UTF-8: save the file as UTF-8")
    with pytest.raises(InputError, match="^line 1: starts with a UTF-8 byte-order mark"):
        preflight(b"\xef\xbb\xbf" + text.encode() + b"\n").raise_for_problems()


def test_broken_json_says_where_and_a_non_object_says_what_it_is() -> None:
    problems = preflight(jsonl(line("a")) + b'{"custom_id": "b",}\n[1, 2]\n{"x": NaN}\n\n' + jsonl(line("c"))).problems
    assert [str(p) for p in problems if p.code == "invalid_json_line"] == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes at column 19)",
        "line 3: not a JSON object (a JSON array)",
        "line 4: not valid JSON (NaN is not allowed)",
        "line 5: is blank: every line must be one JSON object (remove blank lines)",
    ]


def test_the_count_of_further_problems_reads_right() -> None:
    with pytest.raises(InputError) as one:
        preflight(jsonl(line("a"), line("a"))).raise_for_problems()
    assert "more problem" not in str(one.value)
    with pytest.raises(InputError) as two:
        preflight(jsonl(line("a"), line("a")) + b"x\n").raise_for_problems()
    assert str(two.value).endswith("(and 1 more problem)")
    with pytest.raises(InputError) as three:
        preflight(jsonl(line("a"), line("a")) + b"x\ny\n").raise_for_problems()
    assert str(three.value).endswith("(and 2 more problems)")


def test_a_responses_line_needs_no_input_but_a_chat_line_needs_messages() -> None:
    """The spec's CreateResponse requires no `input` (a stored prompt, or instructions alone); the fake agrees."""
    stored = {"custom_id": "a", "method": "POST", "url": "/v1/responses",
              "body": {"model": "gpt-4.1", "prompt": {"id": "pmpt_123", "variables": {"city": "Paris"}}}}
    told = {"custom_id": "b", "method": "POST", "url": "/v1/responses", "body": {"model": "gpt-4.1",
                                                                                  "instructions": "hi"}}
    assert preflight(jsonl(stored, told)).problems == []
    chat = line("c")
    del chat["body"]["messages"]
    assert codes(preflight(jsonl(chat))) == [(1, "invalid_request")]
