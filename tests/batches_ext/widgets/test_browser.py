"""Real browser: JupyterLab on 127.0.0.1, driven by Playwright with Debian's chromium, runs a notebook that
shows a BatchTable, a BatchMonitor and a static `%batches list` against the offline fake, and checks what a
person sees at 1280×800 with the file browser open:

* geometry: every progress fill lies inside its bar, in proportion; the table, the monitor and the static
  list fit the notebook's output area with no horizontal overflow (the list's ids whole); every text of the
  views has a WCAG contrast of at least 4.5:1 against the background it is really drawn on, in the light
  theme (rows at rest, hovered and selected) and the dark;
* in place: a MutationObserver on the table sees no change to its unchanged rows across three refreshes,
  while the running rows change; a text selection and a hover in an unchanged row survive them;
* a click on a row opens its details; ⧉ copies the full id; the `status` header sorts; Cancel asks for a
  confirmation and cancels only after it; the monitor follows to the end and sends its notification;
* the README's screenshot (`BATCHES_EXT_UPDATE_SCREENSHOT=1` copies it to docs/batch_table.png).

Time is the fake's `ManualClock`, moved by the test (`fake.advance(...)` run in the kernel): nothing here
races the wall clock; the waits only give the refresh threads time to show a state that is already decided.
Marked `browser`; skipped with a reason when /usr/bin/chromium, Playwright or JupyterLab is missing.
Never downloads a browser (no `playwright install`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.batches_ext.widgets.lab import (
    CHROMIUM,
    CHROMIUM_ARGS,
    KERNEL_READY,
    jupyterlab,
    missing,
    run_in_kernel,
    write_notebook,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[3]

SETUP = """\
from fake_server import FakeBatchesAPI, ManualClock
from batches_ext.client import BatchesClient
from batches_ext.magics import BatchList
from batches_ext.widgets import BatchMonitor, BatchTable

fake = FakeBatchesAPI(clock=ManualClock())
for i in range(30):
    fake.seed_batch("completed", requests=5, metadata={"run": f"old-{i}"})
fake.seed_batch("completed", requests=40, failed=3, metadata={"run": "split", "batches_ext_job": "job_1", "batches_ext_part": "1/2"})
fake.seed_batch("failed", requests=3, errors=[{"code": "model_not_found", "message": "The model 'gpt-5-mini-x' does not exist.", "line": n} for n in (1, 2, 3)])
mixed = fake.seed_batch("in_progress", requests=40, failed=12, metadata={"run": "some-fail"})
quick = fake.seed_batch("in_progress", requests=100, metadata={"run": "watch-me"})   # 500 simulated s
slow = fake.seed_batch("in_progress", requests=1500, metadata={"run": "cancel-me"})  # 7500 simulated s: "1,234/1,500"
fake.advance(150)
client = BatchesClient.offline(fake)
print(quick["id"], slow["id"], mixed["id"])
"""
TABLE = "table = BatchTable(client, page_size=8, interval=0.3)\ntable"
MONITOR = 'monitor = BatchMonitor(client, [quick["id"], slow["id"], mixed["id"]], interval=0.3)\nmonitor'
STATIC = "BatchList(client.list_batches(limit=5).data, offline=True)"  # the 5th is a job's part

# Every visible progress bar on the page: its box, what it claims (data-*), the boxes of its fills, and where it is.
_BARS = """() => [...document.querySelectorAll('.bx-bar')].map(bar => {
  const box = e => { const b = e.getBoundingClientRect();
    return {top: b.top, bottom: b.bottom, left: b.left, right: b.right, width: b.width, height: b.height}; };
  const owner = bar.closest('[data-batch-id]');
  return {
    id: owner ? owner.dataset.batchId : '',
    where: bar.closest('.bx-row') ? 'monitor' : bar.closest('.bx-table') ? 'table' : bar.closest('.bx-details') ? 'details' : 'list',
    bar: box(bar),
    completed: Number(bar.dataset.completed), failed: Number(bar.dataset.failed), total: Number(bar.dataset.total),
    ok: box(bar.querySelector('.bx-fill-ok')), bad: box(bar.querySelector('.bx-fill-failed')),
    okColour: getComputedStyle(bar.querySelector('.bx-fill-ok')).backgroundColor,
  };
}).filter(b => b.bar.width > 0)"""

# The WCAG contrast of every visible text of our views against the colour it is really drawn on (the first
# opaque background up the tree, translucent ones composited), as [text, ratio, colour, background].
_CONTRAST = """(scope) => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, bottom) => { const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]); };
  const background = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; } }
    let colour = [255, 255, 255, 1];
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const out = [];
  for (const root of document.querySelectorAll(scope)) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim(); const el = node.parentElement;
      if (!text || !el || el.closest('button:disabled, .jupyter-button:disabled, option, select')) continue;
      const r = el.getBoundingClientRect(); if (r.width === 0 || r.height === 0) continue;
      const bg = background(el); const fg = over(parse(getComputedStyle(el).color), bg);
      out.push([text.slice(0, 40), Math.round(ratio(fg, bg) * 100) / 100, fg.slice(0, 3).map(Math.round).join(','),
                bg.slice(0, 3).map(Math.round).join(',')]);
    }
  }
  return out;
}"""
_VIEWS = ".bx-header, .bx-table, .bx-range, .bx-details, .bx-row, .bx-message, .bx-error, .bx-notify, " \
         ".jp-OutputArea-output .widget-button, .jp-OutputArea-output .widget-label, .batches-ext-list .bx-badge"

# Watch the table's rows: every mutation is recorded with the id of the row it touched.
_OBSERVE = """() => {
  const tbody = document.querySelector('.bx-table tbody');
  window.__bxMutated = [];
  window.__bxRows = new Map([...tbody.querySelectorAll('tr[data-batch-id]')].map(tr => [tr.dataset.batchId, tr]));
  window.__bxObserver = new MutationObserver(records => { for (const r of records) {
    const target = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    const tr = target && target.closest('tr[data-batch-id]');
    window.__bxMutated.push(tr ? tr.dataset.batchId : (r.type + ':' + (target ? target.tagName : '')));
  } });
  window.__bxObserver.observe(tbody, {subtree: true, childList: true, attributes: true, characterData: true});
}"""
_OBSERVED = """() => ({
  mutated: [...new Set(window.__bxMutated)],
  same: [...window.__bxRows].filter(([id, tr]) => tr.isConnected &&
        document.querySelector(`.bx-table tr[data-batch-id='${id}']`) === tr).map(([id]) => id),
})"""
# A stub of the browser's Notification API that records what would be shown (and grants permission).
_NOTIFICATIONS = """window.__bxNotified = [];
window.Notification = class { constructor(title, options) { window.__bxNotified.push([title, options && options.body]); }
  static requestPermission() { window.Notification.permission = 'granted'; return Promise.resolve('granted'); } };
