"""Splitting a download into lines on the client: one 32 MB line in 64 KiB chunks, against `json.loads` of it.

    python bench/bench_client_lines.py [--mb 32] [--runs 3]

`batches_ext.client.streams.iter_lines` once rescanned its pending buffer for every chunk (5.3 s for this line,
quadratic); it now looks at each chunk once. The figure to watch is the ratio to `json.loads` of the same
line (target: <= 2x), printed with the time of a 32 MB file of 1 KB lines for scale.
"""

from __future__ import annotations

import argparse
import json
import time

from batches_ext.client.streams import iter_lines

CHUNK = 64 * 1024


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    line = json.dumps({"custom_id": "big", "pad": "p" * (size - 32)}).encode()
    chunks = [line[i:i + CHUNK] for i in range(0, len(line), CHUNK)] + [b"\n"]
    many = (json.dumps({"custom_id": "x", "pad": "p" * 1000}).encode() + b"\n") * (size // 1024)
    many_chunks = [many[i:i + CHUNK] for i in range(0, len(many), CHUNK)]

    split = best(lambda: [len(x) for x in iter_lines(iter(chunks))], args.runs)
    parse = best(lambda: json.loads(line), args.runs)
    lines = best(lambda: sum(1 for _ in iter_lines(iter(many_chunks))), args.runs)
    print(f"one {len(line) / 1e6:.1f} MB line in {len(chunks):,} chunks of 64 KiB (best of {args.runs}):")
    print(f"  iter_lines  {split:.3f} s")
    print(f"  json.loads  {parse:.3f} s")
    print(f"  ratio       {split / parse:.2f}x  (target <= 2x; the quadratic split took 5.3 s)")
    print(f"for scale: {len(many) / 1e6:.1f} MB of 1 KB lines, split: {lines:.3f} s")


if __name__ == "__main__":
    main()
