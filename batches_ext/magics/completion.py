"""Tab completion for `%batches`: subcommands first, then each subcommand's options, fake actions, statuses,
recent batch ids (and job ids where a job is taken), the notebook's DataFrames, Series and lists after `--from`
and that DataFrame's columns after `--column` / `--id-column`, the priced models after `--model`; never the API.
A comma list (`--status completed,fa`) completes its last item. After an option that takes a free value
(`--limit N`) this matcher offers nothing, not even a file name; IPython only lets a matcher with at least one
completion suppress the others, so its own names may still show there.

Registered as an IPython completion *matcher* (API v2, in `shell.Completer.custom_matchers`) rather than a
`complete_command` hook: a hook's results are merged with Jedi's, which put `and / if / in / is / not / or`
before the subcommands and answered `--` with Python builtins. The matcher returns its words in order and asks
IPython to suppress every other matcher when it has any, so after `%batches ` the subcommands come first and
`--` completes the subcommand's options, read from the argparse parser (`parser.options`) so they cannot drift.
Where it has nothing to offer (a file name after `create`) it stays out of the way.
"""

from __future__ import annotations

import glob
import os
import re
from typing import Any

from ..spec import STATUSES
from .parser import FAKE_ACTIONS, ID_COMMANDS, JOB_COMMANDS, SUBCOMMANDS, option_values, options, takes_value

__all__ = ["words_for", "install_completer", "remove_completer"]

_MAGICS = ("%batches", "%%batches")
_ASSIGNED = re.compile(r"^[\w.\[\]'\", ]+=\s*(?=%)")  # `res = %batches results ...`


def words_for(line: str, session: Any) -> tuple[str, list[str]] | None:
    """`(fragment being completed, candidates in order)` for the text of a `%batches` line up to the cursor,
    or None when the line is not a `%batches` line or there is nothing to offer."""
    words = _ASSIGNED.sub("", line, count=1).split()
    if not words or words[0] not in _MAGICS:
        return None
    ended = line.endswith((" ", "\t"))
    fragment = "" if ended else words[-1]
    position = len(words) if ended else len(words) - 1
    if position == 0:
        return None
    candidates = _candidates(words, position, fragment, session)
    found = [c for c in candidates if c.startswith(fragment)]
    if found or _ours(words, position, fragment):
        return fragment, found  # an empty list still keeps Python's names out of a `%batches` argument
    return None


def _ours(words: list[str], position: int, fragment: str) -> bool:
    """True where only `%batches` knows what may come (an option, a subcommand, a status, a variable), so an empty
    answer must hide the builtins, modules and keywords other matchers would offer."""
    previous = words[position - 1]
    return position == 1 or fragment.startswith("-") or previous in ("--status", "--from", "--column", "--id-column")


def _candidates(words: list[str], position: int, fragment: str, session: Any) -> list[str]:
    if position == 1:
        return ["--help"] if fragment.startswith("-") else list(SUBCOMMANDS)
    command, previous = words[1], words[position - 1]
    if command == "fake":
        if position == 2:
            return list(FAKE_ACTIONS)
        return options("fake", words[2]) if fragment.startswith("-") else []
    if command == "help" and position == 2:
        return list(SUBCOMMANDS)
    if fragment.startswith("-"):
        used = set(words[2:position])
        return [o for o in options(command) if o not in used]
    if previous == "--status":  # a comma list: complete its last item, without the statuses already given
        head, comma, _ = fragment.rpartition(",")
        given = set(head.split(",")) if comma else set()
        return [f"{head}{comma}{s}" for s in STATUSES if s not in given]
    if previous == "--from" and session is not None:
        return session.source_variables()
    if previous in ("--column", "--id-column") and session is not None:
        return session.source_columns(_value_of(words[2:position], "--from"))
    if previous == "--model":  # the models with a known batch price (batches_ext.pricing), cheapest first
        from ..pricing import BATCH_PRICES

        return sorted(BATCH_PRICES, key=lambda m: (BATCH_PRICES[m].input, m))
    if previous.startswith("--") and takes_value(command, previous):
        return option_values(command, previous)  # a value it knows (`--window`), else nothing: never a path
    if command == "create" or previous in ("-o", "--output"):
        return _paths(fragment, jsonl=command == "create", files=command == "results")
    if command in ID_COMMANDS and session is not None:
        return list(session.recent) + (list(session.recent_jobs) if command in JOB_COMMANDS else [])
    return []


def _value_of(words: list[str], option: str) -> str | None:
    """The value given to `option` among `words` (the last one), or None."""
    found = [words[i + 1] for i, w in enumerate(words[:-1]) if w == option]
    return found[-1] if found else None


def _paths(fragment: str, *, jsonl: bool, files: bool = False) -> list[str]:
    """Directories (with a trailing slash), and `.jsonl` files (`jsonl`) or any file (`files`), starting with
    `fragment`."""
    found = []
    for path in sorted(glob.glob(glob.escape(os.path.expanduser(fragment)) + "*")):
        shown = fragment + path[len(os.path.expanduser(fragment)):]
        if os.path.isdir(path):
            found.append(shown + "/")
        elif files or (jsonl and path.lower().endswith(".jsonl")):
            found.append(shown)
    return found


def _make_matcher(shell: Any) -> Any:
    from IPython.core.completer import SimpleCompletion, context_matcher

    @context_matcher()
    def batches_matcher(context: Any) -> dict[str, Any]:
        if context.cursor_line != 0:  # only the magic's own line, not the body of a %%batches cell
            return {"completions": [], "suppress": False}
        magics = shell.magics_manager.registry.get("BatchesMagics")
        found = words_for(context.text_until_cursor.lstrip(), getattr(magics, "session", None))
        if found is None:
            return {"completions": [], "suppress": False}
        fragment, words = found
        return {"completions": [SimpleCompletion(w, type="magic argument") for w in words],
                "matched_fragment": fragment, "suppress": True, "ordered": True}

    batches_matcher.batches_ext_matcher = True  # type: ignore[attr-defined]
    return batches_matcher


def install_completer(shell: Any) -> None:
    """Add the `%batches` matcher to the shell's completer (once)."""
    completer = getattr(shell, "Completer", None)
    if completer is None:
        return
    remove_completer(shell)
    completer.custom_matchers.insert(0, _make_matcher(shell))


def remove_completer(shell: Any) -> None:
    """Take the `%batches` matcher out of the shell's completer."""
    completer = getattr(shell, "Completer", None)
    if completer is not None:
        completer.custom_matchers[:] = [m for m in completer.custom_matchers
                                        if not getattr(m, "batches_ext_matcher", False)]
