"""The ``watch`` command: cameras -> pipeline -> people -> events in a database and webhooks.

One thread per camera takes the newest frame from its :class:`~maskpatrol.sources.Camera`
(frames that arrive while a frame is analysed are dropped, and counted, so the watcher never
falls behind real time), runs the shared :class:`~maskpatrol.pipeline.MaskPatrol` on it and
follows its faces with the camera's own :class:`~maskpatrol.tracking.people.People`.

- A person judged not properly masked (an alert) becomes a ``new`` event; when their track
  ends (or the watcher stops, or a file ends) the same id gets its ``end``: last seen, final
  label and best face. Each goes to the :class:`~maskpatrol.events.store.EventStore` and to
  every ``--webhook`` (Frigate-style change feed, :mod:`maskpatrol.notify.messages`).
- Both happen on one writer thread fed by a queue, so a slow or absent database never stalls
  analysis; the store keeps events in memory through an outage and the writer flushes it
  every few seconds (the store only retries when written to). Retention
  (``EventStore.delete_older_than``) runs at start and every hour.
- Faces are kept only with ``keep_faces``: a thumbnail of the person's largest face, blurred
  unless ``blur`` is False, in the database and in the webhook messages.
- One status line a minute per camera (or a JSON line), and with ``metrics_port`` an HTTP
  server with Prometheus ``/metrics`` and a JSON ``/healthz``.
- :meth:`Watch.stop` (SIGTERM, Ctrl-C) stops the cameras, ends everyone still in view,
  writes what waits and gives the webhooks a bounded time to deliver.

Times: people are followed on each frame's own time in its stream (a file's, or a camera's
RTP clock), carried over reconnects and file loops so it never runs backwards; event times
are wall-clock UTC, from the moment each frame arrived.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any, Mapping, Optional, Sequence

import numpy as np

from .events.model import Event, thumbnail_jpeg
from .events.store import KEEP_DAYS, EventStore
from .notify import messages
from .notify.webhooks import WebhookSender
from .pipeline import MaskPatrol, Settings
from .preprocess import square_crop
from .sources import Camera, CameraStatus, SourceSpec, State
from .tracking.people import People, Person, PersonRecord

LOG = logging.getLogger(__name__)

#: Seconds between status lines.
STATUS_INTERVAL_S = 60.0
#: Seconds between flushes of events the store keeps in memory while the database is away.
FLUSH_INTERVAL_S = 5.0
#: Seconds between retention runs.
RETENTION_INTERVAL_S = 3600.0
#: Seconds the webhooks get at shutdown to deliver what is queued.
CLOSE_TIMEOUT_S = 10.0
#: People who left kept in memory per camera (the latest): everyone is in the event log, and a
#: camera watched for months must not hold every passer-by.
KEEP_LEFT = 100
#: How long a worker waits for a frame before it looks at the stop flag again.
POLL_S = 0.25


@dataclass(frozen=True)
class WatchOptions:
    """What the ``watch`` command was asked for, apart from the pipeline's settings."""

    db: Optional[str] = None
    keep_days: float = KEEP_DAYS
    keep_faces: bool = False
    blur: bool = True
    webhooks: tuple[str, ...] = ()
    #: Apprise URLs (chat and push services): the same messages, as text with the face.
    notify: tuple[str, ...] = ()
    loop: bool = False
    metrics_port: Optional[int] = None
    metrics_host: str = "127.0.0.1"
    json: bool = False
    status_interval_s: float = STATUS_INTERVAL_S
    flush_interval_s: float = FLUSH_INTERVAL_S
    retention_interval_s: float = RETENTION_INTERVAL_S
    close_timeout_s: float = CLOSE_TIMEOUT_S


@dataclass
class Counters:
    """One camera's counters beyond its source's own (written by one thread each)."""

    frames: int = 0  # analysed
    events: int = 0  # new events (people found not properly masked)
    ended: int = 0  # end events
    delivered: int = 0  # webhook messages delivered (per URL)
    delivery_failures: int = 0  # webhook messages given up (per URL)
    errors: int = 0  # frames whose analysis raised