window.Notification.permission = 'default';"""


@pytest.fixture
def lab(tmp_path: Path):
    """A JupyterLab server (skipped with the reason when chromium, Playwright or JupyterLab is missing)."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    with jupyterlab(tmp_path) as running:
        yield running


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




def _row_selector(batch_id: str) -> str:
    return f".bx-table tr[data-batch-id='{batch_id}']"


def _completed(page, selector: str) -> int:
    return int(page.eval_on_selector(f"{selector} .bx-bar", "e => e.dataset.completed"))


def _wait_completed_above(page, selector: str, n: int) -> None:
    page.wait_for_function(
        "([sel, n]) => { const e = document.querySelector(sel + ' .bx-bar'); return e && Number(e.dataset.completed) > n; }",
        arg=[selector, n], timeout=30_000)


def _assert_contrast(page, theme: str) -> None:
    found = page.evaluate(_CONTRAST, _VIEWS)
    assert len(found) > 40, found
    low = [f for f in found if f[1] < 4.5]
    assert not low, (theme, low)


def _assert_fits(page) -> None:
    """The table and the monitor fit the notebook's output area: nothing wider than it, nothing scrolls."""
    fit = page.evaluate("""() => {
      const table = document.querySelector('.bx-table').getBoundingClientRect();
      const notebook = document.querySelector('.bx-table').closest('.jp-OutputArea-output').getBoundingClientRect();
      const outputs = [...document.querySelectorAll('.jp-OutputArea-output')].filter(o => o.querySelector('.bx-table, .bx-row, .batches-ext-list')).map(o => ({
        over: o.scrollWidth - o.clientWidth, text: o.textContent.slice(0, 50),
        wide: [...o.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > o.getBoundingClientRect().right + 1)
          .slice(0, 5).map(e => e.className + ' ' + Math.round(e.getBoundingClientRect().right)) }));
      const wraps = [...document.querySelectorAll('.bx-table-wrap')].map(w => w.scrollWidth - w.clientWidth);
      const clipped = [...document.querySelectorAll('.bx-table th > span, .bx-table .bx-id, .bx-table .bx-copy, .bx-table .bx-badge, .bx-table .bx-counts, .bx-table td:nth-child(4) > span, .bx-table td:nth-child(6) > span')]
        .filter(e => { const cell = e.closest('td, th'); const box = cell.getBoundingClientRect();
          const inner = box.right - parseFloat(getComputedStyle(cell).paddingRight);
          return e.getBoundingClientRect().right > inner + 0.5; })
        .map(e => e.textContent || e.className);
      const listIds = [...document.querySelectorAll('.batches-ext-list tbody td:first-child')]
        .map(td => ({id: td.textContent, over: td.scrollWidth - td.clientWidth}));
      const listClipped = [...document.querySelectorAll('.batches-ext-list td:nth-child(-n+5)')]
        .filter(td => td.scrollWidth > td.clientWidth).map(td => td.textContent);
      const rowHeights = [...document.querySelectorAll('.bx-row')].map(r => r.getBoundingClientRect().height);
      return {notebook: notebook.width, notebookRight: notebook.right, tableRight: table.right, table: table.width,
              outputs, wraps, clipped, listIds, listClipped, rowHeights};
    }""")
    assert 820 <= fit["notebook"] <= 870, fit  # the 848 px output area at 1280×800, file browser open
    assert fit["tableRight"] <= fit["notebookRight"] + 0.5 and fit["table"] >= fit["notebook"] - 1, fit
    assert all(o["over"] <= 1 for o in fit["outputs"]), [o for o in fit["outputs"] if o["over"] > 1]
    assert len(fit["outputs"]) == 3 and all(w <= 1 for w in fit["wraps"]), fit  # table, monitor, static list
    assert len(fit["listIds"]) == 5 and all(i["over"] <= 0 for i in fit["listIds"]), fit["listIds"]  # whole ids
    assert fit["listClipped"] == [], fit["listClipped"]  # and whole statuses, models, progress, dates
    heights = fit["rowHeights"]
    assert len(heights) == 3 and max(heights) < 1.5 * min(heights), heights  # no monitor row wraps onto two lines
    assert fit["clipped"] == [], fit["clipped"]  # headers, short ids, ⧉, badges, counts, dates, ETAs are whole


