"""A `Job`: one or more batches submitted together, tied by metadata, and resolving any job target.

A job's batches carry ``batches_ext_job=<job id>`` and ``batches_ext_part="i/n"`` in their metadata,
so `find_job` can rebuild a Job from the batch list alone. A *target* (what `wait`, `results` and
`retry_failed` take) is a batch id, a `Batch`, a `Job`, or a list of those.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputError, JobError
from ..models import Batch
from ..spec import INTENT_KEY

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["JOB_KEY", "PART_KEY", "RETRY_KEY", "Job", "JobPart", "Target", "batch_ids", "find_job"]

JOB_KEY = "batches_ext_job"
PART_KEY = "batches_ext_part"
RETRY_KEY = "batches_ext_retry_of"
Target = Any  # str batch id | Batch | Job | list of those


@dataclass(frozen=True)
class JobPart:
    """One batch of a job: its 1-based `index`, and which input lines it holds (`first_line` is 1-based)."""

    index: int
    batch_id: str
    input_file_id: str
    lines: int
    bytes: int
    first_line: int = 1


@dataclass
class Job:
    """One or more batches submitted together (a split input), in input order."""

    id: str
    batch_ids: list[str]
    parts: list[JobPart] = field(default_factory=list)
    endpoint: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    retry_of: str | None = None
    offline: bool = False  # submitted to the offline fake: every view says so

    @property
    def lines(self) -> int:
        return sum(p.lines for p in self.parts)

    def __len__(self) -> int:
        return len(self.batch_ids)

    def __repr__(self) -> str:
        """One line for logs: `<Job job_abc: 2 batches (batch_a, batch_b), 60,000 lines>`."""
        from ..render import job_repr

        return job_repr(self)

    def __str__(self) -> str:
        """The readable view (`print(job)`, terminal IPython): one line per part with its lines and bytes."""
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


def find_job(client: BatchesAPI, job_id: str) -> Job:
    """Rebuild a `Job` from the batches whose metadata names `job_id` (scans the batch list)."""
    found: list[tuple[int, Batch]] = []
    for batch in client.iter_batches():
        meta = batch.metadata or {}
        if meta.get(JOB_KEY) == job_id:
            index = _part_index(meta.get(PART_KEY))
            found.append((index, batch))
    if not found:
        raise JobError(f"no batch carries metadata {JOB_KEY}={job_id!r}")
    found.sort(key=lambda ib: ib[0])
    batches = [b for _, b in found]
    user = {k: v for k, v in (batches[0].metadata or {}).items() if k not in (JOB_KEY, PART_KEY, INTENT_KEY)}
    return Job(job_id, [b.id for b in batches], [], batches[0].endpoint, user, retry_of=user.get(RETRY_KEY),
               offline=client.is_offline)


def _part_index(value: Any) -> int:
    try:
        return int(str(value).split("/", 1)[0])
    except ValueError:
        return 0
