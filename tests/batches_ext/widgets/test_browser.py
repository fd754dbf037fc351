"""Real browser: JupyterLab on 127.0.0.1, driven by Playwright with Debian's chromium, runs a notebook that
shows a BatchTable, a BatchMonitor and a static `%batches list` against the offline fake, and checks what a
person sees: every progress fill lies inside its bar with a width proportional to the progress, the bars
change when the fake's clock moves, Cancel works from the monitor, and a screenshot is saved.

Time is the fake's `ManualClock`, moved by the test (`fake.advance(...)` run in the kernel): nothing here
races the wall clock; the waits only give the refresh threads time to show a state that is already decided.
`BATCHES_EXT_UPDATE_SCREENSHOT=1` copies the screenshot to docs/batch_table.png (the README's picture).

Marked `browser`; skipped with a reason when /usr/bin/chromium, Playwright or JupyterLab is missing.
Never downloads a browser (no `playwright install`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[3]
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

SETUP = """\
from fake_server import FakeBatchesAPI, ManualClock
from batches_ext.client import BatchesClient
from batches_ext.magics import BatchList
from batches_ext.widgets import BatchMonitor, BatchTable

fake = FakeBatchesAPI(clock=ManualClock())
for i in range(30):
    fake.seed_batch("completed", requests=5, metadata={"run": f"old-{i}"})
