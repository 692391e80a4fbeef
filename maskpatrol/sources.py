"""Frame sources for the ``watch`` command: cameras (RTSP, MJPEG over HTTP, a local video
device) and video files, each read by its own thread, reconnected with backoff, and handed
over newest-first so that a slow consumer drops frames instead of falling behind.

A SOURCE is written as on the command line: ``rtsp://user:pw@10.0.0.5/stream1``,
``http://cam.local/video.mjpg``, ``/dev/video0`` (or ``0``), ``door.mp4``, optionally named:
``door=rtsp://...``. A camera's name never holds its credentials or query string (which
may hold a token), and no message this module writes or logs does either.

One :class:`Camera` per source::

    with Camera("door=rtsp://user:pw@10.0.0.5/stream1") as camera:
        for frame in camera.frames():       # the newest frame not yet taken
            analyse(frame.rgb, frame.wall_s)
        camera.status()                     # state, frames read and dropped, reconnects, error

Its thread keeps one frame: a frame still waiting when the next one arrives is replaced and
counted as dropped, so the frame a consumer takes is never older than one frame interval
plus its own decode. Frames are converted to upright RGB (:func:`maskpatrol.video.read.upright_rgb`)
only when taken, so dropping one costs no colour conversion.

Cameras: RTSP is read over TCP, MJPEG over HTTP by FFmpeg's ``mpjpeg`` demuxer (picked from
the ``multipart/x-mixed-replace`` answer), both with PyAV; a local device with OpenCV's V4L2
backend (PyAV's wheels carry no ``v4l2`` input). A camera that cannot be reached, stops
answering or closes the stream is tried again after 1, 2, 4 ... 30 s (:class:`Backoff`);
each failure is logged in words naming the camera. A file is paced at its own frame rate
from its frames' timestamps, as a camera would deliver it; it ends after its last frame, or
starts again with ``loop=True``.
"""

from __future__ import annotations

import errno
import logging
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence
from urllib.parse import urlsplit

import av
import cv2
import numpy as np

from .video.read import VideoError, open_input, upright_rgb

LOG = logging.getLogger(__name__)

#: FFmpeg options for an RTSP camera: TCP, because over UDP a lost packet breaks a frame.
RTSP_OPTIONS = {"rtsp_transport": "tcp"}
#: Seconds the measured frame rate is averaged over.
FPS_WINDOW_S = 2.0


class SourceError(ValueError):
    """A SOURCE that cannot be a camera or a file; the message is written for the person."""


class State(str, Enum):
    """What a camera is doing. ``ended``: a file played to its end, or the camera was closed;
    ``failed``: it gave up (a file that cannot be read, or ``Backoff.max_retries`` used up)."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    RETRYING = "retrying"
    ENDED = "ended"
    FAILED = "failed"


FINAL_STATES = (State.ENDED, State.FAILED)


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts to reach a camera: ``first_s``, then doubled, at most ``max_s``.
    The count restarts once a connection has delivered a frame. ``max_retries`` failed
    attempts in a row make the camera give up (``None``: never, as an unattended watcher
    should)."""

    first_s: float = 1.0
    max_s: float = 30.0
    factor: float = 2.0
    max_retries: Optional[int] = None

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1-based)."""
        return min(self.max_s, self.first_s * self.factor ** max(0, failures - 1))


@dataclass(frozen=True)
class SourceSpec:
    """One parsed SOURCE. ``target`` may hold credentials: never log it, log ``name``."""

    name: str
    target: str
    kind: str  # "rtsp", "http", "device" or "file"

    def __repr__(self) -> str:  # keep the credentials out of tracebacks and logs
        return f"SourceSpec(name={self.name!r}, kind={self.kind!r})"


_NAMED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$")
_DEVICE = re.compile(r"^(/dev/video\d+|\d+)$")


def safe_name(target: str) -> str:
    """A name for ``target`` that holds no user name, password or query string:
    ``rtsp://u:p@10.0.0.5:554/live?token=x`` -> ``rtsp://10.0.0.5:554/live``."""
    if "://" not in target:
        return target
    parts = urlsplit(target)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def parse_source(text: str) -> SourceSpec:
    """A SOURCE as typed: ``[name=]URL``, a device (``/dev/video0`` or ``0``) or a file path."""
    text = text.strip()
    if not text:
        raise SourceError("An empty SOURCE: give a camera URL, a video device or a video file")
    name = None
    match = _NAMED.match(text)
    if match and "://" not in match.group(1) and "/" not in match.group(1):
        name, text = match.group(1), match.group(2).strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("rtsp", "rtsps"):
        kind = "rtsp"
    elif scheme in ("http", "https"):
        kind = "http"
    elif scheme:
        raise SourceError(f"{safe_name(text)}: {scheme}:// is not a camera address we read; "
                          f"use rtsp://, http:// or https://, a video device or a file")
    elif _DEVICE.match(text):
        kind = "device"
        text = text if text.startswith("/dev/") else f"/dev/video{text}"
    else:
        kind = "file"
    if kind in ("rtsp", "http") and not urlsplit(text).hostname:
        raise SourceError(f"{safe_name(text)} has no host name")
    return SourceSpec(name or safe_name(text), text, kind)


