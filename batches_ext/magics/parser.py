"""The `%batches` argument parser: argparse subcommands whose mistakes become one-line `UsageError`s.

`-h` / `--help` after any subcommand prints that subcommand's help and the cell succeeds
(`HelpShown` is raised for the magic to swallow); a bad option or value raises `UsageError`
naming it, never `SystemExit`. `help_text()` is the text of `%batches help` and `%batches?`.
Also here: the `%%batches create` cell body and `--meta` pairs. Tab completion (`completion`) uses the same
vocabulary.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shlex
from typing import Any

from IPython.core.error import UsageError

from ..spec import COMPLETION_WINDOWS, METADATA_MAX_PAIRS, STATUSES

__all__ = ["parse", "help_text", "full_help", "HelpShown", "split_meta", "cell_lines", "options", "option_values",
           "takes_value", "SUBCOMMANDS", "FAKE_ACTIONS", "ID_COMMANDS", "JOB_COMMANDS"]

FAKE_ACTIONS = ("on", "off", "status", "advance")
ID_COMMANDS = ("get", "cancel", "watch", "results", "retry", "download")
#: Subcommands whose ID may be a job id (`job_...`, from the journal or the server).
JOB_COMMANDS = ("cancel", "watch", "results", "retry")
_PROG = "%batches"


class HelpShown(Exception):  # noqa: N818 - a signal, not an error
    """`-h` was given: the help has been printed; the magic returns None."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and calling sys.exit."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see `%batches help {self.prog.split()[1]}`)"
                         if " " in self.prog else f"{self.prog}: {message} (see `%batches help`)")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if status:
            raise UsageError(message or f"{self.prog}: error")
        if message:
            print(message)
        raise HelpShown()

    def print_help(self, file: object = None) -> None:  # always to stdout, so a captured cell shows it
        print(self.format_help())


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _limit(text: str) -> int:
    value = _positive_int(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"the API lists at most 100 per page, got {value} (use --all for more)")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _seconds(text: str) -> float:
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1:].lower(), 0)
    try:
        value = float(text[:-1] if scale else text) * (scale or 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds like 90, 90s, 5m, 2h or 1d, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"the clock only moves forward by a finite amount, got {text!r}")
    return value


def _expiry(text: str) -> int:
    """An expiry such as 2h, 7d or 3600 (seconds), for --expires-after / --output-expires-after."""
    value = _seconds(text)
    if not 3_600 <= value <= 2_592_000:
        raise argparse.ArgumentTypeError(f"must be from 1h to 30d (3600 to 2592000 seconds), got {text!r}")
    return int(value)


def _add_job_options(p: argparse.ArgumentParser) -> None:
    """The options `create` and `retry` share: the split, the token budget, the files' expiries."""
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                   help="at most N lines per batch (smaller batches finish sooner); the API's limits split anyway")
    p.add_argument("--max-enqueued-tokens", type=_positive_int, default=None, metavar="N",
                   help="the job's budget of enqueued input tokens: batches are created while the unfinished ones "
                   "plus the next stay within it, the rest as earlier ones finish (default: "
                   "BatchesMagics.max_enqueued_tokens)")
    p.add_argument("--expires-after", type=_expiry, default=None, metavar="DUR",
                   help="the input files expire DUR after upload (1h to 30d; default 30d)")
    p.add_argument("--output-expires-after", type=_expiry, default=None, metavar="DUR",
                   help="the output and error files expire DUR after they are written (1h to 30d; default 30d)")


def _statuses(text: str) -> list[str]:
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown or not wanted:
        raise argparse.ArgumentTypeError(f"unknown status {', '.join(map(repr, unknown)) or repr(text)}; "
                                         f"choose from {', '.join(STATUSES)}")
    return wanted


