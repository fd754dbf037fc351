"""`Store`: the fake's state and its machinery: tenants, ids, the clock, the limits, the locks, and the paths
every operation shares (create a batch from a checked input, view a batch, settle result files).

`backend.Backend` builds the API's operations on it. Locks: one global lock guards the tenants' maps and
every schedule; it is held only for lookups and small updates, never while a body is read, an input file is
validated (`_parsed`, under the file's own lock) or answers are computed (`_view`, under the batch's own
lock). Order: a batch lock may take the global lock, never the other way round. A list page and a files
listing never wait for a batch lock: a batch whose lines another request is answering right now is shown as
last returned (`_shown`: consistent, and never older than a view already returned), and settled later.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from . import batches as ops
from . import validation
from .catalogue import ModelRule, ModelsOption
from .clock import Clock
from .errors import ApiError
from .lifecycle import Timings, observe
from .limits import CreationRate, TokenQuota
from .spec import BATCH_CREATES_PER_HOUR, CANCELLABLE, TERMINAL
from .state import BatchRecord, FileRecord, ParsedInput, Progress, Tenant

__all__ = ["Store", "IdSource", "TenantKey"]

TenantKey = tuple[str, str | None]  # (organization, project)
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class IdSource:
    """Ids from one seeded `random.Random`, so a seeded fake hands out the same ids on every run."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # also shuffles each batch's output order
        self._lock = threading.Lock()

    def request_id(self) -> str:
        with self._lock:
            return f"req_{self.rng.getrandbits(128):032x}"

    def file_id(self) -> str:
        with self._lock:
            return "file-" + "".join(self.rng.choice(_ALNUM) for _ in range(22))

    def batch_id(self) -> str:
        with self._lock:
            return f"batch_{self.rng.getrandbits(128):032x}"


