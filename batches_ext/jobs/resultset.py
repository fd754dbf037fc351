"""`Results`: one `ResultRow` per input, joined back to it, with views and exports.

`Results` is list-like (one `ResultRow` per input, input order), with `.ok`, `.errors`, `.get(custom_id)`
(a dict lookup, the index built once), `.to_pandas()`, `.to_records()`, `.save(path)` (atomic, .jsonl or .csv),
`.parsed(Model)` (each answer validated into a pydantic model or a JSON Schema) and `.spend` (dollars, from the
batches' usage at the dated batch prices).
Every export and view leads with what a person looks for: custom_id, prompt, answer, status, tokens; the
rest (status_code, error code and message, batch and request ids, the raw `input` and `body`) follows.
Notebooks show an HTML table, terminals (`print(res)`, terminal IPython) a text table of the first rows, and
`repr()` is one line for logs.
"""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

from ..atomic import atomic_open
from ..errors import InputError, MissingDependency
from ..jsonl import ResultLine, prompt_text, response_text, usage_tokens
from ..render import plural
from .estimate import ran_requests, total_spend
from .parsed import ParseFailure, parse_answer, parse_rows

__all__ = ["ResultRow", "Results", "STATUSES", "COLUMNS"]

STATUSES = ("ok", "error", "expired", "cancelled", "not_run")


@dataclass(slots=True)
class ResultRow:
    """One input's outcome.

    status: "ok", "error" (the request ran and failed), "expired" (never ran: window passed),
    "cancelled" (never ran: batch cancelled), "not_run" (no result line at all, e.g. a failed batch).
    `body` is the response body (the error envelope for HTTP errors); `input` the request line sent.
    """

    custom_id: str
    status: str
    status_code: int | None = None
    body: Any = None
    error_code: str | None = None
    error_message: str | None = None
    input: Any = None
    batch_id: str | None = None
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def answer(self) -> str | None:
        """The generated text for chat / completions / responses rows (None otherwise, and for failed rows)."""
        return response_text(self.body) if self.ok else None

    @property
    def text(self) -> str | None:
        """The same as `answer` (its earlier name)."""
        return self.answer

    @property
    def prompt(self) -> str | None:
        """The prompt of the request line: its last user message, or the endpoint's input (None if unknown)."""
        return prompt_text(self.input)

    @property
    def tokens(self) -> int | None:
        """`usage.total_tokens` of a successful response (None otherwise)."""
        return usage_tokens(self.body) if self.ok else None

    def parsed(self, spec: Any) -> Any:
        """The answer validated into `spec` (a pydantic model class or a JSON Schema dict); InputError why not."""
        return parse_answer(self, spec)

    def to_record(self) -> dict[str, Any]:
        """The row as a dict with the keys of `COLUMNS`, in that order."""
        return {c: getattr(self, c) for c in COLUMNS}

    @classmethod
    def from_line(cls, line: ResultLine, input: Any = None, batch_id: str | None = None) -> ResultRow:  # noqa: A002
        return cls(line.custom_id, line.status, line.status_code, line.body, line.error_code, line.error_message,
                   input, batch_id, line.request_id)


#: The columns of `to_records`, `to_pandas` and `save`: what a person reads first, then the raw request and body.
COLUMNS = ("custom_id", "prompt", "answer", "status", "tokens", "status_code", "error_code", "error_message",
           "batch_id", "request_id", "input", "body")


