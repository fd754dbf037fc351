"""bespokelabs-curator's batch mode as shipped: an LLM with batch=True and a pydantic response_format over a few
prompts, against OPENAI_BASE_URL (the loopback fake, whose clock runs fast). Prints one JSON line."""

from __future__ import annotations

import json
import os

from bespokelabs import curator
from pydantic import BaseModel, Field


class Haiku(BaseModel):
    title: str = Field(min_length=1)
    lines: list[str] = Field(min_length=3, max_length=3)


llm = curator.LLM(
    model_name="gpt-4o-mini",
    backend="openai",
    batch=True,
    response_format=Haiku,
    backend_params={"base_url": os.environ["OPENAI_BASE_URL"], "api_key": os.environ["OPENAI_API_KEY"],
                    "batch_check_interval": 1, "max_retries": 1},
)
response = llm([f"Write a haiku about topic {i}." for i in range(4)])
dataset = response.dataset if hasattr(response, "dataset") else response
rows = [dict(row) for row in dataset]
print(json.dumps({"rows": len(rows), "first": rows[0] if rows else None,
                  "columns": sorted(rows[0]) if rows else []}, default=str))
