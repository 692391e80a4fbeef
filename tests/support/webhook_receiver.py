"""A real webhook receiver for tests: ``http.server`` on 127.0.0.1, in a thread.

Each request takes the next :class:`Answer` from a script (the last one repeats), so a test
can say "500, 500, then 200" or "sleep past the timeout, then 200". Every request is
recorded, with its headers and body, in arrival order. A sleeping answer waits on an
event that :meth:`Receiver.stop` sets, so no test leaves a handler hanging.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from email.message import Message
from typing import Any, Callable, Optional, Sequence


@dataclass(frozen=True)
class Answer:
    status: int = 200
    sleep_s: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Received:
    headers: Message  # case-insensitive: urllib sends X-maskpatrol-delivery
    body: bytes
    answered: int
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int
    script: list[Answer] = field(default_factory=lambda: [Answer()])
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    answer = receiver.script[0] if len(receiver.script) == 1 else receiver.script.pop(0)
                    receiver.requests.append(Received(self.headers, body, answer.status, time.monotonic()))
                if answer.sleep_s:
                    receiver._release.wait(answer.sleep_s)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender gave up on this attempt (timeout) and closed the socket

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name=f"webhook-receiver-{self.port}", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def accepted(self) -> list[Received]:
        """Requests answered with a 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(2.0)


def start_receiver(script: Optional[Sequence[Answer]] = None, port: int = 0) -> Receiver:
    return Receiver(port=port, script=list(script or [Answer()]))


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0, step_s: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` passes; returns its last value."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step_s)
    return bool(predicate())