def parse_sources(texts: Sequence[str]) -> list[SourceSpec]:
    """Every SOURCE, refusing two with the same name (their logs could not be told apart)."""
    specs = [parse_source(t) for t in texts]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise SourceError(f"Two sources are named {spec.name}: name one of them, as NAME=SOURCE")
        seen.add(spec.name)
    return specs


class Frame:
    """One frame as a camera delivered it.

    ``index`` counts this camera's frames from 0 across reconnects; ``connection`` is 1 for
    the first connection and one more for each reconnect (a tracker may want to start
    afresh); ``wall_s`` is ``time.time()`` when the frame arrived (a file: when it was due),
    ``monotonic_s`` the same on ``time.monotonic()``; ``stream_s`` is the frame's own
    timestamp in its stream, or None. ``rgb`` is made on first use."""

    __slots__ = ("camera", "index", "connection", "wall_s", "monotonic_s", "stream_s", "_raw", "_rgb")

    def __init__(self, camera: str, index: int, connection: int, raw: Any, wall_s: float,
                 monotonic_s: float, stream_s: Optional[float]) -> None:
        self.camera, self.index, self.connection = camera, index, connection
        self.wall_s, self.monotonic_s, self.stream_s = wall_s, monotonic_s, stream_s
        self._raw, self._rgb = raw, None

    @property
    def rgb(self) -> np.ndarray:
        """Upright RGB uint8, H x W x 3."""
        if self._rgb is None:
            raw = self._raw
            if isinstance(raw, np.ndarray):  # a BGR frame from OpenCV
                self._rgb = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
            else:
                self._rgb = upright_rgb(raw)
            self._raw = None
        return self._rgb

    def age_s(self) -> float:
        return time.monotonic() - self.monotonic_s

    def __repr__(self) -> str:
        return f"Frame({self.camera!r}, index={self.index}, connection={self.connection})"


@dataclass(frozen=True)
class CameraStatus:
    """A snapshot of one camera's counters. ``frames_read`` came from the source,
    ``frames_taken`` went to the consumer, ``dropped`` were replaced before anyone took them;
    ``reconnects`` counts connections after the first; ``failures`` counts failed attempts
    and lost streams; ``last_error`` is in words and names the camera; ``fps`` is the rate
    frames arrived at over the last two seconds."""

    name: str
    kind: str
    state: State
    frames_read: int = 0
    frames_taken: int = 0
    dropped: int = 0
    reconnects: int = 0
    failures: int = 0
    last_error: Optional[str] = None
    fps: float = 0.0
    since_s: float = 0.0  # time.time() of the last change of state

    def summary(self) -> str:
        text = (f"camera {self.name}: {self.state.value}, {self.frames_read} frames read, "
                f"{self.dropped} dropped, {self.reconnects} reconnects")
        return text + (f"; last error: {self.last_error}" if self.last_error else "")


