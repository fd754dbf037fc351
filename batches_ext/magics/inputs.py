"""Where `%batches create` takes its requests besides a file: the cell (`requests_from_cell`: one prompt per line,
or JSONL request lines) or a variable (`requests_from_variable`, `--from VAR`: a pandas DataFrame's `--column` of
prompts and `--id-column` of custom_ids, a Series, or a list of prompts, message lists or bodies, or of dicts
with `--column`). A `{df}` in a cell would expand to the DataFrame's printed text; `--from` reads the values
themselves. Mistakes are one-line UsageErrors naming what the variable holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError

from ..spec import DEFAULT_ENDPOINT
from .parser import cell_lines

__all__ = ["requests_from_variable", "requests_from_cell", "job_options", "SOURCE_TYPES", "is_source"]

SOURCE_TYPES = "a pandas DataFrame, a Series, or a list"


def is_source(value: Any) -> bool:
    """Whether `value` can be the prompts of `--from` (for completion)."""
    return isinstance(value, (list, tuple)) or _is_frame(value) or _is_series(value)


def _is_frame(value: Any) -> bool:
    return hasattr(value, "columns") and hasattr(value, "iloc")


def _is_series(value: Any) -> bool:
    return hasattr(value, "index") and hasattr(value, "tolist") and hasattr(value, "iloc") and not _is_frame(value)


def requests_from_variable(namespace: Mapping[str, Any] | None, args: Any) -> list[dict[str, Any]]:
    """The request lines `%batches create --from VAR` submits (built with `build_requests`)."""
    name = args.source_var
    where = "%batches create --from"
    if namespace is None or name not in namespace:
        raise UsageError(f"{where}: no variable {name!r} in this notebook")
    value = namespace[name]
    ids: Any = None
    if _is_frame(value):
        columns = [str(c) for c in value.columns]
        column = args.column
        if column is None:
            if len(columns) != 1:
                raise UsageError(f"{where} {name}: say which column holds the prompts with --column (it has "
                                 f"{', '.join(columns[:10])})")
            column = columns[0]
        if column not in columns:
            raise UsageError(f"{where} {name}: no column {column!r} (it has {', '.join(columns[:10])})")
        items: Any = value[column]
        if args.id_column == "index":
            ids = [str(label) for label in value.index]
        elif args.id_column is not None:
            if args.id_column not in columns:
                raise UsageError(f"{where} {name}: no column {args.id_column!r} for --id-column (it has "
                                 f"{', '.join(columns[:10])})")
            ids = value[args.id_column].tolist()  # build_requests renders them and refuses a missing one
    elif _is_series(value):
        if args.column is not None:
            raise UsageError(f"{where} {name}: a Series has no columns; drop --column")
        if args.id_column not in (None, "index"):
            raise UsageError(f"{where} {name}: a Series' custom_ids can come from its index only (--id-column index)")
        items = value
        ids = "index" if args.id_column == "index" else None
    elif isinstance(value, (list, tuple)):
        items = list(value)
        if args.column is not None or args.id_column is not None:
            if not all(isinstance(row, Mapping) for row in items):
                raise UsageError(f"{where} {name}: --column and --id-column need a list of dicts (records)")
            items, ids = _records(items, args, f"{where} {name}")
    else:
        raise UsageError(f"{where} {name}: it holds a {type(value).__name__}; expected {SOURCE_TYPES} of prompts")
    if not len(items):
        raise UsageError(f"{where} {name}: it is empty")
    if not args.model and not all(isinstance(i, Mapping) and "body" in i for i in list(items)[:1]):
        raise UsageError(f"{where} {name}: --model is required for prompts (e.g. --model gpt-4o-mini)")
    from ..jsonl import build_requests

    return build_requests(items, model=args.model, endpoint=args.endpoint or DEFAULT_ENDPOINT, system=args.system,
                          ids=ids)


def _records(rows: list[Any], args: Any, where: str) -> tuple[list[Any], list[Any] | None]:
    column = args.column
    if column is None:
        raise UsageError(f"{where}: say which key holds the prompts with --column")
    missing = next((n for n, row in enumerate(rows, start=1) if column not in row), None)
    if missing is not None:
        raise UsageError(f"{where}: item {missing} has no key {column!r}")
    ids = None
    if args.id_column is not None:
        gap = next((n for n, row in enumerate(rows, start=1) if args.id_column not in row), None)
        if gap is not None:
            raise UsageError(f"{where}: item {gap} has no key {args.id_column!r} for --id-column")
        ids = [row[args.id_column] for row in rows]
    return [row[column] for row in rows], ids


def requests_from_cell(cell: str, args: Any) -> list[Any]:
    """The request lines of a `%%batches create` cell: its JSONL request lines as they are, or its prompts (one
    per line) built for `--model`."""
    lines = cell_lines(cell)
    if lines and all(isinstance(v, dict) and ("custom_id" in v or "body" in v) for v in lines):
        if args.system:
            raise UsageError("%%batches create: --system applies to prompts; the cell holds request lines")
        return lines  # full request lines: preflight checks them as the server would, by line
    if not args.model:
        raise UsageError("%%batches create: --model is required when the cell holds prompts "
                         "(e.g. %%batches create --model gpt-4o-mini)")
    from ..jsonl import build_requests

    return build_requests(lines, model=args.model, endpoint=args.endpoint or DEFAULT_ENDPOINT, system=args.system)


def job_options(args: Any, default_budget: Any) -> dict[str, Any]:
    """`--batch-size`, `--max-enqueued-tokens` (else the setting `default_budget`) and the expiries, as `submit`
    and `retry_failed` take them."""
    budget = args.max_enqueued_tokens if args.max_enqueued_tokens is not None else default_budget
    return {"batch_size": args.batch_size, "max_enqueued_tokens": budget,
            "expires_after": args.expires_after, "output_expires_after": args.output_expires_after}
