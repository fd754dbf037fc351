"""The reliability report: run tests/reliability and print every figure it held, grouped by area.

    python bench/bench_reliability.py            # the bounded variants (what CI runs), ~1 minute
    python bench/bench_reliability.py --long     # the long variants too (marked slow), several minutes
    python bench/bench_reliability.py --json report.json

The figures come from the tests themselves (each records what it ran through the `report` fixture in
tests/reliability/conftest.py): operations held under load, faults survived, inputs tried by the
fuzzers and the state machine, and every loss (lost or duplicated batches, files and result lines,
key leaks, files written outside the target). The exit status is non-zero when a test fails or any
loss is not zero.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", action="store_true", help="also run the long variants (marked slow)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        target = Path(args.json or os.path.join(scratch, "report.json")).resolve()
        marks = "slow or not slow" if args.long else "not slow"
        command = [sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider",
                   "-m", marks]
        started = time.perf_counter()
        run = subprocess.run(command, cwd=ROOT, env={**os.environ, "BATCHES_RELIABILITY_REPORT": str(target)},
                             capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if not target.exists():
            sys.stdout.write(run.stdout[-4000:] + run.stderr[-2000:])
            print("no report was written (did the tests run?)")
            return 1
        report = json.loads(target.read_text())

    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    print(f"tests/reliability ({'bounded + long' if args.long else 'bounded'}): {summary} [{elapsed:.0f} s]")
    figures = report["figures"]
    for area in dict.fromkeys(f["area"] for f in figures):
        print(f"\n{area}")
        for f in (f for f in figures if f["area"] == area):
            value = f["value"]
            text = value if isinstance(value, str) else f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
            tag = "  (loss)" if f["loss"] else ""
            print(f"  {f['figure']:<52} {text:>14} {f['unit']:<6}{tag}")
    print(f"\nlosses, all areas: {report['losses']}")
    return 0 if run.returncode == 0 and report["losses"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