mixed = fake.seed_batch("in_progress", requests=40, failed=12, metadata={"run": "some-fail"})
quick = fake.seed_batch("in_progress", requests=100, metadata={"run": "watch-me"})   # 500 simulated s
slow = fake.seed_batch("in_progress", requests=600, metadata={"run": "cancel-me"})   # 3000 simulated s
fake.advance(150)
client = BatchesClient.offline(fake)
print(quick["id"], slow["id"], mixed["id"])
"""
TABLE = "table = BatchTable(client, page_size=8, interval=0.3)\ntable"
MONITOR = 'monitor = BatchMonitor(client, [quick["id"], slow["id"], mixed["id"]], interval=0.3)\nmonitor'
STATIC = "BatchList(client.list_batches(limit=4).data, offline=True)"

# Every visible progress bar on the page: its box, what it claims (data-*), and the boxes of its fills.
_BARS = """() => [...document.querySelectorAll('.bx-bar')].map(bar => {
  const r = bar.getBoundingClientRect();
  const box = e => { const b = e.getBoundingClientRect();
    return {top: b.top, bottom: b.bottom, left: b.left, right: b.right, width: b.width, height: b.height}; };
  return {
    where: bar.closest('.bx-row, tr, .bx-details') ? bar.closest('.bx-row, tr, .bx-details').textContent.slice(0, 60) : '',
    monitor: !!bar.closest('.bx-row'),
    bar: box(bar),
    completed: Number(bar.dataset.completed), failed: Number(bar.dataset.failed), total: Number(bar.dataset.total),
    ok: box(bar.querySelector('.bx-fill-ok')), bad: box(bar.querySelector('.bx-fill-failed')),
    okColour: getComputedStyle(bar.querySelector('.bx-fill-ok')).backgroundColor,
  };
}).filter(b => b.bar.width > 0)"""


def _missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed"
    if shutil.which("jupyter-lab", path=os.path.dirname(sys.executable)) is None:
        return "jupyterlab is not installed next to this Python"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_notebook(path: Path) -> None:
    cells = [SETUP, TABLE, MONITOR, STATIC]
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [], "execution_count": None}
            for i, src in enumerate(cells)
        ],
    }
    path.write_text(json.dumps(nb))


@pytest.fixture
def lab(tmp_path: Path):
    """A JupyterLab server on 127.0.0.1 (no token, isolated JUPYTER_* dirs); yields its base URL."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    (home / "config" / "labconfig").mkdir(parents=True)
    # no "news" toast over the screenshot
    (home / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port = _free_port()
    cfg = tmp_path / "jupyter_config.py"
    cfg.write_text(
        "\n".join([
            "c.ServerApp.ip = '127.0.0.1'",
            f"c.ServerApp.port = {port}",
            "c.ServerApp.port_retries = 0",
            "c.ServerApp.open_browser = False",
            f"c.ServerApp.root_dir = {str(root)!r}",
            "c.IdentityProvider.token = ''",
            "c.ServerApp.password = ''",
            "c.ServerApp.disable_check_xsrf = True",
            "c.LabApp.expose_app_in_browser = True",
        ])
    )
    env = dict(os.environ)
    env.update({
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "IPYTHONDIR": str(home / "ipython"),
        "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p),
        "OPENAI_API_KEY": "",
    })
    cmd = [os.path.join(os.path.dirname(sys.executable), "jupyter-lab"), "--config", str(cfg)]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (tmp_path / "lab.log").open("wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start; log:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, root
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        log.close()


# The notebook's session is ready, its kernel connected and idle (Lab may swap the first kernel at start-up).
_KERNEL_READY = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = w && w.context && w.context.sessionContext;
  const k = ctx && ctx.isReady && ctx.session && ctx.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""
# Run code in the notebook's kernel without a cell (the test's hand on the fake's clock).
_EXECUTE = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.context.sessionContext.session.kernel;
  const reply = await k.requestExecute({code, silent: false, store_history: false}).done;
  return reply.content.status;
}"""


def _run(page, code: str) -> None:
    assert page.evaluate(_EXECUTE, code) == "ok", code


def _assert_bars_fill_correctly(bars: list[dict]) -> None:
    """Each fill lies inside its bar (no fill pushed below or beside it) and its width is the share shown."""
    assert bars, "no progress bar rendered"
    for b in bars:
        bar = b["bar"]
        assert 6 <= bar["height"] <= 10, b
        for name, share in (("ok", b["completed"]), ("bad", b["failed"])):
            fill = b[name]
            if fill["width"] == 0:
                assert share == 0 or b["total"] == 0, b
                continue
            assert fill["top"] >= bar["top"] - 0.5 and fill["bottom"] <= bar["bottom"] + 0.5, (name, b)
            assert fill["left"] >= bar["left"] - 0.5 and fill["right"] <= bar["right"] + 0.5, (name, b)
            assert abs(fill["height"] - bar["height"]) <= 0.5, (name, b)  # the whole bar height is filled
        if b["total"]:
            for name, share in (("ok", b["completed"]), ("bad", b["failed"])):
                assert abs(b[name]["width"] / bar["width"] - share / b["total"]) <= 0.05, (name, b)
        assert b["okColour"] not in ("rgba(0, 0, 0, 0)", "transparent"), b


def _monitor_bar(bars: list[dict], batch_id: str) -> dict:
    found = [b for b in bars if b["monitor"] and b["where"].startswith(batch_id)]
    assert found, (batch_id, [b["where"] for b in bars])
    return found[0]


def test_table_monitor_and_list_render_right_in_jupyterlab(lab, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    base, root = lab
    _write_notebook(root / "demo.ipynb")
    shot = tmp_path / "batch_table.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(f"{base}/lab/tree/demo.ipynb", timeout=60_000)
            page.wait_for_function("window.jupyterapp !== undefined", timeout=60_000)
            page.wait_for_function(_KERNEL_READY, timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

            out = page.wait_for_selector(".jp-OutputArea-output:has-text('batch_')", timeout=60_000)
            quick_id, slow_id, mixed_id = out.inner_text().split()[:3]

            # the table, the monitor and the static list are all on screen, marked offline
            page.wait_for_selector(f".bx-table tr[data-batch-id='{quick_id}']", timeout=30_000)
            page.wait_for_selector(f".bx-row[data-batch-id='{quick_id}'] .bx-bar", timeout=30_000)
            page.wait_for_selector(".batches-ext-list .bx-bar", timeout=30_000)
            assert page.locator(".bx-offline").count() >= 3
            assert page.locator(".bx-table tr[data-batch-id]").count() == 8

            # every bar on the page, widget or static, is filled inside its box, in proportion
            page.wait_for_timeout(300)
            bars = page.evaluate(_BARS)
            assert len(bars) >= 8 + 3 + 4
            _assert_bars_fill_correctly(bars)
            mixed = _monitor_bar(bars, mixed_id)
            assert mixed["failed"] > 0 and mixed["bad"]["width"] > 0  # a red share is drawn too
            before = _monitor_bar(bars, quick_id)
            assert 0 < before["completed"] < 100

            # move the fake's clock: the monitor's bar grows on the next refresh, still inside its box
            _run(page, "fake.advance(200)")
            page.wait_for_function(
                "([sel, n]) => { const e = document.querySelector(sel); return e && Number(e.dataset.completed) > n; }",
                arg=[f".bx-row[data-batch-id='{quick_id}'] .bx-bar", before["completed"]],
                timeout=30_000,
            )
            bars = page.evaluate(_BARS)
            _assert_bars_fill_correctly(bars)
            after = _monitor_bar(bars, quick_id)
            assert after["ok"]["width"] > before["ok"]["width"]

            # Cancel the slow one from its row; once the clock passes the cancel, both views show `cancelled`
            page.click(f".widget-button[title='Cancel {slow_id}']")
            page.wait_for_selector(f".bx-row[data-batch-id='{slow_id}'] .bx-cancelling", timeout=30_000)
            _run(page, "fake.advance(3600)")
            page.wait_for_selector(f".bx-row[data-batch-id='{slow_id}'] .bx-cancelled", timeout=30_000)
            page.wait_for_selector(f".bx-table tr[data-batch-id='{slow_id}'] .bx-cancelled", timeout=30_000)
            page.wait_for_selector(f".bx-row[data-batch-id='{quick_id}'] .bx-completed", timeout=30_000)
            page.wait_for_selector(".widget-html:has-text('All 3 batches finished')", timeout=30_000)
            assert page.locator(f".widget-button[title='Cancel {slow_id}']").is_hidden()
            bars = page.evaluate(_BARS)
            _assert_bars_fill_correctly(bars)
            done = _monitor_bar(bars, quick_id)
            assert done["completed"] == 100 and abs(done["ok"]["width"] - done["bar"]["width"]) <= 1

            # the README's picture: the whole notebook from its first cell
            page.set_viewport_size({"width": 1500, "height": 1600})
            page.evaluate("document.querySelectorAll('.jp-WindowedPanel-outer').forEach(e => e.scrollTop = 0)")
            page.wait_for_timeout(300)
            page.screenshot(path=str(shot), full_page=True)
        except Exception:
            failed = tmp_path / "batch_table_failure.png"
            page.screenshot(path=str(failed), full_page=True)
            print(f"screenshot of the failure: {failed}")
            raise
        finally:
            browser.close()
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 10_000
    if os.environ.get("BATCHES_EXT_UPDATE_SCREENSHOT"):
        shutil.copyfile(shot, REPO / "docs" / "batch_table.png")
