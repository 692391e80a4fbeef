"""Helpers for the HTTP API tests: a live server with API settings, and plain HTTP calls.

The server is ``support.server.streamlit_server``: ``streamlit run app.py`` configured by
setup.sh as on a dyno, on a free 127.0.0.1 port, so the API is tested behind the very
entry ``make run`` and the Procfile start.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import urlsplit

import requests

from support.paths import ROOT
from support.server import Server, streamlit_server

API = "/api/v1"
#: Every API variable, cleared for each test server so the developer's shell cannot leak in.
API_VARIABLES = ("MASKPATROL_API", "MASKPATROL_API_TOKEN", "MASKPATROL_API_CORS_ORIGINS", "MASKPATROL_API_RATE",
                 "MASKPATROL_API_WORKERS", "MASKPATROL_API_QUEUE", "MASKPATROL_API_BEHIND_PROXY", "DYNO")


@contextlib.contextmanager
def api_server(log_dir: Path, env: Mapping[str, str]) -> Iterator[Server]:
    """``streamlit run app.py`` with exactly these API settings (others unset)."""
    saved = {k: os.environ.pop(k) for k in API_VARIABLES if k in os.environ}
    try:
        with streamlit_server(log_dir, extra_env=dict(env)) as server:
            yield server
    finally:
        os.environ.update(saved)


def post(server: Server, route: str, body: bytes | None = None, content_type: str | None = None,
         params: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
         files: Sequence[tuple[str, bytes]] | None = None, timeout: float = 120) -> requests.Response:
    """POST raw ``body`` (with ``content_type``) or multipart ``files`` (name, bytes) to an API route."""
    sent = dict(headers or {})
    if content_type is not None:
        sent["Content-Type"] = content_type
    multipart = [("file", (name, data, "application/octet-stream")) for name, data in files] if files else None
    return requests.post(server.url + API + route, data=body, files=multipart, params=params, headers=sent,
                         timeout=timeout)


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
    """``python -m maskpatrol COMMAND --json`` on ``paths`` (relative to ``cwd``): its records."""
    proc = subprocess.run([sys.executable, "-m", "maskpatrol", command, "--json", *options, *paths],
                          cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
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
