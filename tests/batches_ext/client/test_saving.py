"""Saving files to disk: the server's filename never escapes the target directory, writes are atomic,
and a batch's output and error files land under predictable names."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from batches_ext.client import BatchesClient, safe_filename, save_batch_files, save_file
from batches_ext.errors import InputError, NotFoundError
from fake_server import FakeBatchesAPI, ManualClock


@pytest.fixture
def fake() -> FakeBatchesAPI:
    return FakeBatchesAPI(clock=ManualClock())


@pytest.fixture
def client(fake: FakeBatchesAPI) -> BatchesClient:
    return BatchesClient.offline(fake=fake)


@pytest.mark.parametrize("name, expected", [
    ("results.jsonl", "results.jsonl"),
    ("../../evil.jsonl", "evil.jsonl"),
    ("/etc/passwd", "passwd"),
    ("..\\..\\win.jsonl", "win.jsonl"),
    ("a/../../b", "b"),
    (".bashrc", "bashrc"),
    ("x\x00y\nz.jsonl", "xyz.jsonl"),
    ("CON.jsonl", "_CON.jsonl"),
    ('what?<>:"|*.jsonl', "what_______.jsonl"),
    (".", "fallback.jsonl"),
    ("..", "fallback.jsonl"),
    ("", "fallback.jsonl"),
    (None, "fallback.jsonl"),
])
def test_safe_filename(name, expected) -> None:
    assert safe_filename(name, "fallback.jsonl") == expected


def test_long_names_keep_their_extension_within_200_bytes() -> None:
    name = safe_filename("é" * 300 + ".jsonl", "f")
    assert name.endswith(".jsonl") and len(name.encode()) <= 200


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_name_is_one_plain_component(name: str) -> None:
    safe = safe_filename(name, "fallback")
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..") and not safe.startswith(".")
    assert Path(safe).name == safe and len(safe.encode()) <= 200


def test_hostile_server_filename_stays_in_the_directory(fake, client, tmp_path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    file = fake.upload(b'{"a": 1}\n', filename="../../escape.jsonl")
    path = client.save_file(file["id"], target)
    assert path == target / "escape.jsonl"
    assert path.read_bytes() == b'{"a": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_exact_path_is_replaced_atomically_and_a_symlink_is_not_followed(fake, client, tmp_path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "answers.jsonl"
    link.symlink_to(victim)
    file = fake.upload(b"new\n")
    assert save_file(client, file["id"], link) == link
    assert not link.is_symlink() and link.read_bytes() == b"new\n"
    assert victim.read_text() == "keep me"


def test_a_failed_download_leaves_the_old_file_and_no_temp_file(fake, client, tmp_path) -> None:
    target = tmp_path / "answers.jsonl"
    target.write_text("old")
    with pytest.raises(NotFoundError):
        client.save_file("file-missing", target)
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["answers.jsonl"]


def test_missing_directory_is_a_clear_error(fake, client, tmp_path) -> None:
    file = fake.upload(b"x\n")
    with pytest.raises(InputError, match="no such directory"):
        client.save_file(file["id"], tmp_path / "nope" / "x.jsonl")


def test_a_name_too_long_is_said_plainly_not_an_oserror(fake, client, tmp_path) -> None:
    file = fake.upload(b"x\n")
    with pytest.raises(InputError, match=r"file name too long \(256 bytes; at most 255\)"):
        client.save_file(file["id"], tmp_path / ("a" * 256))
    assert os.listdir(tmp_path) == []


def test_batch_output_and_error_files(fake, client, tmp_path) -> None:
    batch = fake.seed_batch("completed", requests=4, failed=1)
    saved = save_batch_files(client, batch["id"], tmp_path)
    assert saved == {"output": tmp_path / f"{batch['id']}_output.jsonl",
                     "error": tmp_path / f"{batch['id']}_error.jsonl"}
    assert len(saved["output"].read_bytes().splitlines()) == 3
    assert len(saved["error"].read_bytes().splitlines()) == 1
    assert save_batch_files(client, fake.seed_batch("in_progress")["id"], tmp_path) == {}


def test_a_trailing_slash_means_a_folder_made_when_missing(fake, client, tmp_path, monkeypatch) -> None:
    """`save_file(id, "newdir/")` saved a FILE named newdir (Path drops the slash); now it makes the folder and
    saves inside under the server's filename, as `save_batch_files` does."""
    monkeypatch.chdir(tmp_path)
    file = fake.upload(b'{"a": 1}\n', filename="answers.jsonl")
    path = client.save_file(file["id"], "newdir/")
    assert (tmp_path / "newdir").is_dir() and path == Path("newdir") / "answers.jsonl"
    assert (tmp_path / "newdir" / "answers.jsonl").read_bytes() == b'{"a": 1}\n'
    assert save_file(client, file["id"], str(tmp_path / "a" / "b") + os.sep) == tmp_path / "a" / "b" / "answers.jsonl"
    with pytest.raises(NotFoundError):
        client.save_file("file-missing", "never/")
    assert not (tmp_path / "never").exists()  # a failed request makes no folder
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(InputError, match="not a directory: taken"):
        client.save_file(file["id"], "taken/")
    assert (tmp_path / "taken").read_text() == "a file"
