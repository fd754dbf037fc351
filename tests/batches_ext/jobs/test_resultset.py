"""Results: list-like views, records, pandas, atomic saves, and its text and HTML.
"""

from __future__ import annotations

import csv
import json
import os
import sys

import pytest

from batches_ext import render
from batches_ext.errors import MissingDependency
from batches_ext.jobs import ResultRow, Results
from batches_ext.jsonl import parse_result_line

from ..jsonl.samples import EXPIRED, HTTP_400, OK


def make_results() -> Results:
    rows = [
        ResultRow.from_line(parse_result_line(json.dumps(OK)), {"custom_id": "request-1"}, "batch_a"),
        ResultRow.from_line(parse_result_line(json.dumps(HTTP_400)), {"custom_id": "request-2"}, "batch_a"),
        ResultRow.from_line(parse_result_line(json.dumps(EXPIRED)), {"custom_id": "request-3"}, "batch_a"),
        ResultRow("request-4", "not_run", input={"custom_id": "request-4"}),
    ]
    return Results(rows, [])


def test_results_are_list_like_with_views() -> None:
    res = make_results()
    assert len(res) == 4 and res[0].custom_id == "request-1"
    assert [r.custom_id for r in res] == ["request-1", "request-2", "request-3", "request-4"]
    assert isinstance(res[1:], Results) and len(res[1:]) == 3
    assert [r.custom_id for r in res.ok] == ["request-1"]
    assert [r.custom_id for r in res.errors] == ["request-2", "request-3", "request-4"]
    assert [r.custom_id for r in res.failed] == ["request-2", "request-3"]
    assert res.counts() == {"ok": 1, "error": 1, "expired": 1, "not_run": 1}
    assert res.get("request-3").status == "expired" and res.get("zzz") is None
    assert res[0].text == "Hello" and res[1].text is None


def test_to_records_and_to_pandas() -> None:
    res = make_results()
    records = res.to_records()
    assert records[0]["custom_id"] == "request-1" and records[0]["answer"] == "Hello"
    assert records[1]["error_code"] == "invalid_request" and records[1]["status_code"] == 400
    pytest.importorskip("pandas")
    df = res.to_pandas()
    assert list(df["custom_id"]) == ["request-1", "request-2", "request-3", "request-4"]
    assert list(df["status"]) == ["ok", "error", "expired", "not_run"]
    assert list(df.columns)[:5] == ["custom_id", "prompt", "answer", "status", "tokens"]
    assert list(df.columns)[-2:] == ["input", "body"]  # the raw request line and response body stay available
    assert {"error_message", "batch_id", "status_code"} <= set(df.columns)


def test_to_pandas_without_pandas_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"pip install 'batches-ext\[pandas\]'") as info:
        make_results().to_pandas()
    assert isinstance(info.value, MissingDependency)


