"""The fake under load and at scale (issue 14): every figure beside its baseline, measured in the same run.

    python bench/bench_fake_scale.py [--seconds 2] [--quick]

Figures, each as a ratio to its baseline (the issue's target in brackets; benchmarks, not tests):
  retrieve of a 50,000-line batch vs a 1-line batch (loopback)                        [<= 2x]
  list page at the tail vs the head of 50,000 batches (loopback)                      [<= 1.5x]
  a list page's p99 while a finished 50,000-line batch is being settled vs quiet (loopback)
  a files page at 100,000 files vs at 100 files (loopback)
  GET and POST throughput at 1 / 8 / 32 threads vs a minimal stdlib server            [>= 0.8x at 8]
  a well-behaved client's p99 while 50 clients stall mid-body vs its quiet p99       [<= 2x]
  RSS per batch created from one shared input file                                    [<= 1.5 KB]
  splitting one 32 MB line (fake_server's Blob, and the core's download lines if it
  has them) vs json.loads of that line                                                [<= 2x]
`--quick` shrinks every size tenfold (a smoke run).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from fake_server import FakeBatchesAPI, ManualClock
from fake_server.state import Blob
from fake_server.wire import Request

KEY = "sk-bench"
AUTH = {"Authorization": f"Bearer {KEY}"}
CHAT = "/v1/chat/completions"
ROWS: list[tuple[str, str, str, str]] = []


def lines(n: int) -> bytes:
    return b"".join(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": CHAT, "body": {
        "model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Say {i}"}]}}).encode() + b"\n"
        for i in range(n))


def per_call(fn: Callable[[], Any], seconds: float) -> float:
    """Seconds per call of `fn`, the median of five timed slices (after a warm-up)."""
    fn()
    slices = []
    for _ in range(5):
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 5:
            fn()
            n += 1
        slices.append((time.perf_counter() - start) / n)
    return statistics.median(slices)


def row(figure: str, measured: str, baseline: str, ratio: float, target: str) -> None:
    ROWS.append((figure, measured, baseline, f"{ratio:.2f}x {target}"))
    print(f"  {figure}: {measured} vs {baseline} -> {ratio:.2f}x {target}", flush=True)


def rss_kb() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


# ---------------------------------------------------------------- views and pages


def views(args: argparse.Namespace) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), batch_create_limit_per_hour=None)
    big = fake.create_batch(fake.upload(lines(args.lines))["id"])
    small = fake.create_batch(fake.upload(lines(1))["id"])
    fake.advance(86_000)
    with fake.serve() as server, requests.Session() as http:
        for batch in (big, small):
            assert http.get(f"{server.base_url}/batches/{batch['id']}", headers=AUTH).json()["status"] == "completed"
        t_big = per_call(lambda: http.get(f"{server.base_url}/batches/{big['id']}", headers=AUTH), args.seconds)
        t_small = per_call(lambda: http.get(f"{server.base_url}/batches/{small['id']}", headers=AUTH), args.seconds)
    row(f"retrieve of a {args.lines:,}-line batch", f"{t_big * 1e3:.2f} ms", f"1-line {t_small * 1e3:.2f} ms",
        t_big / t_small, "[<= 2x]")

    fake = FakeBatchesAPI(clock=ManualClock(), batch_create_limit_per_hour=None)
    shared = fake.upload(lines(2))["id"]
    ids = [fake.create_batch(shared)["id"] for _ in range(args.batches)]
    with fake.serve() as server, requests.Session() as http:
        tail = ids[25]  # newest first: the page after this one is the last page
        head = per_call(lambda: http.get(f"{server.base_url}/batches?limit=20", headers=AUTH), args.seconds)
        last = per_call(lambda: http.get(f"{server.base_url}/batches?limit=20&after={tail}", headers=AUTH),
                        args.seconds)
    row(f"list page at the tail of {args.batches:,} batches", f"{last * 1e3:.2f} ms", f"head {head * 1e3:.2f} ms",
        last / head, "[<= 1.5x]")

    pages = {}
    for count in (100, args.files):
        fake = FakeBatchesAPI(clock=ManualClock())
        for i in range(count):
            fake.upload(b'{"a": 1}\n', filename=f"f{i}.jsonl")
        with fake.serve() as server, requests.Session() as http:
            pages[count] = per_call(lambda: http.get(f"{server.base_url}/files?limit=20", headers=AUTH), args.seconds)
    row(f"a files page at {args.files:,} files", f"{pages[args.files] * 1e3:.2f} ms",
        f"at 100 files {pages[100] * 1e3:.2f} ms", pages[args.files] / pages[100], "")


def settling(args: argparse.Namespace) -> None:
    """Another client's list page while the first view of a finished big batch answers its lines, vs quiet."""
    fake = FakeBatchesAPI(clock=ManualClock(), batch_create_limit_per_hour=None)
    big = fake.create_batch(fake.upload(lines(args.lines))["id"])  # the newest batch: on every page below
    with fake.serve() as server, requests.Session() as http:
        def page() -> float:
            start = time.perf_counter()
            http.get(f"{server.base_url}/batches?limit=1", headers=AUTH)
            return time.perf_counter() - start

        quiet = sorted(page() for _ in range(args.samples))  # the batch still validating: nothing to answer
        fake.advance(5_000)  # now finished: its first view answers every line
        done = threading.Event()
        settled: list[float] = []

        def retrieve() -> None:
            start = time.perf_counter()
            with requests.Session() as other:
                other.get(f"{server.base_url}/batches/{big['id']}", headers=AUTH)
            settled.append(time.perf_counter() - start)
            done.set()

        worker = threading.Thread(target=retrieve)
        worker.start()
        time.sleep(0.05)  # the retrieve has taken the batch's lock and is answering its lines
        busy = []
        while not done.is_set():
            busy.append(page())
        worker.join()
    busy = sorted(busy) or [0.0]
    median_quiet, median_busy = statistics.median(quiet), statistics.median(busy)
    row(f"list page (median) while a {args.lines:,}-line batch settles ({settled[0]:.1f} s, {len(busy)} pages)",
        f"{median_busy * 1e3:.2f} ms", f"quiet {median_quiet * 1e3:.2f} ms", median_busy / median_quiet, "")
    row("  its slowest page (before the fix: the whole settling)", f"{busy[-1] * 1e3:.1f} ms",
        f"quiet {quiet[-1] * 1e3:.2f} ms", busy[-1] / quiet[-1], "")


