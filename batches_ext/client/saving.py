"""Saving file content to disk: streamed, atomic, and never outside the path you name.

    client.save_file("file-abc", "out/")              # out/<the server's filename, made safe>; out/ made if missing
    client.save_file("file-abc", "out/answers.jsonl") # exactly that path
    save_batch_files(client, "batch_abc", "out/")     # {"output": out/batch_abc_output.jsonl, "error": ...}

A filename that comes from the server is never trusted as a path: `safe_filename` keeps its last
component only, drops control characters, leading dots and trailing dots/spaces, avoids Windows
device names and long names, and falls back to `<file_id>.jsonl`. The content is streamed into a
temporary file beside the target and moved over it with `os.replace` (`batches_ext.atomic`), so a reader
never sees a half-written file, a failed download leaves any old file untouched, and a symlink at the target
name is replaced rather than followed. `save_batch_files` downloads both files before renaming either, so a
failure (or a kill) while downloading leaves the old pair. `~` is expanded in every path.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..atomic import atomic_files, atomic_open
from ..errors import InputError

if TYPE_CHECKING:
    from ..models import Batch
    from .protocol import BatchesAPI

__all__ = ["safe_filename", "save_file", "save_batch_files"]

_MAX_NAME_BYTES = 200  # below every common filesystem's 255-byte limit, room for a temp prefix
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                    *(f"LPT{i}" for i in range(1, 10))}
_UNSAFE = re.compile(r'[<>:"|?*]')


def safe_filename(name: Any, fallback: str) -> str:
    """A plain file name made from an untrusted `name` (no directories, no traversal), else `fallback`."""
    text = str(name) if name is not None else ""
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")  # control, format, surrogates
    text = _UNSAFE.sub("_", text).lstrip(". ").rstrip(". ")
    if text.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        text = "_" + text
    if len(text.encode("utf-8")) > _MAX_NAME_BYTES:
        stem, dot, ext = text.rpartition(".")
        if not (dot and stem and len(ext) <= 16):
            stem, dot, ext = text, "", ""
        budget = _MAX_NAME_BYTES - len((dot + ext).encode("utf-8"))
        text = stem.encode("utf-8")[:budget].decode("utf-8", "ignore") + dot + ext
    if not text:
        return fallback or "download"
    return text


def save_file(client: BatchesAPI, file_id: str, dest: str | os.PathLike, *, chunk_size: int = 64 * 1024) -> Path:
    """Stream file `file_id` to `dest` atomically; returns the path written.

    `dest` an existing directory, or a string ending in a path separator (`"out/"`: the folder is created when
    missing): saved inside it under the server's filename made safe (one extra `GET /files/{id}`); otherwise
    `dest` is the file path itself (its directory must exist).
    """
    folder = Path(dest).expanduser()
    target = folder
    # Path drops a trailing "/": without looking at the string, "out/" would be saved as a FILE named out
    as_folder = isinstance(dest, str) and dest.endswith(tuple(sep for sep in (os.sep, os.altsep) if sep))
    if as_folder or _is_dir(target):
        name = safe_filename(client.retrieve_file(file_id).filename, safe_filename(f"{file_id}.jsonl", ""))
        target = target / name
        if Path(name).name != name or target.parent.resolve() != folder.resolve():  # belt and braces
            raise InputError(f"refusing to save {file_id} outside {dest}")
    elif not _is_dir(target.parent):
        raise InputError(f"no such directory: {target.parent}")
    chunks = client.file_content(file_id, chunk_size)  # the request is made (and may fail) before any write
    if as_folder:
        try:
            _make_folder(folder)  # only now: a failed request leaves no empty folder behind
        except InputError:
            getattr(chunks, "close", lambda: None)()  # hang up the download
            raise
    with atomic_open(target, "wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    return target


def save_batch_files(client: BatchesAPI, batch: Batch | str, directory: str | os.PathLike) -> dict[str, Path]:
    """Save a batch's output and error files into `directory` as `<batch id>_output.jsonl` / `_error.jsonl`.

    `batch` is a `Batch` or a batch id (retrieved first). `directory` is created when missing. Both files are
    downloaded before either is renamed into place (a failure leaves the old pair). Returns
    {"output": path, "error": path} for the files the batch has (an empty dict for a batch with neither yet).
    """
    folder = Path(directory).expanduser()
    if isinstance(batch, str):
        batch = client.retrieve_batch(batch)
    wanted = [(kind, file_id) for kind, file_id in (("output", batch.output_file_id), ("error", batch.error_file_id))
              if file_id]
    if not wanted:
        return {}
    _make_folder(folder)
    saved = {kind: folder / safe_filename(f"{batch.id}_{kind}.jsonl", f"{kind}.jsonl") for kind, _ in wanted}
    with atomic_files(list(saved.values()), "wb") as handles:
        for (_, file_id), handle in zip(wanted, handles, strict=True):
            for chunk in client.file_content(file_id):
                handle.write(chunk)
    return saved


def _make_folder(folder: Path) -> None:
    """`folder` and its parents, made when missing; InputError when a file is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(f"not a directory: {folder}") from None


def _is_dir(path: Path) -> bool:
    """`path.is_dir()`, False where the OS refuses to look (a name too long: the save then says so plainly)."""
    try:
        return path.is_dir()
    except OSError:
        return False
