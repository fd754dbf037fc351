"""Writing files atomically: a temporary file beside the target, moved over it only once it is complete.

Shared by every wing that writes a user's file (request JSONL, saved downloads, saved results), so a reader
never sees a half-written file and a failed write leaves the old file untouched.

* `atomic_open(path)`: one file. `atomic_files([a, b])`: several, all written before any is renamed, then
  renamed back to back, so a crash while writing leaves every old file (a crash can only split the set in the
  instant between two renames).
* `~` in a path is expanded.
* What cannot be saved is an `InputError` naming your path, never the hidden temp file: a missing folder ("no
  such folder"), a file where the folder should be ("not a folder"), a folder at the target ("is a folder"), a
  name longer than the file system takes ("file name too long"), and any other refusal to create or rename the
  file ("cannot save PATH: permission denied"). The temporary file's NAME part is cut short when needed, so any
  name `open()` accepts can be saved.
* Files get the permissions the umask gives a new file (0644 under umask 022), like `open(path, "w")`, not
  `tempfile.mkstemp`'s 0600.
* Temporary files are named `.NAME.bx<pid>-<host>-<random>.tmp` (NAME cut short to fit the file system's name limit). A save killed mid-write (kill -9, power loss)
  leaves one behind; every later save into the same folder sweeps such leftovers: at once when they were made
  on this host by a process that no longer exists (provably dead), otherwise once untouched for
  `STALE_AFTER` seconds (24 h: made on another host sharing the folder). Only names of exactly that form are
  ever removed. Leftovers of older batches_ext versions (`tempfile.mkstemp`'s `.NAME.xxxxxxxx.tmp`) are not
  swept: nothing tells them from a user's own hidden file such as `.notes.20240101.tmp`, and a user's file is
  never ours to delete.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .errors import InputError

__all__ = ["atomic_open", "atomic_files", "sweep_stale_temps", "STALE_AFTER"]

STALE_AFTER = 24 * 3600.0
_NAME_MAX = 255  # bytes in one file name, when the file system does not say
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
_OURS = re.compile(r"^\..+\.bx(?P<pid>\d+)-(?P<host>[0-9a-f]{6})-[0-9a-f]{8}\.tmp$")


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) the folder's file system takes: 255 on every common one."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (AttributeError, OSError, ValueError):
        return _NAME_MAX


def _temp_name(name: str, tag: str, limit: int) -> str:
    """`.NAME.<tag>.tmp`, NAME cut (whole characters, at least one) so the whole fits in `limit` bytes: a
    target name that fits fits its temp name too."""
    suffix = f".{tag}.tmp"
    budget = max(1, limit - 1 - len(suffix))
    while len(os.fsencode(name)) > budget and len(name) > 1:
        name = name[:-1]
    return f".{name}{suffix}"


def _cannot_save(target: Path, err: OSError) -> InputError:
    """An OSError about the hidden temp file, said about the user's path."""
    reason = (err.strerror or type(err).__name__).lower()
    return InputError(f"cannot save {target}: {reason}")


class _Staged:
    """A temporary file beside `target`, created with O_EXCL and the umask's permissions."""

    def __init__(self, target: Path, mode: str, kwargs: dict[str, Any], limit: int) -> None:
        self.target = target
        folder = target.parent
        while True:
            self.tmp = folder / _temp_name(target.name, f"bx{os.getpid()}-{_HOST}-{secrets.token_hex(4)}", limit)
            try:
                fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
                break
            except FileExistsError:
                continue
            except OSError as err:
                raise _cannot_save(target, err) from None
        try:
            self.handle: IO[Any] = os.fdopen(fd, mode, **kwargs)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(self.tmp)
            raise

    def finish(self) -> None:
        """Everything written is on disk (flushed and fsync'ed) and the file closed."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()

    def commit(self) -> None:
        try:
            os.replace(self.tmp, self.target)
        except OSError as err:  # e.g. a folder appeared at the target meanwhile
            raise _cannot_save(self.target, err) from None

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def atomic_files(paths: Sequence[str | os.PathLike], mode: str = "wb", **kwargs: Any) -> Iterator[list[IO[Any]]]:
    """Open a temporary file next to each path; when the block ends without error, all of them are made
    durable and only then moved over their paths (`os.replace`, back to back); on error none is."""
    targets = [Path(p).expanduser() for p in paths]
    limits: dict[Path, int] = {}
    for folder in dict.fromkeys(t.parent for t in targets):
        if not folder.is_dir():  # said plainly, not as the hidden temp file's "No such file or directory"
            raise InputError(f"not a folder: {folder}" if folder.exists() else f"no such folder: {folder}")
        limits[folder] = _name_max(folder)
    for target in targets:  # checked before anything is written or swept
        size = len(os.fsencode(target.name))
        if size > limits[target.parent]:
            raise InputError(f"file name too long ({size} bytes; at most {limits[target.parent]}): {target}")
        if os.path.isdir(target) and not os.path.islink(target):  # a symlink is replaced, never followed
            raise InputError(f"{target} is a folder: name a file to save to")
    for folder in limits:
        sweep_stale_temps(folder)
    staged: list[_Staged] = []
    try:
        for target in targets:
            staged.append(_Staged(target, mode, kwargs, limits[target.parent]))
        yield [s.handle for s in staged]
        for s in staged:
            s.finish()
        for s in staged:
            s.commit()
    except BaseException:
        for s in staged:
            s.discard()
        raise
    for folder in dict.fromkeys(t.parent for t in targets):
        _sync_folder(folder)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file next to `path`; on success it replaces `path` (os.replace), on error it is removed.

    Readers never see a half-written file, and a failed write leaves the old file untouched.
    """
    with atomic_files([path], mode, **kwargs) as handles:
        yield handles[0]


def sweep_stale_temps(folder: str | os.PathLike, *, now: float | None = None) -> list[Path]:
    """Remove the temporary files that killed saves left in `folder` (see the module's rules); returns them."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        entries = list(os.scandir(os.fspath(folder)))
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if not name.startswith(".") or not name.endswith(".tmp"):
            continue
        ours = _OURS.match(name)
        if ours is None:  # not a name this module makes: a user's file, whatever it looks like
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            age = now - entry.stat(follow_symlinks=False).st_mtime
        except OSError:
            continue
        dead = ours["host"] == _HOST and not _alive(int(ours["pid"]))
        if dead or age > STALE_AFTER:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # exists (another user's), or we cannot tell: keep it
    return True


def _sync_folder(folder: Path) -> None:
    """Make the renames durable (POSIX); harmless where a folder cannot be opened (Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