class _Lost(Exception):
    """A failure already put in words (without the camera's name); ``final`` when trying
    again cannot help."""

    def __init__(self, words: str, final: bool = False) -> None:
        super().__init__(words)
        self.words, self.final = words, final


def _redact(text: str, spec: SourceSpec) -> str:
    """``text`` without the URL's credentials (a file's path is kept: it says which file)."""
    if "://" not in spec.target:
        return text
    text = text.replace(spec.target, safe_name(spec.target))
    password = urlsplit(spec.target).password
    return text.replace(password, "***") if password else text


def describe_error(exc: BaseException, spec: SourceSpec, elapsed_s: float = 0.0,
                   timeout_s: float = float("inf")) -> str:
    """``exc`` in words for the person running the watcher, without the camera's name and
    never with its credentials."""
    protocol = "RTSP" if spec.kind == "rtsp" else "HTTP"
    has_user = "://" in spec.target and urlsplit(spec.target).username is not None
    if isinstance(exc, VideoError):
        return _redact(str(exc), spec)
    if isinstance(exc, av.error.HTTPUnauthorizedError):
        if has_user:
            return (f"wrong user name or password: the camera refused them "
                    f"({protocol} 401 Unauthorized)")
        return (f"the camera asks for a user name and password ({protocol} 401 Unauthorized); "
                f"give them in the URL, as {spec.kind}://USER:PASSWORD@host/...")
    if isinstance(exc, av.error.HTTPForbiddenError):
        return f"the camera refused access to this stream ({protocol} 403 Forbidden)"
    if isinstance(exc, av.error.HTTPNotFoundError):
        return f"the camera has no stream at this path ({protocol} 404 Not Found)"
    if isinstance(exc, av.error.HTTPServerError):
        return f"the camera answered with a server error ({protocol} 5xx)"
    if isinstance(exc, av.error.HTTPClientError):
        return f"the camera refused the request ({protocol} 4xx)"
    if isinstance(exc, (ConnectionRefusedError,)):
        return ("connection refused: nothing answers at that address and port "
                "(is the camera on, the port right?)")
    if isinstance(exc, (av.error.ExitError, TimeoutError)) or elapsed_s >= 0.95 * timeout_s:
        return f"no answer within {timeout_s:g} s: the camera is unreachable or stopped sending"
    if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "the camera's network cannot be reached (host or network unreachable)"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
        return "the connection was lost"
    if isinstance(exc, av.error.InvalidDataError):
        return ("not a video: the address answered, but not with a video stream "
                "(a web page or a snapshot URL?)")
    if isinstance(exc, av.error.EOFError):
        return "the camera closed the stream"
    if isinstance(exc, av.error.FFmpegError) and getattr(exc, "errno", None) == errno.EIO:
        return "could not reach the camera (input/output error; is the host name right?)"
    return _redact(f"{exc.__class__.__name__}: {exc}", spec)