@dataclass
class _Open:
    """An alerted person whose ``end`` has not been sent yet."""

    event: Event
    person: Person
    before: dict


@dataclass
class _Job:
    event: Event
    message: dict


_STOP = object()


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


class _CameraWorker:
    """One camera's thread: frames -> pipeline -> people -> events on the writer's queue."""

    def __init__(self, watch: "Watch", camera: Camera) -> None:
        self.watch, self.camera = watch, camera
        self.name = camera.name
        self.counters = Counters()
        self.people = People.for_patrol(watch.patrol, watch.settings, keep_left=KEEP_LEFT)
        self.thread = threading.Thread(target=self._run, name=f"watch {self.name}", daemon=True)
        self._open: dict[int, _Open] = {}  # by track
        self._best: dict[int, tuple[float, np.ndarray]] = {}  # track -> (area share, face crop)
        self._active: set[int] = set()
        # Stream time -> a time that never runs backwards, and -> wall clock.
        self._offset: Optional[float] = None
        self._connection = 0
        self._last_t = float("-inf")
        self._wall_minus_t = time.time()
        self._last_frame_mono = time.monotonic()

    # -- time ---------------------------------------------------------------------------
    def _time(self, frame) -> float:
        if frame.stream_s is None:
            t = frame.monotonic_s
        else:
            # A reconnect or a file's next round restarts the stream's clock: carry it on.
            if (self._offset is None or frame.connection != self._connection
                    or frame.stream_s + self._offset <= self._last_t):
                resume = 0.0 if self._offset is None else \
                    self._last_t + max(1e-3, frame.monotonic_s - self._last_frame_mono)
                self._offset = resume - frame.stream_s
            t = frame.stream_s + self._offset
        t = max(t, self._last_t + 1e-6)
        self._connection, self._last_t = frame.connection, t
        self._wall_minus_t = frame.wall_s - t
        self._last_frame_mono = frame.monotonic_s
        return t

    def _wall(self, t: float) -> datetime:
        return _utc(t + self._wall_minus_t)

    # -- the loop -----------------------------------------------------------------------
    def _run(self) -> None:
        stop, camera = self.watch._stop, self.camera
        try:
            while not stop.is_set():
                frame = camera.latest(timeout_s=POLL_S)
                if frame is None:
                    if camera.finished:
                        break
                    self._idle()
                    continue
                self._analyse(frame)
        except Exception:  # a bug must not take the other cameras down
            LOG.exception("camera %s: the watcher stopped on an error", self.name)
        finally:
            camera.close()
            try:
                self._finish()
            except Exception:
                LOG.exception("camera %s: could not end the people in view", self.name)

    def _analyse(self, frame) -> None:
        rgb = frame.rgb
        try:
            faces = self.watch.patrol.analyze(rgb, self.watch.settings)
        except Exception:
            self.counters.errors += 1
            LOG.exception("camera %s: frame %d could not be analysed", self.name, frame.index)
            return
        t = self._time(frame)
        size = (rgb.shape[1], rgb.shape[0])
        update = self.people.update(faces, t, size)
        self.counters.frames += 1
        if self.watch.options.keep_faces:
            area = float(size[0]) * float(size[1])
            for face, track in zip(update.faces, update.tracks):
                share = float(face.box[2]) * float(face.box[3]) / area
                if track not in self._best or share > self._best[track][0]:
                    self._best[track] = (share, square_crop(rgb, face.box).copy())
        for record in update.alerts:
            self._new(record)
        self._ended()

    def _idle(self) -> None:
        """No frame: a camera that went quiet still ends the people it had, once they would
        have been lost (an empty frame at the time that has passed)."""
        if not self.people.tracker.active():
            return
        quiet = time.monotonic() - self._last_frame_mono
        if quiet > self.watch.settings.people.keep_lost_s:
            self.people.update([], self._last_t + quiet, None)
            self._last_t += quiet
            self._last_frame_mono = time.monotonic()
            self._ended()

    def _ended(self) -> None:
        active = set(self.people.tracker.active())
        for track in self._active - active:
            self._end(track)
            self._best.pop(track, None)
        self._active = active

    def _finish(self) -> None:
        """The stream is over (stopped, or a file ended): judge everyone in view, and end
        every alerted person."""
        for record in self.people.finish():
            self._new(record)
        for track in list(self._open):
            self._end(track)
        self._best.clear()

    # -- events -------------------------------------------------------------------------
    def _person(self, number: int) -> Person:
        for person in reversed(self.people.people()):
            if person.number == number:
                return person
        raise KeyError(number)  # pragma: no cover - People numbers every person it alerts on

    def _thumbnail(self, track: int) -> Optional[bytes]:
        best = self._best.get(track)
        if best is None or not self.watch.options.keep_faces:
            return None
        return thumbnail_jpeg(best[1], blur=self.watch.options.blur)

    def _new(self, record: PersonRecord) -> None:
        person = self._person(record.number)
        thumb = self._thumbnail(person.track)
        event = Event.new(self.name, record.number, record.label, record.p_no_mask, record.p_incorrect,
                          self._wall(record.first_seen_s), self._wall(record.last_seen_s), thumb)
        state = self._state(event, ended=False)
        self._open[person.track] = _Open(event, person, state)
        self.counters.events += 1
        LOG.info("camera %s: person %d %s (event %s)", self.name, record.number, record.label, event.id)
        self.watch._submit(event, messages.new_message(state))

    def _end(self, track: int) -> None:
        opened = self._open.pop(track, None)
        if opened is None:
            return
        record = People.record(opened.person)
        event = opened.event.ended(self._wall(record.last_seen_s), record.label, record.p_no_mask,
                                   record.p_incorrect, self._thumbnail(track))
        self.counters.ended += 1
        self.watch._submit(event, messages.end_message(self._state(event, ended=True), opened.before))

    @staticmethod
    def _state(event: Event, ended: bool) -> dict:
        return messages.person_state(event.id, event.camera, event.person, event.label, event.p_no_mask,
                                     event.p_incorrect, event.first_seen, event.last_seen, ended=ended,
                                     best_face_jpeg=event.thumbnail)

    # -- status -------------------------------------------------------------------------
    def status(self) -> dict:
        cam: CameraStatus = self.camera.status()
        c = self.counters
        return {"camera": self.name, "kind": cam.kind, "state": cam.state.value, "frames_read": cam.frames_read,
                "frames_analysed": c.frames, "dropped": cam.dropped, "reconnects": cam.reconnects,
                "failures": cam.failures, "events": c.events, "ended": c.ended, "delivered": c.delivered,
                "delivery_failures": c.delivery_failures, "analysis_errors": c.errors,
                "last_error": cam.last_error}


