"""The `%batches` / `%%batches` magics: parse, call the core, return self-rendering values.

No HTTP here: everything goes through `BatchesClient` and the job helpers. User mistakes and
API errors become one-line `UsageError`s (the cell fails, no traceback); the API key is read
from `OPENAI_API_KEY` when a client is built and is never a trait, printed or stored.
"""

from __future__ import annotations

import html
import os
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Float, Int, Unicode

from ._magic_parser import SUBCOMMANDS, help_text, parse

__all__ = ["BatchesMagics", "BatchList", "load_ipython_extension", "unload_ipython_extension"]

_NO_KEY = "No API key: set OPENAI_API_KEY, or run `%batches fake on` to use the offline fake."


class BatchList(list):
    """What `%batches list` returns: a list of `Batch` that renders as one table."""

    offline = False

    def _repr_html_(self) -> str:
        marker = "<p><b>offline fake</b></p>" if self.offline else ""
        rows = "".join(
            f"<tr><td><code>{html.escape(b.id)}</code></td><td>{html.escape(str(b.status))}</td>"
            f"<td>{b.request_counts.completed}/{b.request_counts.failed}/{b.request_counts.total}</td>"
            f"<td>{html.escape(str(b.endpoint))}</td></tr>"
            for b in self
        )
        return (f"{marker}<table><tr><th>id</th><th>status</th><th>done/failed/total</th><th>endpoint</th></tr>"
                f"{rows}</table><p>{len(self)} batch(es)</p>")

    def __repr__(self) -> str:
        head = "offline fake\n" if self.offline else ""
        return head + "\n".join(f"{b.id}  {b.status}" for b in self) + f"\n{len(self)} batch(es)"


