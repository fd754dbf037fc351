"""build_requests: prompts, message lists, bodies, full lines and pandas columns become request lines with stable
custom_ids; mistakes name the item.
"""

from __future__ import annotations

import pytest

from batches_ext.errors import InputError
from batches_ext.jsonl import (
    build_requests,
)

from .samples import line


def test_prompts_become_chat_requests_with_stable_ids_system_and_defaults() -> None:
    lines = build_requests(["Hi", "Bye"], model="gpt-4o-mini", system="Be brief.", temperature=0)
    assert [x["custom_id"] for x in lines] == ["request-1", "request-2"]
    assert lines[0] == {
        "custom_id": "request-1",
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "gpt-4o-mini",
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            "temperature": 0,
        },
    }
    assert build_requests(["Hi", "Bye"], model="m") == build_requests(["Hi", "Bye"], model="m")


@pytest.mark.parametrize(
    ("endpoint", "body"),
    [
        ("/v1/embeddings", {"model": "m", "input": "text"}),
        ("/v1/responses", {"model": "m", "input": "text"}),
        ("/v1/completions", {"model": "m", "prompt": "text"}),
    ],
)
def test_prompt_shape_follows_the_endpoint(endpoint: str, body: dict) -> None:
    [req] = build_requests(["text"], model="m", endpoint=endpoint)
    assert req["url"] == endpoint and req["body"] == body


def test_moderations_need_no_model_and_responses_take_system_as_instructions() -> None:
    assert build_requests(["x"], endpoint="/v1/moderations")[0]["body"] == {"input": "x"}
    body = build_requests(["x"], model="m", endpoint="/v1/responses", system="S")[0]["body"]
    assert body == {"model": "m", "instructions": "S", "input": "x"}


def test_message_lists_bodies_and_full_lines() -> None:
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"}]
    full = line("mine", model="m")
    reqs = build_requests([messages, {"messages": messages, "max_tokens": 5}, full], model="m", id_prefix="q")
    assert reqs[0]["body"] == {"model": "m", "messages": messages}
    assert reqs[1]["body"] == {"model": "m", "messages": messages, "max_tokens": 5}
    assert reqs[1]["custom_id"] == "q2"
    assert reqs[2] == full  # a complete request line is kept as is


def test_a_body_keeps_its_own_model_and_keys_over_defaults() -> None:
    [req] = build_requests([{"model": "other", "messages": [], "temperature": 1}], model="m", temperature=0)
    assert req["body"] == {"model": "other", "messages": [], "temperature": 1}


def test_pandas_series_and_dataframe_column_with_index_ids() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"prompt": ["a", "b"]}, index=["x7", "y9"])
    by_index = build_requests(df["prompt"], model="m", ids="index")
    assert [r["custom_id"] for r in by_index] == ["x7", "y9"]
    assert by_index[1]["body"]["messages"][-1]["content"] == "b"
    assert [r["custom_id"] for r in build_requests(df, model="m")] == ["request-1", "request-2"]
    with pytest.raises(InputError, match="one column"):
        build_requests(pd.DataFrame({"a": [1], "b": [2]}), model="m")


def test_build_errors_name_the_item() -> None:
    with pytest.raises(InputError, match="item 2: no model"):
        build_requests([{"model": "m", "messages": []}, {"messages": []}])
    with pytest.raises(InputError, match="item 2: expected a prompt.*missing value"):
        build_requests(["a", None], model="m")
    with pytest.raises(InputError, match="duplicate custom_id 'a'") as info:
        build_requests(["x", "y"], model="m", ids=["a", "a"])
    assert info.value.line == 2
    with pytest.raises(InputError, match="unsupported endpoint"):
        build_requests(["x"], model="m", endpoint="/v1/nope")


def test_a_missing_id_is_refused_naming_the_item_and_whole_floats_read_as_ints() -> None:
    """A None or NaN id used to become the custom_id "None" / "nan"; an int column with a NaN gave "1.0"."""
    with pytest.raises(InputError, match="item 1: missing id") as info:
        build_requests(["x", "y"], model="m", ids=[None, "b"])
    assert info.value.line == 1
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    with pytest.raises(InputError, match="item 1: missing id"):
        build_requests(["x", "y"], model="m", ids=pd.Series([None, "b"]))
    with pytest.raises(InputError, match="item 2: missing id"):
        build_requests(["x", "y"], model="m", ids=pd.Series([1, np.nan]))
    with pytest.raises(InputError, match="item 2: missing id"):
        build_requests(["x", "y"], model="m", ids=pd.Series([1, None], dtype="Int64"))
    assert [r["custom_id"] for r in build_requests(["x", "y"], model="m", ids=pd.Series([1.0, 2.5]))] == ["1", "2.5"]
    assert [r["custom_id"] for r in build_requests(["x"], model="m", ids=[np.int64(7)])] == ["7"]


def test_a_misspelt_option_is_suggested_once() -> None:
    with pytest.raises(InputError) as caught:
        build_requests(["a"], model="gpt-4o-mini", respone_format={"type": "json_object"})
    hint = str(caught.value).split("(did you mean ", 1)[1].split("?)", 1)[0]
    names = hint.split(" or ")
    assert names[0] == "response_format=" and len(set(names)) == len(names), hint


def test_an_unknown_keyword_is_refused_naming_the_valid_ones() -> None:
    """`custom_ids=` (a typo for `ids=`) used to go into every body; now it is refused before anything is built."""
    with pytest.raises(InputError) as caught:
        build_requests(["a", "b"], model="gpt-4o-mini", custom_ids=["x", "y"])
    text = str(caught.value)
    assert "unknown argument custom_ids= (did you mean ids=?)" in text
    assert "ids=" in text and "max_completion_tokens" in text and "temperature" in text
    with pytest.raises(InputError, match="did you mean temperature="):
        build_requests(["a"], model="gpt-4o-mini", temprature=0)
    with pytest.raises(InputError, match="body parameters of /v1/embeddings: dimensions, encoding_format"):
        build_requests(["a"], model="text-embedding-3-small", endpoint="/v1/embeddings", max_tokens=5)
    assert build_requests(["a"], model="gpt-4o-mini", max_completion_tokens=5)[0]["body"]["max_completion_tokens"] == 5
