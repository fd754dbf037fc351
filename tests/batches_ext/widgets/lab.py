"""JupyterLab for the real-browser test: a server on 127.0.0.1 (no token, isolated JUPYTER_* directories, no
news toast), the notebook it opens, and running code in its kernel without a cell (the test's hand on the
fake's clock). Never downloads a browser: chromium is Debian's /usr/bin/chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "KERNEL_READY", "missing", "jupyterlab", "run_in_kernel", "write_notebook"]

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parents[3]
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def missing() -> str | None:
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed"
    if shutil.which("jupyter-lab", path=os.path.dirname(sys.executable)) is None:
        return "jupyterlab is not installed next to this Python"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path: Path, cells: list[str]) -> None:
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


@contextmanager
def jupyterlab(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A JupyterLab server on 127.0.0.1 (no token, isolated JUPYTER_* dirs); yields its base URL."""
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    (home / "config" / "labconfig").mkdir(parents=True)
    # no "news" toast over the screenshot
    (home / "config" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}})
    )
    port = free_port()
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
KERNEL_READY = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = w && w.context && w.context.sessionContext;
  const k = ctx && ctx.isReady && ctx.session && ctx.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""
# Run code in the notebook's kernel without a cell (the test's hand on the fake's clock).
EXECUTE = """async (code) => {
  const k = window.jupyterapp.shell.currentWidget.context.sessionContext.session.kernel;
  const reply = await k.requestExecute({code, silent: false, store_history: false}).done;
  return reply.content.status;
}"""


def run_in_kernel(page, code: str) -> None:
    assert page.evaluate(EXECUTE, code) == "ok", code
