"""Real browser: JupyterLab on 127.0.0.1 driven by Playwright with Debian's chromium runs a notebook that
shows a BatchTable and a BatchMonitor against the offline fake, sees progress move, clicks Cancel, sees
`cancelled`, and saves a screenshot (its path is printed).

Marked `browser`; skipped with a reason when /usr/bin/chromium, Playwright or JupyterLab is missing.
Never downloads a browser (no `playwright install`).
"""

from __future__ import annotations

import json
import os
import re
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
REPO = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

SETUP = """\
from fake_server import FakeBatchesAPI, SystemClock
from batches_ext.client import BatchesClient
from batches_ext.widgets import BatchMonitor, BatchTable

fake = FakeBatchesAPI(clock=SystemClock(speed=60))
for i in range(30):
    fake.seed_batch("completed", requests=5, metadata={"run": f"old-{i}"})
quick = fake.seed_batch("in_progress", requests=100, metadata={"run": "watch-me"})   # ~8 s real time
slow = fake.seed_batch("in_progress", requests=600, metadata={"run": "cancel-me"})   # ~50 s real time
client = BatchesClient.offline(fake)
print(quick["id"], slow["id"])
"""
TABLE = "table = BatchTable(client, page_size=8, interval=0.5)\ntable"
MONITOR = 'monitor = BatchMonitor(client, [quick["id"], slow["id"]], interval=0.5)\nmonitor'


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
    cells = [SETUP, TABLE, MONITOR]
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


def _counts(page, selector: str) -> tuple[int, int]:
    text = page.inner_text(selector)
    m = re.search(r"(\d+)/(\d+)", text)
    assert m, text
    return int(m.group(1)), int(m.group(2))


def test_table_and_monitor_in_jupyterlab(lab, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    base, root = lab
    _write_notebook(root / "demo.ipynb")
    shot = tmp_path / "batch_table.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(f"{base}/lab/tree/demo.ipynb", timeout=60_000)
            page.wait_for_function("window.jupyterapp !== undefined", timeout=60_000)
            page.wait_for_function(_KERNEL_READY, timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

            out = page.wait_for_selector(".jp-OutputArea-output:has-text('batch_')", timeout=60_000)
            quick_id, slow_id = out.inner_text().split()[:2]

            # the table: one HTML table with the fake's batches and the offline marker
            page.wait_for_selector(f".bx-table tr[data-batch-id='{quick_id}']", timeout=30_000)
            assert page.locator(".bx-offline").count() >= 2
            assert page.locator(".bx-table tr[data-batch-id]").count() == 8

            # the monitor: progress moves
            row = f".bx-row[data-batch-id='{quick_id}'] .bx-counts"
            page.wait_for_selector(row, timeout=30_000)
            first, total = _counts(page, row)
            assert total == 100
            page.wait_for_function(
                "([sel, n]) => { const e = document.querySelector(sel);"
                " const m = e && e.textContent.match(/(\\d+)\\/(\\d+)/); return m && Number(m[1]) > n; }",
                arg=[row, first],
                timeout=30_000,
            )

            # Cancel the slow one from its row; the monitor and the table both show `cancelled`
            page.click(f".widget-button[title='Cancel {slow_id}']")
            page.wait_for_selector(f".bx-row[data-batch-id='{slow_id}'] .bx-cancelled", timeout=30_000)
            page.wait_for_selector(f".bx-table tr[data-batch-id='{slow_id}'] .bx-cancelled", timeout=30_000)
            page.wait_for_selector(f".bx-row[data-batch-id='{quick_id}'] .bx-completed", timeout=60_000)
            page.wait_for_selector(".widget-html:has-text('All 2 batches finished')", timeout=30_000)
            assert page.locator(f".widget-button[title='Cancel {slow_id}']").is_hidden()

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