def _build() -> _Parser:
    root = _Parser(prog=_PROG, add_help=False, description="Run OpenAI Batch API jobs from a notebook.",
                   epilog="`%batches help CMD` or `%batches CMD -h` shows one subcommand's options.")
    sub = root.add_subparsers(dest="command", parser_class=_Parser, metavar="SUBCOMMAND", title="subcommands")

    def add(name: str, help: str, description: str | None = None) -> _Parser:  # noqa: A002
        return sub.add_parser(name, help=help.replace("%", "%%"), description=description or help)

    add("table", "the live table widget of batches (also bare `%batches`); returns the BatchTable")
    p = add("list", "a table of batches; returns a BatchList (a list of Batch)")
    p.add_argument("--limit", type=_limit, default=None, metavar="N",
                   help="how many of the newest batches (1..100; default: BatchesMagics.page_size)")
    p.add_argument("--status", type=_statuses, default=None, metavar="S,...",
                   help=f"keep only these statuses ({', '.join(STATUSES)})")
    p.add_argument("--all", action="store_true", help="every batch (pages through the whole list)")
    p = add("create", "preflight, upload and create a batch; returns the Batch (a Job when split)",
            "Line form: `%batches create PATH.jsonl`. Cell form: `%%batches create --model M` with one prompt "
            "per line in the cell, or JSONL request lines (when every non-blank line is a JSON object). From a "
            "variable: `%batches create --from df --column prompt [--id-column id] --model M` (a DataFrame, a "
            "Series, or a list of prompts). Every part's file is uploaded now; batches are created while the "
            "token budget allows, the rest as earlier ones finish (`%batches watch JOB` drives them).")
    p.add_argument("path", nargs="?", metavar="PATH", help="a JSONL file of request lines (line form)")
    p.add_argument("--endpoint", default=None, metavar="E",
                   help="the batch endpoint (default: from the input; /v1/chat/completions for prompts)")
    p.add_argument("--model", default=None, metavar="M", help="the model for prompt lines (cell form)")
    p.add_argument("--system", default=None, metavar="TEXT", help="a system message for prompt lines")
    p.add_argument("--window", default=COMPLETION_WINDOWS[0], choices=COMPLETION_WINDOWS,
                   help="completion window (only 24h)")
    p.add_argument("--meta", nargs="*", action="extend", default=[], metavar="K=V",
                   help=f"metadata pairs, repeatable (at most {METADATA_MAX_PAIRS - 3}: batches_ext adds 3 of the "
                        f"API's {METADATA_MAX_PAIRS} to find the job again)")
    p.add_argument("--from", dest="source_var", default=None, metavar="VAR",
                   help="the prompts are in the variable VAR: a pandas DataFrame (with --column), a Series, or a list")
    p.add_argument("--column", default=None, metavar="C", help="the DataFrame column (or the key of a list of "
                   "dicts) that holds the prompts")
    p.add_argument("--id-column", default=None, metavar="C",
                   help="the column whose values become the custom_ids (`index`: the index labels)")
    p.add_argument("--dry-run", action="store_true",
                   help="report lines, bytes, endpoint, model and how it would be split (\"2 batches: 50,000 + "
                   "10,000 lines\"); create nothing")
    p.add_argument("--watch", action="store_true",
                   help="then follow the new batch as `%%batches watch` does (a monitor widget in a notebook; "
                   "in a terminal a text progress bar until it is terminal)")
    _add_job_options(p)
    p = add("jobs", "the jobs in the journal, newest first (any kernel's, any notebook's); returns a JobList",
            "Lists the jobs kept in the job journal ($BATCHES_EXT_HOME or the user's data directory): parts done, "
            "requests, spend, where results were saved (the unfinished jobs of the API in use are fetched first; a "
            "job of an offline fake no longer in use is shown as gone). --remote also reads the newest batches on "
            "the server and adds the jobs found there that the journal does not hold.")
    p.add_argument("--remote", action="store_true", help="also rebuild jobs from batch metadata on the server")
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N", help="only the newest N jobs")
    p = add("get", "one batch; returns the Batch")
    p.add_argument("id", metavar="ID")
    p = add("cancel", "cancel batches (or a job: its batches, and its parts not created yet); returns the Batch "
            "(a BatchList for several)")
    p.add_argument("ids", nargs="+", metavar="ID")
    p = add("watch", "follow batches until every one is terminal: the live monitor widget in a notebook (returned "
            "at once), a text progress bar in a terminal (returns the final Batch, or a BatchList)",
            "ID is a batch id or a job id; with no ID, the latest batch or job of this session (the last one "
            "created, retried, fetched, cancelled or watched). In a notebook (an IPython kernel with a frontend: "
            "JupyterLab, Notebook, VS Code, Colab) it returns the live BatchMonitor widget at once; in terminal "
            "IPython (no kernel) it blocks with a text progress bar until every batch is terminal and returns the "
            "final batches (Ctrl-C stops watching; the batches keep running). --text or --widget forces either.")
    p.add_argument("ids", nargs="*", metavar="ID")
    view = p.add_mutually_exclusive_group()
    view.add_argument("--text", dest="view", action="store_const", const="text",
                      help="block with a text progress bar until every batch is terminal (the terminal default)")
    view.add_argument("--widget", dest="view", action="store_const", const="widget",
                      help="return the live monitor widget at once (the notebook default)")
    p = add("results", "outputs and errors joined to the inputs (partial results too); returns Results")
    p.add_argument("id", metavar="ID")
    p.add_argument("--errors", action="store_true", help="only the rows that did not succeed")
    p.add_argument("-o", "--output", default=None, metavar="PATH", help="also save to PATH (.jsonl or .csv), "
                   "atomically")
    p.add_argument("--as", dest="var", default=None, metavar="VAR", help="also store the Results in VAR")
    p = add("download", "save a batch's output and error files (or one file) into a directory; returns the paths",
            "ID is a batch id (saves <id>_output.jsonl and <id>_error.jsonl) or a file id (saved under its "
            "filename, made safe). Files are streamed and written atomically, never outside DIR.")
    p.add_argument("id", metavar="ID")
    p.add_argument("-o", "--output", default=".", metavar="DIR", help="the directory to save into (default: .)")
    p = add("retry", "a new batch from the failed and expired lines and the failed parts; returns the Batch (a "
            "Job when split)", "ID is a batch id or a job id (`job_...`: from the journal, after a restart too). "
            "The lines that failed or expired, and every line of a part that failed as a whole (refused for the "
            "enqueued-token quota, or never created), are submitted again with the same custom_ids.")
    p.add_argument("id", metavar="ID")
    p.add_argument("--again", action="store_true",
                   help="send the lines again even though this ID was retried before (the journal remembers)")
    _add_job_options(p)
    p = add("fake", "route this kernel to the in-process fake (`fake on|off|status|advance SECONDS`)",
            "on [--speed S | --manual]: use a new in-process FakeBatchesAPI (S simulated seconds per real "
            "second, or a manual clock that moves only when you wait or advance it); off: back to the real "
            "API; status: is it on, and its clock; advance SECONDS: jump its clock.")
    actions = p.add_subparsers(dest="action", parser_class=_Parser, metavar="ACTION", required=True)
    on = actions.add_parser("on", help="use a new in-process fake", description="use a new in-process fake")
    clock = on.add_mutually_exclusive_group()
    clock.add_argument("--speed", type=_positive_float, default=None, metavar="S",
                       help="simulated seconds per real second (default: BatchesMagics.fake_speed)")
    clock.add_argument("--manual", action="store_true",
                       help="a ManualClock: time moves only when something waits (wait(), a monitor's wait()) "
                       "or on `%%batches fake advance`, so a notebook runs the same way every time")
    actions.add_parser("off", help="back to the real API", description="back to the real API")
    actions.add_parser("status", help="is the fake on, and its clock", description="is the fake on, and its clock")
    adv = actions.add_parser("advance", help="move the fake's clock forward", description="move the fake's clock")
    adv.add_argument("seconds", type=_seconds, metavar="SECONDS", help="e.g. 90, 5m, 2h, 1d")
    add("config", "effective settings and where each came from (never the key); returns the settings view")
    p = add("help", "this help, or one subcommand's")
    p.add_argument("topic", nargs="?", metavar="CMD")
    return root


