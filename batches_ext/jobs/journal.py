"""The job journal: what only the client knows about each job, in one SQLite file that outlives the kernel.

    journal = Journal()                 # <data dir>/journal.sqlite3
    journal.add(record)                 # a new job and its parts, before anything is uploaded
    journal.get("job_abc")              # a JobRecord (None if unknown)

The server's batch metadata stays the source of truth for batches (`find_job` rebuilds a job from it); the
journal adds what the server never sees: each job's intent (what was asked: the source's name, endpoint, model,
window, the user's metadata and options: batch size, token budget, expiries), its parts (first line, lines,
bytes, token estimate, output cap, input file, batch, state, attempts, earlier attempts), where its results were
saved, and where it ran: the base URL with any credentials removed, the organization and project, and whether it
was the in-process fake (a job of a discarded fake is shown as such). The API key is never stored.

Where: `$BATCHES_EXT_HOME/journal.sqlite3`, else the platform's user data directory for "batches_ext"
(`$XDG_DATA_HOME` or `~/.local/share` on Linux, `~/Library/Application Support` on macOS, `%LOCALAPPDATA%` on
Windows), written by hand rather than with platformdirs: three rules, and no dependency for `%load_ext`.

Two kernels may use one journal at once: WAL mode (readers never wait for a writer), a busy timeout (a writer
waits for the other's transaction instead of failing), every write one short `BEGIN IMMEDIATE` transaction, and
part updates that are compare-and-set on the state they were read in (`save_part(..., expect=)`, `claim`), so a
kernel acting on stale state changes nothing and reloads. The schema carries a version; a journal written by a
newer batches_ext is refused rather than misread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .state import JobPart

__all__ = ["Journal", "JobRecord", "HOME_ENV", "JOURNAL_FILE", "SCHEMA_VERSION", "data_dir", "default_journal"]

HOME_ENV = "BATCHES_EXT_HOME"
JOURNAL_FILE = "journal.sqlite3"
SCHEMA_VERSION = 1
_BUSY_SECONDS = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, backend TEXT NOT NULL, base_url TEXT NOT NULL,
    organization TEXT, project TEXT, offline INTEGER NOT NULL, endpoint TEXT, model TEXT,
    completion_window TEXT NOT NULL, name TEXT, metadata TEXT NOT NULL, retry_of TEXT, options TEXT NOT NULL,
    estimate TEXT NOT NULL, results_path TEXT, results_saved_at REAL, warnings TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parts (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, idx INTEGER NOT NULL,
    first_line INTEGER NOT NULL, lines INTEGER NOT NULL, bytes INTEGER NOT NULL, tokens INTEGER NOT NULL,
    output_cap INTEGER, input_file_id TEXT, batch_id TEXT, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    not_before REAL, uncertain INTEGER NOT NULL, earlier TEXT NOT NULL, last_error TEXT,
    usage TEXT, counts TEXT, model TEXT, claimed_at REAL, claimed_by TEXT, attempted_at REAL,
    PRIMARY KEY (job_id, idx));
CREATE INDEX IF NOT EXISTS jobs_by_time ON jobs (created_at);
"""
# JobPart attribute -> parts column (the rest have the attribute's name)
_PART_FIELDS = [f.name for f in fields(JobPart)]
_PART_COLUMN = {name: ("idx" if name == "index" else name) for name in _PART_FIELDS}
_JSON_PART = {"earlier", "usage", "counts"}
_BOOL_PART = {"uncertain"}


@dataclass
class JobRecord:
    """One job as the journal holds it (`Job.load` turns it into a `Job`)."""

    id: str
    created_at: float
    backend: str  # where it ran: the base URL (no credentials), organization and project; or one offline fake
    base_url: str
    organization: str | None = None
    project: str | None = None
    offline: bool = False
    endpoint: str | None = None
    model: str | None = None
    completion_window: str = "24h"
    name: str | None = None  # what was submitted: the source file's name, or None for lines built in memory
    metadata: dict[str, str] = field(default_factory=dict)
    retry_of: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    estimate: dict[str, Any] = field(default_factory=dict)
    results_path: str | None = None
    results_saved_at: float | None = None
    warnings: list[str] = field(default_factory=list)
    parts: list[JobPart] = field(default_factory=list)


