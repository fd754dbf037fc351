"""Atomic saves: a process killed mid-save (kill -9) leaves the old file (or the old pair), its temporary file is
swept by the next save into the same folder, saved files follow the umask, and `~` is the home folder.

Each save path is killed in a subprocess: `save_file` (a download), `save_batch_files` (two downloads, killed
while the second is being written), `Results.save` and `write_jsonl`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from batches_ext.atomic import STALE_AFTER, atomic_files, atomic_open, sweep_stale_temps
from batches_ext.errors import InputError

ROOT = Path(__file__).resolve().parents[2]

# The subprocess: run one save path whose data source prints WRITING and then hangs mid-write.
SAVER = r'''
import sys, time
from batches_ext.models import Batch

mode, folder = sys.argv[1], sys.argv[2]

def hang():
    print("WRITING", flush=True)
    time.sleep(600)

def content(first, then_hang=True):
    yield first
    if then_hang:
        hang()
    yield b"never\n"

class Stub:
    def file_content(self, file_id, chunk_size=65536):
        return content(b"new " + file_id.encode() + b"\n", then_hang=file_id != "file-o")

if mode == "save_file":
    from batches_ext.client import save_file
    save_file(Stub(), "file-x", folder + "/out.jsonl")
elif mode == "save_batch_files":
    from batches_ext.client import save_batch_files
    batch = Batch(id="batch_k", status="completed", output_file_id="file-o", error_file_id="file-e")
    save_batch_files(Stub(), batch, folder)
elif mode == "results":
    from batches_ext.jobs import Results

    class Hanging(Results):
        def to_records(self):
            yield {"custom_id": "a"}
            hang()

    Hanging([]).save(folder + "/rows.jsonl")
elif mode == "write_jsonl":
    from batches_ext.jsonl import write_jsonl

    def lines():
        yield {"custom_id": "a"}
        hang()

    write_jsonl(lines(), folder + "/req.jsonl")
'''

TARGETS = {
    "save_file": ["out.jsonl"],
    "save_batch_files": ["batch_k_output.jsonl", "batch_k_error.jsonl"],
    "results": ["rows.jsonl"],
    "write_jsonl": ["req.jsonl"],
}


def _save_again(mode: str, folder: Path) -> None:
    """The same save path, completing (in this process)."""
    from batches_ext.client import save_batch_files, save_file
    from batches_ext.jobs import Results
    from batches_ext.jsonl import write_jsonl
    from batches_ext.models import Batch

    class Stub:
        def file_content(self, file_id, chunk_size=65536):
            yield b"new " + file_id.encode() + b"\n"

    if mode == "save_file":
        save_file(Stub(), "file-x", folder / "out.jsonl")
    elif mode == "save_batch_files":
        save_batch_files(Stub(), Batch(id="batch_k", status="completed", output_file_id="file-o",
                                       error_file_id="file-e"), folder)
    elif mode == "results":
        class Rows(Results):
            def to_records(self):
                return [{"custom_id": "a"}]

        Rows([]).save(folder / "rows.jsonl")
    else:
        write_jsonl([{"custom_id": "a"}], folder / "req.jsonl")


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize("mode", list(TARGETS))
def test_a_save_killed_mid_write_leaves_the_old_files_and_the_next_save_sweeps_its_temp(tmp_path, mode, umask_022):
    for name in TARGETS[mode]:
        (tmp_path / name).write_text("old\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SAVER, mode, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.strip() == "WRITING", proc.stderr.read() if proc.stderr else ""
        temps = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp"))
        assert len(temps) == len(TARGETS[mode]) and all(f".bx{proc.pid}-" in t for t in temps)
    finally:
        proc.kill()  # SIGKILL: no cleanup of any kind runs
        proc.wait(30)
    assert [(tmp_path / name).read_text() for name in TARGETS[mode]] == ["old\n"] * len(TARGETS[mode])
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]) == len(TARGETS[mode])  # left behind

    _save_again(mode, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(TARGETS[mode])  # the leftovers are gone
    for name in TARGETS[mode]:
        assert (tmp_path / name).read_text() != "old\n"
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644  # the umask's, not mkstemp's 0600


def test_a_failure_between_two_files_leaves_the_old_pair(tmp_path):
    (tmp_path / "a").write_text("old a")
    (tmp_path / "b").write_text("old b")
    with pytest.raises(RuntimeError), atomic_files([tmp_path / "a", tmp_path / "b"], "w") as (a, b):
        a.write("new a")
        b.write("half of new b")
        raise RuntimeError("the second download broke off")
    assert (tmp_path / "a").read_text() == "old a" and (tmp_path / "b").read_text() == "old b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    with atomic_files([tmp_path / "a", tmp_path / "b"], "w") as (a, b):
        a.write("new a")
        b.write("new b")
    assert (tmp_path / "a").read_text() == "new a" and (tmp_path / "b").read_text() == "new b"


def test_the_sweep_takes_only_what_is_provably_ours_and_dead_or_old(tmp_path):
    now = time.time()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    host = next(iter(_host_tag(tmp_path)))
    files = {
        f".x.jsonl.bx{dead_pid}-{host}-0123abcd.tmp": 0,  # this host, process gone: swept at once
        f".x.jsonl.bx{os.getpid()}-{host}-0123abcd.tmp": 0,  # this process: alive, kept
        f".x.jsonl.bx{dead_pid}-ffffff-0123abcd.tmp": 0,  # another host: cannot tell, kept until old
        f".y.jsonl.bx{dead_pid}-ffffff-0123abcd.tmp": STALE_AFTER + 60,  # another host, untouched for a day+
        ".z.jsonl.ab_cd123.tmp": STALE_AFTER * 10,  # looks like an older mkstemp name: may be a user's, kept
        ".notes.tmp": STALE_AFTER * 10,  # not our pattern: never touched
        "x.jsonl": STALE_AFTER * 10,
    }
    for name, age in files.items():
        path = tmp_path / name
        path.write_text("x")
        os.utime(path, (now - age, now - age))
    removed = {p.name for p in sweep_stale_temps(tmp_path, now=now)}
    assert removed == {f".x.jsonl.bx{dead_pid}-{host}-0123abcd.tmp", f".y.jsonl.bx{dead_pid}-ffffff-0123abcd.tmp"}


@pytest.mark.parametrize("name", [".report.final_v2.tmp", ".notes.20240101.tmp", ".a.12345678.tmp"])
def test_a_save_never_deletes_a_users_own_hidden_tmp_file_however_old(tmp_path, name):
    """A user's hidden `.tmp` file that merely looks like an old mkstemp name (8 characters before `.tmp`)
    survives every save into its folder, days old or not."""
    mine = tmp_path / name
    mine.write_text("my notes\n")
    two_days_ago = time.time() - 2 * 86400
    os.utime(mine, (two_days_ago, two_days_ago))
    with atomic_open(tmp_path / "r.jsonl", "w") as handle:
        handle.write("{}\n")
    assert mine.read_text() == "my notes\n"
    assert sweep_stale_temps(tmp_path, now=time.time() + 365 * 86400) == []
    assert mine.exists()


def _host_tag(folder: Path) -> set[str]:
    """This host's tag, read off a temp name the module makes."""
    seen: set[str] = set()
    with atomic_open(folder / "probe", "w") as handle:
        seen.update(p.name.split("-")[1] for p in folder.iterdir() if p.name.startswith(".probe.bx"))
        handle.write("x")
    (folder / "probe").unlink()
    return seen


