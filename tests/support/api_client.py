"""Helpers for the HTTP API tests: a live server with API settings, and plain HTTP calls.

The server is ``support.server.streamlit_server``: ``streamlit run app.py`` configured by
setup.sh as on a dyno, on a free 127.0.0.1 port (or, ``isolated``, on every interface of a
private network namespace), so the API is tested behind the very entry ``make run`` and the
Procfile start. Every call goes through ``server.call``, so it reaches either kind.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

import requests

from support.cli import run_cli
from support.server import Server, streamlit_server
from maskpatrol.api import config
from maskpatrol.events import location

API = "/api/v1"
#: Every API variable, every hosting platform's marker and where the event log is, cleared for
#: each test server so the developer's shell (or the CI's host) cannot leak in.
API_VARIABLES = (config.ENABLED, config.TOKEN, config.OPEN, config.CORS_ORIGINS, config.RATE, config.WORKERS,
                 config.QUEUE, config.BEHIND_PROXY, *sorted({host.variable for host in config.PROXY_HOSTS}),
                 location.URL_ENV_VAR, location.DATA_HOME_ENV_VAR, "XDG_DATA_HOME")


@contextlib.contextmanager
def api_server(log_dir: Path, env: Mapping[str, str], isolated: bool = False) -> Iterator[Server]:
    """``streamlit run app.py`` with exactly these API settings (others unset)."""
    saved = {k: os.environ.pop(k) for k in API_VARIABLES if k in os.environ}
    try:
        with streamlit_server(log_dir, extra_env=dict(env), isolated=isolated) as server:
            yield server
    finally:
        os.environ.update(saved)


def get(server: Server, path: str, timeout: float = 60, **kwargs: Any) -> requests.Response:
    """GET ``path`` (from the server's root) where the server can be reached."""
    return server.call(requests.get, server.url + path, timeout=timeout, **kwargs)


def post(server: Server, route: str, body: bytes | None = None, content_type: str | None = None,
         params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
         files: Sequence[tuple[str, bytes]] | None = None, timeout: float = 120) -> requests.Response:
    """POST raw ``body`` (with ``content_type``) or multipart ``files`` (name, bytes) to an API route."""
    sent = dict(headers or {})
    if content_type is not None:
        sent["Content-Type"] = content_type
    multipart = [("file", (name, data, "application/octet-stream")) for name, data in files] if files else None
    return server.call(requests.post, server.url + API + route, data=body, files=multipart, params=params,
                       headers=sent, timeout=timeout)


def assert_api_off(server: Server, image: bytes, *why: str) -> str:
    """Every request under ``/api/v1`` (an analysis with a token, a GET, an unknown route)
    answers the same JSON 404 saying the API is off on this server and why (each of ``why``
    in its message), and the pages are still served. Returns the message, for comparing
    with the server log's line."""
    answers = [post(server, "/detect", image, "image/png", headers={"Authorization": "Bearer anything"}),
               get(server, API + "/health"),
               server.call(requests.delete, server.url + API + "/no/such/route", timeout=60)]
    messages = {error_body(response, 404)["error"] for response in answers}
    assert len(messages) == 1, messages
    [message] = messages
    assert "HTTP API is off on this server" in message and all(part in message for part in why), message
    assert get(server, "/_stcore/health").text == "ok"
    assert "<html" in get(server, "/photos").text.lower()
    return message


def error_body(response: requests.Response, status: int) -> dict[str, Any]:
    """The JSON error body, after checking the status, the content type and the two fields
    every error carries; never a traceback."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    assert body["status"] == status and isinstance(body["error"], str) and body["error"], body
    assert "Traceback" not in response.text
    return body


def cli_json(command: str, paths: Sequence[str], cwd: Path, *options: str) -> list[dict[str, Any]]:
    """``python -m maskpatrol COMMAND --json`` on ``paths`` (relative to ``cwd``), called in this
    process (``support.cli``): its records."""
    proc = run_cli(command, "--json", *options, *paths, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def raw_request(server: Server, head: str, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Send only a request's head (no body) over a socket and read the answer: shows what
    the server decides before the body arrives."""
    url = urlsplit(server.url)
    with socket.create_connection((url.hostname, url.port), timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        lines = head_bytes.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(lines[0].split()[1]), headers, rest
