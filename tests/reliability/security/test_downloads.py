"""Downloads never land outside their target: hostile server filenames, symlinks and failed downloads, through
the core and the magics.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import BatchesError, NotFoundError
from fake_server import FakeBatchesAPI, ManualClock
from tests.reliability.security.probes import (
    HOSTILE,
    KEY,
    LINE,
    changed_paths,
    tree_snapshot,
)


def test_save_file_never_writes_outside_the_target_directory(tmp_path: Path, guarded, report) -> None:
    """Hostile server filenames, saved over HTTP with `save_file(id, DIR)` into a directory three levels down
    (so a traversal would land inside the snapshot): each lands inside DIR, byte-exact, and is the only change."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    target = tmp_path / "a" / "b" / "target"
    target.mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("keep")
    system = {p: os.stat(p) for p in ("/etc/passwd", os.path.expanduser("~/.bashrc")) if os.path.exists(p)}
    escaped, saved = 0, set()
    with fake.serve() as server, BatchesClient(api_key=KEY, base_url=server.base_url) as client:
        for n, name in enumerate(HOSTILE):
            content = json.dumps({**LINE, "custom_id": f"r-{n}", "name": name}).encode() + b"\n" + os.urandom(64)
            file_id = fake.upload(content, filename=name)["id"]
            assert client.retrieve_file(file_id).filename == name  # the hostile name really came over HTTP
            before = tree_snapshot(tmp_path)
            path = client.save_file(file_id, target)
            changed = changed_paths(before, tree_snapshot(tmp_path))
            inside = os.path.commonpath([os.path.abspath(path), str(target)]) == str(target)
            escaped += sum(1 for k in changed if not (tmp_path / k).parent == target) + (not inside)
            assert path.parent == target and path.read_bytes() == content, (name, path)
            assert changed == {str(path.relative_to(tmp_path))}, (name, changed)
            assert "/" not in path.name and "\\" not in path.name and path.name not in ("", ".", "..")
            assert len(path.name.encode()) <= 255
            saved.add(path.name)
        # over the Files API's own upload path too (the names it accepts for purpose=batch)
        for name in ("../../up.jsonl", "..\\..\\up2.jsonl", "sub/../../../up3.jsonl"):
            before = tree_snapshot(tmp_path)
            path = client.save_file(client.upload_file(json.dumps(LINE).encode() + b"\n", filename=name).id, target)
            assert changed_paths(before, tree_snapshot(tmp_path)) == {str(path.relative_to(tmp_path))} and path.parent == target
    assert not [p for p in target.iterdir() if p.name.endswith(".tmp")]
    assert {p: os.stat(p) for p in system} == system and (tmp_path / "outside.txt").read_text() == "keep"
    escaped += len(guarded)
    report.add("security", "hostile server filenames saved", len(HOSTILE) + 3)
    report.loss("security", "files written outside target", escaped)
    assert escaped == 0 and guarded == []


def test_a_symlink_or_a_failed_download_at_the_destination_changes_nothing_outside(tmp_path: Path, guarded) -> None:
    """A symlink at the destination name (to a file outside, dangling to a path outside, or the exact `dest`
    path) is replaced, never followed; a download that fails (404, dropped connection) leaves the old file
    and the rest of the tree untouched, with no temporary file behind."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    target, outside = tmp_path / "target", tmp_path / "outside"
    target.mkdir()
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep")
    with fake.serve() as server, BatchesClient(api_key=KEY, base_url=server.base_url, max_retries=0) as client:
        links = {"linked.jsonl": victim, "dangling.jsonl": outside / "created.jsonl", "dir-link.jsonl": outside}
        for name, points_to in links.items():
            (target / name).symlink_to(points_to)
            file_id = fake.upload(b'{"n": 1}\n', filename=name)["id"]
            before = tree_snapshot(outside)
            path = client.save_file(file_id, target)
            assert path == target / name and not path.is_symlink() and path.read_bytes() == b'{"n": 1}\n'
            assert tree_snapshot(outside) == before, name
        exact = target / "exact.jsonl"
        exact.symlink_to(victim)
        client.save_file(fake.upload(b'{"n": 2}\n')["id"], exact)
        assert not exact.is_symlink() and exact.read_bytes() == b'{"n": 2}\n' and victim.read_text() == "keep"
        before = tree_snapshot(tmp_path)
        with pytest.raises(NotFoundError):
            client.save_file("file-nope", exact)
        with pytest.raises(NotFoundError):
            client.save_file("file-nope", target)
        fake.faults.drop_next(path="/content$")
        with pytest.raises(BatchesError):
            client.save_file(fake.upload(b'{"n": 3}\n')["id"], exact)
        assert tree_snapshot(tmp_path) == before and exact.read_bytes() == b'{"n": 2}\n'
    assert not [p for p in tmp_path.rglob("*.tmp")] and guarded == []


def test_the_download_and_results_magics_write_only_inside_their_target(http_shell, tmp_path: Path, guarded,
                                                                        report) -> None:
    """`%batches download FILE -o DIR` with hostile names, `%batches download BATCH -o DIR`, and `%batches
    results ID -o PATH` (PATH a symlink to a file outside, too): only DIR's entries / PATH change."""
    sh, fake = http_shell
    target = tmp_path / "x" / "y" / "out"
    target.mkdir(parents=True)
    escaped = 0
    for n, name in enumerate(HOSTILE[:12]):
        content = json.dumps({**LINE, "custom_id": f"m-{n}"}).encode() + b"\n"
        file_id = fake.upload(content, filename=name)["id"]
        before = tree_snapshot(tmp_path)
        paths = sh.run_line_magic("batches", f"download {file_id} -o {target}")
        changed = changed_paths(before, tree_snapshot(tmp_path))
        assert len(paths) == 1 and Path(paths[0]).parent == target and Path(paths[0]).read_bytes() == content
        escaped += len(changed - {str(Path(paths[0]).relative_to(tmp_path))})
    batch = fake.seed_batch("completed", requests=4, failed=1)
    before = tree_snapshot(tmp_path)
    paths = sh.run_line_magic("batches", f"download {batch['id']} -o {target}")
    assert sorted(Path(p).name for p in paths) == [f"{batch['id']}_error.jsonl", f"{batch['id']}_output.jsonl"]
    assert {Path(p).read_bytes() for p in paths} == {fake.file_content(batch["output_file_id"]),
                                                     fake.file_content(batch["error_file_id"])}
    escaped += len(changed_paths(before, tree_snapshot(tmp_path)) - {str(Path(p).relative_to(tmp_path)) for p in paths})
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    for name in ("res.jsonl", "res.csv", "linked.jsonl"):
        dest = target / name
        if name == "linked.jsonl":
            dest.symlink_to(victim)
        before = tree_snapshot(tmp_path)
        res = sh.run_line_magic("batches", f"results {batch['id']} -o {dest}")
        changed = changed_paths(before, tree_snapshot(tmp_path))
        escaped += len(changed - {str(dest.relative_to(tmp_path))})
        assert changed == {str(dest.relative_to(tmp_path))} and not dest.is_symlink() and len(res) == 4
    assert victim.read_text() == "keep" and not list(tmp_path.rglob("*.tmp"))
    escaped += len(guarded)
    report.add("security", "magic downloads checked", 12 + 1 + 3)
    report.loss("security", "files written outside target", escaped)
    assert escaped == 0
