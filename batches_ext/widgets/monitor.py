"""`BatchMonitor`: live progress of a few batches (status, bar, counts, elapsed, ETA, then what each cost), each row
its own widget so a row changes only when its batch does, with a two-step Cancel per row; polling stops once every
batch is terminal, then the Results controls appear and, if asked for, the browser shows a notification.

    monitor = BatchMonitor(client, ["batch_a", "batch_b"])   # display(monitor); returns at once
    monitor.wait(timeout=600)                               # blocks until all are terminal
    monitor.load_results("res")                             # res = {batch_id: Results}
    monitor = BatchMonitor(client, job)                     # a Job: one row per part, and each refresh advances
                                                            # the job (creates its pending parts as room appears)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

import ipywidgets

from ..errors import BatchesError, ConflictError, InputError, NotFoundError, WaitTimeout
from ..render import badge, batch_line, monitor_row_html, part_state, plural
from .following import JobFollowing
from .lifecycle import set_if_changed
from .notify import Notifier
from .view import LiveView, danger_button, error_text, show

if TYPE_CHECKING:
    from ..client import BatchesAPI

__all__ = ["BatchMonitor"]


def _ids(source: Any) -> list[str]:
    """Batch ids from an id, a Batch, a Job (`.batch_ids`), or an iterable of ids/Batches; order kept."""
    if isinstance(source, str):
        items: Iterable[Any] = [source]
    elif hasattr(source, "batch_ids"):
        items = list(source.batch_ids)
    elif hasattr(source, "id"):
        items = [source]
    else:
        items = source
    out: list[str] = []
    for item in items:
        bid = item if isinstance(item, str) else getattr(item, "id", None)
        if not isinstance(bid, str) or not bid:
            raise InputError(f"not a batch id: {item!r}")
        if bid not in out:
            out.append(bid)
    return out


def _is_job(source: Any) -> bool:
    return bool(getattr(source, "parts", None)) and callable(getattr(source, "advance", None))


class BatchMonitor(JobFollowing, LiveView):
    """Watches `batch_ids` (ids, Batches or a Job): one row each, refreshed on a background thread every
    `interval` seconds until all are terminal. `namespace` receives Results (default: IPython's user
    namespace); `now` is the view's clock (default the client's); `notify=True` turns the browser notification
    on from the start (the toggle in the view does the same).

    Given a `Job` (with its parts, as `submit` or `Job.load` return it), the monitor has one row per part (a part
    not created yet says what it waits for) and every refresh runs `job.advance(client)`: the job's pending parts
    are created as earlier batches end, and the monitor is done when every part is over."""

    def __init__(self, client: BatchesAPI, batch_ids: Any, *, interval: float = 2.0, auto_refresh: bool = True,
                 namespace: MutableMapping[str, Any] | None = None, now: Callable[[], float] | None = None,
                 notify: bool = False) -> None:
        self._job = batch_ids if _is_job(batch_ids) else None
        ids = [f"part {p.index}/{len(batch_ids.parts)}" for p in batch_ids.parts] if self._job else _ids(batch_ids)
        if not ids:
            raise InputError("no batch ids to monitor")
        super().__init__(client, interval=interval, namespace=namespace, now=now, name="batches_ext-monitor")
        self._ids = ids  # the rows' keys: batch ids, or a job's "part i/n"
        self._batches: dict[str, Any] = dict.fromkeys(ids)
        self._missing: dict[str, str] = {}  # id -> why it cannot be shown (e.g. not found): counts as finished
        self._armed: str | None = None
        self._notified = False
        self._header = ipywidgets.HTML("")
        self._row_html: dict[str, ipywidgets.HTML] = {}
        self._row_cancel: dict[str, ipywidgets.Button] = {}
        rows = []
        for bid in ids:
            row_html = ipywidgets.HTML(monitor_row_html(bid, None, 0, dashboard=self.dashboard))
            button = danger_button("Cancel…", f"Cancel {bid}", layout=ipywidgets.Layout(width="130px"),
                                   disabled=True)
            button.on_click(self._guard(lambda _b, bid=bid: self._cancel_click(bid)))
            self._row_html[bid], self._row_cancel[bid] = row_html, button
            rows.append(ipywidgets.HBox([row_html, button], layout=ipywidgets.Layout(flex_flow="row wrap")))
        self._notifier = Notifier(enabled=notify)
        self._footer = ipywidgets.HBox([self._var, self._results_button],
                                       layout=ipywidgets.Layout(flex_flow="row wrap"))
        show(self._footer, False)
        self.children = [
            ipywidgets.HBox([self._header, self._notifier], layout=ipywidgets.Layout(
                flex_flow="row wrap", align_items="center", justify_content="space-between")),
            ipywidgets.VBox(rows),
            self._error_line,
            self._footer,
            self._message_line,
            self._results_preview,
        ]
        with self._lock:
            self._render()
        self._background(self.refresh)
        if auto_refresh:
            self._start()

    # ------------------------------------------------------------------ state

    @property
    def job(self) -> Any:
        """The Job this monitor advances (None when it watches batch ids)."""
        return self._job

    @property
    def batch_ids(self) -> list[str]:
        if self._job is not None:
            return list(self._job.batch_ids)
        return list(self._ids)

    @property
    def batches(self) -> list[Any]:
        """The latest `Batch` per row, in order (None for one not fetched yet, or a part not created yet)."""
        return [self._batches[bid] for bid in self._ids]

    @property
    def cancel_buttons(self) -> dict[str, ipywidgets.Button]:
        """Each row's Cancel button by batch id (shown only while that batch is cancellable; the first click asks
        to confirm, the second cancels)."""
        return dict(self._row_cancel)

    @property
    def notifier(self) -> Notifier:
        """The "notify me when done" toggle (off by default; `monitor.notifier.enabled = True` turns it on)."""
        return self._notifier

    @property
    def parts(self) -> dict[str, ipywidgets.HTML]:
        """The HTML parts by name: header, error, message, preview, and `row:<batch_id>` for each row."""
        parts = {"header": self._header, "error": self._error_line, "message": self._message_line,
                 "preview": self._results_preview}
        parts.update({f"row:{bid}": w for bid, w in self._row_html.items()})
        for key, b in self._batches.items():  # a job's rows answer to their current batch id too
            if b is not None and key != b.id:
                parts[f"row:{b.id}"] = self._row_html[key]
        return parts

    @property
    def controls(self) -> dict[str, ipywidgets.Widget]:
        """The Results controls: `var` (variable name) and `results` (the button)."""
        return {"var": self._var, "results": self._results_button}

    @property
    def results_offered(self) -> bool:
        """True once the Results controls are shown (every batch terminal)."""
        return self._footer.layout.display != "none"

    @property
    def done(self) -> bool:
        """True when every batch is terminal (or cannot be shown, e.g. not found); for a job, every part is over."""
        if self._job is not None:
            return bool(self._job.finished)
        return all(bid in self._missing or (b is not None and b.is_terminal) for bid, b in self._batches.items())

    # ------------------------------------------------------------------ actions

    def refresh(self) -> bool:
        """Fetch every batch that is not terminal yet (no lock held meanwhile); for a job, advance it. On failure
        keep the rows, show the error line, and return False."""
        if self._job is not None:
            return self._refresh_job()
        with self._lock:
            if self._closed:
                return False
            wanted = [bid for bid, b in self._batches.items()
                      if bid not in self._missing and (b is None or not b.is_terminal)]
        got: dict[str, Any] = {}
        missing: dict[str, str] = {}
        try:
            for bid in wanted:
                try:
                    got[bid] = self.client.retrieve_batch(bid)
                except NotFoundError:
                    missing[bid] = "not found (check the id, the key's organization and project)"
        except Exception as exc:
            return self._refresh_failed(lambda: self._batches.update(got), exc)

        def take() -> None:
            self._batches.update(got)
            self._missing.update(missing)

        return self._refresh_done(take)

    def _refresh_failed(self, take: Callable[[], None], exc: BaseException) -> bool:
        """Under the lock: keep what this refresh got (`take`), show the error line. Returns False."""
        with self._lock:
            if not self._closed:
                take()
                self._record_error(exc)
                self._render()
        return False

    def _refresh_done(self, take: Callable[[], None]) -> bool:
        """Under the lock: take what this refresh got, clear the error line, settle the cancel note, render; then,
        outside it, notify once when everything has finished. Returns False when the view was closed meanwhile."""
        with self._lock:
            if self._closed:
                return False
            take()
            self._record_ok()
            self._settle_cancel_note(self._batches.values())
            self._render()
            finished = self.done and not self._notified
            self._notified = self._notified or finished
        if finished:
            self._notify_done()
        return True

    def _cancel_click(self, batch_id: str) -> None:
        """A row's Cancel button: the first click asks to confirm, the second cancels (on the worker thread)."""
        with self._lock:
            if self._armed != batch_id:
                self._armed = batch_id
                self._message(f"Cancel {batch_id}? Requests not yet run will not run (finished ones are kept). "
                              "Click “Confirm cancel” on its row to cancel it.")
                self._render()
                return
            self._armed = None
            self._render()
        self._background(lambda: self.cancel(batch_id))

    def cancel(self, batch_id: str) -> Any:
        """Cancel one watched batch now, without asking; returns the `Batch`. Errors are shown and raised (a 409
        also refreshes)."""
        key = self._key(batch_id)
        current = self._batches.get(key) if key is not None else None
        if key is None or (self._job is not None and current is None):
            raise InputError(f"{batch_id} is not monitored here")
        batch_id = current.id if current is not None else batch_id
        try:
            batch = self.client.cancel_batch(batch_id)
        except ConflictError as exc:
            self._report(exc, f"Cannot cancel {batch_id}: {error_text(exc)}")
            self.refresh()
            raise
        except Exception as exc:
            self._report(exc, f"Cancel {batch_id} failed: {error_text(exc)}")
            raise
        with self._lock:
            self._batches[key] = batch
            if self._job is not None:
                self._job.batches[batch.id] = batch
            self._cancel_requested(batch)
            self._render()
        return batch

    def wait(self, timeout: float | None = None) -> list[Any]:
        """Block until every batch is terminal, refreshing every `interval`; returns the batches.

        It polls itself and waits through the client (`client.sleep`): on an offline fake with a
        ManualClock each wait moves the fake's clock, so the rows advance step by step and the call ends
        at once. Raises `WaitTimeout` after `timeout` seconds (the larger of time waited and wall time).
        """
        sleep = getattr(self.client, "sleep", time.sleep)
        started, waited = time.monotonic(), 0.0
        while True:
            if self._closed:
                raise BatchesError("the monitor is closed")
            self.refresh()
            if self.done:
                return self.batches
            step = self.interval
            if timeout is not None:
                remaining = timeout - max(waited, time.monotonic() - started)
                if remaining <= 0:
                    raise WaitTimeout(f"{self._running_count()} of {plural(len(self._ids), 'batch')} still running")
                step = min(step, remaining)
            sleep(step)
            waited += step

    def load_results(self, name: str | None = None) -> Any:
        """Load results into `namespace[name]` (default: the name next to the Results button, `batch_results`),
        show a summary and the first rows, and return them: a `Results` for one batch, a dict
        `{batch_id: Results}` for several."""
        try:
            name = self._results_name(name)
            with self._lock:
                self._message("Loading results…")
            from ..jobs import results

            if self._job is not None:
                loaded = {self._job.id: results(self.client, self._job)}
            else:
                loaded = {bid: results(self.client, bid) for bid in self._ids if bid not in self._missing}
        except Exception as exc:
            self._report(exc, f"Results: {error_text(exc)}")
            raise
        value: Any = next(iter(loaded.values())) if len(loaded) == 1 else loaded
        self._store_results(name, value, loaded)
        return value

    # ------------------------------------------------------------------ internals

    def _pending_count(self) -> int:
        """A job's parts waiting to be created (0 for batches)."""
        return sum(1 for p in self._job.parts if p.pending) if self._job is not None else 0

    def _running_count(self) -> int:
        if self._job is not None:
            return sum(1 for p in self._job.parts if not p.final)
        return sum(1 for bid, b in self._batches.items()
                   if bid not in self._missing and (b is None or not b.is_terminal))

    def _notify_done(self) -> None:
        by_status: dict[str, int] = {}
        for b in self._batches.values():
            if b is not None:
                by_status[b.status] = by_status.get(b.status, 0) + 1
        n = len(self._ids)
        body = ", ".join(f"{count} {status}" for status, count in sorted(by_status.items()))
        self._notifier.notify(f"{plural(n, 'batch')} finished", body or "finished",
                              tag=",".join(self._ids)[:200])

    def _tick(self) -> bool | None:
        if self._closed:
            return None
        ok = self.refresh()
        return None if self.done else ok

    def _render(self) -> None:
        if self._closed:
            return
        now = self._now()
        by_status: dict[str, int] = {}
        for b in self._batches.values():
            if b is not None:
                by_status[b.status] = by_status.get(b.status, 0) + 1
        summary = " ".join(f"{badge(s)}&nbsp;{n}" for s, n in sorted(by_status.items()))
        n = len(self._ids)
        done = self._loaded and self.done
        if self._job is not None:
            pending = self._pending_count()
            running = self._running_count() - pending
            title = (f"Job {self._job.id} finished" if done else
                     f"Job {self._job.id}: {plural(n, 'part')}, {running} running"
                     + (f", {pending} pending" if pending else ""))
        elif done:
            title = "The batch finished" if n == 1 else f"All {n:,} batches finished"
        else:
            title = f"Monitoring {plural(n, 'batch')}"
        updated = "finished" if done else self._updated_text()
        set_if_changed(self._header, "value", (
            "<div class='bx-header' style='font-family:var(--jp-ui-font-family,sans-serif);font-size:13px;"
            "color:var(--jp-ui-font-color1,#212121)'>"
            f"<b>{title}</b> {self._offline_marker()} · {summary}{self._spend_text()} · "
            f"<span class='bx-updated'>{updated}</span></div>"))
        enabled = self._actions_enabled()
        parts = {f"part {p.index}/{n}": p for p in self._job.parts} if self._job is not None else {}
        for bid in self._ids:
            b = self._batches[bid]
            waiting = part_state(parts[bid], self._job) if bid in parts and b is None and self._loaded else ""
            set_if_changed(self._row_html[bid], "value", monitor_row_html(
                bid, b, now, dashboard=self.dashboard, problem=self._missing.get(bid, waiting)))
            button = self._row_cancel[bid]
            show(button, b is not None and b.is_cancellable)
            set_if_changed(button, "disabled", not enabled)
            armed = self._armed == bid
            set_if_changed(button, "description", "Confirm cancel" if armed else "Cancel…")
            set_if_changed(button, "tooltip", f"Yes: cancel {bid}" if armed else f"Cancel {bid}")
        show(self._footer, done)
        set_if_changed(self._results_button, "disabled", not enabled)

    def __repr__(self) -> str:
        if self._closed:
            return "<BatchMonitor (closed)>"
        now = self._now()
        running = self._running_count()
        state = ("loading…" if not self._loaded else f"{running} running" if running else "all finished")
        if self._job is not None and self._loaded:  # a job counts parts: a part not created yet is no batch
            pending = self._pending_count()
            running -= pending
            state = ", ".join(x for x in (f"{running} running" if running else "",
                                          f"{pending} pending" if pending else "") if x) or "all finished"
        what = plural(len(self._ids), "part" if self._job is not None else "batch")
        head = f"BatchMonitor: {what}, {state}"
        head += " [offline fake]" if self.offline else ""
        lines = [head]
        for bid in self._ids:
            b = self._batches[bid]
            if b is not None:
                lines.append(f"  {batch_line(b, now, eta=True)}")
            elif self._job is not None and self._loaded:
                part = next(p for p in self._job.parts if f"part {p.index}/{len(self._ids)}" == bid)
                lines.append(f"  {bid}  {part_state(part, self._job)}")
            else:
                lines.append(f"  {bid}  ({self._missing.get(bid, 'not loaded')})")
        if self._error:
            lines.append(f"  ! refresh failed: {self._error}")
        return "\n".join(lines)