def _set_theme(page, name: str, light: bool) -> None:
    page.evaluate(f"window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{name}'}})")
    page.wait_for_function(f"document.body.dataset.jpThemeLight === '{'true' if light else 'false'}'", timeout=30_000)
    page.wait_for_timeout(500)  # the theme's stylesheet is applied a frame after the attribute


def test_views_render_update_in_place_and_act_right_in_jupyterlab(lab, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    base, root = lab
    write_notebook(root / "demo.ipynb", [SETUP, TABLE, MONITOR, STATIC])
    shot = tmp_path / "batch_table.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        context.add_init_script(_NOTIFICATIONS)
        page = context.new_page()
        try:
            page.goto(f"{base}/lab/tree/demo.ipynb", timeout=60_000)
            page.wait_for_function("window.jupyterapp !== undefined", timeout=60_000)
            page.wait_for_function(KERNEL_READY, timeout=60_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            page.wait_for_selector(".jp-FileBrowser", state="visible", timeout=30_000)  # the file browser is open
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")

            out = page.wait_for_selector(".jp-OutputArea-output:has-text('batch_')", timeout=60_000)
            quick_id, slow_id, mixed_id = out.inner_text().split()[:3]
            quick, slow = _row_selector(quick_id), _row_selector(slow_id)

            # everything is on screen, marked offline; the table counted its total
            page.wait_for_selector(f"{quick} .bx-bar", timeout=30_000)
            page.wait_for_selector(f".bx-row[data-batch-id='{quick_id}'] .bx-bar", timeout=30_000)
            page.wait_for_selector(".batches-ext-list .bx-bar", timeout=30_000)
            page.wait_for_selector(".bx-range:has-text('1–8 of 35')", timeout=30_000)
            assert page.locator(".bx-offline").count() >= 3
            assert page.locator(".bx-table tr[data-batch-id]").count() == 8
            table_text = page.inner_text(".bx-table")
            assert "batches_ext_job" not in table_text and "run=split" in table_text  # our own tags hidden
            assert "line 1: model_not_found" in table_text and "3 failed" in table_text  # first failure reasons
            list_text = page.inner_text(".batches-ext-list")
            assert "batches_ext_job" not in list_text and "run=split" in list_text  # in the static list too
            assert page.get_attribute(f"{quick} .bx-id", "title") == quick_id  # short id, full id on hover
            assert page.inner_text(f"{quick} .bx-id") == f"batch_…{quick_id[-8:]}"

            # geometry: bars fill inside their boxes in proportion; the table fits 848 px with no overflow
            bars = page.evaluate(_BARS)
            assert len(bars) >= 8 + 3 + 4
            _assert_bars_fill_correctly(bars)
            assert any(b["id"] == mixed_id and b["failed"] and b["bad"]["width"] > 0 for b in bars)
            _assert_fits(page)

            # in place: three refreshes, caused by moving the fake's clock; the unchanged rows are never touched
            unchanged = page.evaluate("""() => [...document.querySelectorAll('.bx-table tr[data-batch-id]')]
              .filter(tr => tr.querySelector('.bx-badge.bx-completed, .bx-badge.bx-failed')).map(tr => tr.dataset.batchId)""")
            assert len(unchanged) == 5, unchanged
            kept = _row_selector(unchanged[2])
            page.hover(kept)
            page.evaluate(f"getSelection().selectAllChildren(document.querySelector(\"{kept} .bx-id\"))")
            selected_text = page.evaluate("String(getSelection())")
            page.evaluate(_OBSERVE)
            for _ in range(3):
                before = _completed(page, quick)
                run_in_kernel(page, "fake.advance(20)")
                _wait_completed_above(page, quick, before)
            observed = page.evaluate(_OBSERVED)
            assert quick_id in observed["mutated"] and slow_id in observed["mutated"]
            assert not set(unchanged) & set(observed["mutated"]), observed
            assert set(unchanged) <= set(observed["same"])  # the very same <tr> elements
            assert page.evaluate("String(getSelection())") == selected_text  # the selection survived
            assert page.evaluate(f"document.querySelector(\"{kept}\").matches(':hover')")  # and the hover

            # contrast in the light and dark themes: at rest, a hovered row, a selected row (the details open)
            page.click(slow)  # a click on a row opens its details
            page.wait_for_selector(f".bx-details:has-text('{slow_id}')", timeout=30_000)
            page.hover(quick)
            _assert_contrast(page, "light")
            _set_theme(page, "JupyterLab Dark", light=False)  # the same views, Cancel buttons shown, in the dark
            page.hover(quick)
            _assert_contrast(page, "dark")
            _assert_fits(page)
            _set_theme(page, "JupyterLab Light", light=True)

            # ⧉ copies the full id (and does not select its row)
            page.click(f"{quick} .bx-copy")
            page.wait_for_function("id => navigator.clipboard.readText().then(t => t === id)", arg=quick_id,
                                   timeout=10_000)
            assert page.locator(f".bx-details:has-text('{slow_id}')").count() == 1

            # Cancel asks first: nothing is cancelled until "Confirm cancel"
            page.click(".widget-button:has-text('Cancel…') >> nth=0")
            page.wait_for_selector(f".bx-message:has-text('Cancel {slow_id}?')", timeout=30_000)
            run_in_kernel(page, f"assert fake.batch({slow_id!r})['status'] == 'in_progress'")
            page.click(".widget-button:has-text('Confirm cancel')")
            page.wait_for_selector(f"{slow} .bx-cancelling", timeout=30_000)

            # the monitor follows to the end; its notification (turned on by a click) is sent once
            page.click(".bx-notify")
            page.wait_for_selector(".bx-notify[aria-pressed='true']", timeout=10_000)
            before = _completed(page, f".bx-row[data-batch-id='{quick_id}']")
            run_in_kernel(page, "fake.advance(3600)")
            page.wait_for_selector(f".bx-row[data-batch-id='{slow_id}'] .bx-cancelled", timeout=30_000)
            page.wait_for_selector(f"{slow} .bx-cancelled", timeout=30_000)
            page.wait_for_selector(f".bx-row[data-batch-id='{quick_id}'] .bx-completed", timeout=30_000)
            page.wait_for_selector(".widget-html:has-text('All 3 batches finished')", timeout=30_000)
            page.wait_for_function("window.__bxNotified.length > 0", timeout=30_000)
            assert page.evaluate("window.__bxNotified") == [["3 batches finished", "1 cancelled, 2 completed"]]
            bars = page.evaluate(_BARS)
            _assert_bars_fill_correctly(bars)
            done = next(b for b in bars if b["id"] == quick_id and b["where"] == "monitor")
            assert done["completed"] == 100 > before and abs(done["ok"]["width"] - done["bar"]["width"]) <= 1

            # the `status` header sorts the page: running and failed before completed
            page.click(".bx-table th[data-sort='status']")
            page.wait_for_selector(".bx-table th[aria-sort='descending']:has-text('status')", timeout=10_000)
            page.wait_for_function("() => document.querySelector('.bx-table tbody .bx-badge').textContent === 'failed'",
                                   timeout=30_000)  # the kernel re-sorted the rows: moved, not redrawn
            statuses = page.eval_on_selector_all(".bx-table tbody .bx-badge", "es => es.map(e => e.textContent)")
            assert statuses == ["failed", "cancelled"] + ["completed"] * 6, statuses
            page.click(".bx-table th[data-sort='created']")
            page.wait_for_function(f"() => document.querySelector('.bx-table tbody tr').dataset.batchId === {slow_id!r}",
                                   timeout=30_000)

            # the README's picture, in the light theme
            page.set_viewport_size({"width": 1280, "height": 1500})
            page.evaluate("document.querySelectorAll('.jp-WindowedPanel-outer').forEach(e => e.scrollTop = 0)")
            page.mouse.move(0, 0)
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
