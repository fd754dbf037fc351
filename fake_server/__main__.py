"""`python -m fake_server`: serve a FakeBatchesAPI on loopback until Ctrl-C or SIGTERM.

    python -m fake_server --port 8000 --speed 60 --api-key sk-local --control

The first line on stdout is the base URL (``http://127.0.0.1:8000/v1``), so a parent process can
read it; everything else goes to stderr. API keys are never printed.
"""

from __future__ import annotations

import argparse
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
        "--api-key",
        dest="api_keys",
        action="append",
        metavar="KEY",
        help="accept only this key (repeatable; default: any non-empty key)",
    )
    parser.add_argument("--control", action="store_true", help="enable /__fake__/ reset, clock and state")
    parser.add_argument("--seed", type=int, default=0, help="seed for ids and outcomes (default: 0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    from .clock import SystemClock
    from .fake import FakeBatchesAPI
    from .server import serve

    if args.speed <= 0:
        parser.error("--speed must be > 0")
    fake = FakeBatchesAPI(clock=SystemClock(args.speed), api_keys=args.api_keys, seed=args.seed)
    try:
        server = serve(fake, args.host, args.port, control=args.control)
    except OSError as err:
        parser.exit(1, f"fake_server: cannot listen on {args.host}:{args.port}: {err.strerror or err}\n")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(server.base_url, flush=True)
    keys = f"{len(args.api_keys)} accepted key(s)" if args.api_keys else "any key"
    print(
        f"fake_server: speed {args.speed:g}x, {keys}, control {'on' if args.control else 'off'}; "
        "Ctrl-C to stop",
        file=sys.stderr,
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
