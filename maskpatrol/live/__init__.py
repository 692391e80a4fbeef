"""Live webcam analysis: the WebRTC frame callback and what the page reads from it.

streamlit-webrtc calls the frame callback on its own worker thread, once per camera
frame, while the Streamlit script thread redraws the page. The two never share Streamlit
state (``st.*`` is not thread-safe and belongs to the script thread); they share three
small thread-safe objects instead, bundled per browser session in :class:`LiveSession`:

* :class:`OptionsBox` - the sidebar's current settings; the page writes it on every rerun
  and the callback reads it on every frame, so a slider moved while streaming applies to
  the next frame without restarting the stream.
* :class:`ResultQueue` - one small :class:`FrameResult` per processed frame; bounded and
  dropping the oldest, so a page that stops reading (closed tab) never makes it grow.
* :class:`LiveProcessor` - the callback itself, with an :class:`FpsMeter`.

:class:`LivePanel` lives on the page side only: it turns the drained results into the
numbers the page shows (a one-second summary plus a minute of history).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from typing import Any

import numpy as np

from ..annotate import annotate
from ..pipeline import MaskPatrol
from .channel import FrameResult, LiveOptions, OptionsBox, ResultQueue  # noqa: F401 - re-exported
from .fps import Clock, FpsMeter  # noqa: F401 - re-exported
from .panel import ALERT_SHARE, HistoryPoint, LivePanel, Snapshot, summarize_window  # noqa: F401 - re-exported

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
            self.results.put(FrameResult(self.clock(), 0, 0, 0, 0.0, self.meter.fps(), error=str(exc)))
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


def release_memory() -> None:
    """Free what a stopped stream leaves behind, and give it back to the OS.

    A stopped aiortc peer connection (codec contexts, frame buffers: ~20 MB at 640x480)
    sits in reference cycles that only a full collection frees; left to the cyclic GC's
    schedule, RSS climbed ~20 MB per start/stop before falling back. The freed frame
    buffers then stay in glibc's per-thread arenas, so RSS after a stop wandered by
    +-25 MB; ``malloc_trim`` returns them, which matters on a 512 MB dyno.
    """
    gc.collect()
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        pass


class LiveSession:
    """The per-browser-session bundle kept in ``st.session_state``: created once, reused
    by every rerun and every start/stop, so restarting a stream allocates nothing new."""

    def __init__(self, patrol: MaskPatrol, clock: Clock = time.monotonic, queue_size: int = 256) -> None:
        self.options = OptionsBox()
        self.results = ResultQueue(queue_size)
        self.processor = LiveProcessor(patrol, self.options, self.results, clock=clock)
        self.panel = LivePanel(clock=clock)
        self.was_playing = False

    def on_playing(self, playing: bool) -> bool:
        """Tell the session whether the stream plays now (every rerun). On a fresh start,
        forget the previous stream's numbers; on a stop, free the stopped stream.

        Returns True when a new stream just started.
        """
        started = playing and not self.was_playing
        stopped = self.was_playing and not playing
        self.was_playing = playing
        if started:
            self.results.clear()
            self.processor.reset()
            self.panel.reset()
        if stopped:
            release_memory()
        return started

    def refresh(self) -> Snapshot | None:
        """Drain the queue into the panel (page thread, about once a second)."""
        return self.panel.update(self.results.drain())