def data_dir() -> Path:
    """Where batches_ext keeps its data: `$BATCHES_EXT_HOME`, else the platform's user data directory."""
    home = os.environ.get(HOME_ENV, "").strip()
    if home:
        return Path(home).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return base / "batches_ext"


class Journal:
    """One connection to a journal file (default: `data_dir()/journal.sqlite3`), safe to share between threads.

    Raises ConfigError when the file cannot be opened or was written by a newer batches_ext."""

    def __init__(self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = _BUSY_SECONDS) -> None:
        self.path = Path(path).expanduser() if path is not None else data_dir() / JOURNAL_FILE
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path), timeout=busy_timeout, isolation_level=None,
                                         check_same_thread=False)
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            with self._write() as db:
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    db.execute(statement)
                db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
                version = int(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])
        except (OSError, sqlite3.Error) as err:
            raise ConfigError(f"cannot open the job journal {self.path} ({err}); set {HOME_ENV} to a writable "
                              f"folder") from None
        if version > SCHEMA_VERSION:
            self.close()
            raise ConfigError(f"the job journal {self.path} was written by a newer batches_ext (schema {version}, "
                              f"this one reads {SCHEMA_VERSION}): upgrade, or set {HOME_ENV} to another folder")

    def __repr__(self) -> str:
        return f"<Journal {self.path}>"

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE), so it waits for another writer up front."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._conn.execute(sql, args)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # ------------------------------------------------------------------ jobs

    def add(self, record: JobRecord) -> None:
        """Record a new job and its parts (one transaction)."""
        with self._write() as db:
            db.execute("INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
                record.id, record.created_at, record.backend, record.base_url, record.organization, record.project,
                int(record.offline), record.endpoint, record.model, record.completion_window, record.name,
                _dumps(record.metadata), record.retry_of, _dumps(record.options), _dumps(record.estimate),
                record.results_path, record.results_saved_at, _dumps(record.warnings)))
            for part in record.parts:
                row = _part_row(part)
                columns = ", ".join(["job_id", *row])
                db.execute(f"INSERT INTO parts ({columns}) VALUES ({', '.join('?' * (len(row) + 1))})",
                           (record.id, *row.values()))

    def get(self, job_id: str) -> JobRecord | None:
        """The job `job_id`, or None when this journal never recorded it."""
        rows = self._read("SELECT * FROM jobs WHERE id = ?", (job_id,))
        return self._record(rows[0]) if rows else None

    def records(self, limit: int | None = None) -> list[JobRecord]:
        """Every job, newest first (at most `limit`)."""
        sql = "SELECT * FROM jobs ORDER BY created_at DESC, rowid DESC"
        rows = self._read(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
        return [self._record(row) for row in rows]

    def count(self) -> int:
        return int(self._read("SELECT COUNT(*) AS n FROM jobs")[0]["n"])

    def update_job(self, job_id: str, **values: Any) -> None:
        """Change job fields (`options`, `results_path`, `warnings` ...)."""
        allowed = {f.name for f in fields(JobRecord)} - {"id", "parts"}
        unknown = set(values) - allowed
        if unknown:
            raise ConfigError(f"the journal has no job field {sorted(unknown)[0]!r}")
        encoded = {k: (_dumps(v) if isinstance(v, (dict, list)) else v) for k, v in values.items()}
        sets = ", ".join(f"{k} = ?" for k in encoded)
        with self._write() as db:
            db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*encoded.values(), job_id))

    def forget(self, job_id: str) -> bool:
        """Remove a job and its parts from the journal (its batches are untouched); True if it was there."""
        with self._write() as db:
            db.execute("DELETE FROM parts WHERE job_id = ?", (job_id,))
            return db.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount > 0

    # ------------------------------------------------------------------ parts

    def parts(self, job_id: str) -> list[JobPart]:
        """The job's parts as the journal holds them now, in order."""
        return [_part(row) for row in self._read("SELECT * FROM parts WHERE job_id = ? ORDER BY idx", (job_id,))]

    def save_part(self, job_id: str, part: JobPart, *, expect: JobPart | None = None) -> bool:
        """Write `part`; with `expect`, only if the journal still holds the batch id and state `expect` had (a
        compare-and-set: False means another kernel moved the part first, and nothing was written)."""
        row = _part_row(part)
        sets = ", ".join(f"{column} = ?" for column in row)
        where, args = "job_id = ? AND idx = ?", [job_id, part.index]
        if expect is not None:
            where += " AND batch_id IS ? AND state = ?"
            args += [expect.batch_id, expect.state]
        with self._write() as db:
            return db.execute(f"UPDATE parts SET {sets} WHERE {where}", (*row.values(), *args)).rowcount == 1

    def claim(self, job_id: str, index: int, owner: str, now: float, *, stale_before: float) -> JobPart | None:
        """Take part `index` for a create: a `pending` part, or a `submitting` one whose claim is older than
        `stale_before` (its kernel died or hung: the part becomes `uncertain`, to be looked for before any
        create). Returns the part as claimed, or None when another kernel holds it or it moved on."""
        with self._write() as db:
            changed = db.execute(
                "UPDATE parts SET uncertain = CASE WHEN state = 'submitting' THEN 1 ELSE uncertain END, "
                "state = 'submitting', claimed_by = ?, claimed_at = ? WHERE job_id = ? AND idx = ? AND "
                "(state = 'pending' OR (state = 'submitting' AND (claimed_at IS NULL OR claimed_at < ?)))",
                (owner, now, job_id, index, stale_before)).rowcount
        if not changed:
            return None
        rows = self._read("SELECT * FROM parts WHERE job_id = ? AND idx = ?", (job_id, index))
        return _part(rows[0]) if rows else None

    # ------------------------------------------------------------------ rows

    def _record(self, row: dict[str, Any]) -> JobRecord:
        return JobRecord(
            id=row["id"], created_at=row["created_at"], backend=row["backend"], base_url=row["base_url"],
            organization=row["organization"], project=row["project"], offline=bool(row["offline"]),
            endpoint=row["endpoint"], model=row["model"], completion_window=row["completion_window"],
            name=row["name"], metadata=_loads(row["metadata"], {}), retry_of=row["retry_of"],
            options=_loads(row["options"], {}), estimate=_loads(row["estimate"], {}),
            results_path=row["results_path"], results_saved_at=row["results_saved_at"],
            warnings=_loads(row["warnings"], []), parts=self.parts(row["id"]))


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _loads(text: str | None, default: Any) -> Any:
    if text is None:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _part_row(part: JobPart) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in _PART_FIELDS:
        value = getattr(part, name)
        if name in _JSON_PART:
            value = None if value is None else _dumps(list(value) if isinstance(value, tuple) else value)
        elif name in _BOOL_PART:
            value = int(bool(value))
        row[_PART_COLUMN[name]] = value
    return row


def _part(row: dict[str, Any]) -> JobPart:
    values: dict[str, Any] = {}
    for name in _PART_FIELDS:
        value = row[_PART_COLUMN[name]]
        if name == "earlier":
            value = _loads(value, [])
        elif name == "usage":
            value = _loads(value, None)
        elif name == "counts":
            loaded = _loads(value, None)
            value = tuple(loaded) if isinstance(loaded, list) and len(loaded) == 3 else None
        elif name in _BOOL_PART:
            value = bool(value)
        values[name] = value
    return JobPart(**values)


_default_lock = threading.Lock()
_default: Journal | None = None


def default_journal() -> Journal:
    """The journal of the current data directory (opened once per path; `$BATCHES_EXT_HOME` is read each time,
    so changing it moves to another journal). Raises ConfigError when it cannot be opened."""
    global _default
    path = data_dir() / JOURNAL_FILE
    with _default_lock:
        if _default is None or _default.path != path:
            _default = Journal(path)  # the previous one closes when the last job holding it goes
        return _default
