"""`python -m fake_server`: serve a FakeBatchesAPI on loopback until Ctrl-C or SIGTERM.

    python -m fake_server --port 8000 --speed 60 --api-key sk-local --control \
        --models any --enqueued-token-limit gpt-4o-mini=2000000 --batch-create-limit 2000
    python -m fake_server --port 8000 --control --manual   # time moves only by POST /__fake__/clock

The first line on stdout is the base URL (``http://127.0.0.1:8000/v1``), so a parent process can
read it; everything else goes to stderr. API keys are never printed. On Ctrl-C, SIGTERM or an error the
server stops and the fake frees everything it holds (its spilled uploads are anonymous temporary files, so
not even SIGKILL leaves one on disk).
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from .clock import DEFAULT_SPEED

    parser = argparse.ArgumentParser(
        prog="python -m fake_server", description="Serve an in-memory fake of the OpenAI Batches + Files API."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: 0, any free port)")
    parser.add_argument(
        "--speed",
        type=float,
        default=DEFAULT_SPEED,
        help=f"simulated seconds per real second (default: {DEFAULT_SPEED:g})",
    )
    parser.add_argument(
        "--manual",
        action="store_true",
        help="a manual clock: simulated time stands still until POST /__fake__/clock moves or sets it (with "
             "--control); for tests in any language that must not race the wall clock",
    )
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accept only this key (repeatable; default: any non-empty key)",
    )
    parser.add_argument("--control", action="store_true",
                        help="enable the /__fake__/ control plane (reset, clock, state, seed, faults, batch "
                             "outcomes) for loopback clients")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and outcomes (default: 0)")
    parser.add_argument("--models", action="append", metavar="NAMES",
                        help="'any' (any model name), or comma-separated model names / fnmatch globs to serve "
                             "besides the catalogue (repeatable; default: the catalogue only)")
    parser.add_argument("--enqueued-token-limit", dest="token_limits", action="append", metavar="MODEL=TOKENS",
                        default=[], help="per-model enqueued-token quota (repeatable; default: none)")
    parser.add_argument("--batch-create-limit", type=int, default=2_000, metavar="N",
                        help="batch creations per organization per hour of simulated time before a 429 "
                             "(default: 2000; 0: no limit)")
    parser.add_argument("--honour-idempotency-key", action="store_true",
                        help="replay the answer of a POST that repeats an Idempotency-Key with the same request; "
                             "another request with the key is a 422 (default: ignored)")
    parser.add_argument("--read-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="a connection silent this long is closed (mid-body: 408) (default: 30)")
    return parser


def _models(values: list[str] | None) -> str | list[str] | None:
    if not values:
        return None
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    return "any" if "any" in names else names


def _token_limits(parser: argparse.ArgumentParser, values: list[str]) -> dict[str, int]:
    limits: dict[str, int] = {}
    for value in values:
        model, sep, tokens = value.partition("=")
        if not sep or not model.strip() or not tokens.strip().isdigit():
            parser.error(f"--enqueued-token-limit needs MODEL=TOKENS (a whole number), not {value!r}")
        limits[model.strip()] = int(tokens)
    return limits


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from .clock import ManualClock, SystemClock
    from .fake import FakeBatchesAPI
    from .server import serve

    if not math.isfinite(args.speed) or args.speed <= 0:
        parser.error("--speed must be a finite number > 0")
    if args.batch_create_limit < 0:
        parser.error("--batch-create-limit must be >= 0")
    if not math.isfinite(args.read_timeout) or args.read_timeout <= 0:
        parser.error("--read-timeout must be a finite number > 0")
    if args.manual and not args.control:
        parser.error("--manual needs --control: only POST /__fake__/clock can move a manual clock")
    fake = FakeBatchesAPI(
        clock=ManualClock() if args.manual else SystemClock(args.speed), api_keys=args.api_keys, seed=args.seed, models=_models(args.models),
        enqueued_token_limits=_token_limits(parser, args.token_limits),
        batch_create_limit_per_hour=args.batch_create_limit or None,
        honour_idempotency_key=args.honour_idempotency_key,
    )
    try:
        server = serve(fake, args.host, args.port, control=args.control, read_timeout=args.read_timeout)
    except OSError as err:
        parser.exit(1, f"fake_server: cannot listen on {args.host}:{args.port}: {err.strerror or err}\n")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(server.base_url, flush=True)
    keys = f"{len(args.api_keys)} accepted key(s)" if args.api_keys else "any key"
    print(
        f"fake_server: {'manual clock' if args.manual else f'speed {args.speed:g}x'}, {keys}, "
        f"control {'on' if args.control else 'off'}; "
        "Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        fake.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
