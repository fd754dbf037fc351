"""How long `%load_ext batches_ext` adds to a bare IPython shell (fresh interpreter each run).

    python bench/bench_load_ext.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

CODE = """
import time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
start = time.perf_counter()
shell.run_line_magic("load_ext", "batches_ext")
print((time.perf_counter() - start) * 1000)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = [float(subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
                   .stdout.strip().splitlines()[-1]) for _ in range(args.runs)]
    print(f"%load_ext batches_ext over {args.runs} fresh shells: median {statistics.median(times):.1f} ms, "
          f"min {min(times):.1f} ms, max {max(times):.1f} ms")


if __name__ == "__main__":
    main()
