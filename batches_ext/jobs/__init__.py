"""batches_ext.jobs: jobs of one or more batches — submit, wait, results joined to the inputs, retry.

    job = submit(client, build_requests(prompts, model="gpt-4o-mini"))   # preflight, upload, create
    wait(client, job, on_update=print)                                    # polls with gentle backoff
    res = results(client, job)                                            # rows in input order
    retry_failed(client, job)                                             # failed + expired lines again

A `Job` is one or more batches tied by metadata ``batches_ext_job=<job id>`` and ``batches_ext_part="i/n"``;
`find_job` rebuilds one from the batch list. `wait` shows a text progress bar (`progress`) when someone watches. Every target argument takes a batch id, a `Batch`, a `Job`, or a
list of those. Modules: `job`, `submission` (submit), `polling` (wait), `join` (results), `resultset`
(Results), `progress` (the text progress bar), `retry`.
"""

from __future__ import annotations

from .job import JOB_KEY, PART_KEY, RETRY_KEY, Job, JobPart, Target, batch_ids, find_job
from .join import results
from .polling import wait
from .progress import PROGRESS_ENV, TextProgress, is_interactive
from .resultset import STATUSES, ResultRow, Results
from .retry import retry_failed
from .submission import JobPlan, PlannedPart, plan_job, submit

__all__ = [
    "JOB_KEY",
    "PROGRESS_ENV",
    "PART_KEY",
    "RETRY_KEY",
    "STATUSES",
    "Job",
    "JobPlan",
    "JobPart",
    "PlannedPart",
    "ResultRow",
    "Results",
    "Target",
    "TextProgress",
    "batch_ids",
    "find_job",
    "is_interactive",
    "plan_job",
    "results",
    "retry_failed",
    "submit",
    "wait",
]