def test_home_folder_paths_are_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with atomic_open("~/saved.txt", "w") as handle:
        handle.write("hi")
    assert (tmp_path / "saved.txt").read_text() == "hi"


def test_a_missing_or_wrong_folder_is_named_not_the_hidden_temp_file(tmp_path) -> None:
    with pytest.raises(InputError, match="^no such folder: .*missing$"):
        with atomic_open(tmp_path / "missing" / "out.jsonl") as f:
            f.write(b"x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="^not a folder: .*file$"):
        with atomic_open(tmp_path / "file" / "out.jsonl") as f:
            f.write(b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def _rows():
    from batches_ext.jobs import Results

    class Rows(Results):
        def to_records(self):
            return [{"custom_id": "a"}]

    return Rows([])


def test_a_folder_at_the_target_is_named_as_such_not_the_hidden_temp_file(tmp_path):
    """`Results.save("out.jsonl")` where out.jsonl is a folder raised a bare IsADirectoryError about the temp."""
    (tmp_path / "out.jsonl").mkdir()
    with pytest.raises(InputError, match=r"^.*out\.jsonl is a folder") as caught:
        _rows().save(tmp_path / "out.jsonl")
    assert ".tmp" not in str(caught.value)
    with pytest.raises(InputError, match="is a folder"):
        with atomic_open(tmp_path / "out.jsonl", "w") as handle:
            handle.write("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"] and (tmp_path / "out.jsonl").is_dir()
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "out.jsonl")  # a symlink is replaced, as ever, not refused
    _rows().save(tmp_path / "link.jsonl")
    assert not (tmp_path / "link.jsonl").is_symlink() and (tmp_path / "out.jsonl").is_dir()


@pytest.mark.parametrize("name", ["a" * 219 + ".jsonl", "a" * 249 + ".jsonl", "é" * 124 + ".jsonl",
                                  "é" * 123 + "ab.jsonl"])
def test_any_name_open_accepts_can_be_saved(tmp_path, name):
    """Names of 225-255 bytes failed with ENAMETOOLONG: the temp file's prefix and suffix pushed it past 255."""
    assert len(os.fsencode(name)) <= 255
    (tmp_path / name).write_text("old")  # the file system takes such a name
    _rows().save(tmp_path / name)
    assert (tmp_path / name).read_text() == '{"custom_id":"a"}\n'
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_name_too_long_for_the_file_system_is_named_plainly(tmp_path):
    name = "a" * 250 + ".jsonl"  # 256 bytes
    with pytest.raises(OSError):
        open(tmp_path / name, "w")
    with pytest.raises(InputError, match=r"^file name too long \(256 bytes; at most 255\): .*aaa\.jsonl$"):
        _rows().save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_refuses_the_file_is_named_not_the_temp_file(tmp_path, monkeypatch):
    """Any refusal to create the temp file (here EACCES, as in a read-only folder) names the user's path."""
    real_open = os.open

    def refusing(path, *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    (tmp_path / "locked").mkdir()
    monkeypatch.setattr(os, "open", refusing)
    with pytest.raises(InputError, match=r"^cannot save .*locked/r\.jsonl: permission denied$"):
        _rows().save(tmp_path / "locked" / "r.jsonl")
