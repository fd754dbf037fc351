"""`BatchRows`: the rows of the live table as one anywidget, updated in place row by row.

Why anywidget and not a widget per cell or per row: one `HTML` widget holding the whole `<table>` is replaced
whole on every change (a selection, hover or focus in it is lost); per-row ipywidgets cost ~3 models per
cell and still cannot be clicked (an `HTML` widget has no click event). `rows.js`, a plain ES module with no
build step (so it runs in JupyterLab, Notebook 7, VS Code and Colab), keeps one `<tr>` per batch id and
rewrites only the cells whose HTML changed; a row click, the copy button and the sortable headers work in
the browser. The whole table is one widget model (two with its `Layout`) whatever the page size.

Python owns the data: `columns` and `rows` (each row `{"id", "cells": [html, ...]}`, the cells made and escaped
by `batches_ext.render`), `selected` and `sort` are synced both ways (a click in the browser sets them; a
view's `observe` reacts), `placeholder` is shown when there are no rows ("Loading batches…").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import traitlets

from ..errors import InputError, MissingDependency

try:
    import anywidget
except ImportError:  # pragma: no cover - part of the `widgets` extra
    raise MissingDependency("the live table needs anywidget: pip install 'batches-ext[widgets]'") from None

__all__ = ["BatchRows", "VIEWS_CSS"]

_HERE = Path(__file__).resolve().parent
#: The stylesheet of the live views (rows, copy button, notification toggle), shared by both anywidgets.
VIEWS_CSS = (_HERE / "views.css").read_text(encoding="utf-8")


class BatchRows(anywidget.AnyWidget):  # type: ignore[misc]
    """The table body: one `<tr>` per batch, updated cell by cell in the browser."""

    _esm = (_HERE / "rows.js").read_text(encoding="utf-8")
    _css = VIEWS_CSS

    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    sort = traitlets.Unicode("created").tag(sync=True)
    placeholder = traitlets.Unicode("").tag(sync=True)

    def set_rows(self, rows: list[dict[str, Any]]) -> bool:
        """Replace the rows only when they differ (an unchanged page sends nothing). True when sent."""
        if rows == self.rows:
            return False
        self.rows = rows
        return True

    @property
    def batch_ids(self) -> list[str]:
        return [str(row["id"]) for row in self.rows]

    def cells(self, batch_id: str) -> list[str]:
        """The cells of one row as HTML (what the browser shows), for tests and text fallbacks."""
        for row in self.rows:
            if row["id"] == batch_id:
                return list(row["cells"])
        raise InputError(f"{batch_id} is not on this page")

    def __repr__(self) -> str:
        return f"<BatchRows {len(self.rows)} rows, sort={self.sort!r}, selected={self.selected or None!r}>"
