"""Fixtures of the security tests: the loopback world of six tenants, a guard on the filesystem outside the
target, a shell over real HTTP, and a spill directory for uploads."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from fake_server import FakeBatchesAPI, ManualClock
from tests.reliability.security.probes import KEY, ORG_KEY, PROJ_KEY, TENANTS


@pytest.fixture(scope="module")
def world():
    """A loopback fake holding, per tenant, a running batch, a completed batch (output + error files) and a
    fine-tune file. The running batch has 800 lines, so it stays `in_progress` however far the probes move the
    clock: a cancel that got through would show."""
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys={KEY: None, ORG_KEY: "org-a", PROJ_KEY: ("org-b", "proj-1")},
                          honour_idempotency_key=True)  # the Idempotency-Key tenant probes need replay on
    owned: dict[str, dict] = {}
    for tenant, (org, project) in TENANTS.items():
        running = fake.seed_batch("in_progress", requests=800, organization=org, project=project)
        done = fake.seed_batch("completed", requests=4, failed=1, organization=org, project=project)
        notes = fake.upload(b'{"prompt": "p", "completion": "c"}\n', filename="notes.jsonl", purpose="fine-tune",
                            organization=org, project=project)
        owned[tenant] = {"batches": [running["id"], done["id"]],
                         "inputs": [running["input_file_id"], done["input_file_id"]],
                         "files": [running["input_file_id"], done["input_file_id"], done["output_file_id"],
                                   done["error_file_id"], notes["id"]]}
    with fake.serve() as server:
        yield fake, server, owned


@pytest.fixture
def guarded(monkeypatch, tmp_path: Path):
    """os.replace refuses (and counts) any destination outside tmp_path: a regression cannot clobber the
    machine's files (e.g. /etc/passwd) while the test finds it."""
    refused: list[str] = []
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        where = os.path.abspath(os.fspath(dst))  # no symlink resolution: the name itself is what counts
        if os.path.commonpath([where, str(tmp_path)]) != str(tmp_path):
            refused.append(where)
            raise PermissionError(f"test guard: refusing to write {where}")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return refused


@pytest.fixture
def http_shell(monkeypatch):
    """IPython's shell with the extension loaded, talking over HTTP to a loopback fake (the "real API" path)."""
    from IPython.core.interactiveshell import InteractiveShell  # a dependency of batches_ext: never skipped
    fake = FakeBatchesAPI(clock=ManualClock(), api_keys=[KEY])
    with fake.serve() as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        for var in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
            monkeypatch.delenv(var, raising=False)
        sh = InteractiveShell.instance()
        sh.run_line_magic("load_ext", "batches_ext")
        before = set(sh.user_ns)
        try:
            yield sh, fake
        finally:
            sh.run_line_magic("unload_ext", "batches_ext")
            for name in set(sh.user_ns) - before:
                sh.user_ns.pop(name, None)


@pytest.fixture
def spill(monkeypatch, tmp_path: Path) -> dict:
    """The fake's spill files: `made` counts those created during the test, `left()` lists those still open.

    A spill is an anonymous temporary file (unlinked from the start, so nothing can be left on disk by any
    exit); one still open after the test is storage the fake kept for a refused or aborted upload."""
    made: dict = {"made": 0, "files": []}
    real = tempfile.TemporaryFile

    def temporary_file(*args, **kwargs):
        handle = real(*args, **kwargs)
        if kwargs.get("prefix") == "fake_server-":
            made["made"] += 1
            made["files"].append(handle)
        return handle

    monkeypatch.setattr(tempfile, "TemporaryFile", temporary_file)
    made["left"] = lambda: [repr(h) for h in made["files"] if not h.closed]  # type: ignore[assignment]
    return made
