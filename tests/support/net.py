"""Loopback plumbing: a free port, and waiting until a server answers its health check."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from typing import Callable


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _no_proxy() -> urllib.request.OpenerDirector:
    """Loopback requests must never go through a proxy named in the environment."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body) of a GET, error statuses included; raises OSError when nothing answers."""
    try:
        with _no_proxy().open(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def wait_healthy(base_url: str, timeout: float, check_alive: Callable[[], None] = lambda: None,
                 interval: float = 0.25, what: str = "the server") -> float:
    """Seconds until ``base_url/_stcore/health`` answers 200 ``ok``.

    ``check_alive`` raises (with the server's log, say) when the process has died, so a crash
    is reported at once instead of as a timeout."""
    started = time.monotonic()
    url = f"{base_url}/_stcore/health"
    while True:
        check_alive()
        try:
            status, body = http_get(url, timeout=2.0)
            if status == 200 and body.strip() == "ok":
                return time.monotonic() - started
        except OSError:
            pass
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} did not answer {url} within {timeout:.0f} s")
        time.sleep(interval)
