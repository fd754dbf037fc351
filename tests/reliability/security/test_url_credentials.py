"""A base URL's credentials never show, whatever characters the password holds: a raw `#`, `/` or `?` (which
every URL parser reads as the end of the host) is refused when the client is built without quoting them, a
percent-encoded one works and stays hidden, and `redact_url` hides everything between `//` and the last `@`.
"""

from __future__ import annotations

import uuid

import pytest

from batches_ext.client import BatchesClient
from batches_ext.config import redact_url
from batches_ext.errors import APIConnectionError, ConfigError
from tests.reliability.security.probes import chain_text, magic_output


def _secret() -> str:
    return "pw" + uuid.uuid4().hex


@pytest.mark.parametrize("raw", ["#", "/", "?", "/?#"])
def test_a_password_with_a_raw_separator_is_refused_without_showing_it(raw) -> None:
    secret = _secret()
    url = f"http://alice:{secret[:6]}{raw}{secret[6:]}@127.0.0.1:9/v1"
    with pytest.raises(ConfigError, match="percent-encode") as caught:
        BatchesClient(api_key="sk-x", base_url=url, max_retries=0)
    text = chain_text(caught.value)
    assert secret[:6] not in text and secret[6:] not in text and "\n" not in str(caught.value)
    assert redact_url(url) == "http://***@127.0.0.1:9/v1"
    assert redact_url(f"cannot connect to {url}: refused") == "cannot connect to http://***@127.0.0.1:9/v1: refused"


def test_the_magics_config_refuses_it_in_one_line(monkeypatch) -> None:
    secret = _secret()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://alice:{secret[:6]}#{secret[6:]}@127.0.0.1:9/v1")
    printed = magic_output("%batches config", "%batches list")
    assert "percent-encode" in printed and "Traceback" not in printed
    assert secret[:6] not in printed and secret[6:] not in printed


def test_percent_encoded_credentials_work_and_stay_hidden() -> None:
    secret = _secret()
    client = BatchesClient(api_key="sk-x", base_url=f"http://alice:{secret[:6]}%23%2F%3F{secret[6:]}@127.0.0.1:9/v1",
                           max_retries=0)
    with pytest.raises(APIConnectionError, match=r"^cannot connect to http://\*\*\*@127\.0\.0\.1:9/v1: ") as caught:
        client.list_batches()
    for text in (repr(client), repr(client.settings), chain_text(caught.value)):
        assert secret[:6] not in text and secret[6:] not in text