#: The subcommands in the order the help lists them (a test checks that `_build` makes exactly these).
SUBCOMMANDS = ("table", "list", "create", "jobs", "get", "cancel", "watch", "results", "download", "retry", "fake",
               "config", "help")


@functools.cache
def _parser() -> _Parser:
    """The parser, built at its first use rather than at `%load_ext` (argparse takes milliseconds to build it)."""
    return _build()


def _choices() -> dict[str, _Parser]:
    return _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr,return-value]


def parse(line: str) -> argparse.Namespace:
    """The parsed line (bare = `table`). Raises UsageError (a mistake) or HelpShown (`-h` printed)."""
    try:
        words = shlex.split(_without_comment(line))
    except ValueError as err:
        raise UsageError(f"%batches: cannot split the line ({err}); check the quotes") from None
    if not words:
        words = ["table"]
    if words[0] in ("-h", "--help"):
        words = ["help"]
    if words[0] not in SUBCOMMANDS:
        raise UsageError(f"%batches: unknown subcommand {words[0]!r}; choose from {', '.join(SUBCOMMANDS)} "
                         f"(see `%batches help`)")
    return _parser().parse_args(words)


def _without_comment(line: str) -> str:
    """The line up to a `#` that starts a word outside quotes (`%batches cancel ID  # why`); a `#` inside a
    word or in quotes (`--meta tag=#1`, `"#x"`) is kept."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def help_text(topic: str | None = None) -> str:
    """The root help (subcommands), or one subcommand's full help."""
    if topic:
        if topic not in SUBCOMMANDS:
            raise UsageError(f"%batches help: unknown subcommand {topic!r}; choose from {', '.join(SUBCOMMANDS)}")
        return _choices()[topic].format_help()
    return _parser().format_help()


