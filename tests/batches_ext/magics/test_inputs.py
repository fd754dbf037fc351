"""`%batches create --from VAR`: the prompts of a DataFrame column (custom_ids from another column or the index),
a Series or a list (of dicts with --column), read as values — never as the printed DataFrame a `{df}` in a cell
would give; every mistake one line naming what the variable holds."""

from __future__ import annotations

import json

import pytest

from .conftest import run

pd = pytest.importorskip("pandas")


def sent(fake, batch) -> list[dict]:
    return [json.loads(line) for line in fake.file_content(batch.input_file_id).splitlines()]


def test_a_dataframe_column_with_its_ids(shell) -> None:
    sh, fake = shell
    sh.user_ns["df"] = pd.DataFrame({"id": ["a1", "b2"], "prompt": ["Name a colour.", "Name a fruit."],
                                     "other": [1, 2]})
    result, text, _ = run(sh, "%batches create --from df --column prompt --id-column id --model gpt-4o-mini "
                              "--system 'One word.'")
    assert result.success, text
    lines = sent(fake, result.result)
    assert [x["custom_id"] for x in lines] == ["a1", "b2"]
    assert lines[1]["body"]["messages"] == [{"role": "system", "content": "One word."},
                                            {"role": "user", "content": "Name a fruit."}]
    result, _, _ = run(sh, "%batches create --from df --column prompt --id-column index --model gpt-4o-mini")
    assert [x["custom_id"] for x in sent(fake, result.result)] == ["0", "1"]


def test_an_int_id_column_with_a_gap_elsewhere_keeps_its_ids_as_ints(shell) -> None:
    sh, fake = shell
    sh.user_ns["df"] = pd.DataFrame({"id": [1, 2, None], "prompt": ["a", "b", "c"]}).iloc[:2]  # float64 ids
    got = sh.run_line_magic("batches", "create --from df --column prompt --id-column id --model gpt-4o-mini")
    assert [x["custom_id"] for x in sent(fake, got)] == ["1", "2"]


def test_a_series_a_list_and_a_list_of_records(shell) -> None:
    sh, fake = shell
    sh.user_ns.update(s=pd.Series(["x", "y"], index=["k1", "k2"]), prompts=["p", "q", "r"],
                      rows=[{"q": "first", "key": "r1"}, {"q": "second", "key": "r2"}])
    got = sh.run_line_magic("batches", "create --from s --id-column index --model gpt-4o-mini")
    assert [x["custom_id"] for x in sent(fake, got)] == ["k1", "k2"]
    got = sh.run_line_magic("batches", "create --from prompts --model gpt-4o-mini --dry-run")
    assert got.lines == 3
    got = sh.run_line_magic("batches", "create --from rows --column q --id-column key --model gpt-4o-mini")
    lines = sent(fake, got)
    assert [(x["custom_id"], x["body"]["messages"][0]["content"]) for x in lines] == [("r1", "first"),
                                                                                      ("r2", "second")]


@pytest.mark.parametrize("cell, needle", [
    ("%batches create --from nope --model m", "no variable 'nope' in this notebook"),
    ("%batches create --from df --model m", "say which column holds the prompts with --column (it has id, prompt)"),
    ("%batches create --from df --column text --model m", "no column 'text' (it has id, prompt)"),
    ("%batches create --from df --column prompt --id-column key --model m", "no column 'key' for --id-column"),
    ("%batches create --from df --column prompt", "--model is required for prompts"),
    ("%batches create --from number --model m", "it holds a int; expected a pandas DataFrame, a Series, or a list"),
    ("%batches create --from empty --model m", "it is empty"),
    ("%batches create --from prompts --column q --model m", "--column and --id-column need a list of dicts"),
    ("%batches create in.jsonl --column prompt", "--column and --id-column go with --from VAR"),
    ("%batches create --from df --column prompt --id-column id --model m x.jsonl", "drop the path 'x.jsonl'"),
    ("%batches create --from dup --column prompt --id-column id --model m", "duplicate custom_id 'a'"),
    ("%batches create --from holes --column prompt --id-column id --model m", "item 2: missing id"),
    ("%batches create --from rows --column q --id-column key --model m", "item 1: missing id"),
])
def test_mistakes_are_one_line(shell, cell: str, needle: str) -> None:
    sh, fake = shell
    sh.user_ns.update(df=pd.DataFrame({"id": ["a", "b"], "prompt": ["x", "y"]}), number=3, empty=[],
                      prompts=["p"], dup=pd.DataFrame({"id": ["a", "a"], "prompt": ["x", "y"]}),
                      holes=pd.DataFrame({"id": [1, None], "prompt": ["x", "y"]}),
                      rows=[{"q": "x", "key": None}])
    result, text, _ = run(sh, cell)
    assert not result.success and "Traceback" not in text and needle in text, text
    assert fake.batches() == []
