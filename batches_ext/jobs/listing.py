"""`jobs()`: the user's jobs, newest first — from the journal (no network), and with `remote=True` also the jobs
whose batches are on the server but not in this journal (rebuilt from their metadata, like `find_job`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import BatchesError, ConfigError, InputError
from ..models import Batch
from .job import Job, backend_of, find_job
from .journal import Journal, default_journal
from .state import JOB_KEY

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["jobs", "list_jobs", "JobList", "REMOTE_SCAN_LIMIT", "REFRESH_LIMIT"]

REMOTE_SCAN_LIMIT = 2_000  # newest batches `jobs(remote=True)` reads
REFRESH_LIMIT = 20  # unfinished jobs `jobs(refresh=True)` brings up to date


class JobList(list):  # type: ignore[type-arg]
    """A list of `Job`s (newest first) that shows itself as one table: id, created, where it ran, model,
    parts done, requests, spend, where its results were saved."""

    def __init__(self, items: Any = (), *, note: str = "") -> None:
        super().__init__(items)
        self.note = note

    @property
    def ids(self) -> list[str]:
        return [j.id for j in self]

    def _repr_html_(self) -> str:
        from ..render import jobs_html

        return jobs_html(self, note=self.note)

    def __repr__(self) -> str:
        from ..render import jobs_text

        return jobs_text(self, note=self.note)


def jobs(client: BatchesAPI | None = None, *, remote: bool = False, limit: int | None = None,
         journal: Journal | None = None, scan_limit: int = REMOTE_SCAN_LIMIT, refresh: bool = False) -> JobList:
    """The jobs in the journal, newest first (at most `limit`), as they stood when last advanced or watched.

    client: the client in use: a job of an offline fake other than its own is shown as gone (without a client, a
    job of a fake no longer alive in this process). remote: also read the newest `scan_limit` batches on the
    server (needs `client`) and add the jobs found there that the journal does not hold (another machine's, or
    from before the journal), rebuilt from their batches' metadata. refresh: first fetch the batches of the
    unfinished jobs the client can reach (at most `REFRESH_LIMIT` jobs), so their states and spend are current
    (a job watched by its batch ids rather than as a job is brought up to date this way)."""
    notes = []
    if journal is None:
        try:
            journal = default_journal()
        except ConfigError as err:
            notes.append(str(err))
    found = [Job.from_record(r, journal) for r in journal.records(limit)] if journal is not None else []
    if client is not None:
        here = backend_of(client).key
        for job in found:
            if job.backend is not None and job.backend.offline:
                job.gone = job.backend.key != here
        if refresh:
            stale = [j for j in found if not j.finished and j.backend is not None and j.backend.key == here]
            for job in stale[:REFRESH_LIMIT]:
                try:
                    job.refresh(client)
                except BatchesError as err:
                    notes.append(f"{job.id} not refreshed: {err}")
    if remote:
        if client is None:
            raise InputError("jobs(remote=True) needs a client to read the batches on the server")
        known = {j.id for j in found}
        groups: dict[str, list[Batch]] = {}
        scanned = 0
        for batch in client.iter_batches():
            scanned += 1
            job_id = (batch.metadata or {}).get(JOB_KEY)
            if job_id and job_id not in known:
                groups.setdefault(job_id, []).append(batch)
            if scanned >= scan_limit:
                notes.append(f"read the newest {scanned:,} batches on the server")
                break
        rebuilt = [find_job(client, job_id, batches=batches) for job_id, batches in groups.items()]
        found += sorted(rebuilt, key=lambda j: j.created_at or 0, reverse=True)
    if journal is not None:
        notes.insert(0, f"journal {journal.path}")
    return JobList(found, note="; ".join(notes))


#: `jobs` under a name that does not shadow the `batches_ext.jobs` package (`from batches_ext import list_jobs`).
list_jobs = jobs