def full_help() -> str:
    """The root help followed by every subcommand's (the docstring `%batches?` shows)."""
    parts = [help_text()]
    parts += [f"---- %batches {name} ----\n{parser.format_help()}" for name, parser in _choices().items()
              if name != "help"]
    return "\n".join(parts)


def split_meta(items: list[str], path: str | None, *, cell: bool = False) -> tuple[dict[str, str], str | None]:
    """`--meta k=v ...` pairs. In the line form a trailing word without "=" is the PATH when none was given
    before and it looks like one (an existing file, a `.jsonl` name, or a word with a slash):
    `%batches create --meta team=nlp in.jsonl`. Any other word without "=" (and every one in the cell form,
    whose requests are in the cell) is a mistake: "expected KEY=VALUE"."""
    words = list(items)
    if (not cell and path is None and words and "=" not in words[-1]
            and (os.path.isfile(words[-1]) or words[-1].lower().endswith(".jsonl") or os.sep in words[-1])):
        path = words.pop()
    metadata: dict[str, str] = {}
    for pair in words:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"%batches create --meta: expected KEY=VALUE, got {pair!r}")
        metadata[key] = value
    return metadata, path


def _parser_for(command: str, action: str | None = None) -> _Parser | None:
    parser = _choices().get(command)
    if parser is not None and action is not None and parser._subparsers is not None:
        nested = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
        parser = nested.get(action) if isinstance(nested, dict) else None
    return parser


def options(command: str, action: str | None = None) -> list[str]:
    """The option strings of a subcommand (of `fake ACTION` when given), long ones first, read from the argparse
    parser itself so completion cannot drift from what `parse` accepts."""
    parser = _parser_for(command, action)
    if parser is None:
        return []
    found = [o for a in parser._actions for o in a.option_strings]
    return sorted(found, key=lambda o: (not o.startswith("--"), o in ("-h", "--help")))


def _action(command: str, option: str) -> argparse.Action | None:
    parser = _parser_for(command)
    return parser._option_string_actions.get(option) if parser is not None else None


def takes_value(command: str, option: str) -> bool:
    """Whether `option` of `command` is followed by a value (`--model M`), not a flag (`--dry-run`)."""
    action = _action(command, option)
    return action is not None and action.nargs != 0


def option_values(command: str, option: str) -> list[str]:
    """The values an option accepts when argparse knows them (`choices`, e.g. `--window`), else []."""
    return [str(c) for c in (getattr(_action(command, option), "choices", None) or [])]


def cell_lines(cell: str) -> list[Any]:
    """The non-blank lines of a `%%batches create` cell: JSON objects if every one parses as one, else prompts."""
    rows = [line.strip() for line in cell.splitlines() if line.strip()]
    if not rows:
        raise UsageError("%%batches create: the cell is empty (one prompt per line, or JSONL request lines)")
    parsed = []
    for row in rows:
        try:
            value = json.loads(row)
        except ValueError:
            return rows
        if not isinstance(value, dict):
            return rows
        parsed.append(value)
    return parsed