class Watch:
    """Watch ``sources`` until :meth:`stop` or until every source has ended (files without
    ``loop``); see the module's docstring. ``store`` may be given (tests); by default it
    comes from ``options``, as do the webhook and Apprise senders."""

    def __init__(self, patrol: MaskPatrol, sources: Sequence[str | SourceSpec], settings: Settings = Settings(),
                 options: WatchOptions = WatchOptions(), store: Optional[EventStore] = None,
                 out: Optional[IO[str]] = None) -> None:
        self.patrol, self.settings, self.options = patrol, settings, options
        self.out = sys.stdout if out is None else out
        self._stop = threading.Event()
        self._count_lock = threading.Lock()
        self._queue: "queue.Queue[Any]" = queue.Queue()
        self.cameras = [Camera(s, loop=options.loop) for s in sources]
        self.workers = [_CameraWorker(self, c) for c in self.cameras]
        self.store = store if store is not None else EventStore.open(options.db)
        self.senders: list[WebhookSender] = []
        counted = {"on_delivered": partial(self._count, "delivered"),
                   "on_undelivered": partial(self._count, "delivery_failures")}
        try:
            if options.webhooks:
                self.senders.append(WebhookSender(options.webhooks, secret=os.environ.get(messages.SECRET_ENV) or None,
                                                  **counted))
            if options.notify:
                from .notify.apprise import AppriseSender

                self.senders.append(AppriseSender(options.notify, **counted))
        except (ValueError, ModuleNotFoundError):
            for sender in self.senders:
                sender.close(0)
            self.store.close()
            raise
        self._writer = threading.Thread(target=self._write, name="watch writer", daemon=True)
        self._metrics: Optional[ThreadingHTTPServer] = None
        self._running = False
        self.started_mono = time.monotonic()
        self._last_status: dict[str, tuple[float, int]] = {}

    # -- running ------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the watcher to stop; :meth:`run` then shuts down and returns."""
        self._stop.set()

    def run(self) -> int:
        """Watch until stopped or every source ended; 0, or 1 when a source failed for good."""
        self._retention()
        self._running = True
        if self.options.metrics_port is not None:
            self._metrics = serve_metrics(self, self.options.metrics_host, self.options.metrics_port)
        self._writer.start()
        for camera in self.cameras:
            camera.start()
        for worker in self.workers:
            worker.thread.start()
        next_status = time.monotonic() + self.options.status_interval_s
        try:
            while not self._stop.wait(0.2):
                if not any(w.thread.is_alive() for w in self.workers):
                    break
                if time.monotonic() >= next_status:
                    next_status += self.options.status_interval_s
                    self.print_status()
        finally:
            self._shutdown()
        self.print_status()
        failed = [w.name for w in self.workers if w.camera.status().state is State.FAILED]
        return 1 if failed else 0

    def _shutdown(self) -> None:
        self._stop.set()
        for worker in self.workers:
            worker.thread.join()  # bounded: a frame's analysis, a camera's close (5 s)
        self._queue.put(_STOP)
        self._writer.join()
        for sender in self.senders:
            undelivered = sender.close(self.options.close_timeout_s)
            if undelivered:
                LOG.error("%d deliveries were not made (each logged above with its event id)", len(undelivered))
        self.store.close()
        self._running = False
        if self._metrics is not None:
            self._metrics.shutdown()
            self._metrics.server_close()

    def _count(self, counter: str, message: Mapping[str, Any]) -> None:
        """One more delivery (or failure) for the camera ``message`` is about (a sender's thread)."""
        camera = (message.get("after") or {}).get("camera")
        with self._count_lock:
            for worker in self.workers:
                if worker.name == camera:
                    setattr(worker.counters, counter, getattr(worker.counters, counter) + 1)

    # -- the writer ---------------------------------------------------------------------
    def _submit(self, event: Event, message: dict) -> None:
        self._queue.put(_Job(event, message))

    def _write(self) -> None:
        next_flush = time.monotonic() + self.options.flush_interval_s
        next_retention = time.monotonic() + self.options.retention_interval_s
        while True:
            try:
                job = self._queue.get(timeout=min(self.options.flush_interval_s, 1.0))
            except queue.Empty:
                job = None
            if job is _STOP:
                return
            try:
                if job is not None:
                    for sender in self.senders:
                        sender.send(job.message)
                    self.store.upsert(job.event)
                now = time.monotonic()
                if now >= next_flush:
                    next_flush = now + self.options.flush_interval_s
                    if self.store.pending:
                        self.store.flush()
                if now >= next_retention:
                    next_retention = now + self.options.retention_interval_s
                    self._retention()
            except Exception:  # logged; the writer goes on with the next event
                LOG.exception("event writer: %s", "could not write an event" if job else "flush failed")

    def _retention(self) -> None:
        try:
            deleted = self.store.delete_older_than(self.options.keep_days)
        except Exception as exc:  # the database may be away; the next hour tries again
            LOG.warning("retention: could not delete events older than %g days: %s", self.options.keep_days, exc)
            return
        if deleted:
            LOG.info("retention: deleted %d events older than %g days", deleted, self.options.keep_days)

    # -- status -------------------------------------------------------------------------
    def statuses(self) -> list[dict]:
        return [w.status() for w in self.workers]

    def print_status(self) -> None:
        now = time.monotonic()
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        for row in self.statuses():
            since, frames = self._last_status.get(row["camera"], (self.started_mono, 0))
            self._last_status[row["camera"]] = (now, row["frames_analysed"])
            fps = (row["frames_analysed"] - frames) / max(now - since, 1e-6)
            row = {"time": stamp, **row, "fps": round(fps, 2)}
            if self.options.json:
                print(json.dumps(row), file=self.out, flush=True)
            else:
                print(status_line(row), file=self.out, flush=True)

    def health(self) -> dict:
        return {"status": "ok" if self._running and not self._stop.is_set() else "stopping",
                "cameras": [{k: row[k] for k in ("camera", "state", "frames_analysed", "dropped", "reconnects",
                                                 "events", "last_error")} for row in self.statuses()]}


