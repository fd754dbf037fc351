"""Terminal IPython as a person uses it: the real `ipython` in a pseudo-terminal (pexpect), offline on the fake's
manual clock. `%batches watch` draws tqdm's text bar until the batch is terminal and then shows the finished
batch as a card; `wait()` from Python shows the bar by itself (stderr is a terminal). The clock moves only when
the watch waits, so the frames are the same every run: the timeouts below only bound process start-up."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[3]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\x1b[=>]")
PATIENCE = 120  # seconds for IPython to start or answer on a loaded machine; no assertion depends on it


def screen(text: str) -> str:
    return ANSI.sub("", text).replace("\r\n", "\n")


@pytest.fixture
def ipython(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "BATCHES_EXT_PROGRESS")}
    env.update(PYTHONPATH=str(ROOT), IPYTHONDIR=str(tmp_path / "ipython"), TERM="xterm", COLUMNS="140")
    child = pexpect.spawn(sys.executable, ["-m", "IPython", "--no-banner", "--colors=nocolor", "--no-confirm-exit"],
                          env=env, cwd=str(tmp_path), encoding="utf-8", dimensions=(40, 140), timeout=PATIENCE)
    child.expect(r"In \[1\]")
    yield child
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()


def run(child, line: str, number: int) -> str:
    """Type one line at `In [number]` and return what the terminal showed until the next prompt."""
    child.sendline(line)
    child.expect(rf"In \[{number + 1}\]")
    return screen(child.before)


def frames(shown: str, batch_id: str) -> list[str]:
    """The successive states of the bar (tqdm redraws its line after a carriage return)."""
    return [f.strip() for f in re.split(r"[\r\n]", shown) if f.strip().startswith(f"{batch_id}:")]


def test_watch_in_terminal_ipython_draws_a_text_bar_to_the_end(ipython, tmp_path) -> None:
    lines = [{"custom_id": f"r{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Name colour {i}"}]}}
             for i in range(5)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    run(ipython, "%load_ext batches_ext", 1)
    assert "offline fake on (a manual clock" in run(ipython, "%batches fake on --manual", 2)
    run(ipython, "b = %batches create in.jsonl", 3)
    shown = run(ipython, "%batches watch", 4)

    batch_id = re.search(r"(batch_\w+): ", shown).group(1)
    states = frames(shown, batch_id)
    assert states[0] == f"{batch_id}: loading…"
    assert re.fullmatch(rf"{batch_id}: queued \(validating, elapsed \d+s\)", states[1])  # never "0/0"
    percents = [int(m.group(1)) for s in states if (m := re.match(rf"{batch_id}: +(\d+)%\|", s))]
    assert percents == sorted(percents) and 0 < percents[0] < 100 and percents[-1] == 100
    assert any(re.search(r"\| 2/5 done · in_progress · elapsed \d+s · ETA \d+s$", s) for s in states)
    assert re.search(r"\| 5/5 done · completed · took 1m \d\ds$", states[-1])
    out = shown[shown.index("Out[4]:"):]
    card = [line.rstrip() for line in out.splitlines()[1:] if line.strip()]
    assert card[0] == f"Batch {batch_id}  completed  [offline fake]"
    assert card[1] == "  requests     5/5 done" and card[2] == "  endpoint     /v1/chat/completions"
    assert re.fullmatch(r"  finished     \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(after 1m \d\ds\)", card[5])

    # wait() from Python: stderr is a terminal, so the bar shows without being asked
    run(ipython, "c = %batches create in.jsonl", 5)
    shown = run(ipython, "from batches_ext import wait; client = get_ipython().magics_manager.registry["
                         "'BatchesMagics'].session.client(); wait(client, c).status", 6)
    assert re.search(r"\| 5/5 done · completed · took 1m \d\ds", frames(shown, c_id := re.search(
        r"(batch_\w+): ", shown).group(1))[-1]) and c_id != batch_id
    assert "Out[6]: 'completed'" in shown
