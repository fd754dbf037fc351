"""The official openai SDK against the fake, through all three doors, with strict response validation.

The same scenario runs under the installed openai (3.x, httpx2) and, in a subprocess, under openai 2.x
(httpx) from `.ci/openai2` (`pip install --no-deps --target .ci/openai2 'openai>=2,<3' distro`).
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fake_server.clock import ManualClock
from fake_server.fake import FakeBatchesAPI
from tests.fake_server.conftest import KEY, batch_input

openai = pytest.importorskip("openai", reason="the SDK tests need the openai package")

ROOT = Path(__file__).resolve().parents[2]
OPENAI2 = ROOT / ".ci" / "openai2"
FLAG = "FAKE_SERVER_OPENAI2"  # set in the openai 2.x subprocess
STRICT = {"api_key": KEY, "max_retries": 0, "_strict_response_validation": True}


@contextmanager
def _door(name: str, fake: FakeBatchesAPI) -> Iterator[Any]:
    if name == "in_process":
        yield fake.openai_client(**STRICT)
    elif name == "respx":
        with fake.mock_httpx():
            yield openai.OpenAI(**STRICT)  # the SDK's own default http client
    else:
        with fake.serve() as server:
            yield openai.OpenAI(base_url=server.base_url, **STRICT)


def _scenario(client: Any, fake: FakeBatchesAPI) -> None:
    content = batch_input(3)
    file = client.files.create(file=("in.jsonl", content), purpose="batch")
    assert (file.purpose, file.bytes, file.filename) == ("batch", len(content), "in.jsonl")

    created = [
        client.batches.create(
            input_file_id=file.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"n": str(i)},
        )
        for i in range(12)
    ]
    first = created[0]
    assert first.status == "validating" and first.input_file_id == file.id
    assert client.batches.retrieve(first.id).metadata == {"n": "0"}

    page = client.batches.list(limit=5)
    assert len(page.data) == 5 and page.has_more
    assert [b.id for b in page] == [b.id for b in reversed(created)]  # auto-pagination walks every page

    fake.advance(3600)
    done = client.batches.retrieve(first.id)
    assert done.status == "completed" and done.request_counts.completed == 3
    output = client.files.content(done.output_file_id).text.splitlines()
    assert sorted(re.search(r'"custom_id": ?"([^"]+)"', line).group(1) for line in output) == [
        "request-1",
        "request-2",
        "request-3",
    ]

    fresh = client.batches.create(
        input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert client.batches.cancel(fresh.id).status == "cancelling"
    with pytest.raises(openai.ConflictError):
        client.batches.cancel(first.id)
    with pytest.raises(openai.NotFoundError):
        client.batches.retrieve("batch_missing")

    with client.files.with_streaming_response.content(file.id) as response:
        assert b"".join(response.iter_bytes()) == content


@pytest.mark.parametrize("door", ["in_process", "respx", "loopback"])
def test_sdk_scenario(door: str) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    with _door(door, fake) as client:
        _scenario(client, fake)


@pytest.mark.parametrize("door", ["in_process", "respx"])
def test_sdk_scenario_dropped_connection_is_an_api_connection_error(door: str) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    with _door(door, fake) as client:
        fake.faults.drop_next(path=r"/batches$")
        with pytest.raises(openai.APIConnectionError):
            client.batches.list()
        assert client.batches.list().data == []


def test_async_sdk_scenario() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    content = batch_input(2)

    async def main() -> None:
        client = fake.async_openai_client(**STRICT)
        file = await client.files.create(file=("in.jsonl", content), purpose="batch")
        ids = [
            (
                await client.batches.create(
                    input_file_id=file.id, endpoint="/v1/chat/completions", completion_window="24h"
                )
            ).id
            for _ in range(3)
        ]
        assert [b.id async for b in client.batches.list(limit=2)] == ids[::-1]
        async with client.files.with_streaming_response.content(file.id) as response:
            assert b"".join([chunk async for chunk in response.iter_bytes()]) == content
        await client.close()

    asyncio.run(main())


def test_scenario_runs_on_openai2() -> None:
    """Inside the subprocess: proves PYTHONPATH picked openai 2.x (httpx), so the scenarios above ran on it."""
    if not os.environ.get(FLAG):
        pytest.skip(f"only meaningful in the openai 2.x subprocess ({FLAG}=1)")
    from fake_server.transports import sdk_http_module

    assert openai.__version__.startswith("2.") and sdk_http_module().__name__ == "httpx"


def test_openai2_in_a_subprocess() -> None:
    if os.environ.get(FLAG):
        pytest.skip("already inside the openai 2.x subprocess")
    if not (OPENAI2 / "openai").is_dir():
        pytest.skip(
            f"openai 2.x is not installed in {OPENAI2} "
            "(pip install --no-deps --target .ci/openai2 'openai>=2,<3' distro)"
        )
    env = {
        **os.environ,
        FLAG: "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(OPENAI2), str(ROOT), os.environ.get("PYTHONPATH")) if p
        ),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-k", "scenario", "-q", "-p", "no:cacheprovider", "-rs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    tail = (result.stdout + result.stderr)[-3000:]
    assert result.returncode == 0, tail
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 7 and "skipped" not in result.stdout.splitlines()[-1], tail


def test_openai_client_is_strict_by_default() -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    assert fake.openai_client()._strict_response_validation is True
    assert fake.openai_client(_strict_response_validation=False)._strict_response_validation is False


def test_a_list_and_delete_loop_over_files_list_cleans_up_every_file() -> None:
    """The SDK's auto-pager asks for `after=<last id>`, a file the loop has just deleted."""
    fake = FakeBatchesAPI(clock=ManualClock())
    client = fake.openai_client()
    for i in range(5):
        client.files.create(file=(f"in{i}.jsonl", batch_input(1)), purpose="batch")
    deleted = [client.files.delete(f.id).id for f in client.files.list(purpose="batch", limit=2)]
    assert len(deleted) == 5 and fake.files() == []
