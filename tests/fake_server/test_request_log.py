"""fake_server.request_log: bounded, oldest first, never the credentials."""

from __future__ import annotations

from fake_server.request_log import RequestLog
from fake_server.wire import Request


def test_the_log_is_bounded_and_keeps_no_credentials() -> None:
    log = RequestLog(max_recorded=2)
    for i in range(3):
        headers = {"Authorization": "Bearer sk-secret", "Proxy-Authorization": "Basic x", "OpenAI-Project": f"p{i}"}
        log.record(Request("GET", "/v1/batches", f"limit={i}", headers), 200, f"req_{i}", float(i))
    entries = log.entries()
    assert [e.query for e in entries] == ["limit=1", "limit=2"] and len(log) == 2
    assert all(set(e.headers) == {"openai-project"} for e in entries)
    assert "sk-secret" not in repr(entries)
    log.clear()
    assert log.entries() == []
