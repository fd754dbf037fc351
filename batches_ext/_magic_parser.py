"""The `%batches` argument parser: argparse subcommands whose mistakes become one-line `UsageError`s."""

from __future__ import annotations

import argparse
import shlex

from IPython.core.error import UsageError

__all__ = ["parse", "help_text", "SUBCOMMANDS"]


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and calling sys.exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or "")


def _build() -> _Parser:
    root = _Parser(prog="%batches", add_help=False, description="Run OpenAI Batch API jobs from a notebook.")
    sub = root.add_subparsers(dest="command", parser_class=_Parser)
    sub.add_parser("table", help="the live table of batches", add_help=False)
    p = sub.add_parser("list", help="a table of batches; returns a list", add_help=False)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--status", default=None, help="comma-separated statuses to keep")
    p.add_argument("--all", action="store_true", help="every batch (auto-paginates)")
    p = sub.add_parser("create", help="preflight, upload and create; cell body: prompts or JSONL", add_help=False)
    p.add_argument("path", nargs="?")
    p.add_argument("--endpoint", default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--system", default=None)
    p.add_argument("--window", default="24h")
    p.add_argument("--meta", nargs="*", default=[], metavar="K=V")
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--watch", action="store_true")
    p = sub.add_parser("get", help="one batch", add_help=False)
    p.add_argument("id")
    p = sub.add_parser("cancel", help="cancel batches", add_help=False)
    p.add_argument("ids", nargs="+")
    p = sub.add_parser("watch", help="a progress monitor until every batch is terminal", add_help=False)
    p.add_argument("ids", nargs="*")
    p = sub.add_parser("results", help="outputs and errors joined to the inputs", add_help=False)
    p.add_argument("id")
    p.add_argument("--errors", action="store_true", help="only the rows that did not succeed")
    p.add_argument("-o", "--output", default=None, help="save to PATH (.jsonl or .csv), atomically")
    p.add_argument("--as", dest="var", default=None, help="also store the Results in this variable")
    p = sub.add_parser("retry", help="a new batch from the failed and expired lines", add_help=False)
    p.add_argument("id")
    p = sub.add_parser("fake", help="route this kernel to the in-process fake", add_help=False)
    p.add_argument("action", choices=["on", "off", "status", "advance"])
    p.add_argument("seconds", nargs="?", type=float)
    p.add_argument("--speed", type=float, default=None)
    sub.add_parser("config", help="effective settings and where each came from", add_help=False)
    p = sub.add_parser("help", help="this help, or one subcommand's", add_help=False)
    p.add_argument("topic", nargs="?")
    return root


_PARSER = _build()
_CHOICES: dict[str, argparse.ArgumentParser] = _PARSER._subparsers._group_actions[0].choices  # type: ignore
SUBCOMMANDS = sorted(_CHOICES)


def parse(line: str) -> argparse.Namespace:
    try:
        words = shlex.split(line)
    except ValueError as err:
        raise UsageError(f"%batches: cannot parse the line ({err})") from None
    if not words:
        words = ["table"]
    if words[0] not in SUBCOMMANDS:
        raise UsageError(f"%batches: unknown subcommand {words[0]!r}; choose from {', '.join(SUBCOMMANDS)}")
    return _PARSER.parse_args(words)


def help_text(topic: str | None = None) -> str:
    if topic:
        if topic not in _CHOICES:
            raise UsageError(f"%batches help: unknown subcommand {topic!r}")
        return _CHOICES[topic].format_help()
    return _PARSER.format_help()
