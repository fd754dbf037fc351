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


def test_the_log_bounds_headers_and_bytes() -> None:
    log = RequestLog(max_recorded=1000, max_bytes=50_000)
    flood = {f"x-stainless-h{i}": "v" * 10_000 for i in range(100)}
    for i in range(100):
        log.record(Request("GET", "/v1/batches", "", {**flood, "authorization": "Bearer sk-x"}), 200, f"r{i}", 0.0, 1.5)
    entries = log.entries()
    assert log.bytes <= 50_000 and 0 < len(entries) < 100 and entries[-1].request_id == "r99"
    assert all(len(e.headers) == 32 and all(len(v) <= 256 for v in e.headers.values()) for e in entries)
    assert entries[-1].ms == 1.5 and "authorization" not in entries[-1].headers


def test_the_log_keeps_only_allow_listed_headers_so_no_credential_header_survives() -> None:
    log = RequestLog()
    secrets = {"api-key": "sk-azure", "X-Api-Key": "sk-x", "Cookie": "session=s3cret", "X-Auth-Token": "t0ken",
               "Authorization": "Bearer sk-secret", "Proxy-Authorization": "Basic x", "x-amz-security-token": "aws"}
    kept = {"Content-Type": "application/json", "OpenAI-Organization": "org-1", "Idempotency-Key": "k1",
            "X-Stainless-Retry-Count": "2", "User-Agent": "OpenAI/Python 1.0"}
    log.record(Request("POST", "/v1/batches", "", {**secrets, **kept}), 200, "req_1", 0.0)
    [entry] = log.entries()
    assert entry.headers == {name.lower(): value for name, value in kept.items()}
    assert not any(value in repr(entry) for value in secrets.values())