def test_save_jsonl_and_csv_atomically(tmp_path) -> None:
    res = make_results()
    out = res.save(tmp_path / "r.jsonl")
    saved = [json.loads(x) for x in out.read_text().splitlines()]
    assert [s["custom_id"] for s in saved] == [r.custom_id for r in res]
    assert saved[1]["body"]["error"]["code"] == "invalid_request"
    res.save(tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [t["status"] for t in table] == ["ok", "error", "expired", "not_run"]
    assert json.loads(table[0]["body"])["choices"][0]["message"]["content"] == "Hello"
    assert sorted(os.listdir(tmp_path)) == ["r.csv", "r.jsonl"]  # no temporary files left
    with pytest.raises(ValueError, match="use .jsonl or .csv"):
        res.save(tmp_path / "r.txt")


@pytest.mark.parametrize("name", ["r.jsonl", "r.csv"])
def test_a_failing_save_leaves_the_old_file_intact(tmp_path, name: str) -> None:
    target = tmp_path / name
    target.write_text("previous results\n")
    rows = list(make_results()) + [ResultRow("bad", "ok", 200, body={"x": object()})]  # not JSON: fails mid-write
    with pytest.raises(TypeError):
        Results(rows).save(target)
    assert target.read_text() == "previous results\n"
    assert os.listdir(tmp_path) == [name]


def test_repr_and_html_are_small_escaped_and_the_renderers() -> None:
    rows = [ResultRow(f"<id{i}>", "ok", 200, body={"choices": [{"message": {"content": "<b>x</b>"}}]})
            for i in range(65)]
    res = Results(rows, [])
    text = repr(res)
    assert text == "<Results 65 results: 65 ok>"
    page = res._repr_html_()
    assert page.count("<tr>") == 1 + 50 + 1  # header, first 50 rows, "more" row
    assert "15 more rows" in page and "&lt;id0&gt;" in page and "<b>x</b>" not in page
    assert "65 results" in page
    assert page == render.results_html(res) and text == render.results_repr(res)  # one renderer
    assert str(res) == render.results_text(res)


CHAT = {"custom_id": "c1", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "m", "messages": [{"role": "system", "content": "One word."},
                                            {"role": "user", "content": "Name a colour."},
                                            {"role": "assistant", "content": "Blue"},
                                            {"role": "user", "content": [{"type": "text", "text": "And a fruit?"}]}]}}


def test_rows_lead_with_prompt_answer_status_and_tokens() -> None:
    body = {"choices": [{"message": {"content": "Pear"}}], "usage": {"total_tokens": 17}}
    rows = [
        ResultRow("c1", "ok", 200, body, input=CHAT),
        ResultRow("r1", "ok", 200, {"output_text": "Hi", "usage": {"total_tokens": 3}},
                  input={"url": "/v1/responses", "body": {"model": "m", "input": "Say hi"}}),
        ResultRow("e1", "ok", 200, {"data": []},
                  input={"url": "/v1/embeddings", "body": {"model": "e", "input": ["a", "b"]}}),
        ResultRow("x1", "error", 400, {"error": {}}, "invalid_request", "Bad model.", input=CHAT),
        ResultRow("n1", "not_run"),
    ]
    res = Results(rows)
    assert [r.prompt for r in res] == ["And a fruit?", "Say hi", "a | b", "And a fruit?", None]
    assert [r.answer for r in res] == ["Pear", "Hi", None, None, None]
    assert [r.tokens for r in res] == [17, 3, None, None, None]
    first = res.to_records()[0]
    assert list(first)[:5] == ["custom_id", "prompt", "answer", "status", "tokens"]
    assert first["input"] == CHAT and first["body"] == body
    page = res._repr_html_()
    heads = [page.index(f">{h}</th>") for h in ("custom_id", "prompt", "answer", "status", "tokens")]
    assert heads == sorted(heads) and "And a fruit?" in page and "Pear" in page and ">17<" in page


def test_print_shows_a_readable_table_of_the_first_rows() -> None:
    rows = [ResultRow(f"request-{i}", "ok", 200, {"choices": [{"message": {"content": f"answer {i}"}}]},
                      input={"body": {"messages": [{"role": "user", "content": f"question {i}"}]}})
            for i in range(1, 13)]
    rows.append(ResultRow("request-13", "error", 400, None, "invalid_request", "Bad model."))
    lines = str(Results(rows)).splitlines()
    assert lines[0] == "13 results: 12 ok, 1 error"
    assert lines[1].split() == ["custom_id", "prompt", "answer", "status"]
    assert lines[2].split() == ["request-1", "question", "1", "answer", "1", "ok"]
    assert len(lines) == 2 + 10 + 1 and lines[-1].startswith("… 3 more rows")


def test_get_is_a_lookup_built_once() -> None:
    rows = [ResultRow(f"r{i}", "ok") for i in range(50_000)] + [ResultRow("r7", "error")]
    res = Results(rows)
    assert res.get("r49999") is rows[49_999] and res.get("r7") is rows[7] and res.get("nope") is None
    res.rows = []  # the index is built once: later calls do not scan the rows again
    assert res.get("r123") is rows[123]
