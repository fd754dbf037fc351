"""Per-shell state of the `%batches` magics: the client, the offline-fake switch, recent ids, live widgets.

Ids are remembered per backend: the real API's survive `%batches fake on` / `off` (they are still valid there),
while a fake's are forgotten with that fake (a new `fake on` or `fake off` discards it), so neither a bare
`watch` nor completion ever offers an id of a fake that is gone. "The latest" (what a bare `%batches watch`
follows) is the last batch or job this session created, retried, fetched, cancelled, watched or loaded results
of; `list` does not change it.

The real client is built from the `BatchesMagics` traits and the environment when first needed, and
rebuilt when a trait or the environment changes. The API key is read from `OPENAI_API_KEY` by name at
that moment and is never stored here, shown, or made a trait. Nothing in this module imports requests,
ipywidgets or fake_server at import time.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError

if TYPE_CHECKING:
    from ..client import BatchesClient

__all__ = ["MagicSession", "KEY_ENV", "NO_KEY_MESSAGE", "clock_words"]

KEY_ENV = "OPENAI_API_KEY"
NO_KEY_MESSAGE = "No API key: set OPENAI_API_KEY, or run `%batches fake on` to use the offline fake."
_MAX_RECENT = 50
# trait name -> Settings field (the traits that shape the real client)
_CLIENT_TRAITS = ("base_url", "organization", "project", "timeout", "max_retries")


@dataclass
class _Memory:
    """What one backend's ids the session remembers: recent ids (newest first), their last seen status, and the
    latest batch or job as `(name, batch ids)`."""

    recent: list[str] = field(default_factory=list)
    last_status: dict[str, str] = field(default_factory=dict)
    latest: tuple[str, list[str]] | None = None
    jobs: list[str] = field(default_factory=list)  # job ids, newest first


class MagicSession:
    """State behind one `BatchesMagics`: `traits` is the object whose traits hold the settings."""

    def __init__(self, traits: Any) -> None:
        self._traits = traits
        self._client: BatchesClient | None = None
        self._client_shape: tuple[Any, ...] | None = None
        self._offline: BatchesClient | None = None
        self._real_memory = _Memory()
        self._fake_memory = _Memory()  # the current fake's ids; replaced whenever the fake is switched
        self._widgets: list[weakref.ref[Any]] = []

    # ------------------------------------------------------------------ clients

    @property
    def offline(self) -> bool:
        """True while `%batches fake on` routes this shell to the in-process fake."""
        return self._offline is not None

    @property
    def fake(self) -> Any:
        """The FakeBatchesAPI in use (None when the fake is off)."""
        return self._offline.fake if self._offline is not None else None

    def client(self) -> BatchesClient:
        """The client to use now: the fake's while it is on, else the real one (UsageError without a key)."""
        if self._offline is not None:
            return self._offline
        if not os.environ.get(KEY_ENV, "").strip():
            raise UsageError(NO_KEY_MESSAGE)
        shape = self._shape()
        if self._client is None or self._client_shape != shape or self._key_changed():
            from ..client import BatchesClient
            from ..errors import ConfigError

            self._close_real()
            try:
                self._client = BatchesClient(**self._overrides())
            except ConfigError as err:
                raise UsageError(f"%batches: {err} (check `%batches config`)") from None
            self._client_shape = shape
        return self._client

    def _overrides(self) -> dict[str, Any]:
        """The traits set away from their default (the rest resolve from the environment / defaults)."""
        t = self._traits
        out: dict[str, Any] = {}
        for name in _CLIENT_TRAITS:
            value = getattr(t, name)
            if value not in (None, "") and value != t.trait_defaults(name):
                out[name] = value
        return out

    def _shape(self) -> tuple[Any, ...]:
        env = tuple(os.environ.get(v, "") for v in ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"))
        return tuple(getattr(self._traits, n) for n in _CLIENT_TRAITS) + env

    def _key_changed(self) -> bool:
        settings = getattr(self._client, "settings", None)
        return getattr(settings, "api_key", None) != os.environ.get(KEY_ENV, "").strip()

    def _close_real(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client, self._client_shape = None, None

    def fake_on(self, speed: float | None = None, fake: Any = None, *, manual: bool = False) -> BatchesClient:
        """Route to a new in-process fake (or to `fake`, e.g. one on a ManualClock in tests); returns the client.

        manual: the new fake runs on a ManualClock (time moves when the kernel waits on it or on `advance`).
        """
        from ..client import BatchesClient

        self.fake_off()
        self._offline = BatchesClient.offline(fake, speed=speed if fake is None else None, manual=manual)
        return self._offline

    def fake_off(self) -> bool:
        """Back to the real API, forgetting the fake's ids; True if the fake was on."""
        was_on = self._offline is not None
        self._offline = None  # views still showing the old fake keep their own client and go on working
        self._fake_memory = _Memory()
        return was_on

    def advance(self, seconds: float) -> float:
        if self._offline is None:
            raise UsageError("%batches fake advance: the fake is off (run `%batches fake on` first)")
        return float(self._offline.fake.advance(seconds))

    def fake_status(self) -> str:
        """One line: on/off, the clock and what the fake holds."""
        if self._offline is None:
            return "offline fake: off (using the real API; `%batches fake on` to switch)"
        fake = self._offline.fake
        now = fake.clock.now()
        from ..render import plural, utc_text

        return (f"offline fake: on; {clock_words(fake.clock)}, now {utc_text(now)}; "
                f"{plural(len(fake.batches()), 'batch')}, {plural(len(fake.files()), 'file')}")

    # ------------------------------------------------------------------ settings

    def settings_rows(self) -> list[tuple[str, Any, str]]:
        """(name, shown value, source) for every setting; the key is shown only as set / not set."""
        from ..config import Settings, redact_url
        from ..errors import ConfigError

        overrides = self._overrides()
        try:
            settings = Settings.resolve(**overrides)
        except ConfigError as err:
            raise UsageError(f"%batches config: {err}") from None
        rows: list[tuple[str, Any, str]] = []
        key_set = settings.has_api_key
        rows.append(("api_key", "set" if key_set else "not set", f"environment {KEY_ENV}" if key_set else "-"))
        env_names = {"base_url": "OPENAI_BASE_URL", "organization": "OPENAI_ORG_ID", "project": "OPENAI_PROJECT_ID"}
        for name in _CLIENT_TRAITS:
            source = settings.sources.get(name, "default")
            if name in overrides:
                source = f"%config BatchesMagics.{name}"
            elif source == "environment":
                source = f"environment {env_names[name]}"
            value = getattr(settings, name)
            rows.append((name, redact_url(value) if name == "base_url" else value, source))
        from ..client import deadline_for

        derived = deadline_for(settings.timeout, settings.max_retries)
        rows.append(("deadline", f"{derived:g} s", "timeout × (max_retries + 1) + backoff, per call"))
        t = self._traits
        for name in ("poll_interval", "page_size", "fake_speed", "max_enqueued_tokens"):
            value = getattr(t, name)
            source = "default" if value == t.trait_defaults(name) else f"%config BatchesMagics.{name}"
            default = "fake_server default" if name == "fake_speed" else "none (the API's quota refuses, parts retry)"
            rows.append((name, default if value is None else value, source))
        from ..jobs import HOME_ENV, data_dir

        home = os.environ.get(HOME_ENV, "").strip()
        rows.append(("journal", str(data_dir() / "journal.sqlite3"), f"environment {HOME_ENV}" if home else "default"))
        rows.append(("fake", "on" if self.offline else "off", "%batches fake"))
        return rows

    # ------------------------------------------------------------------ recent ids

    @property
    def _memory(self) -> _Memory:
        return self._fake_memory if self._offline is not None else self._real_memory

    @property
    def recent(self) -> list[str]:
        """Batch ids of the backend in use, newest first (for completion and a bare `watch`)."""
        return self._memory.recent

    @property
    def last_status(self) -> dict[str, str]:
        return self._memory.last_status

    def remember(self, *batches: Any) -> None:
        """Note batch ids (newest first) and their last seen status, for completion and bare `watch`."""
        memory = self._memory
        for item in batches:
            batch_id = item if isinstance(item, str) else getattr(item, "id", None)
            if not batch_id:
                continue
            status = None if isinstance(item, str) else getattr(item, "status", None)
            if status:
                memory.last_status[batch_id] = status
            if batch_id in memory.recent:
                memory.recent.remove(batch_id)
            memory.recent.insert(0, batch_id)
        for gone in memory.recent[_MAX_RECENT:]:
            memory.last_status.pop(gone, None)
        del memory.recent[_MAX_RECENT:]

    @property
    def recent_jobs(self) -> list[str]:
        """Job ids of the backend in use this session created, watched or listed, newest first (for completion)."""
        return self._memory.jobs

    def remember_jobs(self, *job_ids: str) -> None:
        jobs = self._memory.jobs
        for job_id in reversed(job_ids):
            if job_id in jobs:
                jobs.remove(job_id)
            jobs.insert(0, job_id)
        del jobs[_MAX_RECENT:]

    def source_variables(self) -> list[str]:
        """The notebook's variables `create --from` can read (DataFrames, Series, lists), for completion."""
        from .inputs import is_source

        shell = getattr(self._traits, "shell", None)
        namespace = getattr(shell, "user_ns", None) or {}
        hidden = getattr(shell, "user_ns_hidden", None) or {}  # IPython's own: In, Out, exit ...
        return sorted(n for n, v in namespace.items() if not n.startswith("_") and n not in hidden and is_source(v))

    def source_columns(self, name: str | None) -> list[str]:
        """The columns of the notebook's DataFrame `name` (plus `index` for `--id-column`), for completion; [] for
        anything else."""
        shell = getattr(self._traits, "shell", None)
        value = (getattr(shell, "user_ns", None) or {}).get(name) if name else None
        columns = getattr(value, "columns", None)
        return [str(c) for c in columns] + ["index"] if columns is not None else []

    def follow(self, target: Any) -> None:
        """Make `target` (a batch id, a Batch, or a Job) "the latest": what a bare `%batches watch` follows."""
        if hasattr(target, "parts") and str(getattr(target, "id", "")).startswith("job_"):
            self.remember_jobs(target.id)
        ids = list(getattr(target, "batch_ids", None) or [])
        if ids:
            self._memory.latest = (str(target.id), ids)
            self.remember(*ids)
            return
        batch_id = target if isinstance(target, str) else getattr(target, "id", None)
        if batch_id:
            self._memory.latest = (batch_id, [batch_id])
            self.remember(target)

    def latest(self) -> tuple[str, list[str]] | None:
        """`(name, batch ids)` of the latest batch or job of the backend in use (else its most recent batch id,
        e.g. the newest one `list` showed), or None when this session has seen none."""
        memory = self._memory
        if memory.latest is not None:
            return memory.latest
        return (memory.recent[0], memory.recent[:1]) if memory.recent else None

    # ------------------------------------------------------------------ widgets

    def track(self, widget: Any) -> Any:
        """Keep a (weak) handle on a widget this extension made, so unload can close it."""
        self._widgets = [r for r in self._widgets if r() is not None]
        self._widgets.append(weakref.ref(widget))
        return widget

    def widgets(self) -> list[Any]:
        return [w for w in (r() for r in self._widgets) if w is not None]

    def _close_widgets(self, which: Any = None) -> int:
        closed = 0
        keep: list[weakref.ref[Any]] = []
        for ref in self._widgets:
            w = ref()
            if w is None:
                continue
            if which is None or which(w):
                w.close()
                closed += 1
            else:
                keep.append(ref)
        self._widgets = keep
        return closed

    def close(self) -> int:
        """Close every widget made here (stopping its refresh thread) and both clients; returns widgets closed."""
        closed = self._close_widgets()
        self.fake_off()
        self._close_real()
        return closed


def clock_words(clock: Any) -> str:
    """The fake's clock as a person would say it: "a manual clock (...)" or "a clock 60× real time"."""
    speed = getattr(clock, "speed", None)
    if speed is None:
        return "a manual clock: time moves when you wait or run `%batches fake advance`"
    shown = f"{speed:,.0f}" if float(speed).is_integer() else f"{speed:g}"
    return "real time" if speed == 1 else f"a clock {shown}× real time"