class Store:
    """The fake's state, ids, clock, limits and locks, and the internals every operation shares."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        timings: Timings | None = None,
        responder: Callable[..., Any] | None = None,
        models: ModelsOption = None,
        enqueued_token_limits: dict[str, int] | None = None,
        batch_create_limit_per_hour: int | None = BATCH_CREATES_PER_HOUR,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.timings = timings or Timings()
        self.responder = responder
        self.model_rule = ModelRule.of(models)
        self.creation_rate = CreationRate(batch_create_limit_per_hour)
        self.quota = TokenQuota(enqueued_token_limits)
        self._lock = threading.RLock()
        self._tenants: dict[TenantKey, Tenant] = {}
        self._ids = IdSource(seed)
        self._seq = 0

    @property
    def models(self) -> Any:
        """What `models=` was given (None: the catalogue)."""
        return self.model_rule.option

    @models.setter
    def models(self, value: ModelsOption) -> None:
        self.model_rule = ModelRule.of(value)

    def reset(self) -> None:
        """Forget every tenant (their spilled files are closed), the limits' counts, and restart ids from the seed."""
        with self._lock:
            for tenant in self._tenants.values():
                tenant.discard()
            self._tenants = {}
            self._ids = IdSource(self.seed)
            self._seq = 0
            self.creation_rate.clear()
            self.quota.clear()

    close = reset  # what a stopping server calls: nothing may stay on disk

    def now(self) -> float:
        return self.clock.now()

    def new_request_id(self) -> str:
        return self._ids.request_id()

    # ------------------------------------------------------------ internals shared by the operations

    def _seconds(self) -> int:
        return int(self.clock.now())

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _status(self, record: BatchRecord) -> str:
        return observe(record.schedule, self.clock.now()).status

    def _tenant(self, key: TenantKey) -> Tenant:
        """The tenant `key`, created on first write (reads never create one)."""
        tenant = self._tenants.get(key)
        if tenant is None:
            tenant = self._tenants[key] = Tenant(organization=key[0], project=key[1])
        return tenant

    def _select(self, key: TenantKey | None) -> list[Tenant]:
        if key is None:
            return list(self._tenants.values())
        return [self._tenants[key]] if key in self._tenants else []

    def _file(self, tenant_key: TenantKey, file_id: str) -> FileRecord:
        """A live file of the tenant (expired ones are removed first); 404 otherwise. Under the lock."""
        tenant = self._tenants.get(tenant_key)
        record = None
        if tenant is not None:
            tenant.expire_files(self.clock.now())
            record = tenant.files.get(file_id)
        if record is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id")
        return record

    def _batch(self, tenant_key: TenantKey, batch_id: str) -> tuple[Tenant, BatchRecord]:
        tenant = self._tenants.get(tenant_key)
        record = tenant.batches.get(batch_id) if tenant is not None else None
        if tenant is None or record is None:
            raise ApiError(404, f"No batch found with id '{batch_id}'.")
        return tenant, record

    def _find_batch(self, batch_id: str) -> tuple[Tenant, BatchRecord]:
        for tenant in self._tenants.values():
            if batch_id in tenant.batches:
                return tenant, tenant.batches[batch_id]
        raise KeyError(f"no batch {batch_id!r} in this fake")

    def _parsed(self, source: FileRecord, endpoint: str, rule: ModelRule) -> ParsedInput:
        """The input file checked against `endpoint`: once per file, shared by every batch made from it.
        Runs under the file's own lock only, so other clients carry on while a 200 MB file is validated."""
        key = (endpoint, rule)
        with source.parse_lock:
            parsed = source.parsed.get(key)
            if parsed is None:
                for stale in [k for k in source.parsed if k[1] is not rule]:  # the model rule changed since
                    del source.parsed[stale]
                result = validation.validate_input(source.blob.iter_lines(), endpoint,
                                                   is_supported_model=rule.for_endpoint(endpoint))
                parsed = ParsedInput(result.errors, [] if result.errors else result.requests, result.model,
                                     result.prompt_tokens)
                source.parsed[key] = parsed
            return parsed

    def _create(self, tenant_key: TenantKey, endpoint: str, input_file_id: str, completion_window: str,
                metadata: dict[str, str] | None, output_expires_seconds: int | None,
                rate_limited: bool) -> tuple[Tenant, BatchRecord]:
        with self._lock:
            now = self._seconds()
            tenant = self._tenant(tenant_key)
            tenant.expire_files(now)
            if rate_limited:
                self.creation_rate.take(tenant_key[0], now)
            source = tenant.files.get(input_file_id)
            rule = self.model_rule
        parsed = self._parsed(source, endpoint, rule) if source is not None else None
        with self._lock:
            now = self._seconds()
            if parsed is None:
                errors = [validation.missing_file_error(input_file_id, tenant.organization)]
            else:
                errors = list(parsed.errors)
                if not errors:
                    refused = self.quota.refusal(tenant_key[0], parsed.model, parsed.prompt_tokens, now)
                    errors = [refused] if refused else []
            record = ops.new_batch(
                batch_id=self._ids.batch_id(), seq=self._next_seq(), now=now, endpoint=endpoint,
                input_file_id=input_file_id, completion_window=completion_window, metadata=metadata,
                output_expires_seconds=output_expires_seconds, timings=self.timings, rng=self._ids.rng,
                parsed=parsed, errors=errors,
            )
            self.quota.add(tenant_key[0], record)
            tenant.add_batch(record)
        return tenant, record

    def _cancel(self, tenant: Tenant, record: BatchRecord) -> None:
        """THE cancel rule: a finished batch is a 409; cancelling or cancelled stays as it is; else cancel now."""
        status = self._status(record)
        if status in TERMINAL - {"cancelled"}:
            raise ApiError(409, f"Cannot cancel a batch with status '{status}'.")
        if status in CANCELLABLE:
            schedule = record.schedule.copy()  # a schedule a view has seen is never changed in place
            schedule.cancelling_at = self._seconds()
            record.schedule = schedule
            tenant.watch_end(record)

    def _force(self, batch_id: str, action: str, errors: list[dict] | None = None) -> dict:
        with self._lock:
            tenant, record = self._find_batch(batch_id)
            ops.force(record, action, self._status(record), self._seconds(), errors)
            tenant.watch_end(record)
        return self._view(tenant, record)

    def _view(self, tenant: Tenant, record: BatchRecord, *, wait: bool = True) -> dict:
        """The batch as the API returns it now: its progress carried to now under the batch's own lock (answers
        computed here, each line once; result files written the first time it is seen terminal).

        wait=False (list pages, other tenants' clients): when another request is answering this batch's lines
        right now, do not wait for it: show the batch as last returned (`_shown`) instead."""
        if not record.lock.acquire(blocking=wait):
            return self._shown(record)
        try:
            return self._carry(tenant, record)
        finally:
            record.lock.release()

    def _carry(self, tenant: Tenant, record: BatchRecord) -> dict:
        """`_view`'s work, under `record.lock`: carry the lines to now, settle, then publish `record.shown`."""
        with self._lock:
            now = self.clock.now()
            schedule = record.schedule
            view = observe(schedule, now)
            count = schedule.done_count(view.processed_until)
        progress = ops.advance(record, count, self.responder)
        if view.terminal_at is not None and not record.settled:
            progress = progress or Progress()
            made = ops.settle(record, progress, view, self._ids.file_id)
            with self._lock:
                for file in made:
                    file.seq = self._next_seq()
                    tenant.add_file(file)
        record.progress_ = progress
        record.shown = (now, schedule, progress)  # one reference: a reader gets all three of one view
        return ops.batch_dict(record, view, progress)

    def _shown(self, record: BatchRecord) -> dict:
        """The batch as last returned, without its lock: the same instant, schedule and counts replayed, so it is
        consistent and never older than any view already returned. O(1)."""
        shown = record.shown
        if shown is None:  # pragma: no cover - every batch is shown from its creation
            return self._view(self._find_batch(record.id)[0], record)
        at, schedule, progress = shown
        return ops.batch_dict(record, observe(schedule, at), progress)

    def _settle_due(self, tenant_key: TenantKey) -> Tenant | None:
        """Write the result files of the tenant's batches that ended since last asked (never a walk over all).
        A batch whose lines another request is answering right now is not waited for: it is noted again, and
        settled by that request or the next listing."""
        with self._lock:
            tenant = self._tenants.get(tenant_key)
            due = tenant.due_batches(self.clock.now()) if tenant is not None else []
        for record in due:
            assert tenant is not None
            if record.lock.acquire(blocking=False):
                try:
                    self._carry(tenant, record)
                finally:
                    record.lock.release()
            else:
                with self._lock:
                    tenant.watch_end(record)
        return tenant
