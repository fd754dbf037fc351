"""A `Job`: one or more batches submitted together — its parts, where it ran, and resolving any job target.

A job's batches carry ``batches_ext_job=<job id>`` and ``batches_ext_part="i/n"`` in their metadata, so
`find_job` can rebuild a Job from the batch list alone; `Job.load` reads the journal first (which also knows
the parts not created yet, the token estimates and the options). A *target* (what `wait`, `results` and
`retry_failed` take) is a batch id, a `Batch`, a `Job`, or a list of those.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..config import redact_url
from ..errors import ConfigError, ConflictError, InputError, JobError
from ..models import Batch
from ..spec import INTENT_KEY, TERMINAL
from .estimate import Estimate, ran_requests, total_spend
from .journal import JobRecord, Journal, default_journal
from .scheduling import Step, advance, new_owner, refresh
from .state import JOB_KEY, PART_KEY, RETRY_KEY, WITHDRAWN, JobPart

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["Job", "Target", "Backend", "backend_of", "batch_ids", "find_job"]

Target = Any  # str batch id | Batch | Job | list of those
_FAKES: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()  # live offline fakes -> their token
_FAKES_LOCK = threading.Lock()


@dataclass(frozen=True)
class Backend:
    """Where a job runs: `key` names it (the base URL without credentials, organization and project; or one
    in-process fake), never the key."""

    key: str
    base_url: str
    organization: str | None = None
    project: str | None = None
    offline: bool = False

    @property
    def label(self) -> str:
        """`offline fake`, or `https://api.openai.com/v1 (org-x, proj_y)`."""
        if self.offline:
            return "offline fake"
        tenant = ", ".join(x for x in (self.organization, self.project) if x)
        return self.base_url + (f" ({tenant})" if tenant else "")


def backend_of(client: Any) -> Backend:
    """The `Backend` a client talks to (an offline client: its fake, which the journal tells apart from any
    later fake, so a job of a discarded fake is shown as such)."""
    settings = getattr(client, "settings", None)
    base = redact_url(str(getattr(settings, "base_url", "") or ""))
    organization, project = getattr(settings, "organization", None), getattr(settings, "project", None)
    fake = getattr(client, "fake", None)
    if getattr(client, "is_offline", False) and fake is not None:
        with _FAKES_LOCK:
            token = _FAKES.get(fake)
            if token is None:
                token = _FAKES[fake] = uuid.uuid4().hex[:16]
        return Backend(f"offline:{token}", base, organization, project, True)
    return Backend(f"{base}|{organization or ''}|{project or ''}", base, organization, project)


class Job:
    """One or more batches submitted together (a split input), in input order.

    `parts` are what the client knows of each (its lines, token estimate, input file, batch, state); a part
    waits `pending` (no batch yet) while the job's enqueued tokens are at its budget or a 429 asks it to. The
    job advances (creates pending parts as earlier ones end) when `advance(client)` runs: `wait()` and a
    `BatchMonitor` call it for you. `journal` is where it is kept (None: only in memory)."""

    def __init__(self, id: str, batch_ids: list[str] | None = None, parts: list[JobPart] | None = None,  # noqa: A002
                 endpoint: str | None = None, metadata: dict[str, str] | None = None, retry_of: str | None = None,
                 offline: bool = False, *, model: str | None = None, completion_window: str = "24h",
                 options: dict[str, Any] | None = None, estimate: dict[str, Any] | None = None,
                 name: str | None = None, created_at: float | None = None, backend: Backend | None = None,
                 warnings: list[str] | None = None, journal: Journal | None = None,
                 results_path: str | None = None) -> None:
        self.id = id
        self.parts: list[JobPart] = list(parts or [])
        self._batch_ids = list(batch_ids or [])
        self.endpoint = endpoint
        self.metadata: dict[str, str] = dict(metadata or {})
        self.retry_of = retry_of
        self.offline = offline  # submitted to the offline fake: every view says so
        self.model = model
        self.completion_window = completion_window
        self.options: dict[str, Any] = dict(options or {})
        self.estimate_data: dict[str, Any] = dict(estimate or {})
        self.name = name
        self.created_at = created_at
        self.backend = backend
        self.warnings: list[str] = list(warnings or [])
        self.journal = journal
        self.results_path = results_path
        self.batches: dict[str, Batch] = {}  # the latest Batch seen per id (this process)
        self._gone: bool | None = None
        self.lock = threading.RLock()
        self.owner = new_owner()  # who claims this Job's parts in the journal
        #: where this Job came from: "submit", "journal" (Job.load) or "server" (rebuilt by find_job)
        self.source = "journal" if journal is not None else "submit"

    # ------------------------------------------------------------------ what it holds

    @property
    def batch_ids(self) -> list[str]:
        """The batch of each part that has one, in part order."""
        if self.parts:
            return [p.batch_id for p in self.parts if p.batch_id]
        return list(self._batch_ids)

    @property
    def lines(self) -> int:
        return sum(p.lines for p in self.parts)

    def __len__(self) -> int:
        return len(self.batch_ids)

    @property
    def pending(self) -> list[JobPart]:
        """The parts with no batch yet that will get one (waiting for their turn)."""
        return [p for p in self.parts if not p.final and p.batch_id is None]

    @property
    def finished(self) -> bool:
        """True when every part is over: its batch ended, or it was refused or withdrawn."""
        return bool(self.parts) and all(p.final for p in self.parts)

    @property
    def enqueued_tokens(self) -> int:
        """The estimated input tokens of the parts whose batches have not ended (what the quota counts)."""
        return sum(p.tokens for p in self.parts if p.enqueued)

    @property
    def gone(self) -> bool:
        """True for a job of an offline fake that no longer exists (discarded, or another kernel's); `jobs(client)`
        sets it for the fakes other than the client's."""
        if self._gone is not None:
            return self._gone
        if self.backend is None or not self.backend.offline:
            return False
        with _FAKES_LOCK:
            return self.backend.key.split(":", 1)[1] not in set(_FAKES.values())

    @gone.setter
    def gone(self, value: bool) -> None:
        self._gone = value

    @property
    def spend(self) -> float | None:
        """Dollars spent so far by the job's batches, from their `usage` at the dated batch prices (None when
        the model has no price)."""
        items = []
        for part in self.parts:
            batch = self.batches.get(part.batch_id) if part.batch_id else None
            usage = batch.usage if batch is not None and batch.usage else part.usage
            ran = ran_requests(batch) if batch is not None else bool(part.counts and sum(part.counts[:2]))
            items.append((usage, (batch.model if batch is not None else None) or part.model or self.model, ran))
        return total_spend(items)

    def estimate(self) -> Estimate:
        """Requests, estimated input tokens (and whether exact), the output cap and the price range. How many
        lines set no output cap is the count `submit` made of the lines (kept in the journal); a job rebuilt
        from the server alone counts every line of a part with any uncapped line."""
        est = Estimate.of_parts(self.parts, exact=bool(self.estimate_data.get("exact")), model=self.model,
                                endpoint=self.endpoint)
        counted = self.estimate_data.get("uncapped")
        if (isinstance(counted, int) and est.output_cap is None and self.estimate_data.get("requests") == est.requests
                and 0 < counted <= est.uncapped):
            est = replace(est, uncapped=counted)
        return est

    # ------------------------------------------------------------------ acting on it

    def check_client(self, client: BatchesAPI) -> None:
        """Raise JobError when `client` cannot reach this job's batches (a job of an offline fake that is gone,
        or one side offline and the other not)."""
        if self.backend is None:
            return
        mine = backend_of(client)
        if self.backend.offline and mine.key != self.backend.key:
            raise JobError(f"{self.id} ran on an offline fake that no longer exists (turned off, replaced by "
                           f"another, or the kernel restarted): its batches are gone with it", job=self)
        if mine.offline and not self.backend.offline:
            raise JobError(f"{self.id} was submitted to {self.backend.label}; this client is the offline fake "
                           f"(`%batches fake off` returns to the real API)", job=self)

    def advance(self, client: BatchesAPI, *, clock: Callable[[], float] | None = None) -> Step:
        """One step: fetch the batches not known to have ended, send parts refused for the token quota back to
        pending, and create the pending parts whose turn has come (see `jobs.scheduling`). Returns the `Step`.
        `clock`: the time waits are measured on (default the client's)."""
        self.check_client(client)
        return advance(client, self, clock=clock)

    def refresh(self, client: BatchesAPI) -> Step:
        """Fetch the batches not known to have ended and record their state, creating nothing."""
        self.check_client(client)
        return refresh(client, self)

    def cancel(self, client: BatchesAPI) -> list[Batch]:
        """Cancel the job: its parts not created yet are withdrawn (never created), its running batches
        cancelled. Returns the batches cancelled."""
        self.check_client(client)
        done: list[Batch] = []
        with self.lock:
            if self.journal is not None:
                self.parts[:] = self.journal.parts(self.id) or self.parts
            for i, part in enumerate(list(self.parts)):
                if part.batch_id is None and not part.final:
                    withdrawn = replace(part, state=WITHDRAWN, last_error="cancelled before it was created")
                    if self.journal is None or self.journal.save_part(self.id, withdrawn, expect=part):
                        self.parts[i] = withdrawn
            for part in self.parts:
                if part.batch_id and part.state not in TERMINAL:
                    try:
                        batch = client.cancel_batch(part.batch_id)
                    except ConflictError:  # it finished meanwhile
                        continue
                    self.batches[batch.id] = batch
                    done.append(batch)
        return done

    def record_results(self, path: str) -> None:
        """Note in the journal where the results were saved (shown by `%batches jobs`)."""
        import time

        self.results_path = str(path)
        if self.journal is not None:
            self.journal.update_job(self.id, results_path=self.results_path, results_saved_at=time.time())

    # ------------------------------------------------------------------ the journal

    @classmethod
    def load(cls, job_id: str, client: BatchesAPI | None = None, *, journal: Journal | None = None) -> Job:
        """The job `job_id`: from the journal (any kernel's, any notebook's), else, given a client, rebuilt from
        its batches' metadata on the server (`find_job`; parts not created yet are then unknown)."""
        if journal is None:
            try:
                journal = default_journal()
            except ConfigError:
                journal = None
        record = journal.get(job_id) if journal is not None else None
        if record is not None:
            assert journal is not None
            return cls.from_record(record, journal)
        where = f" ({journal.path})" if journal is not None else ""
        if client is not None:
            try:
                return find_job(client, job_id)
            except JobError as err:
                raise JobError(f"no job {job_id}: not in the journal{where}, and {err}") from None
        raise JobError(f"no job {job_id} in the journal{where}; with a client, Job.load(job_id, client) also "
                       f"looks for its batches on the server")

    @classmethod
    def from_record(cls, record: JobRecord, journal: Journal | None = None) -> Job:
        backend = Backend(record.backend, record.base_url, record.organization, record.project, record.offline)
        return cls(record.id, None, record.parts, record.endpoint, record.metadata, record.retry_of,
                   record.offline, model=record.model, completion_window=record.completion_window,
                   options=record.options, estimate=record.estimate, name=record.name,
                   created_at=record.created_at, backend=backend, warnings=record.warnings, journal=journal,
                   results_path=record.results_path)

    def to_record(self) -> JobRecord:
        backend = self.backend or Backend("unknown", "")
        return JobRecord(self.id, self.created_at or 0.0, backend.key, backend.base_url, backend.organization,
                         backend.project, backend.offline, self.endpoint, self.model, self.completion_window,
                         self.name, dict(self.metadata), self.retry_of, dict(self.options),
                         dict(self.estimate_data), self.results_path, None, list(self.warnings), list(self.parts))

    # ------------------------------------------------------------------ views

    def __repr__(self) -> str:
        """One line for logs: `<Job job_abc: 2 batches (batch_a, batch_b), 60,000 lines>`."""
        from ..render import job_repr

        return job_repr(self)

    def __str__(self) -> str:
        """The readable view (`print(job)`, terminal IPython): one line per part with its state, lines, tokens."""
        from ..render import job_text

        return job_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from ..render import pretty

        pretty(self, printer, cycle)

    def _repr_html_(self) -> str:
        from ..render import job_html

        return job_html(self)


def batch_ids(target: Target) -> tuple[list[str], bool]:
    """(batch ids, single) for a batch id, Batch, Job or list of those."""
    if isinstance(target, str):
        return [target], True
    if isinstance(target, Job):
        return list(target.batch_ids), False
    if isinstance(target, Batch) or (hasattr(target, "id") and hasattr(target, "status")):
        return [target.id], True
    if isinstance(target, (list, tuple)):
        ids: list[str] = []
        for item in target:
            ids.extend(batch_ids(item)[0])
        return ids, False
    raise InputError(f"expected a batch id, Batch, Job or list of them, got {type(target).__name__}")


def find_job(client: BatchesAPI, job_id: str, *, batches: list[Batch] | None = None) -> Job:
    """Rebuild a `Job` from the batches whose metadata names `job_id` (scans the batch list, or `batches`).
    A part created more than once (after `token_limit_exceeded`) is its newest batch; parts never created are
    unknown to the server and left out."""
    found: dict[int, list[Batch]] = {}
    for batch in batches if batches is not None else client.iter_batches():
        meta = batch.metadata or {}
        if meta.get(JOB_KEY) == job_id:
            found.setdefault(_part_index(meta.get(PART_KEY)), []).append(batch)
    if not found:
        raise JobError(f"no batch carries metadata {JOB_KEY}={job_id!r}")
    parts: list[JobPart] = []
    first = 1
    for index in sorted(found):
        tries = sorted(found[index], key=lambda b: (b.created_at or 0, b.id))
        latest = tries[-1]
        c = latest.request_counts
        parts.append(JobPart(index, latest.id, latest.input_file_id, c.total, 0, first, state=latest.status,
                             attempts=len(tries), earlier=[b.id for b in tries[:-1]], model=latest.model,
                             counts=(c.completed, c.failed, c.total),
                             usage=latest.usage if latest.is_terminal else None))
        first += c.total
    newest = parts[0]
    head = next(b for b in found[newest.index] if b.id == newest.batch_id)
    user = {k: v for k, v in (head.metadata or {}).items() if k not in (JOB_KEY, PART_KEY, INTENT_KEY)}
    created = [b.created_at for tries in found.values() for b in tries if b.created_at]
    job = Job(job_id, None, parts, head.endpoint, user, retry_of=user.get(RETRY_KEY), offline=client.is_offline,
              model=head.model, backend=backend_of(client), created_at=min(created) if created else None)
    job.source = "server"
    for tries in found.values():
        job.batches.update({b.id: b for b in tries})
    return job


def _part_index(value: Any) -> int:
    try:
        return int(str(value).split("/", 1)[0])
    except ValueError:
        return 0
