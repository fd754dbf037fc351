"""batches_ext.magics: the `%batches` / `%%batches` magics.

Modules: `commands` (BatchesMagics: thin handlers that parse, call the core and return values), `parser`
(argparse subcommands whose mistakes are one-line UsageErrors), `inputs` (requests from the cell or a variable:
`--from VAR`), `feedback` (one-line errors and warnings), `completion`, `session` (per-shell state:
the client, the offline-fake switch, recent ids, live widgets), `views` (values the magics return that the
core has no type for), `extension` (load / unload).
"""

from __future__ import annotations

from .commands import BatchesMagics
from .extension import load_ipython_extension, unload_ipython_extension
from .views import BatchList, DryRun, SettingsView

__all__ = ["BatchList", "BatchesMagics", "DryRun", "SettingsView", "load_ipython_extension",
           "unload_ipython_extension"]
