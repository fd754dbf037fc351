"""Contract fuzzing: schemathesis-generated requests against the loopback fake get no 5xx, and every answer
conforms to OpenAI's own schema (the vendored Batch + Files subset in tests/reliability/spec) (issue 7).

How it runs. The YAML is loaded, the null allowance is applied, and `schemathesis.openapi.from_dict` builds
the schema. For each of the nine operations (create/list/retrieve/cancel batch; list/upload/retrieve/delete/
content file) `APIOperation.as_strategy()` generates positive and negative cases, each carrying
`Authorization: Bearer KEY` (the fake runs with `api_keys=[KEY]`), and `Case.call()` sends them to one
module-wide loopback server (`FakeBatchesAPI(...).serve()`) that already holds batches in every status and
files of several purposes. A second test draws the path ids (`batch_id`, `file_id`) and `input_file_id`
from those real objects, so retrieve, cancel (200 and 409), delete, download and create really succeed.
Every answer goes through one function, `_Judge.problems`, and the counts land in the reliability report.

The null allowance. OpenAI's spec types many nullable fields without `null` (`output_file_id`,
`expires_at`, `status_details`, ...) while the real API sends `null`; as in
tests/fake_server/test_spec_conformance.py, every `type` in components/schemas also admits `null` (and an
`enum` admits `None`), and nothing else is relaxed. Schemas reachable only from request bodies
(CreateBatchRequest, CreateFileRequest and their parts) are left as published, so "positive" requests stay
what the spec asks for; the allowance is about what the API answers.

One erratum besides. The spec lets an upload name `purpose: evals` (CreateFileRequest) but leaves `evals`
out of OpenAIFile's `purpose` enum, so the only correct answer to a valid upload would fail it. The fake
(like the API) returns the purpose the file was uploaded with; the checking schema adds to OpenAIFile's
enum the upload purposes it lacks (today: `evals`), and a test fails once the spec fixes this itself.

Statuses the spec does not declare. The subset documents only `200` for each operation, while OpenAI's
reference (and the real API) answers 400/401/404/409/429 with its error envelope. Treated as:
* 5xx: always a failure (counted as "5xx answers"), documented or not;
* a documented status (200): schemathesis' `response_schema_conformance` and `content_type_conformance`
  against that status's schema;
* an undocumented 4xx: conforming only when it is `application/json` and validates against the spec's
  `ErrorResponse` (`{"error": {"message", "type", "param", "code"}}`, with the allowance); we check this
  ourselves because schemathesis skips schema checks for undocumented statuses;
* any other undocumented status (1xx, 2xx other than 200, 3xx): non-conforming.
`GET /files/{file_id}/content` is the one documented answer the spec describes wrongly (`application/json`,
`type: string`; the API sends the file's raw bytes — see docs/reference/openai-batch-api.md): its
200 is checked byte for byte against what the fake stores instead of as JSON.

A bug this module found and that is now fixed: a malformed multipart upload body (what negative mode sends
for a non-object body: `--B\\r\\n1.5--B--\\r\\n`) was a 500, because python-multipart's parse error escaped
`fake_server.files.parse_upload`; it is a 400 now, and `test_upload_with_a_malformed_multipart_body_is_a_400`
keeps it so. Every upload body schemathesis generates is fuzzed.
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from fake_server import FakeBatchesAPI, ManualClock
from tests.null_allowance import allow_null
from tests.reliability.conftest import bounded_or_long

SPEC = Path(__file__).resolve().parent / "spec" / "openai-batch-files-subset.yaml"
KEY = "sk-contract-" + uuid.uuid4().hex
AUTH = {"Authorization": f"Bearer {KEY}"}
OPERATIONS = {"createBatch", "listBatches", "retrieveBatch", "cancelBatch",
              "listFiles", "createFile", "retrieveFile", "deleteFile", "downloadFile"}
STATUSES = ["validating", "in_progress", "finalizing", "completed", "failed", "expired", "cancelling", "cancelled"]
LINE = {"custom_id": "r-1", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}
SHOWN = 5  # failures quoted in full in an assertion message


# ------------------------------------------------------------------------------------------ the schema


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(schemas: dict, roots: Iterator[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen and name in schemas:
            seen.add(name)
            todo.extend(_refs(schemas[name]))
    return seen


def _published() -> dict:
    """The vendored spec as published (a fresh copy each call)."""
    return copy.deepcopy(_PUBLISHED)


def load_spec() -> dict:
    """The vendored spec with the null allowance applied to every component schema an answer can carry."""
    raw = _published()
    spec = _published()
    schemas = spec["components"]["schemas"]
    operations = [op for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)]
    requests_only = _reachable(schemas, (n for op in operations for n in _refs(op.get("requestBody", {}))))
    answers = _reachable(schemas, (n for op in operations for n in _refs(op.get("responses", {}))))
    answers |= _reachable(schemas, iter(["ErrorResponse"]))
    for name in schemas:
        if name in answers or name not in requests_only:
            schemas[name] = allow_null(schemas[name])
    # The one erratum (see the module docstring): a file has whatever purpose it was uploaded with.
    purpose = schemas["OpenAIFile"]["properties"]["purpose"]
    purpose["enum"] += [p for p in _upload_purposes(raw) if p not in purpose["enum"]]
    return spec


def _upload_purposes(spec: dict) -> list[str]:
    return spec["components"]["schemas"]["CreateFileRequest"]["properties"]["purpose"]["enum"]


_PUBLISHED = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
SCHEMA_DICT = load_spec()
SCHEMA = schemathesis.openapi.from_dict(SCHEMA_DICT)


def _operations() -> dict[str, Any]:
    out = {}
    for result in SCHEMA.get_all_operations():
        operation = result.ok()
        out[operation.definition.raw["operationId"]] = operation
    return out


OPS = _operations()


# ------------------------------------------------------------------------------------------ the check


class _Judge:
    """The one check every answer goes through, and the tally of a fuzzing run.

    `problems(case, response)` returns ("5xx" | "non-conforming", message) pairs, empty when the answer is
    fine; `run(case)` sends a case to the loopback server, judges the answer and records it.
    """

    def __init__(self, fake: FakeBatchesAPI, base_url: str = "") -> None:
        self.fake = fake
        self.base_url = base_url
        self.error_envelope = jsonschema.Draft202012Validator(
            {"$ref": "#/components/schemas/ErrorResponse", "components": SCHEMA_DICT["components"]})
        self.requests = 0
        self.per_operation: Counter[str] = Counter()
        self.per_status: Counter[tuple[str, int]] = Counter()
        self.failures: dict[str, list[str]] = {"5xx": [], "non-conforming": []}

    def problems(self, case: schemathesis.Case, response: schemathesis.Response) -> list[tuple[str, str]]:
        op_id = case.operation.definition.raw["operationId"]
        status = response.status_code
        documented = str(status) in case.operation.responses.status_codes
        checks = [not_a_server_error]
        if documented and op_id != "downloadFile":
            checks += [response_schema_conformance, content_type_conformance]
        found: list[tuple[str, str]] = []
        try:
            case.validate_response(response, checks=checks, headers=AUTH)
        except FailureGroup as group:
            found += [("5xx" if isinstance(failure, ServerError) else "non-conforming",
                       f"{status} {failure.title}: {failure.message}".rstrip(": ")) for failure in group.exceptions]
        if status >= 500:
            if not any(kind == "5xx" for kind, _ in found):
                found.append(("5xx", f"status {status}"))
        elif documented and op_id == "downloadFile":
            found += self._content_problems(case.path_parameters["file_id"], response)
        elif 400 <= status < 500:
            found += self._envelope_problems(response)
        elif not documented:
            found.append(("non-conforming", f"undocumented status {status}"))
        return found

    def _content_problems(self, file_id: str, response: schemathesis.Response) -> list[tuple[str, str]]:
        try:
            stored: bytes | None = self.fake.file_content(file_id)
        except Exception:  # noqa: BLE001 - gone or never stored: any 200 is then wrong
            stored = None
        if stored != response.content:
            return [("non-conforming", f"200 content of {file_id!r} is not the stored file")]
        return []

    def _envelope_problems(self, response: schemathesis.Response) -> list[tuple[str, str]]:
        status = response.status_code
        content_type = (response.headers.get("content-type") or [""])[0]
        if not content_type.startswith("application/json"):
            return [("non-conforming", f"{status} with Content-Type {content_type!r}")]
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            return [("non-conforming", f"{status} body is not JSON: {exc}")]
        return [("non-conforming", f"{status} is not an ErrorResponse: {e.message} at {list(e.absolute_path)}")
                for e in self.error_envelope.iter_errors(body)]

    def run(self, case: schemathesis.Case) -> None:
        """Send `case`, judge the answer and record it (failures are collected, not raised)."""
        response = case.call(base_url=self.base_url, headers=AUTH, timeout=10)
        op_id = case.operation.definition.raw["operationId"]
        self.requests += 1
        self.per_operation[op_id] += 1
        self.per_status[(op_id, response.status_code)] += 1
        for kind, message in self.problems(case, response):
            self.failures[kind].append(f"{message}\n    {case.as_curl_command(headers=AUTH)}")


@dataclass
class World:
    """The module's loopback server and what was seeded into it."""

    server: Any
    batch_ids: list[str]
    file_ids: list[str]
    input_ids: list[str]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One loopback fake for the module (key KEY only), seeded; stopped at the end."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    server = fake.serve()
    try:
        yield World(server, *_seed(fake))
    finally:
        server.stop()


