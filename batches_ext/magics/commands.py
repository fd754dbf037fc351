"""The `%batches` / `%%batches` magics: parse, call the core, return values that render themselves.

No HTTP here: everything goes through `BatchesClient` (held by `MagicSession`) and the job helpers.
User mistakes and API errors become one-line `UsageError`s (the cell fails, no traceback). The API
key is read from `OPENAI_API_KEY` when the client is built; it is never a trait, printed or stored.

Display: a subcommand returns its value (Batch, BatchList, Results, Job, DryRun, SettingsView, or a
widget for `table` / `watch`) and displays nothing itself, so `b = %batches get ID` shows nothing and
`%batches get ID` shows the value once. The one exception is `create --watch`, which displays a
monitor and returns the Batch. Values from the offline fake carry the "offline fake" marker themselves.

Notebook or terminal: `watch` (and `create --watch`) show the live monitor widget when the shell has a kernel
with a frontend (ipykernel's shell: JupyterLab, Notebook, VS Code, Colab), and otherwise (terminal IPython, a
plain InteractiveShell) block with a text progress bar until every batch is terminal, returning the final
batches; `--widget` / `--text` force either. Error messages advise the magic to run (`%batches watch ID`),
never a Python call.
"""

from __future__ import annotations

import keyword
import os
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from traitlets import Dict, Float, Int, TraitError, Unicode, Union, validate

from ..spec import LIST_BATCHES_MAX
from .feedback import magic_message, shown_warnings
from .inputs import job_options, requests_from_cell, requests_from_variable
from .parser import HelpShown, full_help, help_text, parse, split_meta
from .session import MagicSession, clock_words
from .views import BatchList, DryRun, SettingsView

if TYPE_CHECKING:
    from ..client import BatchesAPI
    from ..jobs import Job

__all__ = ["BatchesMagics"]

_SCAN_LIMIT = 1000  # most batches `list --status` examines without --all


