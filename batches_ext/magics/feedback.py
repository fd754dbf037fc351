"""How a magic tells the user what went wrong: one line for a core error, advising the magic to run (never a Python
call), and each warning a core call raised (a job whose inputs may expire) printed as one line."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import BatchesWarning

__all__ = ["magic_message", "shown_warnings"]


@contextmanager
def shown_warnings(command: str) -> Iterator[None]:
    """Print the BatchesWarnings raised inside as `%batches COMMAND: warning: ...`, one line each."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", BatchesWarning)
        try:
            yield
        finally:
            for item in seen:
                if issubclass(item.category, BatchesWarning):
                    print(f"%batches {command}: warning: {item.message}")


def magic_message(err: Exception, args: Any) -> str:
    """The one line a magic shows for a core error, advising the magic to run rather than a Python call."""
    job = getattr(err, "job", None)
    if job is not None and "wait(client, job)" in str(err):
        return str(err).replace("wait(client, job) follows it", f"`%batches watch {job.id}` follows it")
    unfinished = list(getattr(err, "unfinished", None) or [])
    if unfinished:
        from ..render import plural, progress_text

        first = unfinished[0]
        others = f" (and {plural(len(unfinished) - 1, 'other batch', 'other batches')})" if len(unfinished) > 1 else ""
        target = getattr(args, "id", None) or first.id
        return (f"batch {first.id} is still {first.status} ({progress_text(first)}){others}: "
                f"`%batches watch {target}` follows it to the end")
    return str(err)
