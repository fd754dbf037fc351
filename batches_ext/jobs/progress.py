"""A text progress bar over a set of batches (tqdm's, which people know), for `wait()` and the terminal
`%batches watch`.

One bar for the whole set: requests processed of requests known ("queued" while every batch is still
validating and no count is known), the statuses, the elapsed time and the ETA. For a job the total is the job's
lines, parts not created yet included (the bar never reaches 100 % before the job ends), and those parts are
named ("parts 3, 4 pending"). The words come from
`render.progress_caption`; tqdm only draws. Elapsed and ETA are measured on the client's clock (`client.now()`:
the offline fake's simulated time in fake mode), never on tqdm's own wall-clock timer, so a batch that takes 40
simulated minutes on a sped-up fake does not read "00:02". tqdm is imported only when a bar is shown.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import MissingDependency

__all__ = ["TextProgress", "is_interactive", "PROGRESS_ENV"]

#: Environment variable that forces the automatic choice of `wait()`: "1" always shows the bar, "0" never.
PROGRESS_ENV = "BATCHES_EXT_PROGRESS"


def is_interactive() -> bool:
    """Whether a person is probably watching this process: `BATCHES_EXT_PROGRESS=1/0` decides if set; else
    stderr is a terminal, or an IPython shell (terminal IPython or a Jupyter kernel) is running. A script, a
    cron job or pytest (stderr captured, no shell) is not."""
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    stream = sys.stderr
    try:
        if stream is not None and stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython is not None and get_ipython() is not None


def _literal(text: str) -> str:
    """`text` made safe inside a tqdm bar_format (which is a str.format template)."""
    return text.replace("{", "{{").replace("}", "}}")


class TextProgress:
    """One tqdm bar for `ids`; `show(batches)` redraws it (only when the words changed), `close()` leaves
    the last state on screen. `now` is the clock batch timestamps are compared with; `file` defaults to
    stderr (tqdm's default)."""

    def __init__(self, ids: Sequence[str], now: Callable[[], float], *, file: Any = None, unit: str = "batch") -> None:
        try:
            from tqdm import tqdm
        except ImportError:
            raise MissingDependency("the text progress bar needs tqdm: pip install tqdm") from None
        from ..render import progress_caption

        self._caption = progress_caption
        self._ids = list(ids)
        self._unit = unit
        self._now = now
        self._shown: tuple[str, str, int, int] | None = None
        label, tail, _, _ = progress_caption(self._ids, [None] * len(self._ids), now(), unit=unit)
        self._bar = tqdm(total=None, desc=_literal(label), bar_format=f"{{desc}}: {_literal(tail)}", file=file,
                         mininterval=0, miniters=0, leave=True, dynamic_ncols=True)

    def show(self, batches: Sequence[Any], *, lines: int | None = None, pending: Sequence[int] = ()) -> None:
        """Redraw for the latest `batches` (None for one not fetched yet), in the order of `ids`. For a job,
        `lines` (its total lines) is the bar's total, so it counts the parts not created yet, and `pending` (their
        indices) is named in the postfix."""
        caption = self._caption(self._ids, list(batches), self._now(), lines=lines, pending=pending, unit=self._unit)
        if caption == self._shown:
            return
        self._shown = caption
        label, tail, processed, total = caption
        bar = self._bar
        bar.desc = _literal(label)
        if total:
            bar.total, bar.n = total, min(processed, total)
            bar.bar_format = f"{{desc}}: {{percentage:3.0f}}%|{{bar}}| {_literal(tail)}"
        else:
            bar.total, bar.n = None, 0
            bar.bar_format = f"{{desc}}: {_literal(tail)}"
        bar.refresh()

    def close(self) -> None:
        self._bar.close()
