"""How long `%load_ext batches_ext` adds to a bare IPython shell, against `%load_ext autoreload` (IPython's own
extension) measured in the same run: a fresh interpreter per run, each extension's bytecode cached first (as
after any install; PYTHONDONTWRITEBYTECODE is unset for the children).

    python bench/bench_load_ext.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

CODE = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
start = time.perf_counter()
shell.run_line_magic("load_ext", sys.argv[1])
print((time.perf_counter() - start) * 1000)
"""


def _once(extension: str, env: dict[str, str]) -> float:
    done = subprocess.run([sys.executable, "-c", CODE, extension], capture_output=True, text=True, check=True,
                          env=env)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _once("batches_ext", env), _once("autoreload", env)  # each writes its bytecode
    ours, baseline = [], []
    for _ in range(args.runs):  # interleaved, so a busy moment hits both
        ours.append(_once("batches_ext", env))
        baseline.append(_once("autoreload", env))
    for name, times in (("batches_ext", ours), ("autoreload (baseline)", baseline)):
        print(f"%load_ext {name:22} median {statistics.median(times):6.1f} ms  min {min(times):6.1f} ms  "
              f"max {max(times):6.1f} ms")
    print(f"ratio batches_ext / autoreload: median {statistics.median(ours) / statistics.median(baseline):.2f}x, "
          f"min {min(ours) / min(baseline):.2f}x")


if __name__ == "__main__":
    main()
