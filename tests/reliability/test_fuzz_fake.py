"""Fuzzing the fake: hostile input files, paths, query strings, JSON bodies and multipart uploads are answered
below 500 with the API's 4-key envelope, or end as a documented batch outcome; never an exception out of the
handler.
"""

from __future__ import annotations

import json

import pytest

from batches_ext.jsonl import parse_result_line
from fake_server import FakeBatchesAPI, ManualClock
from tests.fake_server.calls import call
from tests.reliability.conftest import bounded_or_long
from tests.reliability.fuzzing import (
    COUNTS,
    fake_outcome,
    record,
    run_examples,
    run_fake_validator,
    run_raw_requests,
    run_uploads,
)


@pytest.mark.parametrize("examples", bounded_or_long(300, 3_000))
def test_the_fake_answers_every_hostile_input_file_cleanly(examples: int, report) -> None:
    COUNTS.clear()
    try:
        run_examples(run_fake_validator, examples)
    finally:
        record(report, "fake", "fake input-file validator")
        report.add("fuzzing", "fake lines answered with a documented per-line 400",
                   COUNTS["fake per-line 400s"])
        report.add("fuzzing", "fake outcomes: upload 4xx/create 4xx/failed/ran",
                   " / ".join(str(COUNTS[f"fake outcome {o}"]) for o in ("upload 4xx", "create 4xx", "failed",
                                                                        "completed")))
    # the fuzzer reached every outcome, so each branch's checks ran
    assert COUNTS["fake outcome failed"] > 0 and COUNTS["fake outcome completed"] > 0
    assert COUNTS["fake outcome upload 4xx"] > 0


def test_a_videos_line_gets_an_answer() -> None:
    """A valid /v1/videos batch runs its line like any other endpoint: 200 and a video object, not a 404.

    (Found by the fuzzer above: the fake had no videos responder and answered every line 404.)
    """
    fake = FakeBatchesAPI(clock=ManualClock())
    content = json.dumps({"custom_id": "v-1", "method": "POST", "url": "/v1/videos",
                          "body": {"model": "sora-2", "prompt": "A cat on a skateboard"}}).encode() + b"\n"
    outcome = fake_outcome(fake, "/v1/videos", content, "input.jsonl")
    assert outcome == "completed"
    batch = fake.batches()[0]
    assert batch["request_counts"] == {"total": 1, "completed": 1, "failed": 0}, batch["request_counts"]
    line = parse_result_line(fake.file_content(batch["output_file_id"]).splitlines()[0])
    assert line.ok and line.body["object"] == "video", line


@pytest.mark.parametrize("examples", bounded_or_long(400, 4_000))
def test_the_fake_answers_hostile_requests_with_4xx(examples: int, report) -> None:
    COUNTS.clear()
    try:
        run_examples(run_raw_requests, examples)
        run_examples(run_uploads, examples)
    finally:
        record(report, "raw request", "fake raw requests")
    assert COUNTS["uploads accepted"] > 0 and COUNTS["uploads refused"] > 0


MALFORMED_MULTIPART = [b"\x00", b"garbage", b"--y\r\n", b"--x\r\nno headers", b"--x\r\n\r\n\r\n--x--\r\n",
                       b"--x\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--xy"]


def test_a_malformed_multipart_upload_gets_a_400(report) -> None:
    """A body that is not the multipart it claims to be is the client's mistake: a 400, not a crash or a 500.

    (Found by these fuzzers and by test_contract.py: parse_upload let python_multipart's MultipartParseError
    escape.)
    """
    fake = FakeBatchesAPI(clock=ManualClock())
    crashed = []
    for body in MALFORMED_MULTIPART:
        try:
            answer = call(fake, "POST", "/files", body,
                          headers={"content-type": "multipart/form-data; boundary=x"})
        except Exception as exc:  # noqa: BLE001 - an exception out of the handler is the bug
            crashed.append((body, exc))
            continue
        if answer.status >= 500:
            crashed.append((body, answer.status))
            continue
        assert answer.status == 400 and set(answer.json()["error"]) == {"message", "type", "param", "code"}
    report.add("fuzzing", "malformed multipart uploads tried", len(MALFORMED_MULTIPART))
    report.loss("fuzzing", "malformed multipart upload crashes", len(crashed))
    assert not crashed, \
        f"{len(crashed)} of {len(MALFORMED_MULTIPART)} malformed bodies crashed: {crashed[:2]}"
