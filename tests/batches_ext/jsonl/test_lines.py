"""JSONL lines: dumps, atomic writes that keep the old file on failure, streamed reading naming the bad line.
"""

from __future__ import annotations

import os

import pytest

from batches_ext.errors import InputError
from batches_ext.jsonl import (
    build_requests,
    dumps_jsonl,
    iter_jsonl,
    write_jsonl,
)

from .samples import line


def test_dumps_write_and_iter_round_trip(tmp_path) -> None:
    lines = build_requests(["héllo", "two"], model="m")
    data = dumps_jsonl(lines)
    assert data.count(b"\n") == 2 and "héllo".encode() in data
    path = write_jsonl(lines, tmp_path / "in.jsonl")
    assert path.read_bytes() == data
    assert list(iter_jsonl(path)) == lines == list(iter_jsonl(data))
    assert os.listdir(tmp_path) == ["in.jsonl"]  # no temporary file left behind


def test_write_jsonl_failure_keeps_the_old_file(tmp_path) -> None:
    target = tmp_path / "in.jsonl"
    target.write_bytes(b"old\n")
    with pytest.raises(InputError, match="line 2"):
        write_jsonl([line(), {"bad": float("nan")}], target)
    assert target.read_bytes() == b"old\n"
    assert os.listdir(tmp_path) == ["in.jsonl"]


def test_iter_jsonl_names_the_bad_line() -> None:
    with pytest.raises(InputError, match="line 2") as info:
        list(iter_jsonl(b'{"a": 1}\nnope\n'))
    assert info.value.line == 2


def test_iter_jsonl_says_what_is_wrong_with_the_line() -> None:
    with pytest.raises(InputError) as info:
        list(iter_jsonl(b'\xef\xbb\xbf{"a": 1}\n'))
    assert str(info.value) == "line 1: starts with a UTF-8 byte-order mark (BOM): save the file as UTF-8 without a BOM"
    assert info.value.problems[0].code == "invalid_json_line"
