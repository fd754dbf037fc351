"""What the security tests share: the keys and tenants of the world they probe, canary counting, and small
raw-HTTP and filesystem helpers. Fixtures are in conftest.py.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import pickle
import socket
import time
import traceback
import tracemalloc
import uuid
from pathlib import Path

import requests

from fake_server import FakeBatchesAPI
from fake_server.fake import DEFAULT_ORGANIZATION

KEY = "sk-sec-" + uuid.uuid4().hex  # accepted for any tenant


ORG_KEY = "sk-org-" + uuid.uuid4().hex  # bound to org-a (any project of it)


PROJ_KEY = "sk-proj-" + uuid.uuid4().hex  # bound to org-b / proj-1


TENANTS = {"default": (None, None), "org-a": ("org-a", None), "org-a/proj-1": ("org-a", "proj-1"),
           "org-a/proj-2": ("org-a", "proj-2"), "org-b": ("org-b", None), "org-b/proj-1": ("org-b", "proj-1")}


LINE = {"custom_id": "r-1", "method": "POST", "url": "/v1/chat/completions",
        "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}


CREATE = {"endpoint": "/v1/chat/completions", "completion_window": "24h"}


def headers_for(tenant: str, key: str = KEY) -> dict[str, str]:
    org, project = TENANTS[tenant]
    headers = {"Authorization": f"Bearer {key}"}
    if org:
        headers["OpenAI-Organization"] = org
    if project:
        headers["OpenAI-Project"] = project
    return headers


def organization_of(tenant: str) -> str:
    return TENANTS[tenant][0] or DEFAULT_ORGANIZATION


def truth(fake: FakeBatchesAPI, tenant: str) -> tuple[set[str], set[str]]:
    """The ids of every batch and file the fake holds for `tenant` (ground truth, no HTTP)."""
    org, project = organization_of(tenant), TENANTS[tenant][1]
    return {b["id"] for b in fake.batches(org, project)}, {f["id"] for f in fake.files(org, project)}




def state_of(fake: FakeBatchesAPI, owned: dict) -> str:
    """The seeded objects as the fake holds them, contents included (objects the probes made left out). A running
    batch's progress (request_counts, usage) moves with the clock and is left out; its status and stamps are not."""
    ids = {i for objects in owned.values() for i in objects["batches"] + objects["files"]}
    batches = [{k: v for k, v in b.items() if k not in ("request_counts", "usage")} for b in fake.batches()
               if b["id"] in ids]
    files = [{**f, "sha": hashlib.sha256(fake.file_content(f["id"])).hexdigest()} for f in fake.files()
             if f["id"] in ids]
    assert len(batches) + len(files) == len(ids)  # every seeded object is still there
    return json.dumps([batches, files], sort_keys=True)


def shape_of(answer: requests.Response, object_id: str) -> tuple:
    """An answer with the probed id and the request id taken out: what a caller can learn from it."""
    body = answer.text.replace(object_id, "<ID>")
    return answer.status_code, body, answer.headers.get("openai-organization")


def paged(session: requests.Session, url: str, **params: str) -> list[dict]:
    out, after = [], None
    while True:
        answer = session.get(url, params={"limit": 2, **params, **({"after": after} if after else {})})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        out += page["data"]
        if not page.get("has_more"):
            return out
        after = page["data"][-1]["id"]


def secrets_in(authorization: str | None) -> list[str]:
    """Every 8-character window of each token in the header: not even part of a key may be echoed."""
    words = [w for w in (authorization or "").split() if len(w) >= 8 and w.lower() != "bearer"]
    return sorted({w[i:i + 8] for w in words for i in range(len(w) - 7)})


def chain_text(exc: BaseException) -> str:
    """Everything an exception can show: str, repr, args, attributes, pickle, cause/context chain, traceback."""
    seen, parts, node = set(), [], exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        parts += [str(node), repr(node), repr(node.args), repr(vars(node)), "".join(traceback.format_exception(node))]
        with contextlib.suppress(Exception):
            parts.append(pickle.dumps(node).decode("latin-1"))
        node = node.__cause__ or node.__context__
    return "\n".join(parts)