class Results(Sequence[ResultRow]):
    """Rows (one per input, input order when inputs are known) and the batches they came from."""

    def __init__(self, rows: Iterable[ResultRow], batches: Iterable[Any] = (), *, job: Any = None) -> None:
        self.rows: list[ResultRow] = list(rows)
        self.batches: list[Any] = list(batches)
        self.job = job  # the Job the rows came from, when they came from one
        self._by_id: dict[str, ResultRow] | None = None

    # -- list-like
    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ResultRow]:
        return iter(self.rows)

    @overload
    def __getitem__(self, index: int) -> ResultRow: ...
    @overload
    def __getitem__(self, index: slice) -> Results: ...
    def __getitem__(self, index: int | slice) -> ResultRow | Results:
        if isinstance(index, slice):
            return Results(self.rows[index], self.batches, job=self.job)
        return self.rows[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Results):
            return self.rows == other.rows
        if isinstance(other, list):
            return self.rows == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    # -- views
    def where(self, *statuses: str) -> Results:
        """The rows whose status is one of `statuses`."""
        wanted = set(statuses)
        return Results([r for r in self.rows if r.status in wanted], self.batches, job=self.job)

    @property
    def ok(self) -> Results:
        """Rows that succeeded."""
        return self.where("ok")

    @property
    def errors(self) -> Results:
        """Rows that did not succeed (error, expired, cancelled, not_run)."""
        return Results([r for r in self.rows if r.status != "ok"], self.batches, job=self.job)

    @property
    def failed(self) -> Results:
        """Rows worth a retry: the request failed ("error") or the window passed ("expired")."""
        return self.where("error", "expired")

    def get(self, custom_id: str) -> ResultRow | None:
        """The row of `custom_id` (the first, if several share it), or None: a dict lookup, the index built on
        the first call (treat `rows` as read-only after that)."""
        if self._by_id is None:
            index: dict[str, ResultRow] = {}
            for row in self.rows:
                index.setdefault(row.custom_id, row)
            self._by_id = index
        return self._by_id.get(custom_id)

    def counts(self) -> dict[str, int]:
        """Rows per status, in the order of STATUSES (zero counts left out)."""
        found = Counter(r.status for r in self.rows)
        return {s: found[s] for s in (*STATUSES, *sorted(set(found) - set(STATUSES))) if found[s]}

    def summary(self) -> str:
        """`2,000 results: 1,998 ok, 2 error`."""
        counts = ", ".join(f"{n:,} {status}" for status, n in self.counts().items())
        return plural(len(self.rows), "result") + (f": {counts}" if counts else "")

    @property
    def spend(self) -> float | None:
        """Dollars the batches behind these rows cost, from their `usage` at the dated batch price table
        (`batches_ext.pricing`, its date in `PRICES_AS_OF`); None when the model has no price."""
        if not self.batches:
            return None
        return total_spend((getattr(b, "usage", None), getattr(b, "model", None), ran_requests(b))
                           for b in self.batches)

    def parsed(self, spec: Any) -> list[Any]:
        """One value per row: its answer validated into `spec` (a pydantic model class, or a JSON Schema dict:
        the JSON value), or a falsy `ParseFailure` saying why not (the row failed, a refusal, not JSON, or JSON
        that does not fit)."""
        return parse_rows(self.rows, spec)

    # -- export
    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row, keys in the order of `COLUMNS` (custom_id, prompt, answer, status, tokens, ...)."""
        return [row.to_record() for row in self.rows]

    def to_pandas(self, parsed: Any = None) -> Any:
        """A pandas DataFrame, one row per result, columns `COLUMNS`: custom_id, prompt, answer, status, tokens
        first; status_code, error_code, error_message, batch_id, request_id, and the raw `input` and `body` after.
        parsed: a pydantic model class or a JSON Schema dict: adds `parsed` (the validated answer, None when it
        does not fit) and `parse_error` (why not) after `tokens`, so the first five columns stay the same."""
        try:
            import pandas as pd
        except ImportError:
            raise MissingDependency("Results.to_pandas() needs pandas: pip install 'batches-ext[pandas]'") from None
        records = self.to_records()
        columns = list(COLUMNS)
        if parsed is not None:
            at = columns.index("tokens") + 1
            columns[at:at] = ["parsed", "parse_error"]
            for record, value in zip(records, self.parsed(parsed), strict=True):
                failed = isinstance(value, ParseFailure)
                record["parsed"] = None if failed else value
                record["parse_error"] = value.reason if failed else None
        return pd.DataFrame.from_records(records, columns=columns)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the rows to `path` atomically: JSON Lines for .jsonl, CSV for .csv (bodies as JSON text)."""
        target = Path(path).expanduser()
        suffix = target.suffix.lower()
        if suffix == ".jsonl":
            with atomic_open(target, "wb") as handle:
                for record in self.to_records():
                    handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        elif suffix == ".csv":
            with atomic_open(target, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(COLUMNS)
                for record in self.to_records():
                    writer.writerow([_csv_cell(record[c]) for c in COLUMNS])
        else:
            raise InputError(f"cannot save results as {suffix or 'a file without suffix'!r}: use .jsonl or .csv")
        return target

    # -- display
    def __repr__(self) -> str:
        """One line for logs: `<Results 2,000 results: 1,998 ok, 2 error from batch_abc>`."""
        from ..render import results_repr

        return results_repr(self)

    def __str__(self) -> str:
        """The counts and a table of the first rows (custom_id, prompt, answer, status): `print(res)`."""
        from ..render import results_text

        return results_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        from ..render import pretty

        pretty(self, printer, cycle)

    @property
    def offline(self) -> bool:
        """True when the rows came from the offline fake (every view then says so)."""
        return any(getattr(b, "offline", False) for b in self.batches)

    def _repr_html_(self) -> str:
        from ..render import results_html

        return results_html(self)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value
