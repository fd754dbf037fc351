"""Tab completion of `%batches` as a frontend asks for it (`Completer.completions`): subcommands first, the
subcommand's options after `--` (read from its argparse parser), statuses, choices, recent ids and files."""

from __future__ import annotations

import re

from .conftest import magics


def completions(sh, text: str) -> list[str]:
    """What a frontend (terminal IPython, ipykernel) offers at the end of `text`, in its order."""
    from IPython.core.completer import provisionalcompleter

    with provisionalcompleter():
        return [c.text for c in sh.Completer.completions(text, len(text))]


def test_completion_subcommands_actions_statuses_and_recent_ids(shell) -> None:
    sh, fake = shell
    seeded = fake.seed_batch("completed")
    sh.run_line_magic("batches", f"get {seeded['id']}")
    assert completions(sh, "%batches ") == ["table", "list", "create", "jobs", "get", "cancel", "watch", "results",
                                            "download", "retry", "fake", "config", "help"]  # no `and / if / in`
    assert completions(sh, "%batches re") == ["results", "retry"]
    assert completions(sh, "res = %batches res") == ["results"]
    assert completions(sh, "%batches fake ") == ["on", "off", "status", "advance"]
    assert completions(sh, "%batches get ") == [seeded["id"]]
    assert completions(sh, "%batches results ") == [seeded["id"]]
    assert "in_progress" in completions(sh, "%batches list --status ")
    assert completions(sh, "%batches create --window ") == ["24h"]
    sh.run_line_magic("unload_ext", "batches_ext")
    try:
        assert "results" not in completions(sh, "%batches re")
    finally:
        sh.run_line_magic("load_ext", "batches_ext")


def test_double_dash_completes_the_subcommand_s_options_from_its_parser(shell) -> None:
    sh, _ = shell
    from batches_ext.magics.parser import help_text

    create = completions(sh, "%batches create --")
    assert create[:4] == ["--endpoint", "--model", "--system", "--window"] and "abs" not in create
    declared = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", help_text("create")))  # what `-h` prints
    assert set(create) == declared  # read from the parser: cannot drift
    assert completions(sh, "%batches create --dry-run --w") == ["--window", "--watch"]
    assert completions(sh, "%batches create --watch --w") == ["--window"]  # an option already given is not offered
    assert completions(sh, "%batches watch --") == ["--text", "--widget", "--help"]
    assert completions(sh, "%batches fake on --") == ["--speed", "--manual", "--help"]
    assert completions(sh, "%batches list --") == ["--limit", "--status", "--all", "--help"]


def test_create_completes_jsonl_files_and_folders(shell, tmp_path, monkeypatch) -> None:
    sh, _ = shell
    (tmp_path / "prompts.jsonl").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    assert completions(sh, "%batches create ") == ["data/", "prompts.jsonl"]
    assert completions(sh, "%batches create p") == ["prompts.jsonl"]


def test_ids_of_a_discarded_fake_are_not_offered(shell) -> None:
    sh, fake = shell
    old = fake.seed_batch("completed")["id"]
    sh.run_line_magic("batches", f"get {old}")
    assert completions(sh, "%batches get ") == [old]
    sh.run_line_magic("batches", "fake on --manual")
    assert old not in completions(sh, "%batches get ")
    assert magics(sh).session.recent == []


def test_from_completes_the_notebook_s_sources_and_job_commands_offer_recent_jobs(shell) -> None:
    sh, _ = shell
    sh.user_ns.update(prompts=["a", "b"], rows=[{"q": "x"}], number=3, _hidden=["x"])
    assert completions(sh, "%batches create --from ") == ["prompts", "rows"]
    job = sh.run_cell_magic("batches", "create --model gpt-4o-mini --batch-size 1", "a\nb")
    assert job.id in completions(sh, "%batches watch ") and job.id in completions(sh, "%batches retry ")
    assert job.id not in completions(sh, "%batches get ")


def test_no_python_names_where_an_argument_goes(shell) -> None:
    """`--` before a subcommand, a comma list of statuses, columns of the --from frame, models: never builtins,
    modules or keywords, and never a file name after an option that takes a value."""
    import pandas as pd

    sh, _ = shell
    sh.user_ns["frame"] = pd.DataFrame({"prompt": ["a"], "key": ["k"]})
    assert completions(sh, "%batches --") == ["--help"]
    assert completions(sh, "%batches list --status completed,fa") == ["completed,failed"]
    after = completions(sh, "%batches list --status completed,")
    assert "completed,in_progress" in after and "completed,completed" not in after and "abs" not in after
    assert completions(sh, "%batches create --from frame --column ") == ["prompt", "key", "index"]
    assert completions(sh, "%batches create --from frame --id-column k") == ["key"]
    models = completions(sh, "%batches create x.jsonl --model gpt-4o")
    assert "gpt-4o-mini" in models and all(m.startswith("gpt-4o") for m in models)
    assert not any(c.endswith("/") for c in completions(sh, "%batches create --batch-size "))