@magics_class
class BatchesMagics(Magics):
    """`%batches SUBCOMMAND ...` — see `%batches help`. Settings: `%config BatchesMagics.<name> = value`."""

    base_url = Unicode("", help="API base URL ('' = OPENAI_BASE_URL or the default)").tag(config=True)
    organization = Unicode("", help="OpenAI-Organization ('' = OPENAI_ORG_ID)").tag(config=True)
    project = Unicode("", help="OpenAI-Project ('' = OPENAI_PROJECT_ID)").tag(config=True)
    poll_interval = Float(5.0, help="seconds between polls of watch/monitor").tag(config=True)
    page_size = Int(25, help="rows per page of the table").tag(config=True)
    fake_speed = Float(60.0, help="simulated seconds per real second of `%batches fake on`").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._client: Any = None
        self._offline: Any = None
        self.recent: list[str] = []

    # -------------------------------------------------------------- entry point

    @line_cell_magic
    def batches(self, line: str = "", cell: str | None = None) -> Any:
        """Run OpenAI Batch API jobs: `%batches help` lists the subcommands."""
        args = parse(line)
        if cell is not None and args.command != "create":
            raise UsageError("%%batches: only `create` takes a cell body")
        from .errors import BatchesError

        try:
            return getattr(self, f"_do_{args.command}")(args, cell)
        except BatchesError as err:
            raise UsageError(str(err)) from None
        except OSError as err:
            raise UsageError(f"{err.strerror or err}: {err.filename}" if err.filename else str(err)) from None

    # -------------------------------------------------------------- client

    @property
    def client(self) -> Any:
        if self._offline is not None:
            return self._offline
        if self._client is None:
            if not os.environ.get("OPENAI_API_KEY"):
                raise UsageError(_NO_KEY)
            from .client import BatchesClient

            self._client = BatchesClient(base_url=self.base_url or None, organization=self.organization or None,
                                         project=self.project or None)
        return self._client

    def _remember(self, *ids: str) -> None:
        for batch_id in ids:
            if batch_id in self.recent:
                self.recent.remove(batch_id)
            self.recent.insert(0, batch_id)
        del self.recent[50:]

    # -------------------------------------------------------------- subcommands

    def _do_help(self, args: Any, cell: Any) -> None:
        print(help_text(args.topic))

    def _do_table(self, args: Any, cell: Any) -> Any:
        from .widgets import BatchTable

        return BatchTable(self.client, page_size=self.page_size, interval=self.poll_interval,
                          namespace=self.shell.user_ns if self.shell else None)

    def _do_list(self, args: Any, cell: Any) -> BatchList:
        client = self.client
        batches = list(client.iter_batches()) if args.all else list(client.list_batches(limit=args.limit))
        if args.status:
            wanted = {s.strip() for s in args.status.split(",") if s.strip()}
            batches = [b for b in batches if b.status in wanted]
        out = BatchList(batches)
        out.offline = bool(getattr(client, "is_offline", False))
        self._remember(*[b.id for b in reversed(out)])
        return out

    def _do_get(self, args: Any, cell: Any) -> Any:
        batch = self.client.retrieve_batch(args.id)
        self._remember(batch.id)
        return batch

    def _do_cancel(self, args: Any, cell: Any) -> Any:
        done = [self.client.cancel_batch(i) for i in args.ids]
        self._remember(*args.ids)
        return done[0] if len(done) == 1 else BatchList(done)

    def _do_watch(self, args: Any, cell: Any) -> Any:
        ids = args.ids or self.recent[:1]
        if not ids:
            raise UsageError("%batches watch: name a batch id (no recent batch in this session)")
        from .widgets import BatchMonitor

        return BatchMonitor(self.client, ids, interval=self.poll_interval,
                            namespace=self.shell.user_ns if self.shell else None)

    def _do_results(self, args: Any, cell: Any) -> Any:
        from .jobs import results

        res = results(self.client, args.id)
        if args.errors:
            res = res.errors
        if args.output:
            res.save(args.output)
        if args.var:
            if not args.var.isidentifier() or self.shell is None:
                raise UsageError(f"%batches results --as: {args.var!r} is not a valid variable name")
            self.shell.user_ns[args.var] = res
        return res

    def _do_retry(self, args: Any, cell: Any) -> Any:
        from .jobs import retry_failed

        job = retry_failed(self.client, args.id)
        self._remember(*job.batch_ids)
        return job

    def _do_create(self, args: Any, cell: Any) -> Any:
        from .jobs import submit
        from .jsonl import build_requests, preflight

        metadata = {}
        for pair in args.meta:
            key, sep, value = pair.partition("=")
            if not sep or not key:
                raise UsageError(f"%batches create --meta: expected KEY=VALUE, got {pair!r}")
            metadata[key] = value
        if args.window != "24h":
            raise UsageError(f"%batches create --window: only '24h' is supported, not {args.window!r}")
        if cell is not None:
            source: Any = _cell_source(cell, args)
        elif args.path:
            if not os.path.exists(args.path):
                raise UsageError(f"%batches create: no such file {args.path!r}")
            source = args.path
        else:
            raise UsageError("%batches create: give a JSONL path, or use %%batches create with prompts in the cell")
        if isinstance(source, list) and source and not isinstance(source[0], dict) or (
            isinstance(source, list) and source and "custom_id" not in source[0]
        ):
            if not args.model:
                raise UsageError("%%batches create: --model is required when the cell holds prompts")
            source = build_requests(source, model=args.model, endpoint=args.endpoint or "/v1/chat/completions",
                                    system=args.system)
        report = preflight(source, args.endpoint)
        report.raise_for_problems(allow_split=True)
        if args.dry_run:
            return _DryRun(report)
        job = submit(self.client, source, endpoint=args.endpoint or report.endpoint, metadata=metadata or None)
        self._remember(*job.batch_ids)
        if args.watch:
            from .widgets import BatchMonitor

            return BatchMonitor(self.client, job, interval=self.poll_interval)
        return self.client.retrieve_batch(job.batch_ids[0]) if len(job.batch_ids) == 1 else job

    def _do_fake(self, args: Any, cell: Any) -> Any:
        if args.action == "on":
            from .client import BatchesClient

            self._offline = BatchesClient.offline(speed=args.speed or self.fake_speed)
            print(f"offline fake on (speed {args.speed or self.fake_speed:g}x): no network, no key needed")
        elif args.action == "off":
            self._offline = None
            print("offline fake off: using the real API")
        elif args.action == "advance":
            if self._offline is None:
                raise UsageError("%batches fake advance: the fake is off (run `%batches fake on`)")
            if args.seconds is None or args.seconds < 0:
                raise UsageError("%batches fake advance: give a number of seconds >= 0")
            self._offline.fake.advance(args.seconds)
            print(f"offline fake: clock advanced {args.seconds:g} s")
        else:
            print(f"offline fake on: {self._offline.fake!r}" if self._offline is not None else "offline fake off")

    def _do_config(self, args: Any, cell: Any) -> None:
        if self._offline is not None:
            print("offline fake: on (settings below apply when it is off)")
        from .config import Settings

        settings = Settings.resolve(base_url=self.base_url or None, organization=self.organization or None,
                                    project=self.project or None)
        for name in ("api_key", "base_url", "organization", "project", "timeout", "max_retries"):
            value = getattr(settings, name, None)
            shown = ("set" if value else "not set") if name == "api_key" else value
            source = settings.sources.get(name, "default")
            if name != "api_key" and getattr(self, name, None) and source == "argument":
                source = "%config"
            print(f"{name:13} {shown!s:40} ({source})")
        for name in ("poll_interval", "page_size", "fake_speed"):
            print(f"{name:13} {getattr(self, name)!s:40} (%config)")


