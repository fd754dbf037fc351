"""Batch results: parse output/error file lines, and `Results`, the rows joined back to their inputs.

Output and error files share one line format with two error shapes (reference 4.2, 4.3):

* success: ``{"custom_id", "response": {"status_code": 200, "body": {...}}, "error": null}``
* the request ran and the endpoint answered non-2xx: ``response`` filled (``body`` is the API's
  ``{"error": {...}}`` envelope), ``error: null``;
* the request never ran: ``response: null``, ``error: {"code", "message"}`` (``batch_expired``, cancel).

`Results` is list-like (one `ResultRow` per input, input order), with `.ok`, `.errors`, `.to_pandas()`,
`.to_records()`, `.save(path)` (atomic, .jsonl or .csv) and a small HTML table in notebooks.
"""

from __future__ import annotations

import csv
import html
import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, overload

from .errors import InputError
from .jsonl import atomic_open

__all__ = ["ResultLine", "ResultRow", "Results", "parse_result_line", "STATUSES", "response_text"]

STATUSES = ("ok", "error", "expired", "cancelled", "not_run")
_HTML_ROWS = 10
_SNIPPET = 80


@dataclass(frozen=True, slots=True)
class ResultLine:
    """One line of a batch output or error file, normalised over both error shapes."""

    custom_id: str
    status_code: int | None  # None when the request never ran
    body: Any  # the response body (the error envelope for non-2xx), None when it never ran
    error_code: str | None
    error_message: str | None
    request_id: str | None = None
    id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and self.error_code is None

    @property
    def status(self) -> str:
        """"ok", "expired" (batch_expired), "cancelled" (batch_cancelled) or "error"."""
        if self.ok:
            return "ok"
        if self.error_code == "batch_expired":
            return "expired"
        if self.error_code == "batch_cancelled":
            return "cancelled"
        return "error"


def parse_result_line(text: str | bytes, line: int | None = None) -> ResultLine:
    """Parse one output/error line (either error shape). InputError (naming `line`) for anything else."""
    where = f"line {line}: " if line is not None else ""
    try:
        obj = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        raise InputError(f"{where}not a valid batch result line (not JSON)", line=line) from None
    if not isinstance(obj, dict):
        raise InputError(f"{where}not a valid batch result line (not a JSON object)", line=line)
    custom_id = obj.get("custom_id")
    if not isinstance(custom_id, str):
        raise InputError(f"{where}not a valid batch result line (no custom_id)", line=line)
    response, error = obj.get("response"), obj.get("error")
    status_code = body = request_id = code = message = None
    if isinstance(response, dict):
        raw_status = response.get("status_code")
        status_code = raw_status if isinstance(raw_status, int) and not isinstance(raw_status, bool) else None
        body = response.get("body")
        request_id = _str_or_none(response.get("request_id"))
        if status_code is None or not 200 <= status_code < 300:
            inner = body.get("error") if isinstance(body, dict) else None
            if isinstance(inner, dict):
                code, message = _str_or_none(inner.get("code")), _str_or_none(inner.get("message"))
            elif isinstance(inner, str):
                message = inner
            if code is None:
                code = f"http_{status_code}" if status_code is not None else "invalid_response"
    elif response is not None:
        raise InputError(f"{where}not a valid batch result line ('response' is not an object)", line=line)
    if isinstance(error, dict):
        code = _str_or_none(error.get("code")) or code or "error"
        message = _str_or_none(error.get("message")) or message
    elif error is not None:
        code, message = code or "error", str(error)
    if response is None and error is None:
        raise InputError(f"{where}not a valid batch result line (neither 'response' nor 'error')", line=line)
    return ResultLine(custom_id, status_code, body, code, message, request_id, _str_or_none(obj.get("id")))


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def response_text(body: Any) -> str | None:
    """The generated text of a response body (chat, completions, responses), or None."""
    if not isinstance(body, dict):
        return None
    choices = body.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        first = choices[0]
        message = first.get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            return message["content"]
        if isinstance(first.get("text"), str):
            return first["text"]
    if isinstance(body.get("output_text"), str):
        return body["output_text"]
    output = body.get("output")
    if isinstance(output, list):
        parts = [
            str(c["text"])
            for item in output if isinstance(item, dict) and isinstance(item.get("content"), list)
            for c in item["content"] if isinstance(c, dict) and isinstance(c.get("text"), str)
        ]
        if parts:
            return "".join(parts)
    return None


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
    def text(self) -> str | None:
        """The generated text for chat / completions / responses rows (None otherwise)."""
        return response_text(self.body) if self.ok else None

    def to_record(self) -> dict[str, Any]:
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["text"] = self.text
        return record

    @classmethod
    def from_line(cls, line: ResultLine, input: Any = None, batch_id: str | None = None) -> ResultRow:  # noqa: A002
        return cls(line.custom_id, line.status, line.status_code, line.body, line.error_code, line.error_message,
                   input, batch_id, line.request_id)