def status_line(row: Mapping[str, Any]) -> str:
    text = (f"{row['time']} camera {row['camera']}: {row['state']}, {row['frames_analysed']} frames analysed "
            f"({row['fps']:.1f} fps), {row['dropped']} dropped, {row['reconnects']} reconnects, "
            f"{row['events']} events, {row['delivered']} deliveries ({row['delivery_failures']} failed)")
    return text + (f"; last error: {row['last_error']}" if row["last_error"] else "")


# -- metrics and health ------------------------------------------------------------------

#: (metric name without _total, status key, help) of the per-camera counters.
COUNTERS = (
    ("maskpatrol_frames_analysed", "frames_analysed", "Frames analysed"),
    ("maskpatrol_frames_read", "frames_read", "Frames read from the camera"),
    ("maskpatrol_frames_dropped", "dropped", "Frames dropped to keep up with real time"),
    ("maskpatrol_reconnects", "reconnects", "Reconnections to the camera"),
    ("maskpatrol_camera_failures", "failures", "Failed connection attempts and lost streams"),
    ("maskpatrol_events", "events", "People found not properly masked (new events)"),
    ("maskpatrol_events_ended", "ended", "End events (people who left)"),
    ("maskpatrol_webhook_deliveries", "delivered", "Webhook messages delivered"),
    ("maskpatrol_webhook_failures", "delivery_failures", "Webhook messages given up after retries"),
)


