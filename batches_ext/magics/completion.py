"""Tab completion for `%batches`: subcommands, fake actions, statuses, then recent batch ids; never the API."""

from __future__ import annotations

from typing import Any

from IPython.core.error import TryNext

from ..spec import STATUSES
from .parser import FAKE_ACTIONS, ID_COMMANDS, SUBCOMMANDS

__all__ = ["complete", "remove_completer"]


def complete(shell: Any, event: Any) -> list[str]:
    """The `%batches` completer: subcommands, fake actions, statuses, then recent batch ids; never calls the API."""
    session = getattr(shell.magics_manager.registry.get("BatchesMagics"), "session", None)
    if session is None:
        raise TryNext()
    words = event.line.split()
    position = len(words) if event.line.endswith((" ", "\t")) else len(words) - 1
    if position <= 1:
        return list(SUBCOMMANDS)
    command, previous = words[1], words[position - 1]
    if previous == "--status":
        return list(STATUSES)
    if position == 2 and command == "fake":
        return list(FAKE_ACTIONS)
    if position == 2 and command == "help":
        return list(SUBCOMMANDS)
    if command in ID_COMMANDS and not event.symbol.startswith("-") and session.recent:
        return list(session.recent)
    raise TryNext()  # e.g. file names after `create`


def remove_completer(shell: Any) -> None:
    """Take `complete` out of the shell's `%batches` / `%%batches` hooks (IPython has no public way)."""
    dispatcher = getattr(shell, "strdispatchers", {}).get("complete_command")
    for key in ("%batches", "%%batches"):
        chain = getattr(dispatcher, "strs", {}).get(key)
        if chain is not None:
            chain.chain[:] = [(p, f) for p, f in chain.chain if getattr(f, "__func__", f) is not complete]
