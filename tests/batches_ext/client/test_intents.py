"""Intents: the tag a create carries, the unique upload name, and how far the lookup after a lost answer scans."""

from __future__ import annotations

import json
import re
import uuid

import pytest
import requests

from batches_ext.client.intents import LOOKUP_PAGES, SKEW, tagged_filename, with_intent
from batches_ext.errors import APIResponseError, InputError
from batches_ext.spec import INTENT_KEY

from ..conftest import batch_payload


def test_upload_names_keep_their_stem_and_suffix():
    assert re.fullmatch(r"prompts\.[0-9a-f]{8}\.jsonl", tagged_filename("prompts.jsonl"))
    assert re.fullmatch(r"a\.b\.[0-9a-f]{8}\.JSONL", tagged_filename("a.b.JSONL"))
    assert re.fullmatch(r"notes\.[0-9a-f]{8}\.txt", tagged_filename("notes.txt"))
    assert re.fullmatch(r"input\.[0-9a-f]{8}\.jsonl", tagged_filename(".jsonl"))
    assert len({tagged_filename("x.jsonl") for _ in range(100)}) == 100


def test_the_intent_is_one_of_the_sixteen_pairs():
    assert with_intent(None, "t") == {INTENT_KEY: "t"}
    assert with_intent({INTENT_KEY: "copied from another batch", "a": "b"}, "t") == {"a": "b", INTENT_KEY: "t"}
    assert len(with_intent({f"k{i}": "v" for i in range(15)}, "t")) == 16
    with pytest.raises(InputError, match="at most 15 pairs"):
        with_intent({f"k{i}": "v" for i in range(16)}, "t")


def _page(items, has_more=True):
    return {"object": "list", "data": items, "has_more": has_more,
            "first_id": items[0]["id"] if items else None, "last_id": items[-1]["id"] if items else None}


def test_the_lookup_pages_back_until_it_finds_the_intent(scripted, adapter, monkeypatch):
    """Another writer made 150 batches since: the one carrying our intent is on the second page."""
    monkeypatch.setattr("batches_ext.client.intents.uuid.uuid4", lambda: uuid.UUID(int=7))
    adapter.queue_error(requests.ConnectionError("reset"))  # the create's answer is lost
    now = int(scripted.now())
    others = [batch_payload(f"batch_o{i}", metadata={"who": "other"}, created_at=now) for i in range(150)]
    ours = batch_payload("batch_ours", metadata={INTENT_KEY: uuid.UUID(int=7).hex}, created_at=now)
    adapter.queue(200, _page(others[:100])).queue(200, _page(others[100:] + [ours], has_more=False))
    found = scripted.create_batch("file-in")
    assert found.id == "batch_ours" and [s.method for s in adapter.seen] == ["POST", "GET", "GET"]
    assert json.loads(adapter.seen[0].body)["metadata"][INTENT_KEY] == uuid.UUID(int=7).hex
    assert "limit=100" in adapter.seen[1].url and "after=batch_o99" in adapter.seen[2].url


def test_the_lookup_stops_at_objects_older_than_the_call_and_then_creates_again(scripted, adapter):
    old = batch_payload("batch_old", created_at=int(scripted.now() - SKEW - 60))
    adapter.queue(503, b"")  # the create may or may not have been made
    adapter.queue(200, _page([old]))  # has_more, but older than the call: no need to read further
    adapter.queue(200, batch_payload("batch_new"))
    assert scripted.create_batch("file-in").id == "batch_new"
    assert [s.method for s in adapter.seen] == ["POST", "GET", "POST"]


def test_the_lookup_reads_at_most_a_few_pages(scripted, adapter):
    adapter.queue(500, b"")
    for i in range(LOOKUP_PAGES):
        adapter.queue(200, _page([batch_payload(f"batch_{i}", created_at=int(scripted.now()))]))
    adapter.queue(200, batch_payload("batch_new"))
    assert scripted.create_batch("file-in").id == "batch_new"
    assert [s.method for s in adapter.seen] == ["POST"] + ["GET"] * LOOKUP_PAGES + ["POST"]


def test_no_lookup_when_the_request_never_left(scripted, adapter, sleeps):
    adapter.queue_error(requests.ConnectTimeout("connect timed out")).queue(200, batch_payload())
    scripted.create_batch("file-in")
    assert [s.method for s in adapter.seen] == ["POST", "POST"] and sleeps == [0.5]


def test_no_lookup_after_a_429_the_server_made_nothing(scripted, adapter):
    adapter.queue(429, b"", {"retry-after": "1"}).queue(200, batch_payload())
    scripted.create_batch("file-in")
    assert [s.method for s in adapter.seen] == ["POST", "POST"]


def test_a_malformed_lookup_page_is_not_a_reason_to_create_again(scripted, adapter):
    adapter.queue(502, b"").queue(200, {"data": "nope"})
    with pytest.raises(APIResponseError, match="`data` is a string, not a list") as caught:
        scripted.create_batch("file-in")
    assert "the batch may have been created: look for metadata batches_ext_intent=" in str(caught.value)
    assert [s.method for s in adapter.seen] == ["POST", "GET"]


def test_a_page_repeated_for_ever_stops_paging(scripted, adapter):
    page = _page([batch_payload("batch_a")])
    adapter.queue(200, page).queue(200, page)
    with pytest.raises(APIResponseError, match="paging stopped"):
        list(scripted.iter_batches())


def test_the_repeated_page_error_never_quotes_the_key_a_server_sends_as_an_id(scripted, adapter):
    """A server answering with the key as the last id (echoing the Authorization header): the error quotes
    the id redacted, for batches and files alike."""
    from ..conftest import CANARY

    page = _page([batch_payload(CANARY)])
    adapter.queue(200, page).queue(200, page)
    with pytest.raises(APIResponseError, match=r"^the server answered the page after 'sk-\*\*\*' with") as caught:
        list(scripted.iter_batches())
    files = {"object": "list", "has_more": True, "data": [{"id": f"x{CANARY}y", "object": "file", "bytes": 1,
                                                            "created_at": 1, "filename": "a", "purpose": "batch"}]}
    adapter.queue(200, files).queue(200, files)
    with pytest.raises(APIResponseError, match=r"after 'xsk-\*\*\*y'") as files_caught:
        list(scripted.iter_files())
    for err in (caught.value, files_caught.value):
        assert CANARY not in str(err) and CANARY[8:16] not in str(err)