class _Collector:
    """Reads the watcher's counters when Prometheus scrapes (nothing to keep in step)."""

    def __init__(self, watch: Watch) -> None:
        self.watch = watch

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        rows = self.watch.statuses()
        for name, key, text in COUNTERS:
            family = CounterMetricFamily(name, text, labels=["camera"])
            for row in rows:
                family.add_metric([row["camera"]], row[key])
            yield family
        up = GaugeMetricFamily("maskpatrol_camera_streaming", "1 while the camera delivers frames",
                               labels=["camera", "state"])
        for row in rows:
            up.add_metric([row["camera"], row["state"]], 1.0 if row["state"] == State.STREAMING.value else 0.0)
        yield up
        pending = GaugeMetricFamily("maskpatrol_events_pending", "Events waiting in memory for the database")
        pending.add_metric([], self.watch.store.pending)
        yield pending


def serve_metrics(watch: Watch, host: str, port: int) -> ThreadingHTTPServer:
    """``/metrics`` (Prometheus text format) and ``/healthz`` (JSON, 200 while running) on
    ``host:port``, in a thread. A tiny ``http.server`` of our own, because prometheus_client's
    ``start_http_server`` answers every path with the metrics and has no place for a health
    check."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(_Collector(watch))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, CONTENT_TYPE_LATEST, generate_latest(registry))
            elif path == "/healthz":
                health = watch.health()
                self._answer(200 if health["status"] == "ok" else 503, "application/json",
                             json.dumps(health).encode())
            else:
                self._answer(404, "text/plain; charset=utf-8", b"not found: try /metrics or /healthz\n")

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="watch metrics",
                     daemon=True).start()
    LOG.info("metrics on http://%s:%d/metrics, health on /healthz", host, server.server_address[1])
    return server


def run(patrol: MaskPatrol, sources: Sequence[str], settings: Settings, options: WatchOptions) -> int:
    """The command: watch until SIGTERM / Ctrl-C or every file ended, then stop cleanly."""
    watch = Watch(patrol, sources, settings, options)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda signum, _frame: (
                LOG.info("%s: stopping", signal.Signals(signum).name), watch.stop()))
    try:
        return watch.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