_COLUMNS = [f.name for f in fields(ResultRow)] + ["text"]


class Results(Sequence[ResultRow]):
    """Rows (one per input, input order when inputs are known) and the batches they came from."""

    def __init__(self, rows: Iterable[ResultRow], batches: Iterable[Any] = ()) -> None:
        self.rows: list[ResultRow] = list(rows)
        self.batches: list[Any] = list(batches)

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
            return Results(self.rows[index], self.batches)
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
        return Results([r for r in self.rows if r.status in wanted], self.batches)

    @property
    def ok(self) -> Results:
        """Rows that succeeded."""
        return self.where("ok")

    @property
    def errors(self) -> Results:
        """Rows that did not succeed (error, expired, cancelled, not_run)."""
        return Results([r for r in self.rows if r.status != "ok"], self.batches)

    @property
    def failed(self) -> Results:
        """Rows worth a retry: the request failed ("error") or the window passed ("expired")."""
        return self.where("error", "expired")

    def get(self, custom_id: str) -> ResultRow | None:
        for row in self.rows:
            if row.custom_id == custom_id:
                return row
        return None

    def counts(self) -> dict[str, int]:
        """Rows per status, in the order of STATUSES (zero counts left out)."""
        found = Counter(r.status for r in self.rows)
        return {s: found[s] for s in (*STATUSES, *sorted(set(found) - set(STATUSES))) if found[s]}

    def summary(self) -> str:
        counts = ", ".join(f"{n} {status}" for status, n in self.counts().items())
        return f"{len(self.rows)} results" + (f": {counts}" if counts else "")

    # -- export
    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row: every ResultRow field plus `text`."""
        return [row.to_record() for row in self.rows]

    def to_pandas(self) -> Any:
        """A pandas DataFrame, one row per result (columns: the ResultRow fields plus `text`)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("Results.to_pandas() needs pandas: pip install pandas") from None
        return pd.DataFrame.from_records(self.to_records(), columns=_COLUMNS)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the rows to `path` atomically: JSON Lines for .jsonl, CSV for .csv (bodies as JSON text)."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".jsonl":
            with atomic_open(target, "wb") as handle:
                for record in self.to_records():
                    handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        elif suffix == ".csv":
            with atomic_open(target, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(_COLUMNS)
                for record in self.to_records():
                    writer.writerow([_csv_cell(record[c]) for c in _COLUMNS])
        else:
            raise ValueError(f"cannot save results as {suffix or 'a file without suffix'!r}: use .jsonl or .csv")
        return target

    # -- display
    def __repr__(self) -> str:
        ids = ", ".join(getattr(b, "id", str(b)) for b in self.batches[:3])
        more = f" +{len(self.batches) - 3}" if len(self.batches) > 3 else ""
        where = f" from {ids}{more}" if ids else ""
        return f"<Results {self.summary()}{where}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in ("custom_id", "status", "code", "result"))
        body = []
        for row in self.rows[:_HTML_ROWS]:
            code = "" if row.status_code is None else str(row.status_code)
            body.append(
                f"<tr><td>{esc(row.custom_id)}</td><td>{esc(row.status)}</td><td>{esc(code)}</td>"
                f"<td>{esc(_snippet(row))}</td></tr>"
            )
        more = len(self.rows) - _HTML_ROWS
        if more > 0:
            body.append(f"<tr><td colspan='4'>… {more:,} more rows</td></tr>")
        batches = f" from {len(self.batches)} batch{'es' if len(self.batches) != 1 else ''}" if self.batches else ""
        return (
            f"<div class='batches-ext-results'><p>{esc(self.summary())}{esc(batches)}</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )


def _snippet(row: ResultRow) -> str:
    if row.ok:
        text = row.text
        if text is None:
            text = json.dumps(row.body, ensure_ascii=False, default=str)
    else:
        text = " ".join(x for x in (row.error_code, row.error_message) if x)
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value
