"""Typed jobs: a structured-output job on the fake (which answers json_schema requests with JSON that satisfies the
schema) round-trips into a pydantic model, for chat and responses; an answer that does not fit is a per-row
failure with its reason, never an exception for the whole set; a JSON Schema dict works without pydantic."""

from __future__ import annotations

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import InputError
from batches_ext.jobs import ParseFailure, ResultRow, Results, results, submit, wait
from batches_ext.jsonl import build_requests
from fake_server import FakeBatchesAPI, LineError, ManualClock

pydantic = pytest.importorskip("pydantic")


class Colour(pydantic.BaseModel):
    name: str
    hex_code: str | None = None
    warm: bool
    shades: list[str]


@pytest.mark.parametrize("endpoint", ["/v1/chat/completions", "/v1/responses"])
def test_a_structured_job_round_trips_into_the_model(endpoint: str) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), responder=lambda line: (
        (500, {"error": {"message": "boom", "type": "server_error", "param": None, "code": None}})
        if line.custom_id == "request-3" else None))
    client = BatchesClient.offline(fake)
    lines = build_requests(["Describe red.", "Describe blue.", "Describe green."], model="gpt-4o-mini",
                           endpoint=endpoint, response_format=Colour)
    job = submit(client, lines)
    wait(client, job)
    res = results(client, job)
    parsed = res.parsed(Colour)
    assert [type(p).__name__ for p in parsed] == ["Colour", "Colour", "ParseFailure"]
    assert all(isinstance(p.warm, bool) and isinstance(p.shades, list) for p in parsed[:2])
    assert parsed[2].custom_id == "request-3" and "no answer (error" in parsed[2].reason and not parsed[2]
    assert res[0].parsed(Colour) == parsed[0]
    frame = res.to_pandas(parsed=Colour)
    assert list(frame.columns[:7]) == ["custom_id", "prompt", "answer", "status", "tokens", "parsed", "parse_error"]
    assert frame["parsed"][0] == parsed[0] and frame["parsed"][2] is None
    assert frame["parse_error"][2].startswith("no answer") and frame["parse_error"].isna()[0]


def test_an_answer_that_does_not_fit_is_a_failure_for_its_row_with_the_reason() -> None:
    def row(content: str, refusal: str | None = None) -> ResultRow:
        message = {"role": "assistant", "content": content, "refusal": refusal}
        return ResultRow("r", "ok", 200, {"choices": [{"message": message}]})

    good = row('{"name": "red", "hex_code": null, "warm": true, "shades": []}')
    assert good.parsed(Colour).name == "red"
    missing, not_json, refused = row('{"name": "red"}'), row("red!"), row("", refusal="I cannot.")
    got = Results([missing, not_json, refused]).parsed(Colour)
    assert all(isinstance(p, ParseFailure) and not p for p in got)
    reasons = [p.reason for p in got]
    assert reasons[0].startswith("does not fit Colour: warm: Field required")
    assert reasons[1].startswith("the answer is not JSON") and reasons[2] == "the model refused: I cannot."
    with pytest.raises(InputError, match="does not fit Colour"):
        missing.parsed(Colour)


def test_a_json_schema_dict_parses_and_checks_without_pydantic() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}, "required": ["n"]}
    fake = FakeBatchesAPI(clock=ManualClock(), responder=lambda line: (
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": '{"n": 0}', "refusal": None},
                      "finish_reason": "stop"}], "object": "chat.completion", "model": "gpt-4o-mini", "id": "x",
         "created": 0} if line.custom_id == "request-2" else None))
    client = BatchesClient.offline(fake)
    job = submit(client, build_requests(["one", "two"], model="gpt-4o-mini", response_format=schema))
    wait(client, job)
    first, second = results(client, job).parsed(schema)
    assert isinstance(first, dict) and first["n"] >= 1
    assert isinstance(second, ParseFailure) and "does not fit the schema: n: 0 is less than the minimum of 1" \
        in second.reason


def test_a_line_error_is_a_per_row_failure() -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), responder=lambda line: (_ for _ in ()).throw(
        LineError("bad", code="invalid_request")))
    client = BatchesClient.offline(fake)
    job = submit(client, build_requests(["x"], model="gpt-4o-mini", response_format=Colour))
    wait(client, job)
    [failure] = results(client, job).parsed(Colour)
    assert isinstance(failure, ParseFailure) and "invalid_request" in failure.reason