@magics_class
class BatchesMagics(Magics):
    """`%batches SUBCOMMAND ...`; settings: `%config BatchesMagics.<name> = value` (never the API key)."""

    base_url = Unicode("", help="API base URL ('' = OPENAI_BASE_URL, else https://api.openai.com/v1)").tag(config=True)
    organization = Unicode("", help="OpenAI-Organization header ('' = OPENAI_ORG_ID)").tag(config=True)
    project = Unicode("", help="OpenAI-Project header ('' = OPENAI_PROJECT_ID)").tag(config=True)
    timeout = Float(60.0, help="read timeout of one API call, seconds").tag(config=True)
    max_retries = Int(2, help="retries of a failed API call (429, 5xx, connection errors)").tag(config=True)
    poll_interval = Float(5.0, help="seconds between refreshes of the table and monitor widgets").tag(config=True)
    page_size = Int(25, help="rows per page of the table; default --limit of `list`").tag(config=True)
    fake_speed = Float(None, allow_none=True,
                       help="simulated seconds per real second of `%batches fake on` (None: the fake's default)"
                       ).tag(config=True)
    max_enqueued_tokens = Union([Int(), Dict()], default_value=None, allow_none=True,
                                help="the token budget of a job's enqueued batches: a number, or per model "
                                "({'gpt-4o-mini': 1_800_000}); None: no budget (a batch the API refuses for its "
                                "quota is created again later)").tag(config=True)

    @validate("max_enqueued_tokens")
    def _budget(self, proposal: Any) -> Any:
        value = proposal.value
        numbers = list(value.values()) if isinstance(value, dict) else [value]
        if value is not None and not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in numbers):
            raise TraitError(f"BatchesMagics.max_enqueued_tokens must be a positive number of tokens (or a dict of "
                             f"model -> tokens), got {value!r}")
        return value

    @validate("timeout", "poll_interval")
    def _positive(self, proposal: Any) -> float:
        if not proposal.value > 0:
            raise TraitError(f"BatchesMagics.{proposal.trait.name} must be > 0, got {proposal.value!r}")
        return proposal.value

    @validate("fake_speed")
    def _speed(self, proposal: Any) -> float | None:
        if proposal.value is not None and not proposal.value > 0:
            raise TraitError(f"BatchesMagics.fake_speed must be > 0, got {proposal.value!r}")
        return proposal.value

    @validate("page_size", "max_retries")
    def _counts(self, proposal: Any) -> int:
        low = 1 if proposal.trait.name == "page_size" else 0
        if proposal.value < low:
            raise TraitError(f"BatchesMagics.{proposal.trait.name} must be >= {low}, got {proposal.value!r}")
        return proposal.value

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.session = MagicSession(self)

    # -------------------------------------------------------------- entry point

    @line_cell_magic
    def batches(self, line: str = "", cell: str | None = None) -> Any:
        try:
            args = parse(line)
        except HelpShown:
            return None
        if cell is not None and args.command != "create":
            raise UsageError(f"%%batches {args.command}: only `create` takes a cell body (use %batches {line})")
        from ..errors import BatchesError

        try:
            with shown_warnings(args.command):  # a BatchesWarning is one line, never a path and a source line
                return getattr(self, f"_do_{args.command}")(args, cell)
        except HelpShown:
            return None
        except BatchesError as err:
            raise UsageError(f"%batches {args.command}: {magic_message(err, args)}") from None
        except KeyboardInterrupt:
            if args.command != "watch" and not getattr(args, "watch", False):
                raise
            raise UsageError(f"%batches {args.command}: stopped watching (Ctrl-C); the batches keep running: "
                             f"`%batches watch` follows the latest again") from None
        except OSError as err:
            where = f": {err.filename}" if getattr(err, "filename", None) else ""
            raise UsageError(f"%batches {args.command}: {err.strerror or err}{where}") from None

    batches.__doc__ = ("Run OpenAI Batch API jobs from a notebook: `%batches help` lists the subcommands, "
                       "`%batches help CMD` shows one's options.")
    # `%batches?` shows the whole help, every subcommand's options: IPython asks an object's `getdoc()` first,
    # so the help is built when asked for, not at `%load_ext` (building it takes argparse milliseconds).
    setattr(batches, "getdoc", full_help)  # noqa: B010

    @property
    def _namespace(self) -> Any:
        return self.shell.user_ns if self.shell is not None else None

    # -------------------------------------------------------------- subcommands

    def _do_help(self, args: Any, cell: Any) -> None:
        print(help_text(args.topic))

    def _do_table(self, args: Any, cell: Any) -> Any:
        client = self.session.client()
        from ..widgets import BatchTable

        return self.session.track(BatchTable(client, page_size=self.page_size, interval=self.poll_interval,
                                             namespace=self._namespace))

    def _do_list(self, args: Any, cell: Any) -> BatchList:
        from ..client import fetch_page

        client = self.session.client()
        wanted = set(args.status or ())
        limit = args.limit or min(self.page_size, LIST_BATCHES_MAX)
        note = f"status {', '.join(args.status)}" if wanted else ""
        if args.all:
            found = [b for b in client.iter_batches(page_size=LIST_BATCHES_MAX) if not wanted or b.status in wanted]
        else:
            page = fetch_page(client, None, limit, wanted, scan_limit=_SCAN_LIMIT)
            found = page.rows
            if page.truncated:
                note += f"; scanned the newest {page.scanned:,} (use --all for every batch)"
        self.session.remember(*reversed(found))
        return BatchList(found, offline=self.session.offline, note=note)

    def _do_get(self, args: Any, cell: Any) -> Any:
        batch = self.session.client().retrieve_batch(args.id)
        self.session.follow(batch)
        return batch

    def _do_cancel(self, args: Any, cell: Any) -> Any:
        from ..errors import BatchesError
        from ..render import plural

        client = self.session.client()
        done, failed = [], []
        last: Any = None  # the last batch or job cancelled: what a bare `watch` follows next
        for batch_id in dict.fromkeys(args.ids):
            try:
                if batch_id.startswith("job_"):
                    job = self._resolve(batch_id)
                    done.extend(job.cancel(client))
                    last = job
                    withdrawn = sum(1 for p in job.parts if p.state == "withdrawn")
                    if withdrawn:
                        print(f"{job.id}: {plural(withdrawn, 'part')} not created yet withdrawn")
                else:
                    done.append(client.cancel_batch(batch_id))
                    last = done[-1]
            except BatchesError as err:
                failed.append(f"{batch_id}: {err}")
        self.session.remember(*done)
        if last is not None:
            self.session.follow(last)
        if failed:
            ok = f"cancelling {', '.join(b.id for b in done)}; " if done else ""
            raise UsageError(f"%batches cancel: {ok}could not cancel {'; '.join(failed)}")
        return done[0] if len(done) == 1 and len(args.ids) == 1 and not args.ids[0].startswith("job_") \
            else BatchList(done, offline=self.session.offline)

    def _do_watch(self, args: Any, cell: Any) -> Any:
        ids: list[str] = []
        named: Any = None
        for given in args.ids:
            target = self._resolve(given)
            named = target
            ids.extend(target.batch_ids if hasattr(target, "batch_ids") else [target])
        if not args.ids:
            latest = self.session.latest()
            if latest is None:
                where = "this offline fake" if self.session.offline else "the real API"
                raise UsageError(f"%batches watch: name a batch id (this session has seen no batch on {where} yet; "
                                 f"ids are remembered per backend)")
            if latest[0].startswith("job_"):
                named = self._resolve(latest[0])
            ids = latest[1]
        elif len(args.ids) == 1:
            self.session.follow(named)
        job = named if len(args.ids) <= 1 and getattr(named, "parts", None) else None
        if self._text_view(args.view):
            return self._watch_text(job if job is not None else ids)
        return self._monitor(job if job is not None else ids)

    def _text_view(self, forced: str | None) -> bool:
        """True for the blocking text progress bar: forced by --text / --widget, else when no frontend can show
        a widget, i.e. the shell has no kernel (terminal IPython; ipykernel's shell has a `kernel`)."""
        if forced is not None:
            return forced == "text"
        return getattr(self.shell, "kernel", None) is None

    def _watch_text(self, target: Any) -> Any:
        """Block with a text progress bar until every batch is terminal (a job: until every part is over, creating
        its pending parts as they are due); the final Batch (a BatchList for several). Waits through the client,
        so on a manual-clock fake it moves the fake's clock."""
        from ..jobs import wait

        client = self.session.client()
        final = wait(client, target, poll_interval=self.poll_interval, progress=True)
        batches = final if isinstance(final, list) else [final]
        self.session.remember(*batches)
        single = isinstance(target, list) and len(target) == 1
        return batches[0] if single else BatchList(batches, offline=self.session.offline)

    def _do_results(self, args: Any, cell: Any) -> Any:
        if args.var is not None and (not args.var.isidentifier() or keyword.iskeyword(args.var)):
            raise UsageError(f"%batches results --as: {args.var!r} is not a valid variable name")
        client = self.session.client()
        from ..jobs import results

        target = self._resolve(args.id)
        res = results(client, target)
        self.session.follow(target)
        self.session.remember(*res.batches)
        if args.errors:
            res = res.errors
        if args.output:
            out = os.path.expanduser(args.output)
            folder = os.path.dirname(out) or "."
            try:
                os.makedirs(folder, exist_ok=True)  # like `download -o DIR`
            except (FileExistsError, NotADirectoryError):
                raise UsageError(f"%batches results -o: not a folder: {folder}") from None
            try:
                saved = res.save(out)
            except ValueError as err:
                raise UsageError(f"%batches results -o: {err}") from None
            if hasattr(target, "record_results"):
                target.record_results(str(saved))
        if args.var and self.shell is not None:
            self.shell.user_ns[args.var] = res
        return res

    def _do_download(self, args: Any, cell: Any) -> list[str]:
        from pathlib import Path

        from ..client import save_batch_files

        folder = Path(args.output).expanduser()
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"%batches download -o: {args.output!r} is not a directory")
        client = self.session.client()
        if args.id.startswith("file-"):
            folder.mkdir(parents=True, exist_ok=True)
            return [str(client.save_file(args.id, folder))]
        batch = client.retrieve_batch(args.id)
        self.session.remember(batch)
        saved = save_batch_files(client, batch, folder)
        if not saved:
            hint = "" if batch.is_terminal else f"; `%batches watch {batch.id}` follows it to the end"
            raise UsageError(f"%batches download: {batch.id} has no output or error file yet (status {batch.status})"
                             f"{hint}")
        return [str(path) for path in saved.values()]

    def _do_retry(self, args: Any, cell: Any) -> Any:
        client = self.session.client()
        from ..jobs import retry_failed

        options = {k: v for k, v in job_options(args, self.max_enqueued_tokens).items() if v is not None}
        job = retry_failed(client, self._resolve(args.id), again=args.again, **options)
        return self._submitted(client, job)

    def _do_jobs(self, args: Any, cell: Any) -> Any:
        from ..jobs import jobs

        try:
            client = self.session.client()  # the jobs of a fake other than the one in use are shown as gone
        except UsageError:
            if args.remote:
                raise
            client = None
        listed = jobs(client, remote=args.remote, limit=args.limit, refresh=client is not None)
        self.session.remember_jobs(*[j.id for j in listed if not j.gone][:20])
        return listed

    def _do_create(self, args: Any, cell: Any) -> Any:
        metadata, path = split_meta(args.meta, args.path, cell=cell is not None)
        if args.source_var is not None:
            if cell is not None or path:
                raise UsageError("%batches create --from: the prompts come from the variable; drop the "
                                 + ("cell body" if cell is not None else f"path {path!r}"))
            source: Any = requests_from_variable(self._namespace, args)
        elif args.column is not None or args.id_column is not None:
            raise UsageError("%batches create: --column and --id-column go with --from VAR")
        elif cell is not None:
            if path:
                raise UsageError(f"%%batches create: the cell holds the requests; drop {path!r} from the line")
            source = requests_from_cell(cell, args)
        else:
            if not path:
                raise UsageError("%batches create: give a JSONL path, or use %%batches create --model M "
                                 "with one prompt per line in the cell")
            path = os.path.expanduser(path)
            if os.path.isdir(path):
                raise UsageError(f"%batches create: {path!r} is a folder; give the JSONL file in it")
            if not os.path.isfile(path):
                raise UsageError(f"%batches create: no such file {path!r} (cwd {os.getcwd()})")
            if args.system:
                raise UsageError("%batches create: --system applies to prompts in a %%batches cell, not to a file")
            source = path
        options = job_options(args, self.max_enqueued_tokens)
        if args.dry_run:
            from ..jobs import plan_job

            plan = plan_job(source, endpoint=args.endpoint, offline=self.session.offline,
                            batch_size=options["batch_size"], max_enqueued_tokens=options["max_enqueued_tokens"])
            return DryRun(plan.report, offline=self.session.offline, plan=plan.parts, estimate=plan.estimate)
        client = self.session.client()
        from ..jobs import submit

        model = args.model if cell is None and args.source_var is None else None
        with shown_warnings("create"):
            job = submit(client, source, endpoint=args.endpoint, model=model, metadata=metadata or None,
                         completion_window=args.window, **options)
        value = self._submitted(client, job)
        if args.watch:
            if self._text_view(None):
                return self._watch_text(job.batch_ids if len(job.parts) == 1 else job)
            from IPython.display import display

            display(self._monitor(job.batch_ids if len(job.parts) == 1 else job))
        return value

    def _do_fake(self, args: Any, cell: Any) -> None:
        session = self.session
        if args.action == "on":
            speed = args.speed or self.fake_speed
            client = session.fake_on(speed=speed, manual=args.manual)
            print(f"offline fake on ({clock_words(client.fake.clock)}): no network, no key needed, nothing is billed. "
                  "`%batches fake off` returns to the real API.")
        elif args.action == "off":
            was = session.fake_off()
            print("offline fake off: using the real API" if was else "offline fake was already off")
        elif args.action == "advance":
            session.advance(args.seconds)
            print(f"offline fake: clock advanced {args.seconds:g} s")
        else:
            print(session.fake_status())

    def _do_config(self, args: Any, cell: Any) -> SettingsView:
        return SettingsView(self.session.settings_rows(), offline=self.session.offline)

    # -------------------------------------------------------------- helpers

    def _resolve(self, target: str) -> Any:
        """A batch id, or the Job behind a `job_...` id: from the journal (any kernel's), else rebuilt from the
        batches' metadata on the server. A job of an offline fake that is gone says so."""
        if target.startswith("job_"):
            from ..jobs import Job

            client = self.session.client()
            job = Job.load(target, client)
            job.check_client(client)
            return job
        return target

    def _monitor(self, ids: Any) -> Any:
        """The live monitor of batch ids, or of a Job (which it advances as it refreshes). It returns at once and
        loads on its worker, like every view: a silent server never blocks the cell, and an id the server does not
        know shows as "not found" in its row."""
        client = self.session.client()
        if isinstance(ids, list):
            self.session.remember(*[i for i in ids if isinstance(i, str)])
        from ..widgets import BatchMonitor

        try:
            monitor = BatchMonitor(client, ids, interval=self.poll_interval, namespace=self._namespace)
        except (TypeError, ValueError) as err:
            raise UsageError(f"%batches watch: {err}") from None
        return self.session.track(monitor)

    def _submitted(self, client: BatchesAPI, job: Job) -> Any:
        """The Batch of a one-part job (fetched fresh), else the Job; either way it becomes the latest."""
        self.session.follow(job)
        if len(job.parts) == 1 and len(job.batch_ids) == 1:
            batch = client.retrieve_batch(job.batch_ids[0])
            self.session.follow(batch)
            return batch
        return job
