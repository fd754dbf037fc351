"""Listing 2,000 batches by auto-pagination — batches_ext core vs the official SDK vs a bare requests loop —
against one loopback fake in another process; and peak memory of uploading a 200 MB file with the core.

    python bench/bench_core.py [--batches 2000] [--upload-mb 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc

import requests

SERVER = """
import sys
from fake_server import FakeBatchesAPI, ManualClock
fake = FakeBatchesAPI(clock=ManualClock())
for _ in range({n}):
    fake.seed_batch("completed", requests=2)
handle = fake.serve()
print(handle.base_url, flush=True)
sys.stdin.read()  # the bench closes our stdin: stop cleanly (the fake frees its spilled uploads)
handle.stop()
fake.close()
"""
KEY = "sk-bench"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - start)
    return min(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--upload-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-c", SERVER.format(n=args.batches)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    base_url = server.stdout.readline().strip()
    try:
        session = requests.Session()

        def bare() -> int:
            n, after = 0, None
            while True:
                params = {"limit": 100, **({"after": after} if after else {})}
                page = session.get(base_url + "/batches", params=params, headers={"Authorization": f"Bearer {KEY}"}).json()
                n += len(page["data"])
                if not page["has_more"] or not page["data"]:
                    return n
                after = page["data"][-1]["id"]

        from batches_ext import BatchesClient

        core = BatchesClient(api_key=KEY, base_url=base_url)
        rows = [("bare requests loop", *best(bare, args.repeat)),
                ("batches_ext core", *best(lambda: sum(1 for _ in core.iter_batches(page_size=100)), args.repeat))]
        try:
            import openai

            sdk = openai.OpenAI(api_key=KEY, base_url=base_url)
            rows.append((f"openai {openai.__version__}",
                         *best(lambda: sum(1 for _ in sdk.batches.list(limit=100)), args.repeat)))
        except ImportError:
            print("openai not installed: SDK row skipped")
        base = rows[0][1]
        print(f"\nlisting {args.batches:,} batches, best of {args.repeat}")
        print(f"{'client':22} {'seconds':>8} {'x bare':>7} {'count':>6}")
        for name, seconds, count in rows:
            print(f"{name:22} {seconds:8.3f} {seconds / base:7.2f} {count:6}")

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "big.jsonl")
            line = b'{"custom_id":"x","method":"POST","url":"/v1/embeddings","body":{"model":"text-embedding-3-small","input":"' + b"a" * 8000 + b'"}}\n'
            with open(path, "wb") as fh:
                for _ in range(args.upload_mb * 1024 * 1024 // len(line)):
                    fh.write(line)
            size = os.path.getsize(path)
            tracemalloc.start()
            start = time.perf_counter()
            uploaded = core.upload_file(path)
            elapsed = time.perf_counter() - start
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(f"\nupload of {size / 1e6:.0f} MB ({uploaded.bytes:,} bytes stored): {elapsed:.2f} s, "
                  f"peak Python memory above baseline {peak / 1e6:.1f} MB")
    finally:
        server.stdin.close()  # a normal stop: the server script returns and frees what it holds
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.terminate()  # SIGTERM: python -m fake_server and the fake handle it too
            server.wait(5)


if __name__ == "__main__":
    main()
