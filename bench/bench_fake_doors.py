"""Requests per second for retrieve and list (a page of 100 batches) through each door of the fake.

    python bench/bench_fake_doors.py [--seconds 1.0]

Doors: requests adapter (in-process), httpx/httpx2 MockTransport (in-process), loopback HTTP
server (requests.Session, keep-alive). Prints one table; no pass/fail bars.
"""

from __future__ import annotations

import argparse
import time

import requests

from fake_server import FakeBatchesAPI, ManualClock

HEADERS = {"Authorization": "Bearer sk-bench"}


def rate(fn, seconds: float) -> tuple[float, float]:
    fn()  # warm up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    elapsed = time.perf_counter() - start
    return n / elapsed, elapsed / n * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    fake = FakeBatchesAPI(clock=ManualClock())
    ids = [fake.seed_batch("in_progress", requests=10)["id"] for _ in range(150)]
    target = ids[75]

    from fake_server.transports import sdk_http_module

    lib = sdk_http_module()
    session = fake.requests_session()
    hx = lib.Client(transport=fake.httpx_transport(lib), headers=HEADERS)
    doors = {
        "requests adapter": lambda path: session.get("https://api.openai.com/v1" + path, headers=HEADERS),
        f"{lib.__name__} MockTransport": lambda path: hx.get("https://api.openai.com/v1" + path),
    }
    server = fake.serve()
    loop = requests.Session()
    doors["loopback server"] = lambda path: loop.get(server.base_url + path, headers=HEADERS)
    print(f"{'door':28} {'retrieve/s':>11} {'ms':>7} {'list100/s':>10} {'ms':>7}")
    try:
        for name, get in doors.items():
            r_rate, r_ms = rate(lambda get=get: get(f"/batches/{target}").raise_for_status(), args.seconds)
            l_rate, l_ms = rate(lambda get=get: get("/batches?limit=100").raise_for_status(), args.seconds)
            print(f"{name:28} {r_rate:11.0f} {r_ms:7.2f} {l_rate:10.0f} {l_ms:7.2f}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