def _seed(fake: FakeBatchesAPI) -> tuple[list[str], list[str], list[str]]:
    """Batches in every status, files of several purposes; returns (batch ids, file ids, batch-input ids)."""
    batches = [fake.seed_batch(status, requests=4, failed=1 if status == "completed" else 0) for status in STATUSES]
    inputs = [fake.upload([LINE])["id"] for _ in range(3)]
    others = [fake.upload(b"hello", filename="notes.txt", purpose=p)["id"] for p in ("user_data", "assistants")]
    outputs = [b[k] for b in batches for k in ("output_file_id", "error_file_id") if b.get(k)]
    files = inputs + others + outputs + [b["input_file_id"] for b in batches]
    return [b["id"] for b in batches], files, inputs


def _fuzz(strategy: st.SearchStrategy, examples: int, judge: _Judge) -> None:
    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def fuzz(case: schemathesis.Case) -> None:
        judge.run(case)

    fuzz()


def _strategy(operation: Any, **fixed: Any) -> st.SearchStrategy:
    return st.one_of(operation.as_strategy(GenerationMode.POSITIVE, headers=AUTH, **fixed),
                     operation.as_strategy(GenerationMode.NEGATIVE, headers=AUTH, **fixed))


def _verdict(judge: _Judge, report: Any, started: float) -> None:
    report.add("contract", "requests generated", judge.requests)
    report.add("contract", "operations covered", len(judge.per_operation), f"of {len(OPERATIONS)}")
    report.add("contract", "seconds fuzzing", round(time.perf_counter() - started, 1), "s")
    by_status = Counter[int]()
    for (_, status), n in judge.per_status.items():
        by_status[status] += n
    report.add("contract", "answers by status", ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
    report.loss("contract", "5xx answers", len(judge.failures["5xx"]))
    report.loss("contract", "non-conforming responses", len(judge.failures["non-conforming"]))
    assert set(judge.per_operation) == OPERATIONS, sorted(OPERATIONS - set(judge.per_operation))
    for kind, found in judge.failures.items():
        assert not found, (f"{len(found)} {kind} (the commands filter the key; the server accepts only "
                           f"'Authorization: Bearer {KEY}'):\n" + "\n".join(found[:SHOWN]))


# ------------------------------------------------------------------------------------------ the tests


def test_spec_holds_the_nine_operations_and_the_allowance_is_only_null() -> None:
    assert set(OPS) == OPERATIONS
    raw = _published()["components"]["schemas"]
    batch = SCHEMA_DICT["components"]["schemas"]["Batch"]
    assert batch["properties"]["output_file_id"]["type"] == ["string", "null"]
    assert batch["properties"]["status"]["enum"] == [*raw["Batch"]["properties"]["status"]["enum"], None]
    # request schemas keep the published types, so positive generation never sends null there
    assert SCHEMA_DICT["components"]["schemas"]["CreateBatchRequest"] == raw["CreateBatchRequest"]


def test_the_purpose_erratum_is_still_needed() -> None:
    raw = _published()
    answered = raw["components"]["schemas"]["OpenAIFile"]["properties"]["purpose"]["enum"]
    added = [p for p in _upload_purposes(raw) if p not in answered]
    assert added == ["evals"], "the spec changed: revisit the OpenAIFile purpose erratum"
    checked = SCHEMA_DICT["components"]["schemas"]["OpenAIFile"]["properties"]["purpose"]["enum"]
    assert checked == [*answered, None, *added]


@pytest.mark.parametrize("examples", bounded_or_long(50, 500))
def test_generated_requests_get_no_5xx_and_conforming_answers(world: World, report, examples: int) -> None:
    judge = _Judge(world.server.fake, world.server.base_url)
    started = time.perf_counter()
    for operation in OPS.values():
        _fuzz(_strategy(operation), examples, judge)
    _verdict(judge, report, started)
    uploads = {status: n for (op, status), n in judge.per_status.items() if op == "createFile"}
    assert uploads.get(200), f"no generated upload was accepted: {uploads}"


@pytest.mark.parametrize("examples", bounded_or_long(25, 300))
def test_requests_on_real_ids_get_no_5xx_and_conforming_answers(world: World, report, examples: int) -> None:
    fake: FakeBatchesAPI = world.server.fake
    batch_ids, file_ids, input_ids = _seed(fake)  # fresh objects: this test cancels and deletes them
    judge = _Judge(fake, world.server.base_url)
    started = time.perf_counter()
    batch_id = st.sampled_from([*batch_ids, "batch_unknown"])
    file_id = st.sampled_from([*file_ids, "file-unknown"])
    # deletes last, so retrieve and download still find the files
    for op_id, operation in sorted(OPS.items(), key=lambda item: item[0] == "deleteFile"):
        names = {p.name for p in operation.path_parameters}
        if "batch_id" in names:
            strategy = batch_id.flatmap(lambda b, op=operation: _strategy(op, path_parameters={"batch_id": b}))
        elif "file_id" in names:
            strategy = file_id.flatmap(lambda f, op=operation: _strategy(op, path_parameters={"file_id": f}))
        elif op_id == "createBatch":
            strategy = st.tuples(_strategy(operation), st.sampled_from(input_ids)).map(_with_input)
        else:
            strategy = _strategy(operation)
        _fuzz(strategy, examples, judge)
    _verdict(judge, report, started)
    hits = {op: sorted(s for (o, s), _ in judge.per_status.items() if o == op) for op in OPERATIONS}
    for op_id in ("retrieveBatch", "cancelBatch", "retrieveFile", "downloadFile", "deleteFile", "createBatch"):
        assert 200 in hits[op_id], f"{op_id} never succeeded on a real id: {hits[op_id]}"
    assert 409 in hits["cancelBatch"], f"no finished batch was cancelled: {hits['cancelBatch']}"


@pytest.mark.parametrize("body", [1.5, [], None], ids=["number", "list", "null"])
def test_upload_with_a_malformed_multipart_body_is_a_400(world: World, body: Any) -> None:
    """What schemathesis' negative mode sends for a non-object multipart body, e.g. for 1.5:
    `--B\\r\\n1.5--B--\\r\\n` with `Content-Type: multipart/form-data; boundary=B`."""
    judge = _Judge(world.server.fake)
    case = OPS["createFile"].Case(body=body, media_type="multipart/form-data", headers=dict(AUTH))
    response = case.call(base_url=world.server.base_url, timeout=10)
    assert judge.problems(case, response) == []
    assert response.status_code == 400


def _with_input(pair: tuple[schemathesis.Case, str]) -> schemathesis.Case:
    case, input_file_id = pair
    if isinstance(case.body, dict):
        case.body = {**case.body, "input_file_id": input_file_id}
    return case


# ---------------------------------------------------------------------------- the check can fail


def _answer(server: Any, op_id: str, **path: str) -> tuple[schemathesis.Case, schemathesis.Response]:
    case = OPS[op_id].Case(path_parameters=path, headers=dict(AUTH))
    return case, case.call(base_url=server.base_url, timeout=10)


def _forged(real: schemathesis.Response, status: int, body: Any) -> schemathesis.Response:
    return schemathesis.Response(status_code=status, headers={"content-type": ["application/json"]},
                                 content=json.dumps(body).encode(), request=real.request, elapsed=0.0, verify=True)


def test_the_check_catches_broken_answers(world: World) -> None:
    server = world.server
    fake: FakeBatchesAPI = server.fake
    judge = _Judge(fake)
    batch = fake.seed_batch("completed", requests=2)
    case, real = _answer(server, "retrieveBatch", batch_id=batch["id"])
    assert real.status_code == 200 and judge.problems(case, real) == []

    wrong_type = {**real.json(), "request_counts": {"total": "many", "completed": 0, "failed": 0}}
    assert [kind for kind, _ in judge.problems(case, _forged(real, 200, wrong_type))] == ["non-conforming"]
    missing = {k: v for k, v in real.json().items() if k != "created_at"}
    assert [kind for kind, _ in judge.problems(case, _forged(real, 200, missing))] == ["non-conforming"]
    assert judge.problems(case, _forged(real, 200, {**real.json(), "output_file_id": None})) == []

    fake.faults.fail_next(500, path=f"/batches/{batch['id']}$")
    case, five = _answer(server, "retrieveBatch", batch_id=batch["id"])
    assert five.status_code == 500
    assert "5xx" in [kind for kind, _ in judge.problems(case, five)]

    case, missing_batch = _answer(server, "retrieveBatch", batch_id="batch_nope")
    assert missing_batch.status_code == 404 and judge.problems(case, missing_batch) == []
    bad_envelope = {"error": {"message": "nope", "type": "invalid_request_error", "param": None, "code": 404}}
    assert [kind for kind, _ in judge.problems(case, _forged(missing_batch, 404, bad_envelope))] == ["non-conforming"]
    assert judge.problems(case, _forged(missing_batch, 404, {"detail": "nope"}))
    assert judge.problems(case, _forged(missing_batch, 302, {}))

    file = fake.upload([LINE])
    case, content = _answer(server, "downloadFile", file_id=file["id"])
    assert content.status_code == 200 and judge.problems(case, content) == []
    altered = schemathesis.Response(status_code=200, headers=content.headers, content=content.content + b"x",
                                    request=content.request, elapsed=0.0, verify=True)
    assert judge.problems(case, altered)
