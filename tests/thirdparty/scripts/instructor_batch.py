"""instructor's BatchProcessor as its README shows it: in-memory submit (BytesIO), poll, results parsed into a
pydantic model. Prints one JSON line the test reads. Talks to OPENAI_BASE_URL (the loopback fake)."""

from __future__ import annotations

import json
import os
import time

import requests
from instructor.batch import BatchProcessor
from pydantic import BaseModel, Field


class City(BaseModel):
    name: str = Field(min_length=1)
    country: str
    population: int = Field(ge=0)


processor = BatchProcessor("openai/gpt-4o-mini", City)
buffer = processor.create_batch_from_messages(
    [[{"role": "system", "content": "Extract the city."}, {"role": "user", "content": f"Tell me about city {i}."}]
     for i in range(5)],
    file_path=None,  # in memory: uploaded as the SDK's default name `upload`
)
batch_id = processor.submit_batch(buffer, metadata={"job": "instructor"})
control = os.environ["OPENAI_BASE_URL"].removesuffix("/v1") + "/__fake__/clock"
requests.post(control, json={"advance": 3600}, timeout=10).raise_for_status()  # the fake's clock, not ours
for _ in range(50):
    status = processor.get_batch_status(batch_id)
    if status["status"] in ("completed", "failed", "expired", "cancelled"):
        break
    time.sleep(0.1)
results = processor.get_results(batch_id)
ok = [r for r in results if r.success]
print(json.dumps({
    "status": status["status"], "counts": status["request_counts"], "results": len(results),
    "parsed": [r.result.model_dump() for r in ok], "custom_ids": sorted(r.custom_id for r in results),
    "errors": [getattr(r, "error_message", "") for r in results if not r.success],
    "listed": [b.id for b in processor.list_batches(limit=5)],
}))
