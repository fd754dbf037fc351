"""`Notifier`: an optional desktop notification from the browser when a watched job finishes (off by default).

A small anywidget toggle in the monitor: the user's click asks the browser's permission (browsers only ask
from a click) and sets `enabled`; `notify(title, body)` sends a message that `notify.js` shows as a
`Notification`. Headless, or with the toggle off, nothing is sent. The monitor calls `notify` once, when its
last batch becomes terminal.
"""

from __future__ import annotations

from pathlib import Path

import anywidget
import traitlets

from .rows import VIEWS_CSS

__all__ = ["Notifier"]


class Notifier(anywidget.AnyWidget):  # type: ignore[misc]
    """The "notify me when done" toggle; `enabled` is set from the browser (or by code, e.g. `notify=True`)."""

    _esm = (Path(__file__).resolve().parent / "notify.js").read_text(encoding="utf-8")
    _css = VIEWS_CSS

    enabled = traitlets.Bool(False).tag(sync=True)
    permission = traitlets.Unicode("default").tag(sync=True)  # what the browser answered, for the record

    def __init__(self, enabled: bool = False) -> None:
        super().__init__(enabled=enabled)
        self.sent: list[dict[str, str]] = []

    def notify(self, title: str, body: str, tag: str = "") -> bool:
        """Ask the browser to show a notification; False (nothing sent) while the toggle is off."""
        if not self.enabled:
            return False
        message = {"type": "notify", "title": title, "body": body, "tag": tag or title}
        self.sent.append(message)
        self.send(message)
        return True
