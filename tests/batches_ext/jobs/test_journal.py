"""The job journal: where it lives on each platform, what it keeps (never the key, never URL credentials), its
schema version, compare-and-set part updates, and two processes writing and claiming in one file at once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from batches_ext.client import BatchesClient
from batches_ext.errors import ConfigError
from batches_ext.jobs import (
    HOME_ENV,
    JobPart,
    JobRecord,
    Journal,
    data_dir,
    default_journal,
    submit,
)
from batches_ext.jsonl import build_requests
from fake_server import FakeBatchesAPI, ManualClock

ROOT = Path(__file__).resolve().parents[3]
CANARY = "sk-CANARY-journal-0f9e8d7c6b5a"


def record(job_id: str = "job_1", parts: int = 3) -> JobRecord:
    return JobRecord(job_id, 1_700_000_000.0, "https://api.test/v1||", "https://api.test/v1",
                     parts=[JobPart(i, None, f"file-{i}", 10, 100, 10 * (i - 1) + 1, tokens=50, state="pending")
                            for i in range(1, parts + 1)])


def test_the_data_directory_on_each_platform(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path / "home"))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "batches_ext"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: only absolute paths count
    assert data_dir() == tmp_path / "home" / ".local" / "share" / "batches_ext"
    monkeypatch.setattr(sys, "platform", "darwin")
    assert data_dir() == tmp_path / "home" / "Library" / "Application Support" / "batches_ext"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert data_dir() == tmp_path / "local" / "batches_ext"
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "mine"))
    assert data_dir() == tmp_path / "mine"
    assert default_journal().path == tmp_path / "mine" / "journal.sqlite3"


def test_a_job_round_trips_and_the_file_is_wal_with_a_schema_version(tmp_path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.add(record())
    got = journal.get("job_1")
    assert got is not None and [p.index for p in got.parts] == [1, 2, 3] and got.parts[1].first_line == 11
    assert got.parts[0] == record().parts[0] and journal.get("job_nope") is None
    db = sqlite3.connect(tmp_path / "j.sqlite3")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1"
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(ConfigError, match="written by a newer batches_ext .schema 99"):
        Journal(tmp_path / "j.sqlite3")


def test_a_part_update_is_compare_and_set_on_what_was_read(tmp_path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    journal.add(record())
    seen = journal.parts("job_1")[0]
    mine = JobPart(**{**seen.__dict__, "batch_id": "batch_a", "state": "validating"})
    theirs = JobPart(**{**seen.__dict__, "batch_id": "batch_b", "state": "validating"})
    assert journal.save_part("job_1", mine, expect=seen) is True
    assert journal.save_part("job_1", theirs, expect=seen) is False  # stale: another kernel moved it first
    assert journal.parts("job_1")[0].batch_id == "batch_a"
    assert journal.claim("job_1", 2, "me", 100.0, stale_before=0.0) is not None
    assert journal.claim("job_1", 2, "you", 101.0, stale_before=0.0) is None  # held
    taken = journal.claim("job_1", 2, "you", 2_000.0, stale_before=1_000.0)  # the holder's lease ran out
    assert taken is not None and taken.claimed_by == "you" and taken.uncertain  # to be looked for first


def test_the_journal_keeps_neither_the_key_nor_url_credentials(tmp_path, monkeypatch) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    client = BatchesClient.offline(fake, api_key=CANARY, base_url="https://user:s3cret@api.test/v1")
    job = submit(client, build_requests(["a", "b"], model="gpt-4o-mini"), metadata={"run": "1"})
    path = default_journal().path
    default_journal().update_job(job.id, options={**job.options})  # force a write through every path
    raw = b"".join(p.read_bytes() for p in path.parent.glob("journal.sqlite3*"))
    assert CANARY.encode() not in raw and b"s3cret" not in raw and b"user:" not in raw
    assert default_journal().get(job.id).base_url == "https://***@api.test/v1"


WORKER = textwrap.dedent("""
    import json, sys
    from batches_ext.jobs import Journal, JobPart, JobRecord
    journal = Journal(sys.argv[1])
    me, claimed = sys.argv[2], []
    for n in range(40):
        journal.add(JobRecord(f"job_{me}_{n}", float(n), "b", "b", parts=[JobPart(1, None, "f", 1, 1, state="pending")]))
        for index in range(1, 31):
            if journal.claim("job_shared", index, me, 1.0, stale_before=0.0) is not None:
                claimed.append(index)
    print(json.dumps(claimed))
""")


def test_two_processes_write_and_claim_in_one_journal_at_once(tmp_path) -> None:
    """Two kernels: each adds 40 jobs while both race to claim the same 30 parts. Nothing is lost, nothing is
    claimed twice, and no 'database is locked' escapes (WAL, a busy timeout, short immediate transactions)."""
    path = tmp_path / "shared.sqlite3"
    Journal(path).add(record("job_shared", parts=30))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(path), name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env) for name in ("a", "b")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1].decode()[-2000:] for o in outs]
    claimed = [json.loads(out) for out, _ in outs]
    assert sorted(claimed[0] + claimed[1]) == list(range(1, 31))  # every part once, by one of them
    journal = Journal(path)
    assert journal.count() == 81
    assert {p.claimed_by for p in journal.parts("job_shared")} <= {"a", "b"}


def test_a_journal_that_cannot_be_opened_warns_and_the_job_still_runs(tmp_path, monkeypatch) -> None:
    from batches_ext.errors import BatchesWarning

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv(HOME_ENV, str(blocker))
    client = BatchesClient.offline(FakeBatchesAPI(clock=ManualClock()))
    with pytest.warns(BatchesWarning, match=f"cannot open the job journal .*set {HOME_ENV} to a writable folder"):
        job = submit(client, build_requests(["a"], model="gpt-4o-mini"))
    assert job.journal is None and len(job.batch_ids) == 1
