"""A real MJPEG-over-HTTP camera on loopback, in plain Python (``http.server``).

Paths, as an IP camera serves them:

- ``/stream``: ``multipart/x-mixed-replace`` JPEG frames paced at ``fps``, each showing its
  number (:mod:`support.counter_frames`), numbered from 0 for each client;
- ``/secret``: the same stream behind Basic authentication (401 without the right password);
- ``/page``: a 200 ``text/html`` page, a URL that is not a video.

Use :class:`MjpegServer` in a test (a thread; ``close()`` stops it), or run the module for a
look in a player: ``python tests/support/mjpeg_server.py --port 8081``.
"""

from __future__ import annotations

import argparse
import base64
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    from .counter_frames import counter_frame, jpeg
except ImportError:  # run as a script
    from counter_frames import counter_frame, jpeg  # type: ignore[no-redef]

BOUNDARY = "maskpatrolframe"
PAGE = b"<!doctype html><html><head><title>Camera</title></head><body>Log in</body></html>\n"


class MjpegServer:
    """An MJPEG camera on ``127.0.0.1:port`` (a free one by default), serving in a thread."""

    def __init__(self, fps: float = 25.0, port: int = 0, user: str = "admin",
                 password: str = "open-sesame", width: int = 320, height: int = 240) -> None:
        self.fps = fps
        self.user, self.password = user, password
        self.size = (width, height)
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if self.path == "/page":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(PAGE)))
                    self.end_headers()
                    self.wfile.write(PAGE)
                elif self.path == "/secret" and not server._authorised(self.headers.get("Authorization")):
                    body = b"401 Unauthorized\n"
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="camera"')
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif self.path in ("/stream", "/secret"):
                    server._stream(self)
                else:
                    self.send_error(404)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="mjpeg-server", daemon=True)
        self._thread.start()

    def url(self, path: str = "/stream", user: str | None = None, password: str | None = None) -> str:
        cred = f"{user}:{password}@" if user is not None else ""
        return f"http://{cred}127.0.0.1:{self.port}{path}"

    def _authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return header == f"Basic {expected}"

    def _stream(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        handler.send_header("Cache-Control", "no-cache")
        handler.end_headers()
        start = time.monotonic()
        n = 0
        try:
            while not self._stop.is_set():
                due = start + n / self.fps
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                data = jpeg(counter_frame(n, *self.size))
                handler.wfile.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode()
                    + data + b"\r\n")
                handler.wfile.flush()
                n += 1
        except (BrokenPipeError, ConnectionResetError):
            pass

    def close(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "MjpegServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args()
    s = MjpegServer(fps=args.fps, port=args.port)
    print(f"serving {s.url()} (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        s.close()