class Camera:
    """One source, read by its own thread; see the module's docstring.

    ``open_timeout_s`` bounds connecting, ``read_timeout_s`` the wait for the next packet of
    a stream that went quiet. ``wake``, an event shared by several cameras, is set whenever
    one of them has a new frame or ends, so one consumer can wait on all of them."""

    def __init__(self, source: str | SourceSpec, *, loop: bool = False,
                 backoff: Backoff = Backoff(), open_timeout_s: float = 10.0,
                 read_timeout_s: float = 10.0, wake: Optional[threading.Event] = None) -> None:
        self.spec = source if isinstance(source, SourceSpec) else parse_source(source)
        self.loop = loop
        self.backoff = backoff
        self.open_timeout_s, self.read_timeout_s = open_timeout_s, read_timeout_s
        self._wake = wake
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._slot: Optional[Frame] = None
        self._status = CameraStatus(self.spec.name, self.spec.kind, State.CONNECTING, since_s=time.time())
        self._arrivals: deque[float] = deque()
        self._thread: Optional[threading.Thread] = None
        self._connections = 0  # connections made (a file's rounds with loop=True are one)
        self._replays = 0  # rounds a looping file started again
        self._streamed = False  # the current connection delivered a frame
        self._next_round: Optional[float] = None  # when a looping file's next round is due

    # -- the consumer's side ------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    def start(self) -> "Camera":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"camera {self.name}", daemon=True)
            self._thread.start()
        return self

    def status(self) -> CameraStatus:
        with self._cond:
            now = time.monotonic()
            while self._arrivals and self._arrivals[0] < now - FPS_WINDOW_S:
                self._arrivals.popleft()
            fps = len(self._arrivals) / FPS_WINDOW_S
            return replace(self._status, fps=round(fps, 2))

    @property
    def finished(self) -> bool:
        """No frame is waiting and none will come (the source ended, failed or was closed)."""
        with self._cond:
            return self._slot is None and self._status.state in FINAL_STATES

    def latest(self, timeout_s: Optional[float] = 0.0) -> Optional[Frame]:
        """The newest frame not yet taken, waiting up to ``timeout_s`` for one (``None``: until
        one comes or the source finishes); None when there is none."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            while self._slot is None and self._status.state not in FINAL_STATES:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._cond.wait(left)
            frame, self._slot = self._slot, None
            if frame is not None:
                self._status = replace(self._status, frames_taken=self._status.frames_taken + 1)
            return frame

    def frames(self) -> Iterator[Frame]:
        """Each newest frame not yet taken, until the source finishes or is closed."""
        while True:
            frame = self.latest(timeout_s=None)
            if frame is None:
                return
            yield frame

    def close(self, timeout_s: float = 5.0) -> bool:
        """Stop the thread and wait up to ``timeout_s`` for it; True when it stopped. It stops
        within a frame interval, or a retry's wait; only a connection attempt or read in
        progress against a camera that does not answer can keep it up to its timeout."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        stopped = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
            stopped = not self._thread.is_alive()
            if not stopped:
                LOG.warning("camera %s: its reader did not stop within %g s; left to finish alone",
                            self.name, timeout_s)
        with self._cond:
            if self._status.state not in FINAL_STATES:
                self._set_state(State.ENDED)
            self._cond.notify_all()
        self._notify()
        return stopped

    def __enter__(self) -> "Camera":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Camera({self.name!r}, {self._status.state.value})"

    # -- the reader's side --------------------------------------------------------------
    def _notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _set_state(self, state: State, **counts: Any) -> None:
        """Under ``self._cond``."""
        since = time.time() if state != self._status.state else self._status.since_s
        self._status = replace(self._status, state=state, since_s=since, **counts)

    def _update(self, state: Optional[State] = None, **counts: Any) -> None:
        with self._cond:
            self._set_state(state or self._status.state, **counts)
            self._cond.notify_all()
        self._notify()

    def _post(self, raw: Any, wall_s: float, mono_s: float, stream_s: Optional[float]) -> None:
        with self._cond:
            st = self._status
            frame = Frame(self.name, st.frames_read, self._connections, raw, wall_s, mono_s, stream_s)
            dropped = st.dropped + (1 if self._slot is not None else 0)
            self._slot = frame
            self._arrivals.append(mono_s)
            self._status = replace(st, frames_read=st.frames_read + 1, dropped=dropped)
            self._cond.notify_all()
        self._notify()

    def _run(self) -> None:
        failures = 0  # failed attempts in a row
        try:
            while not self._stop.is_set():
                self._streamed = False
                started = time.monotonic()
                try:
                    self._read_once()
                    if self._stop.is_set():
                        break
                    if self.spec.kind != "file":
                        raise _Lost("the camera closed the stream")
                    if not self._streamed:
                        raise _Lost("the video has no frames we can decode", final=True)
                    if self.loop:
                        self._replays += 1
                        continue
                    LOG.info("camera %s: the file ended after %d frames", self.name,
                             self._status.frames_read)
                    break
                except _Lost as lost:
                    words, final = lost.words, lost.final
                except Exception as exc:  # noqa: BLE001 - every failure is put in words
                    if self._stop.is_set():
                        break
                    timeout = self.read_timeout_s if self._streamed else self.open_timeout_s
                    words = describe_error(exc, self.spec, time.monotonic() - started, timeout)
                    final = self.spec.kind == "file"  # a file will not mend itself
                if self._stop.is_set():
                    break
                failures = 1 if self._streamed else failures + 1
                message = f"camera {self.name}: {words}"
                count = self._status.failures + 1
                if final or (self.backoff.max_retries is not None and failures > self.backoff.max_retries):
                    if not final:
                        message += f" (gave up after {failures} failed attempts in a row)"
                    LOG.error("%s", message)
                    self._update(State.FAILED, last_error=message, failures=count)
                    return
                delay = self.backoff.delay(failures)
                LOG.warning("%s; retrying in %g s", message, delay)
                self._update(State.RETRYING, last_error=message, failures=count)
                if self._stop.wait(delay):
                    break
                self._update(State.CONNECTING)
        except BaseException as exc:  # a bug here must not pass silently
            LOG.exception("camera %s: the reader stopped", self.name)
            self._update(State.FAILED, last_error=f"camera {self.name}: the reader crashed "
                                                  f"({exc.__class__.__name__})")
            return
        self._update(State.ENDED)

    def _connected(self) -> None:
        """A connection is up (a file: it is open again for another round, not counted)."""
        if self._replays and self.spec.kind == "file":
            return
        self._connections += 1
        reconnects = self._connections - 1
        if reconnects:
            LOG.info("camera %s: reconnected (%d reconnects)", self.name, reconnects)
        else:
            LOG.info("camera %s: streaming", self.name)
        self._update(State.STREAMING, reconnects=reconnects)

    def _read_once(self) -> None:
        """Connect, and post frames until the stream ends (``self._streamed`` says whether
        any came)."""
        if self.spec.kind == "device":
            return self._read_device()
        if self.spec.kind == "file":
            container = open_input(self.spec.target)  # VideoError in words
        else:
            options = dict(RTSP_OPTIONS) if self.spec.kind == "rtsp" else {}
            container = av.open(self.spec.target, mode="r", options=options,
                                timeout=(self.open_timeout_s, self.read_timeout_s))
        try:
            if not container.streams.video:
                raise _Lost("the address answered, but with no video track", final=self.spec.kind == "file")
            stream = container.streams.video[0]
            paced = self.spec.kind == "file"
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            first_s: Optional[float] = None
            start, n = time.monotonic(), 0
            if paced and self._next_round is not None and self._next_round > start - 1.0:
                start = self._next_round  # a looping file's next round follows on the beat
            wall_start = time.time() + (start - time.monotonic())
            self._connected()
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if self._stop.is_set():
                        return
                    stream_s = frame.time
                    if paced:  # due at its own time from the file's first frame
                        if first_s is None and stream_s is not None:
                            first_s = stream_s
                        offset = n / rate if stream_s is None or first_s is None else stream_s - first_s
                        due = start + max(0.0, offset)
                        if due > time.monotonic() and self._stop.wait(due - time.monotonic()):
                            return
                        mono = max(time.monotonic(), due)
                        wall = wall_start + (mono - start)
                    else:
                        mono, wall = time.monotonic(), time.time()
                    self._post(frame, wall, mono, stream_s)
                    self._streamed = True
                    n += 1
                    if paced:
                        self._next_round = mono + 1.0 / rate
        finally:
            container.close()

    def _read_device(self) -> None:
        path = self.spec.target
        if not Path(path).exists():
            raise _Lost(f"no video device {path} (is the camera plugged in?)")
        capture = cv2.VideoCapture(path, cv2.CAP_V4L2)
        try:
            if not capture.isOpened():
                raise _Lost(f"cannot open the video device {path} (in use by another program, "
                            f"or no permission?)")
            self._connected()
            while not self._stop.is_set():
                ok, bgr = capture.read()
                if not ok:
                    raise _Lost("the video device stopped delivering frames")
                self._post(bgr, time.time(), time.monotonic(), None)
                self._streamed = True
        finally:
            capture.release()


def open_cameras(sources: Sequence[str], **options: Any) -> list[Camera]:
    """A started :class:`Camera` for each SOURCE (options as for :class:`Camera`)."""
    return [Camera(spec, **options).start() for spec in parse_sources(sources)]
