"""`results`: every input's outcome, joined to its result line by custom_id, in input order.

Output and error files are streamed line by line; inputs come from the caller (`inputs=`) or from each
batch's input file. An input with no result line is "cancelled" in a cancelled batch and "not_run"
otherwise, carrying the batch's validation error for its line when there is one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import JobError, NotFoundError
from ..jsonl import ResultLine, iter_jsonl, parse_json_line, parse_result_line
from ..models import Batch
from ..render import plural
from .job import Job, Target, batch_ids
from .resultset import ResultRow, Results

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["results"]


def results(client: BatchesAPI, target: Target, inputs: Any = None) -> Results:
    """Every input's outcome, joined by custom_id, in input order (across a Job's parts).

    Output and error files are streamed line by line (both error shapes). `inputs` (request lines, or a
    JSONL path/bytes, in the order submitted) saves re-reading each batch's input file. Inputs with no
    result line are "cancelled" in a cancelled batch and "not_run" otherwise (e.g. a failed batch, whose
    validation errors are attached by line). Raises JobError if a batch is not finished yet.
    """
    ids, _ = batch_ids(target)
    batches = [client.retrieve_batch(b) for b in ids]
    pending = [b for b in batches if not b.is_terminal]
    if pending:
        from ..render import progress_text

        first = pending[0]
        others = f" (and {plural(len(pending) - 1, 'other batch', 'other batches')})" if len(pending) > 1 else ""
        raise JobError(f"batch {first.id} is still {first.status} ({progress_text(first)}){others}: "
                       f"wait(client, {first.id!r}) follows it to the end", unfinished=pending)
    found: dict[tuple[str | None, str], tuple[ResultLine, str]] = {}
    flat = inputs is not None
    for batch in batches:
        for file_id in (batch.output_file_id, batch.error_file_id):
            if file_id:
                for n, text in enumerate(client.iter_file_lines(file_id), start=1):
                    if text.strip():
                        line = parse_result_line(text, n)
                        found[(None if flat else batch.id, line.custom_id)] = (line, batch.id)
    owners: list[tuple[Any, Batch | None]]
    if flat:
        owners = _owners(_load_inputs(inputs), batches, target)
    else:
        owners = [(line, batch) for batch in batches for line in _input_lines(client, batch)]
    rows: list[ResultRow] = []
    line_no, previous = 0, None
    for request, owner in owners:
        line_no = line_no + 1 if owner is previous else 1  # 1-based line within its batch's input file
        previous = owner
        custom_id = request.get("custom_id") if isinstance(request, dict) else None
        hit = None
        if isinstance(custom_id, str):
            hit = found.pop((None if flat or owner is None else owner.id, custom_id), None)
        if hit is not None:
            rows.append(ResultRow.from_line(hit[0], request, hit[1]))
        else:
            rows.append(_missing_row(str(custom_id), request, owner, line_no))
    for line, batch_id in found.values():  # result lines whose input we do not know
        rows.append(ResultRow.from_line(line, None, batch_id))
    return Results(rows, batches)


def _load_inputs(inputs: Any) -> list[Any]:
    if isinstance(inputs, (str, os.PathLike, bytes, bytearray, memoryview)):
        return list(iter_jsonl(inputs))
    return list(inputs)


def _owners(lines: list[Any], batches: list[Batch], target: Target) -> list[tuple[Any, Batch | None]]:
    """Pair each explicit input line with its batch: by the Job's part sizes, or the only batch."""
    if len(batches) == 1:
        return [(line, batches[0]) for line in lines]
    by_id = {b.id: b for b in batches}
    if isinstance(target, Job) and target.parts and target.lines == len(lines):
        out: list[tuple[Any, Batch | None]] = []
        for part in target.parts:
            start = part.first_line - 1
            out.extend((line, by_id.get(part.batch_id)) for line in lines[start:start + part.lines])
        return out
    return [(line, None) for line in lines]


def _input_lines(client: BatchesAPI, batch: Batch) -> Iterable[Any]:
    """The request lines of a batch's input file (unparseable lines come back as None)."""
    if not batch.input_file_id:
        return []
    try:
        return [_parse_or_none(text) for text in client.iter_file_lines(batch.input_file_id)]
    except NotFoundError as exc:
        raise JobError(f"the input file {batch.input_file_id} of {batch.id} is gone; pass inputs= "
                       f"(the request lines you submitted) to results()") from exc


def _parse_or_none(text: str) -> Any:
    value = parse_json_line(text)
    return value if isinstance(value, dict) else None


def _missing_row(custom_id: str, request: Any, batch: Batch | None, line: int) -> ResultRow:
    if batch is None:
        return ResultRow(custom_id, "not_run", input=request)
    if batch.status == "cancelled":
        return ResultRow(custom_id, "cancelled", input=request, batch_id=batch.id, error_code="batch_cancelled",
                         error_message="The batch was cancelled before this request ran.")
    code = message = None
    if batch.errors:
        match = next((e for e in batch.errors if e.line == line), None) or next(
            (e for e in batch.errors if e.line is None), None)
        if match is not None:
            code, message = match.code, match.message
    return ResultRow(custom_id, "not_run", input=request, batch_id=batch.id, error_code=code, error_message=message)
