"""The reliability suite's report: each test records the figures it held, and the run prints them.

    def test_load(report):
        report.add("load", "operations held", 412.5, "ops/s")
        report.loss("load", "batches lost", 0)     # a loss figure; the summary totals them

`pytest tests/reliability` ends with a "reliability report" section: one line per figure, grouped by
area (counts several tests record under one name are added up), then the total of every loss figure
(it must be 0); `BATCHES_RELIABILITY_REPORT=path.json` also writes them as JSON. The long variants are
marked `slow` and deselected by default; `pytest -m slow tests/reliability` runs them.
`bounded_or_long(bounded, long)` builds the two parametrizations of one test.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pytest

_FIGURES = pytest.StashKey[list]()


@dataclass
class Report:
    """Figures recorded by one test; appended to the session's list as they are added."""

    test: str
    sink: list = field(repr=False)

    def add(self, area: str, figure: str, value: float | int | str, unit: str = "") -> None:
        """Record a figure held (throughput, inputs tried, faults survived...); a str is shown as is."""
        self.sink.append({"area": area, "figure": figure, "value": value, "unit": unit,
                          "loss": False, "test": self.test})

    def loss(self, area: str, figure: str, count: int) -> None:
        """Record a loss figure (lost or duplicated objects); the summary adds them up."""
        self.sink.append({"area": area, "figure": figure, "value": count, "unit": "",
                          "loss": True, "test": self.test})


def bounded_or_long(bounded: Any, long: Any) -> list:
    """Two parametrizations: `bounded` (runs in CI) and `long` (marked slow: `-m slow`)."""
    return [pytest.param(bounded, id="bounded"), pytest.param(long, id="long", marks=pytest.mark.slow)]


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_FIGURES] = []


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    return Report(request.node.nodeid.split("::", 1)[-1], request.config.stash[_FIGURES])


def _number(value: float | int | str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:,.3g}"
    return f"{value:,}"


def _merged(figures: list[dict]) -> list[dict]:
    """Counts (whole numbers with no unit) recorded under the same area and figure by several tests are
    added up; every other figure (rates, sizes, text) is kept as recorded."""
    merged: dict[tuple, dict] = {}
    out: list[dict] = []
    for f in figures:
        if isinstance(f["value"], int) and not f["unit"]:
            key = (f["area"], f["figure"], f["loss"])
            if key in merged:
                merged[key]["value"] += f["value"]
                merged[key]["tests"] += 1
                continue
            merged[key] = {**f, "tests": 1}
            out.append(merged[key])
        else:
            out.append({**f, "tests": 1})
    return out


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    figures = config.stash.get(_FIGURES, [])
    if not figures:
        return
    write = terminalreporter.write_line
    terminalreporter.section("reliability report")
    rows = _merged(figures)
    for area in dict.fromkeys(f["area"] for f in rows):
        write(f"{area}:")
        for f in (f for f in rows if f["area"] == area):
            value = f"{_number(f['value'])} {f['unit']}".rstrip()
            where = f"{f['tests']} tests" if f["tests"] > 1 else f["test"]
            write(f"  {f['figure']:<52} {value:>16}   [{where}]")
    losses = sum(f["value"] for f in figures if f["loss"])
    write(f"losses (lost or duplicated, all areas): {losses}" + ("" if losses == 0 else "   <-- MUST BE 0"))
    target = os.environ.get("BATCHES_RELIABILITY_REPORT")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump({"figures": rows, "losses": losses}, out, indent=1)
