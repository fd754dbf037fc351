"""batches_ext.jobs: jobs of one or more batches — submit, wait, results joined to the inputs, retry; kept in a
journal so another kernel can pick them up; created within a token budget; priced.

    job = submit(client, build_requests(prompts, model="gpt-4o-mini"), batch_size=5_000,
                 max_enqueued_tokens=1_800_000)                          # upload every part, create what fits
    job.estimate()                                                        # requests, tokens, price range
    wait(client, job)                                                     # polls, creating parts as room appears
    res = results(client, job)                                            # rows in input order; res.spend
    retry_failed(client, job)                                             # failed + expired lines, failed parts
    Job.load("job_abc", client)                                           # after a restart, from the journal
    jobs()                                                                # every job, newest first

A `Job` is one or more batches tied by metadata ``batches_ext_job=<job id>`` and ``batches_ext_part="i/n"``;
`find_job` rebuilds one from the batch list; the journal (`journal`, SQLite under the user's data directory or
`$BATCHES_EXT_HOME`) keeps what only the client knows. `wait` shows a text progress bar (`progress`) when someone
watches. Every target argument takes a batch id, a `Batch`, a `Job`, or a list of those. Modules: `job`, `state`
(parts and their states), `journal`, `planning` (the split and its estimate), `estimate` (tokens, price range,
spend), `scheduling` (`advance`: creates within the budget, resubmits, adopts), `submission` (submit), `polling`
(wait), `join` (results), `resultset` (Results), `parsed` (typed answers), `listing` (jobs), `progress` (the text
progress bar), `retry`.
"""

from __future__ import annotations

from .estimate import Estimate, TokenTally, ran_requests, spend_of, total_spend
from .job import Backend, Job, Target, backend_of, batch_ids, find_job
from .join import results
from .journal import HOME_ENV, JOURNAL_FILE, SCHEMA_VERSION, JobRecord, Journal, data_dir, default_journal
from .listing import REFRESH_LIMIT, REMOTE_SCAN_LIMIT, JobList, jobs, list_jobs
from .parsed import ParseFailure, answer_json, parse_answer, parse_rows
from .planning import JobPlan, PlannedPart, materialise, plan_job, plan_source, split_parts, token_limit_for
from .polling import wait
from .progress import PROGRESS_ENV, TextProgress, is_interactive
from .resultset import COLUMNS, STATUSES, ResultRow, Results
from .retry import FAILED_PART_CODES, retry_failed
from .scheduling import CLAIM_LEASE, LEARNED_BUDGET, MAX_ATTEMPTS, Step, advance
from .state import (
    CLIENT_STATES,
    ENQUEUED_STATES,
    FINAL_STATES,
    JOB_KEY,
    PART_KEY,
    PENDING,
    REFUSED,
    RETRY_KEY,
    SUBMITTING,
    TOKEN_LIMIT_CODE,
    WITHDRAWN,
    JobPart,
)
from .submission import expiry, expiry_warnings, open_journal, submit

__all__ = [
    "CLAIM_LEASE",
    "CLIENT_STATES",
    "COLUMNS",
    "ENQUEUED_STATES",
    "FAILED_PART_CODES",
    "FINAL_STATES",
    "HOME_ENV",
    "JOB_KEY",
    "JOURNAL_FILE",
    "LEARNED_BUDGET",
    "MAX_ATTEMPTS",
    "PART_KEY",
    "PENDING",
    "PROGRESS_ENV",
    "REFUSED",
    "REFRESH_LIMIT",
    "REMOTE_SCAN_LIMIT",
    "RETRY_KEY",
    "SCHEMA_VERSION",
    "STATUSES",
    "SUBMITTING",
    "TOKEN_LIMIT_CODE",
    "WITHDRAWN",
    "Backend",
    "Estimate",
    "Job",
    "JobList",
    "JobPart",
    "JobPlan",
    "JobRecord",
    "Journal",
    "ParseFailure",
    "PlannedPart",
    "ResultRow",
    "Results",
    "Step",
    "Target",
    "TextProgress",
    "TokenTally",
    "advance",
    "answer_json",
    "backend_of",
    "batch_ids",
    "data_dir",
    "default_journal",
    "expiry",
    "expiry_warnings",
    "find_job",
    "is_interactive",
    "jobs",
    "list_jobs",
    "materialise",
    "open_journal",
    "parse_answer",
    "parse_rows",
    "plan_job",
    "plan_source",
    "ran_requests",
    "results",
    "retry_failed",
    "spend_of",
    "split_parts",
    "submit",
    "token_limit_for",
    "total_spend",
    "wait",
]
