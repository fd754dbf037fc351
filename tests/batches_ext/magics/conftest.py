"""The shell every magics test runs in: IPython's own InteractiveShell with the extension loaded and routed to
a fake on a ManualClock, and helpers to run a cell and read what it showed."""

from __future__ import annotations

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from batches_ext.magics import BatchesMagics
from fake_server import FakeBatchesAPI, ManualClock

CANARY = "sk-CANARY-do-not-print"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture
def shell(monkeypatch):
    """The IPython shell with the extension loaded and routed to a fake on a ManualClock."""
    yield from loaded_shell(monkeypatch)


def loaded_shell(monkeypatch):
    """(shell, fake) for a fixture; unloads the extension and drops the test's variables afterwards."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    for var in ("OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "batches_ext")
    fake = FakeBatchesAPI(clock=ManualClock())
    magics(sh).session.fake_on(fake=fake)
    before = set(sh.user_ns)
    yield sh, fake
    sh.run_line_magic("unload_ext", "batches_ext")
    for name in set(sh.user_ns) - before:
        sh.user_ns.pop(name, None)


def magics(sh) -> BatchesMagics:
    return sh.magics_manager.registry["BatchesMagics"]


def run(sh, cell: str):
    """Run a cell; (result, everything it showed: stdout, stderr, displays and the Out value's text)."""
    with capture_output() as cap:
        result = sh.run_cell(cell, store_history=False)
    text = cap.stdout + cap.stderr + "".join(str(o.data) for o in cap.outputs)
    return result, text, cap


def html(sh, value) -> str:
    return sh.display_formatter.format(value)[0].get("text/html", "")
