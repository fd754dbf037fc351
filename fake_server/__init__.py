"""fake_server: an in-memory fake of the OpenAI Batches + Files API, for tests and offline notebooks.

    from fake_server import FakeBatchesAPI, ManualClock

    fake = FakeBatchesAPI(clock=ManualClock())
    client = fake.openai_client()              # the official SDK, in-process
    f = client.files.create(file=("in.jsonl", data), purpose="batch")
    b = client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    fake.advance(3600)                         # status, stamps and counts follow the clock
    client.batches.retrieve(b.id).status       # 'completed'

Doors: `fake.mount(requests_session)` (requests, in-process), `fake.openai_client()` /
`fake.httpx_transport()` / `fake.mock_httpx()` (httpx or httpx2, in-process), `fake.serve()` and
`python -m fake_server` (loopback HTTP). Fixtures `fake_batches` and `fake_batches_server` come
with the pytest plugin. This package never imports batches_ext.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> defining module. Imported on first use, so `import fake_server` (and the
# pytest plugin that pytest loads in every session) costs almost nothing.
_EXPORTS = {
    "FakeBatchesAPI": "fake",
    "RecordedRequest": "request_log",
    "ManualClock": "clock",
    "SystemClock": "clock",
    "DEFAULT_SPEED": "clock",
    "Timings": "lifecycle",
    "LineError": "responders",
    "RequestLine": "responders",
    "FaultPlan": "faults",
    "Request": "wire",
    "Response": "wire",
    "DropConnection": "wire",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fake_server' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
