"""The webcam frame callback: frame in, annotated frame out, counts queued for the page."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import numpy as np

from ..annotate import annotate
from ..pipeline import Counts, MaskPatrol
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

    def process_rgb(self, rgb: np.ndarray) -> tuple[np.ndarray, FrameResult]:
        """Analyse and annotate one RGB frame (the testable core of :meth:`__call__`)."""
        opts = self.options.get()
        # A copy we own (contiguous, as cv2 drawing needs): boxes are drawn on it, never on the
        # caller's array, which another thread may be analysing (a test shares one frame).
        rgb = np.array(rgb[:, ::-1] if opts.mirror else rgb, order="C", copy=True)
        start = time.perf_counter()
        faces = self.patrol.analyze(rgb, opts.settings)
        annotate(rgb, faces, opts.show_probability, in_place=True)
        elapsed = time.perf_counter() - start
        now = self.clock()
        fps = self.meter.tick(now)
        with self._count_lock:
            self.frames += 1
            self.analysis_s += elapsed
        result = FrameResult.from_faces(faces, now, elapsed * 1000.0, fps)
        self.results.put(result)
        return rgb, result

    def __call__(self, frame: Any) -> Any:
        """``av.VideoFrame`` -> ``av.VideoFrame``. An error in one frame is logged and
        reported, and the frame passes through unchanged: raising here would end the
        stream for the user."""
        import av

        try:
            rgb = frame.to_ndarray(format="rgb24")
            out, _ = self.process_rgb(rgb)
            return av.VideoFrame.from_ndarray(out, format="rgb24")
        except Exception as exc:  # noqa: BLE001 - keep the stream alive, show the error
            with self._count_lock:
                self.errors += 1
                first = self.errors == 1
            if first:
                LOGGER.exception("live frame analysis failed")
            self.results.put(FrameResult(self.clock(), Counts(), 0.0, self.meter.fps(), error=str(exc)))
            return frame

    def reset(self) -> None:
        """Start counting afresh (a new stream)."""
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
