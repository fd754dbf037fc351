"""Values the `%batches` magics return that the core has no type for: a list of batches, a dry run, settings.

Each renders itself (`_repr_html_` for notebooks, `__repr__` for terminals) through `render.py`, and
carries the "offline fake" flag of the moment it was made.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BatchList", "DryRun", "SettingsView"]


class BatchList(list):
    """What `%batches list` (and `cancel` of several ids) returns: a list of `Batch` shown as one table."""

    def __init__(self, batches: Any = (), *, offline: bool = False, note: str = "") -> None:
        super().__init__(batches)
        self.offline = offline
        self.note = note

    @property
    def ids(self) -> list[str]:
        return [b.id for b in self]

    def _repr_html_(self) -> str:
        from ..render import batches_html

        return batches_html(self, offline=self.offline, note=self.note)

    def __repr__(self) -> str:
        from ..render import batches_text

        return batches_text(self, offline=self.offline, note=self.note)


class DryRun:
    """`%batches create ... --dry-run`: what would be submitted and what it would cost; nothing was uploaded or
    created."""

    def __init__(self, report: Any, *, offline: bool = False, plan: Any = None, estimate: Any = None) -> None:
        self.report = report
        self.offline = offline
        self.plan = list(plan or [])  # the batches `submit` would make (PlannedPart: lines, bytes, first_line)
        self.estimate = estimate  # jobs.Estimate: input tokens, output cap, price range (None: not estimated)

    lines = property(lambda self: self.report.lines)
    bytes = property(lambda self: self.report.bytes)
    endpoint = property(lambda self: self.report.endpoint)
    model = property(lambda self: self.report.model)
    needs_split = property(lambda self: self.report.needs_split)

    @property
    def batches(self) -> int:
        """How many batches the input would become."""
        return max(1, len(self.plan))

    def _repr_html_(self) -> str:
        from ..render import preflight_html

        return preflight_html(self.report, offline=self.offline, plan=self.plan, estimate=self.estimate)

    def __repr__(self) -> str:
        from ..render import preflight_text

        return preflight_text(self.report, offline=self.offline, plan=self.plan, estimate=self.estimate)


class SettingsView:
    """`%batches config`: (name, value, source) rows; the key appears only as "set" / "not set"."""

    def __init__(self, rows: list[tuple[str, Any, str]], *, offline: bool = False) -> None:
        self.rows = rows
        self.offline = offline

    def __getitem__(self, name: str) -> Any:
        for key, value, _ in self.rows:
            if key == name:
                return value
        raise KeyError(name)

    def source(self, name: str) -> str:
        for key, _, where in self.rows:
            if key == name:
                return where
        raise KeyError(name)

    def _repr_html_(self) -> str:
        from ..render import settings_html

        return settings_html(self.rows, offline=self.offline)

    def __repr__(self) -> str:
        from ..render import settings_text

        return settings_text(self.rows, offline=self.offline)