def count_leaks(canary: str, *texts: str) -> int:
    """Occurrences of the key, its random part, or the Authorization header base64-encoded."""
    needles = (canary, canary.split("-")[-1], base64.b64encode(f"Bearer {canary}".encode()).decode())
    return sum(text.count(needle) for text in texts for needle in needles)


HOSTILE = ["../../evil.jsonl", "/etc/passwd", "..\\..\\win.jsonl", "a/../../b", ".", "..", "", "x\x00y.jsonl",
           "x\ny\rz.jsonl", "a" * 300 + ".jsonl", "é" * 150 + ".jsonl", "...", " ", "dir/", "~/.bashrc",
           "%2e%2e%2fenc.jsonl", "\u202eevil.jsonl", "CON", "aux.jsonl", "a:b|c?.jsonl", "../",
           "..\\", "/", "x/" + "../" * 30 + "deep.jsonl"]


def tree_snapshot(root: Path) -> dict[str, str]:
    """Every path under root: a file's digest, a symlink's target, or "dir"."""
    out: dict[str, str] = {}
    for path in root.rglob("*"):
        key = str(path.relative_to(root))
        if path.is_symlink():
            out[key] = "-> " + os.readlink(path)
        elif path.is_dir():
            out[key] = "dir"
        else:
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def changed_paths(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}






HEAD = (b'--bnd\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--bnd\r\n'
         b'Content-Disposition: form-data; name="file"; filename="big.jsonl"\r\n'
         b"Content-Type: application/octet-stream\r\n\r\n")


FILE_FIRST = b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n\r\n'


PURPOSE_LAST = b'\r\n--bnd\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--bnd--\r\n'


MULTIPART = {"Authorization": f"Bearer {KEY}", "Content-Type": "multipart/form-data; boundary=bnd"}




def stream_upload(server, body) -> tuple[requests.Response, float, float]:
    """POST /files with a generator body (chunked, never whole in memory); (answer, seconds, peak MB)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        answer = requests.post(server.base_url + "/files", data=body, headers=MULTIPART, timeout=60)
        return answer, time.perf_counter() - started, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def raw_request(server, head: bytes, body: bytes, *, half_close: bool = True) -> bytes:
    """Send one raw request; the answer (b"" when the server just closed), within a 5 s socket timeout."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(b"POST /v1/files HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY.encode() +
                     b"\r\nContent-Type: multipart/form-data; boundary=bnd\r\n" + head + b"\r\n" + body)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        reply = b""
        with contextlib.suppress(ConnectionError):
            while chunk := sock.recv(65536):  # TimeoutError here is a hang: the test fails
                reply += chunk
                if half_close is False and b"\r\n\r\n" in reply:
                    break
        return reply


BODY = json.dumps({"custom_id": "r-1", "method": "POST", "url": "/v1/chat/completions",
                    "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}}).encode() + b"\n"


def key_count(canary: str, *texts: str) -> int:
    return sum(text.count(canary) + text.count(canary.split("-")[-1]) for text in texts)


@contextlib.contextmanager
def redirecting(target: str, received: list, statuses=(307, 308)):
    """A loopback server answering every request with a redirect (alternating `statuses`) to the same path under
    `target`, another origin; yields its base URL and appends each request's Authorization to `received`."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Redirect(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            received.append(self.headers.get("authorization"))
            self.send_response(statuses[len(received) % len(statuses)])
            self.send_header("Location", target + self.path.removeprefix("/v1"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_POST = do_DELETE = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()


def magic_output(*cells: str) -> str:
    """Everything a notebook user would see from `cells` (stdout, stderr and displayed outputs) run in a shell
    with batches_ext loaded for them and unloaded after; the environment is the caller's."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "batches_ext")
    try:
        with capture_output() as shown:
            for cell in cells:
                shell.run_cell(cell, store_history=False)
    finally:
        shell.run_line_magic("unload_ext", "batches_ext")
    return shown.stdout + shown.stderr + "".join(str(o.data) for o in shown.outputs)
