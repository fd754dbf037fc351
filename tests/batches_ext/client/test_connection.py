"""The key as an auth object, transport failures in one short line, and URL credentials never shown."""

from __future__ import annotations

import socket

import pytest
import requests

from batches_ext.client import BatchesClient
from batches_ext.client.connection import BearerAuth, describe_failure
from batches_ext.errors import APIConnectionError

from ..conftest import CANARY


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_header_is_sent_but_never_shown():
    prepared = requests.Request("GET", "https://api.test/v1/batches").prepare()
    auth = BearerAuth(CANARY)
    auth(prepared)
    assert prepared.headers["Authorization"] == f"Bearer {CANARY}"  # what goes on the wire
    assert CANARY not in repr(prepared.headers) and CANARY not in repr(dict(prepared.headers))
    assert CANARY not in repr(auth) and CANARY not in repr(vars(auth))


def test_a_refused_connection_is_one_short_line():
    port = _closed_port()
    client = BatchesClient(api_key=CANARY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        client.list_batches()
    assert str(caught.value) == f"cannot connect to http://127.0.0.1:{port}/v1: connection refused"
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_url_credentials_are_never_shown():
    port = _closed_port()
    base = f"http://alice:s3cret-pw@127.0.0.1:{port}/v1"
    client = BatchesClient(api_key=CANARY, base_url=base, max_retries=0)
    with pytest.raises(APIConnectionError) as caught:
        client.retrieve_batch("b")
    texts = [str(caught.value), repr(caught.value), repr(vars(caught.value)), repr(client), repr(client.settings)]
    assert all("s3cret" not in t and "alice" not in t for t in texts), texts
    assert str(caught.value) == f"cannot connect to http://***@127.0.0.1:{port}/v1: connection refused"


@pytest.mark.parametrize(
    ("exc", "reason", "connecting"),
    [
        (requests.ConnectTimeout("x"), "connection timed out", True),
        (requests.ReadTimeout("x"), "no answer within the read timeout", False),
        (requests.ConnectionError(ConnectionRefusedError(111, "Connection refused")), "connection refused", True),
        (requests.ConnectionError(ConnectionResetError(104, "reset")), "connection reset by the server", False),
        (requests.exceptions.ChunkedEncodingError("cut"), "the connection broke off mid-answer", False),
        (requests.ConnectionError("connection reset by peer"), "connection reset by peer", False),
    ],
)
def test_failures_are_told_in_a_few_words(exc, reason, connecting):
    failure = describe_failure(exc)
    assert (failure.reason, failure.connecting) == (reason, connecting)
