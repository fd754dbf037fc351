"""A job's parts and their states: what the journal keeps for each part, and the words for where a part stands.

A part is one batch's worth of a job's input (a range of its lines, uploaded as one input file). Its `state`
is the status of its batch as last seen (`validating` ... `completed`, `failed`, `expired`, `cancelled`), or
one of the client's own states before a batch exists:

* `pending`: uploaded, waiting for its turn (the job's enqueued tokens, a 429's retry-after, or a resubmission
  after `token_limit_exceeded`);
* `submitting`: a create is in flight (claimed in the journal, so two kernels never create it twice);
* `refused`: the API refused to create it (a 4xx other than 429): the part is over, its lines did not run;
* `withdrawn`: cancelled before it was ever created.

Metadata keys: every batch of a job carries ``batches_ext_job=<job id>`` and ``batches_ext_part="i/n"``;
a retry job also ``batches_ext_retry_of``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..spec import TERMINAL

__all__ = [
    "JOB_KEY",
    "PART_KEY",
    "RETRY_KEY",
    "PENDING",
    "SUBMITTING",
    "REFUSED",
    "WITHDRAWN",
    "CLIENT_STATES",
    "FINAL_STATES",
    "ENQUEUED_STATES",
    "TOKEN_LIMIT_CODE",
    "JobPart",
]

JOB_KEY = "batches_ext_job"
PART_KEY = "batches_ext_part"
RETRY_KEY = "batches_ext_retry_of"

PENDING = "pending"
SUBMITTING = "submitting"
REFUSED = "refused"
WITHDRAWN = "withdrawn"
#: States a part has before (or instead of) a batch.
CLIENT_STATES = (PENDING, SUBMITTING, REFUSED, WITHDRAWN)
#: A part in one of these is over: its batch ended, or it never will have one.
FINAL_STATES = frozenset(TERMINAL | {REFUSED, WITHDRAWN})
#: A part in one of these counts against the job's enqueued tokens (the API counts a batch until it ends).
ENQUEUED_STATES = frozenset({SUBMITTING, "validating", "in_progress", "finalizing", "cancelling"})
#: The code of a batch the API failed for the organization's per-model enqueued-token quota.
TOKEN_LIMIT_CODE = "token_limit_exceeded"


@dataclass
class JobPart:
    """One part of a job: its 1-based `index`, the input lines it holds (`first_line` is 1-based), its input
    file and its batch (None while pending), and what the client knows that the server does not: the
    estimated input `tokens`, the `output_cap` its lines set (None: some line is uncapped), the create
    `attempts`, batches of earlier attempts (`earlier`, e.g. failed for `token_limit_exceeded`), and when it
    may be created next (`not_before`, on the client's clock)."""

    index: int
    batch_id: str | None
    input_file_id: str | None
    lines: int
    bytes: int
    first_line: int = 1
    tokens: int = 0
    output_cap: int | None = None
    state: str = "validating"
    attempts: int = 0
    not_before: float | None = None
    uncertain: bool = False  # a create may have happened without an answer: look before creating again
    earlier: list[str] = field(default_factory=list)
    last_error: str | None = None
    usage: dict[str, Any] | None = None  # the batch's usage once it ended
    counts: tuple[int, int, int] | None = None  # (completed, failed, total) as last seen
    model: str | None = None  # the batch's model as the API reports it
    claimed_at: float | None = None  # when the create in flight was claimed (`submitting`; the client's clock)
    claimed_by: str | None = None
    attempted_at: float | None = None  # an uncertain create may have happened after this time

    @property
    def never_uploaded(self) -> bool:
        """No batch and no input file: a submit interrupted during its uploads left this part's lines unsent (only
        the caller's request lines can run them)."""
        return not self.batch_id and not self.input_file_id

    @property
    def final(self) -> bool:
        """True once the part is over (its batch ended, it was refused or withdrawn)."""
        return self.state in FINAL_STATES

    @property
    def enqueued(self) -> bool:
        """True while the part's tokens count against the quota (a create in flight or a batch not ended)."""
        return self.state in ENQUEUED_STATES

    @property
    def pending(self) -> bool:
        return self.state == PENDING

    def label(self, parts: int) -> str:
        """`part 3/10`."""
        return f"part {self.index}/{parts}"
