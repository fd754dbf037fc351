"""Plain text for terminals and logs: a batch, a list of batches, results, a job, a dry run, settings, and the
caption of the text progress bar.

Two sizes per value. The *short* form is one line for `__repr__` (logs, debuggers, containers):
``<Batch batch_abc completed: 40/40 done, 3 failed; created 2026-01-05T10:00:00Z>``. The *long* form is what a
person reads in terminal IPython (`_repr_pretty_`) or from `print()` (`__str__`): a small card or an aligned
table of the first rows. Times are ISO 8601 UTC; progress reads "40/40 done, 3 failed" ("queued" before the
counts are known). Relative times (elapsed, ETA) are computed from the `now` the caller passes: the offline
fake's clock in fake mode, so one view never mixes two clocks. Pure functions, no IPython, no tqdm.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .money import estimate_facts, spend_line
from .parts import (
    OFFLINE_LABEL,
    clip,
    counts,
    duration,
    eta_seconds,
    grouped_errors,
    iso_text,
    metadata_text,
    plural,
    progress_text,
    repeat_text,
    user_metadata,
)

__all__ = [
    "pretty",
    "batch_repr",
    "batch_text",
    "batches_text",
    "preflight_text",
    "progress_caption",
    "results_repr",
    "results_text",
    "settings_text",
    "split_text",
    "text_table",
]

_RESULT_ROWS = 10


def _marker(value: Any, offline: bool | None) -> bool:
    if offline is not None:
        return offline
    if hasattr(value, "offline"):
        return bool(value.offline)
    return isinstance(value, (list, tuple)) and any(getattr(v, "offline", False) for v in value)


def pretty(value: Any, printer: Any, cycle: bool) -> None:
    """IPython's `_repr_pretty_` for our values: the readable `str()` at top level (terminal IPython's Out), the
    one-line `repr()` inside a container or a cycle (a list of batches stays one line per batch)."""
    nested = len(getattr(printer, "stack", ())) > 1
    printer.text(repr(value) if cycle or nested else str(value))


def text_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: Sequence[int]) -> list[str]:
    """Aligned columns: each cell on one line, clipped to its column's maximum width (an ellipsis marks a cut);
    the last column is not padded."""
    cells = [[clip(" ".join(str("" if c is None else c).split()), w) for c, w in zip(row, widths, strict=False)] for row in rows]
    sizes = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.ljust(sizes[i]) if i < len(values) - 1 else v for i, v in enumerate(values)).rstrip()

    return [line(list(headers)), *(line(r) for r in cells)]


# ------------------------------------------------------------------------------------------ one batch


def batch_repr(b: Any) -> str:
    """One line for logs: `<Batch batch_abc completed: 40/40 done, 3 failed; created 2026-01-05T10:00:00Z>`."""
    created = f"; created {iso_text(b.created_at)}" if getattr(b, "created_at", None) else ""
    fake = f" [{OFFLINE_LABEL}]" if getattr(b, "offline", False) else ""
    return f"<Batch {b.id} {b.status or '?'}: {progress_text(b)}{created}{fake}>"


def _took(b: Any) -> str:
    finished, created = getattr(b, "finished_at", None), getattr(b, "created_at", None)
    return f" (after {duration(finished - created)})" if finished and created else ""


def _job_of(meta: Any) -> str | None:
    meta = dict(meta or {})
    parts = []
    if meta.get("batches_ext_job") and meta.get("batches_ext_part") != "1/1":  # a one-part job is just its batch
        parts.append(f"{meta['batches_ext_job']} (part {meta.get('batches_ext_part', '?')})")
    if meta.get("batches_ext_retry_of"):
        parts.append(f"retry of {meta['batches_ext_retry_of']}")
    return ", ".join(parts) or None


def batch_text(b: Any, *, offline: bool | None = None) -> str:
    """A batch as a small card: id and status, progress, endpoint and model, times, files, metadata, and its
    validation errors (each message once, with its count and lines)."""
    offline = _marker(b, offline)
    finished = getattr(b, "finished_at", None)
    rows = [
        ("requests", progress_text(b)),
        ("endpoint", b.endpoint),
        ("model", getattr(b, "model", None)),
        ("created", iso_text(b.created_at)),
        ("finished", iso_text(finished) + _took(b) if finished else None),
        ("expires", iso_text(b.expires_at) if not finished else None),
        ("input file", b.input_file_id),
        ("output file", getattr(b, "output_file_id", None)),
        ("error file", getattr(b, "error_file_id", None)),
        ("job", _job_of(b.metadata)),
        ("metadata", metadata_text(user_metadata(b.metadata)) or None),
    ]
    head = f"Batch {b.id}  {b.status}" + (f"  [{OFFLINE_LABEL}]" if offline else "")
    lines = [head, *(f"  {k:<13}{v}" for k, v in rows if v)]
    groups = grouped_errors(getattr(b, "errors", None) or [])
    if groups:
        lines.append("  errors")
        for code, message, n, where in groups[:10]:
            times = repeat_text(n, where)
            lines.append(f"    {code}: {message}" + (f" ({times})" if times else ""))
        if len(groups) > 10:
            lines.append(f"    … {plural(len(groups) - 10, 'more message')}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ many


def batches_text(batches: Sequence[Any], *, offline: bool | None = None, note: str = "") -> str:
    """A list of batches as aligned columns (id, status, progress, model, created, the user's metadata: the
    notebook table's columns), then how many."""
    offline = _marker(batches, offline)
    lines = [f"[{OFFLINE_LABEL}]"] if offline else []
    if batches:
        rows = [(b.id, b.status, progress_text(b), getattr(b, "model", None) or "—", iso_text(b.created_at),
                 metadata_text(user_metadata(b.metadata)) or "—") for b in batches]
        lines += text_table(("id", "status", "progress", "model", "created", "metadata"), rows,
                            (64, 12, 28, 24, 20, 40))
    lines.append(plural(len(batches), "batch") + (f" ({note})" if note else ""))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ results


def _answer_cell(row: Any) -> str:
    if getattr(row, "status", None) == "ok":
        answer = getattr(row, "answer", None)
        if answer is None:
            return json.dumps(getattr(row, "body", None), ensure_ascii=False, default=str)
        return str(answer)
    code, message = getattr(row, "error_code", None), getattr(row, "error_message", None)
    return ": ".join(str(x) for x in (code, message) if x)


def _where(res: Any) -> str:
    batches = list(getattr(res, "batches", None) or [])
    ids = ", ".join(getattr(b, "id", str(b)) for b in batches[:3])
    more = f" +{len(batches) - 3}" if len(batches) > 3 else ""
    return f" from {ids}{more}" if ids else ""


def results_repr(res: Any) -> str:
    """One line for logs: `<Results 2,000 rows: 1,998 ok, 2 error from batch_abc>`."""
    return f"<Results {res.summary()}{_where(res)}>"


def results_text(res: Any, *, offline: bool | None = None, max_rows: int = _RESULT_ROWS) -> str:
    """Results as a person reads them: the counts and the spend, then the first `max_rows` rows as custom_id,
    prompt, answer (or the error) and status."""
    offline = _marker(res, offline)
    rows = list(res)
    head = f"{res.summary()}{_where(res)}" + (f"  [{OFFLINE_LABEL}]" if offline else "")
    lines = [head]
    if spend_line(res):
        lines.append(spend_line(res))
    if rows:
        shown = [(r.custom_id, getattr(r, "prompt", None) or "", _answer_cell(r), r.status) for r in rows[:max_rows]]
        lines += text_table(("custom_id", "prompt", "answer", "status"), shown, (24, 36, 48, 9))
    if len(rows) > max_rows:
        lines.append(f"… {plural(len(rows) - max_rows, 'more row')} (.to_pandas() or .save(path) for all)")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ dry run


def split_text(report: Any, plan: Sequence[Any] | None = None) -> str:
    """How the input would be submitted: "one batch", or "2 batches: 50,000 + 10,000 lines" from the plan
    (the parts' line counts); without a plan, only that it would be split."""
    if plan and len(plan) > 1:
        return f"{plural(len(plan), 'batch')}: " + " + ".join(f"{p.lines:,}" for p in plan) + " lines"
    if getattr(report, "needs_split", False):
        return "several batches (over the per-batch limits)"
    return "one batch"


def preflight_text(report: Any, *, offline: bool = False, plan: Sequence[Any] | None = None,
                   estimate: Any = None) -> str:
    """`dry run: 60,000 lines, 12,000,000 bytes, endpoint E, model M; 2 batches: 50,000 + 10,000 lines; nothing
    created`, then the estimate (input tokens, output cap, cost) when given."""
    head = f"[{OFFLINE_LABEL}] " if offline else ""
    text = (f"{head}dry run: {plural(report.lines, 'line')}, {plural(report.bytes, 'byte')}, endpoint "
            f"{report.endpoint}, model {report.model or '(mixed or none)'}; {split_text(report, plan)}; "
            f"nothing created")
    if estimate is not None:
        text += "".join(f"\n  {k:<13}{v}" for k, v in estimate_facts(estimate)[1:])
    return text


# ------------------------------------------------------------------------------------------ settings


def settings_text(rows: Sequence[tuple[str, Any, str]], *, offline: bool = False) -> str:
    head = [f"[{OFFLINE_LABEL}] on: the settings below apply when it is off"] if offline else []
    shown = [(n, "—" if v is None else v, s) for n, v, s in rows]
    return "\n".join([*head, *text_table(("setting", "value", "from"), shown, (24, 72, 60))])


# ------------------------------------------------------------------------------------------ progress bar


def _statuses(batches: Sequence[Any]) -> str:
    found: dict[str, int] = {}
    for b in batches:
        found[b.status] = found.get(b.status, 0) + 1
    if len(batches) == 1:
        return batches[0].status
    return ", ".join(f"{n} {s}" for s, n in found.items())


def progress_caption(ids: Sequence[str], batches: Sequence[Any | None], now: float, *, lines: int | None = None,
                     pending: Sequence[int] = (), unit: str = "batch") -> tuple[str, str, int, int]:
    """What a text progress bar over `batches` (None for one not fetched yet) shows, as
    `(label, tail, processed, total)`: the label is the batch id (or "3 batches"), the tail says how far
    ("10/40 done, 3 failed"), the statuses, the elapsed time and the ETA, all measured on `now` (the offline
    fake's clock in fake mode). While no count is known the tail is "queued (validating)". For a job, `lines` is
    its total lines — the total once any count is known, pending parts included, so the bar never reaches 100 %
    before the job ends — and `pending` the indices of its parts not created yet ("parts 3, 4 pending")."""
    label = ids[0] if len(ids) == 1 else plural(len(ids), unit)  # a job's bar counts parts, not batches
    seen = [b for b in batches if b is not None]
    if not seen:
        return label, "loading…", 0, 0
    done = failed = total = 0
    for b in seen:
        d, f, t = counts(b)
        done, failed, total = done + d, failed + f, total + t
    created = [b.created_at for b in seen if b.created_at]
    finished = all(b.is_terminal for b in seen) and len(seen) == len(ids)
    parts = [_statuses(seen)]
    if pending:
        shown = ", ".join(str(i) for i in pending[:5]) + (", …" if len(pending) > 5 else "")
        parts.append(f"{'part' if len(pending) == 1 else 'parts'} {shown} pending")
    if created:
        end = max((b.finished_at or now) for b in seen) if finished else now
        parts.append(f"{'took' if finished else 'elapsed'} {duration(end - min(created))}")
    if not finished and any(sum(counts(b)[:2]) < counts(b)[2] for b in seen):  # no ETA once all ran (finalizing)
        etas = [eta_seconds(b, now) for b in seen if not b.is_terminal]
        if etas and all(e is not None for e in etas):
            parts.append(f"ETA {duration(max(e for e in etas if e is not None))}")
    if not total:
        how = "queued" if not finished else "none run"
        return label, f"{how} ({', '.join(parts)})", 0, 0
    total = max(total, lines or 0)
    how = f"{done + failed:,}/{total:,} done" + (f", {failed:,} failed" if failed else "")
    return label, f"{how} · {' · '.join(parts)}", done + failed, total