BatchesMagics.batches.__doc__ = "\n\n".join(  # `%batches?`: the whole help, every subcommand's options
    [BatchesMagics.batches.__doc__ or "", help_text()] + [help_text(name) for name in SUBCOMMANDS]
)


class _DryRun:
    def __init__(self, report: Any) -> None:
        self.report = report

    def __repr__(self) -> str:
        r = self.report
        split = "yes (several batches)" if r.needs_split else "no"
        return (f"dry run: {r.lines:,} lines, {r.bytes:,} bytes, endpoint {r.endpoint}, model {r.model}, "
                f"split: {split}; nothing created")


def _cell_source(cell: str, args: Any) -> list[Any]:
    import json

    rows = [line for line in cell.splitlines() if line.strip()]
    if not rows:
        raise UsageError("%%batches create: the cell is empty (one prompt per line, or JSONL request lines)")
    parsed: list[Any] = []
    for row in rows:
        try:
            value = json.loads(row)
        except ValueError:
            return [r.strip() for r in rows]
        if not isinstance(value, dict):
            return [r.strip() for r in rows]
        parsed.append(value)
    return parsed


def _complete(self: Any, event: Any) -> list[str]:
    words = event.line.split()
    if len(words) <= 1 or (len(words) == 2 and not event.line.endswith(" ")):
        return SUBCOMMANDS
    magics = _INSTANCES[-1] if _INSTANCES else None
    return list(magics.recent) if magics else []


_INSTANCES: list[BatchesMagics] = []


def load_ipython_extension(ipython: Any) -> None:
    if any(m.shell is ipython for m in _INSTANCES):
        return
    magics = BatchesMagics(ipython)
    _INSTANCES.append(magics)
    ipython.register_magics(magics)
    ipython.set_hook("complete_command", _complete, str_key="%batches")


def unload_ipython_extension(ipython: Any) -> None:
    import sys

    widgets = sys.modules.get("batches_ext.widgets")
    if widgets is not None:
        widgets.close_all()
    for magics in [m for m in _INSTANCES if m.shell is ipython]:
        _INSTANCES.remove(magics)
        ipython.magics_manager.registry.pop("BatchesMagics", None)
        for kind in ("line", "cell"):
            ipython.magics_manager.magics[kind].pop("batches", None)
