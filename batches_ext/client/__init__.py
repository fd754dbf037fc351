"""batches_ext.client: the Batches + Files API over one `requests.Session` — the only wing that imports requests.

    client = BatchesClient()                      # key from OPENAI_API_KEY
    f = client.upload_file("requests.jsonl")
    b = client.create_batch(f.id, metadata={"run": "1"})
    client = BatchesClient.offline()              # the same API against an in-process FakeBatchesAPI
    save_batch_files(client, b, "out/")           # streamed, atomic, never outside out/
    create_batch("file-abc", api_key="sk-...")    # per-call functions with per-call settings

Modules: `batches_client` (BatchesClient), `transport` (one call on the wire: attempts, retries, the deadline,
error answers, adopting a lost create), `connection` (the key as an auth object, the watched adapter, capped
body reads, one-line transport failures), `deadline` (the call's budget and the watchdog that cuts a socket),
`intents` (a create's tag / unique upload name and the lookup that adopts it), `shapes` (what a 2xx answer must
look like), `retry` (the retry policy and the one backoff), `uploads` (streamed multipart bodies), `streams`
(download chunks and lines), `saving` (files to disk), `calls` (the module-level functions), `paging`
(filtered paging of batches), `protocol` (`BatchesAPI`, what the other wings call on a client).
"""

from __future__ import annotations

from .batches_client import OFFLINE_API_KEY, USER_AGENT, BatchesClient
from .calls import cancel_batch, create_batch, list_batches, retrieve_batch
from .paging import ACTIVE, PageResult, fetch_page, matches
from .protocol import BatchesAPI
from .retry import backoff_delay, deadline_for, retry_delay, should_retry_status
from .saving import safe_filename, save_batch_files, save_file

__all__ = [
    "ACTIVE",
    "OFFLINE_API_KEY",
    "USER_AGENT",
    "BatchesAPI",
    "BatchesClient",
    "PageResult",
    "backoff_delay",
    "cancel_batch",
    "create_batch",
    "deadline_for",
    "fetch_page",
    "list_batches",
    "matches",
    "retrieve_batch",
    "retry_delay",
    "safe_filename",
    "save_batch_files",
    "save_file",
    "should_retry_status",
]
