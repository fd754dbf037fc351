"""Module-level calls (seed parity with ExOpenAI.Batches): per-call overrides apply to that call only."""

from __future__ import annotations

import pytest
import requests

from batches_ext.client import BatchesClient
from batches_ext.client import calls as api
from batches_ext.errors import ConfigError, ConflictError, InputError

from ..conftest import CANARY, batch_payload, error_payload


@pytest.fixture
def session(adapter):
    s = requests.Session()
    s.mount("https://api.test/", adapter)
    s.mount("https://other.test/", adapter)
    return s


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(var, raising=False)


def test_overrides_apply_per_call(session, adapter):
    adapter.queue(200, batch_payload()).queue(200, batch_payload())
    api.retrieve_batch("batch_1", api_key="sk-one", base_url="https://api.test/v1", organization="org-1",
                       session=session)
    api.retrieve_batch("batch_1", api_key="sk-two", base_url="https://other.test/v2", session=session)
    first, second = adapter.seen
    assert first.url == "https://api.test/v1/batches/batch_1" and second.url == "https://other.test/v2/batches/batch_1"
    assert first.headers["Authorization"] == "Bearer sk-one" and second.headers["Authorization"] == "Bearer sk-two"
    assert first.headers["OpenAI-Organization"] == "org-1" and "OpenAI-Organization" not in second.headers


def test_environment_is_the_fallback(session, adapter, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.test/v1")
    adapter.queue(200, {"object": "list", "data": [batch_payload("b1")], "has_more": False})
    page = api.list_batches(limit=1, session=session)
    assert [b.id for b in page] == ["b1"] and adapter.seen[0].headers["Authorization"] == "Bearer sk-env"
    assert "limit=1" in adapter.seen[0].url


def test_create_and_cancel(session, adapter):
    adapter.queue(200, batch_payload()).queue(409, error_payload("Cannot cancel a batch with status 'completed'."))
    b = api.create_batch("file-in", metadata={"k": "v"}, api_key=CANARY, base_url="https://api.test/v1",
                         session=session)
    assert b.status == "validating"
    with pytest.raises(ConflictError) as info:
        api.cancel_batch("batch_1", api_key=CANARY, base_url="https://api.test/v1", session=session)
    assert CANARY not in repr(info.value) and len(adapter.seen) == 2


def test_a_client_can_be_reused_but_not_mixed_with_overrides(session, adapter):
    client = BatchesClient(api_key="sk-c", base_url="https://api.test/v1", session=session)
    adapter.queue(200, batch_payload())
    assert api.retrieve_batch("batch_1", client=client).id == "batch_1"
    with pytest.raises(ValueError):
        api.retrieve_batch("batch_1", client=client, api_key="sk-other")


def test_no_key_is_config_error():
    with pytest.raises(ConfigError):
        api.list_batches()


def test_a_misspelt_setting_is_named_before_anything_is_sent(session, adapter):
    with pytest.raises(InputError, match="unknown setting 'apikey'; the settings are api_key, base_url"):
        api.list_batches(apikey="sk-one", session=session)  # type: ignore[call-arg]
    assert adapter.seen == []