# ---------------------------------------------------------------- throughput against a minimal stdlib server


class _Fixed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = json.dumps({"id": "batch_x", "object": "batch", "status": "completed"}).encode()

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer


class _FixedServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = socket.SOMAXCONN

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the fake's own setting, to be fair
        return sock, address


def _load(threads: int, seconds: float, send: Callable[[requests.Session], Any], out: Any) -> None:
    counts = [0] * threads
    stop = threading.Event()

    def client(i: int) -> None:
        with requests.Session() as http:
            while not stop.is_set():
                send(http)
                counts[i] += 1

    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join(10)
    out.put(sum(counts) / seconds)


def _rate(threads: int, seconds: float, send: Callable[[requests.Session], Any]) -> float:
    """Requests per second that `threads` client threads get, run in a forked process of their own (so the
    clients do not compete with the server for this process's GIL; both servers are measured the same way)."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_load, args=(threads, seconds, send, out))
    child.start()
    rate = out.get(timeout=seconds + 60)
    child.join(10)
    return float(rate)


def throughput(args: argparse.Namespace) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), batch_create_limit_per_hour=None, max_recorded=1000)
    file_id = fake.upload(lines(2))["id"]
    batch_id = fake.create_batch(file_id)["id"]
    create = {"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}
    baseline = _FixedServer(("127.0.0.1", 0), _Fixed)
    threading.Thread(target=baseline.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    plain = f"http://127.0.0.1:{baseline.server_address[1]}/v1"
    try:
        with fake.serve() as server:
            sends = {
                "GET": (lambda h: h.get(f"{server.base_url}/batches/{batch_id}", headers=AUTH),
                        lambda h: h.get(f"{plain}/batches/x", headers=AUTH)),
                "POST": (lambda h: h.post(f"{server.base_url}/batches", headers=AUTH, json=create),
                         lambda h: h.post(f"{plain}/batches", headers=AUTH, json=create)),
            }
            for method, (fake_send, plain_send) in sends.items():
                for threads in (1, 8, 32):
                    # alternate the two servers over three rounds: a busy machine's drift hits both alike
                    pairs = [(_rate(threads, args.seconds / 3, fake_send), _rate(threads, args.seconds / 3, plain_send))
                             for _ in range(3)]
                    ours = statistics.median(p[0] for p in pairs)
                    theirs = statistics.median(p[1] for p in pairs)
                    ratio = statistics.median(p[0] / p[1] for p in pairs)
                    target = "[>= 0.8x]" if threads == 8 else ""
                    row(f"{method} {'/batches/{id}' if method == 'GET' else '/batches'} at {threads} threads",
                        f"{ours:,.0f}/s", f"stdlib {theirs:,.0f}/s", ratio, target)
    finally:
        baseline.shutdown()
        baseline.server_close()


# ---------------------------------------------------------------- a probe while 50 clients stall


def stall(args: argparse.Namespace) -> None:
    fake = FakeBatchesAPI(clock=ManualClock())
    fake.seed_batch("completed")
    with fake.serve(read_timeout=60) as server, requests.Session() as http:
        url = f"{server.base_url}/batches?limit=1"

        def p99(samples: int) -> float:
            times = []
            for _ in range(samples):
                start = time.perf_counter()
                http.get(url, headers=AUTH, timeout=10).raise_for_status()
                times.append(time.perf_counter() - start)
            return statistics.quantiles(times, n=100)[98]

        p99(50)
        quiet = p99(args.samples)
        stalled = []
        for _ in range(50):
            sock = socket.create_connection((server.host, server.port))
            sock.sendall(b"POST /v1/batches HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                         b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"input_")
            stalled.append(sock)
        try:
            time.sleep(0.2)
            during = p99(args.samples)
        finally:
            for sock in stalled:
                sock.close()
    row("probe p99 while 50 clients stall mid-body", f"{during * 1e3:.2f} ms", f"quiet {quiet * 1e3:.2f} ms",
        during / quiet, "[<= 2x]")


# ---------------------------------------------------------------- memory per batch


def memory(args: argparse.Namespace) -> None:
    """In a fresh interpreter (an allocator that earlier figures warmed would hide growth): RSS and Python
    allocations per batch created over the handler from one shared input file. The request log is filled to
    its bound first (10,000 entries), so the figure is what one more batch costs, the log included."""
    def child(traced: bool) -> float:
        done = subprocess.run([sys.executable, __file__, "--memory-only", str(args.memory_batches)]
                              + (["--traced"] if traced else []), capture_output=True, text=True, timeout=600)
        return float(done.stdout.split()[-1])

    grown_kb, traced = child(False), child(True)  # tracemalloc's own bookkeeping would inflate the RSS
    n = args.memory_batches
    row(f"RSS per batch ({n:,} more created over HTTP from one file)", f"{grown_kb * 1024 / n:,.0f} B",
        "1.5 KB", grown_kb / n / 1.5, "[<= 1x]")
    row("  Python allocations per batch (tracemalloc)", f"{traced / n:,.0f} B", "1.5 KB", traced / n / 1536, "")


def _memory_only(n: int, traced: bool) -> None:
    fake = FakeBatchesAPI(clock=ManualClock(), batch_create_limit_per_hour=None)
    file_id = fake.upload(lines(3))["id"]
    body = json.dumps({"input_file_id": file_id, "endpoint": CHAT, "completion_window": "24h"}).encode()
    headers = {"authorization": f"Bearer {KEY}", "content-type": "application/json",
               "content-length": str(len(body)), "user-agent": "bench", "accept": "application/json"}

    def create(count: int) -> None:
        for _ in range(count):
            assert fake.handle(Request("POST", "/v1/batches", "", dict(headers), body)).status == 200

    create(fake.request_log.max_recorded + 200)  # warm: parse cache, and the request log at its bound
    gc.collect()
    if traced:
        tracemalloc.start()
        create(n)
        gc.collect()
        print(tracemalloc.get_traced_memory()[0])
        return
    before = rss_kb()
    create(n)
    gc.collect()
    print(rss_kb() - before)


# ---------------------------------------------------------------- one 32 MB line


def long_line(args: argparse.Namespace) -> None:
    text = json.dumps({"custom_id": "x", "body": {"input": "a" * (args.line_mb * 1024 * 1024)}}).encode()
    blob = Blob.from_bytes(text + b"\n")
    loads = min(_timed(lambda: json.loads(text)) for _ in range(3))
    split = min(_timed(lambda: list(blob.iter_lines())) for _ in range(3))
    row(f"fake: split one {args.line_mb} MB line (Blob.iter_lines)", f"{split * 1e3:.0f} ms",
        f"json.loads {loads * 1e3:.0f} ms", split / loads, "[<= 2x]")
    try:
        from batches_ext.client import streams  # the core's download lines, measured beside the fake's

        iter_lines = getattr(streams, "iter_lines", None)
    except ImportError:
        iter_lines = None
    if iter_lines is not None:
        chunks = [text[i:i + 65536] for i in range(0, len(text), 65536)]
        try:
            core = min(_timed(lambda: list(iter_lines(iter(chunks)))) for _ in range(2))
            row(f"core: split one {args.line_mb} MB line (client.streams.iter_lines)", f"{core * 1e3:.0f} ms",
                f"json.loads {loads * 1e3:.0f} ms", core / loads, "[<= 2x]")
        except Exception as err:  # its signature is not ours to know: report, do not fail
            print(f"  core iter_lines not measured: {type(err).__name__}: {err}")
    blob.discard()


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per timed figure")
    parser.add_argument("--quick", action="store_true", help="every size tenfold smaller")
    parser.add_argument("--memory-only", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_only:
        _memory_only(args.memory_only, args.traced)
        return
    scale = 10 if args.quick else 1
    args.lines, args.batches, args.files = 50_000 // scale, 50_000 // scale, 100_000 // scale
    args.memory_batches, args.samples, args.line_mb = 20_000 // scale, 400, max(32 // scale, 1)
    for name, step in (("views and pages", views), ("a list while a batch settles", settling), ("throughput", throughput), ("stalled clients", stall),
                       ("memory", memory), ("one long line", long_line)):
        print(f"{name} ...", flush=True)
        step(args)
    width = max(len(r[0]) for r in ROWS)
    print(f"\n{'figure':{width}}  {'measured':>12}  {'baseline':>22}  ratio [target]")
    for figure, measured, baseline, ratio in ROWS:
        print(f"{figure:{width}}  {measured:>12}  {baseline:>22}  {ratio}")


if __name__ == "__main__":
    main()
