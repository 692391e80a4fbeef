"""The webcam frame callback: frame in, annotated frame out, counts queued for the page."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..annotate import annotate
from ..pipeline import Counts, MaskPatrol, Settings
from ..tracking.people import People, PersonRecord
from .channel import FrameResult, OptionsBox, ResultQueue
from .fps import Clock, FpsMeter

LOGGER = logging.getLogger(__name__)


class LiveProcessor:
    """The ``video_frame_callback``: frame in, annotated frame out, result queued.

    Runs on streamlit-webrtc's worker thread. It uses only the shared, thread-safe
    pipeline, the :class:`OptionsBox` and the :class:`ResultQueue`; never ``st.*``.
    """

    def __init__(self, patrol: MaskPatrol, options: OptionsBox, results: ResultQueue,
                 clock: Clock = time.monotonic) -> None:
        self.patrol = patrol
        self.options = options
        self.results = results
        self.clock = clock
        self.meter = FpsMeter(clock=clock)
        self._count_lock = threading.Lock()
        self.frames = 0
        self.errors = 0
        self.analysis_s = 0.0
        # The stream's people: made at its first frame, with the settings of that moment.
        self._people_lock = threading.Lock()
        self._people: People | None = None

    def process_rgb(self, rgb: np.ndarray, captured_s: float | None = None) -> tuple[np.ndarray, FrameResult]:
        """Analyse and annotate one RGB frame (the testable core of :meth:`__call__`).
        ``captured_s``: the frame's own time in the stream (seconds), which people are
        followed by; without it, when the analysis is done."""
        opts = self.options.get()
        # A copy we own (contiguous, as cv2 drawing needs): boxes are drawn on it, never on the
        # caller's array, which another thread may be analysing (a test shares one frame).
        rgb = np.array(rgb[:, ::-1] if opts.mirror else rgb, order="C", copy=True)
        start = time.perf_counter()
        faces = self.patrol.analyze(rgb, opts.settings)
        seen_at = self.clock() if captured_s is None else captured_s
        with self._people_lock:
            people = self._people_for(opts.settings, seen_at)
            update = people.update(faces, seen_at, (rgb.shape[1], rgb.shape[0]))
            people_counts = people.counts
        annotate(rgb, update.faces, opts.show_probability, in_place=True)
        elapsed = time.perf_counter() - start
        now = self.clock()
        fps = self.meter.tick(now)
        with self._count_lock:
            self.frames += 1
            self.analysis_s += elapsed
        result = FrameResult.from_faces(faces, now, elapsed * 1000.0, fps, people_counts, len(update.alerts))
        self.results.put(result)
        return rgb, result

    def __call__(self, frame: Any) -> Any:
        """``av.VideoFrame`` -> ``av.VideoFrame``. An error in one frame is logged and
        reported, and the frame passes through unchanged: raising here would end the
        stream for the user."""
        import av

        try:
            rgb = frame.to_ndarray(format="rgb24")
            # The frame's time in the stream (RTP-based): followed by capture, not by when the
            # worker got to it, so people's speeds are right when frames are skipped.
            out, _ = self.process_rgb(rgb, None if frame.time is None else float(frame.time))
            return av.VideoFrame.from_ndarray(out, format="rgb24")
        except Exception as exc:  # noqa: BLE001 - keep the stream alive, show the error
            with self._count_lock:
                self.errors += 1
                first = self.errors == 1
            if first:
                LOGGER.exception("live frame analysis failed")
            self.results.put(FrameResult(self.clock(), Counts(), 0.0, self.meter.fps(), error=str(exc)))
            return frame

    def _people_for(self, settings: Settings, t: float) -> People:
        """This stream's people (under ``_people_lock``), judged by the thresholds now set:
        a threshold moved mid-stream applies to the next judgements. ``t``: the frame's time,
        the stream's start for a new one."""
        if self._people is None:
            self._people = People.for_patrol(self.patrol, settings)
            self._started = t
        else:
            self._people.threshold = self.patrol.threshold(settings)
            self._people.incorrect_threshold = self.patrol.incorrect_threshold(settings)
        return self._people

    def people_records(self) -> list[PersonRecord]:
        """Everyone judged in this stream, times in seconds since its first frame."""
        with self._people_lock:
            if self._people is None:
                return []
            start = self._started
            return [replace(r, first_seen_s=r.first_seen_s - start, last_seen_s=r.last_seen_s - start)
                    for r in self._people.records()]

    def people_counts(self) -> Counts | None:
        """People judged in this stream by label; None before its first frame."""
        with self._people_lock:
            return None if self._people is None else self._people.counts

    def finish_people(self) -> int:
        """The stream ended: judge everyone still in view. Returns the alerts this raised."""
        with self._people_lock:
            return len(self._people.finish()) if self._people is not None else 0

    def reset(self) -> None:
        """Start counting afresh (a new stream)."""
        with self._people_lock:
            self._people = None
        self.meter.reset()
        with self._count_lock:
            self.frames = 0
            self.errors = 0
            self.analysis_s = 0.0

    def stats(self) -> tuple[int, float]:
        """(frames processed, mean analysis milliseconds per frame) since the last reset."""
        with self._count_lock:
            n, total = self.frames, self.analysis_s
        return n, (total / n * 1000.0 if n else 0.0)
