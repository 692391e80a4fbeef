"""Annotate a whole video file: decode -> shared pipeline -> draw -> H.264 mp4, streaming.

Why streaming: a minute of 640x480 video is 1800 frames, 1.6 GB as RGB arrays, so frames
are decoded, analysed, drawn and encoded one after another and only a few are alive at
once (:data:`IN_FLIGHT_PER_WORKER` per analysis thread).

Why threads: one frame's analysis does not keep both cores busy (YuNet and the
classifier run one thread each), and the pipeline is thread-safe, so frames are analysed
by a small pool while the calling thread decodes, draws and encodes, in order.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

import av
import cv2
import numpy as np

from ..annotate import annotate
from ..audio_track import AudioTrack
from ..detectors import DetectorSettings
from ..pipeline import Face, MaskPatrol, Settings
from ..runtime import usable_cpus
from ..tracking.people import People
from .counts import FrameCounts, Progress, VideoResult
from .read import Source, VideoError, frame_rate, frame_total, open_input, upright_rgb, video_frames
from .write import H264Writer

#: Detector defaults for video: faces of at least 60 px. Like the webcam page, video needs
#: tens of frames per second, and the detector's work falls about with the square of the
#: smallest face: YuNet's first pass shrinks the frame until that face is 32 px (Haar's,
#: 24 px). A person filling a quarter of a 640x480 frame's height has a face of about 60 px.
VIDEO_DETECTOR_DEFAULTS = DetectorSettings(min_face_px=60)
#: Decoded frames waiting per analysis thread: enough to keep the pool busy, few enough
#: that a 4K video holds only a handful of 25 MB frames.
IN_FLIGHT_PER_WORKER = 2
#: Largest frame the web page processes (1280x720); larger videos are scaled down to it.
#: A 1080p video kept at 1080p takes too much memory beside other sessions on a 512 MB
#: dyno (docs/performance.md, "Video"); at 720p the work and buffers are 2.25x smaller.
#: The CLI keeps the input size.
PAGE_MAX_PIXELS = 1280 * 720


class VideoCancelled(Exception):
    """Raised when ``should_cancel`` returned True; partial output has been deleted."""


def fitted_size(width: int, height: int, max_pixels: Optional[int]) -> tuple[int, int]:
    """(width, height) scaled down to at most ``max_pixels``, same aspect, even sides."""
    if not max_pixels or width * height <= max_pixels:
        return width, height
    scale = (max_pixels / (width * height)) ** 0.5
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def default_workers() -> int:
    return min(2, usable_cpus())


class _InOrder:
    """Frames whose analysis is under way, finished strictly in input order: followed
    person by person, counted, drawn and encoded. The writer is opened by the first finished
    frame, which sets the size. Frame counts keep each frame's own labels; the boxes show
    the person's number and judgement."""

    def __init__(self, tmp: Path, rate: Fraction, audio: AudioTrack, show_probability: bool, people: People) -> None:
        self.tmp, self.rate, self.audio, self.show_probability = tmp, rate, audio, show_probability
        self.people = people
        self.pending: deque[tuple[float, np.ndarray, Optional[Future]]] = deque()
        self.counts = FrameCounts()
        self.writer: Optional[H264Writer] = None
        self.last_faces: list[Face] = []
        self.last_shown: list[Face] = []
        self.analyzed = 0

    def add(self, time_s: float, rgb: np.ndarray, analysis: Optional[Future]) -> None:
        """Queue a frame; ``analysis`` is None for a frame that reuses the last faces."""
        self.pending.append((time_s, rgb, analysis))

    def finish_until(self, waiting: int) -> None:
        """Finish the oldest frames until at most ``waiting`` are left."""
        while len(self.pending) > waiting:
            self._finish_one()

    def cancel(self) -> None:
        for _, _, analysis in self.pending:
            if analysis is not None:
                analysis.cancel()

    def _finish_one(self) -> None:
        t, rgb, analysis = self.pending.popleft()
        if analysis is not None:
            self.last_faces = analysis.result()
            self.last_shown = self.people.update(self.last_faces, t, (rgb.shape[1], rgb.shape[0])).faces
            self.analyzed += 1
        self.counts.append(t, self.last_faces, analysis is not None)
        annotate(rgb, self.last_shown, self.show_probability, in_place=True)
        if self.writer is None:
            self.writer = H264Writer(self.tmp, rgb.shape[1], rgb.shape[0], self.rate, self.audio, start_s=t)
        if (rgb.shape[1], rgb.shape[0]) != (self.writer.width, self.writer.height):
            rgb = cv2.resize(rgb, (self.writer.width, self.writer.height), interpolation=cv2.INTER_AREA)
        self.writer.write(rgb, t)


def annotate_video(source: Source, dest: str | Path, patrol: MaskPatrol,
                   settings: Settings = Settings(VIDEO_DETECTOR_DEFAULTS), *, every: int = 1,
                   show_probability: bool = True,
                   on_progress: Optional[Callable[[Progress], None]] = None,
                   should_cancel: Optional[Callable[[], bool]] = None,
                   progress_interval_s: float = 0.25, workers: Optional[int] = None,
                   max_pixels: Optional[int] = None) -> VideoResult:
    """Write ``source`` with every face boxed and labelled to ``dest`` (H.264 mp4).

    ``every`` = N analyses frames 0, N, 2N, ...; the frames between keep the boxes and
    labels of the last analysed frame (and count its faces). ``on_progress`` is called at
    most every ``progress_interval_s`` and once at the end; an exception it raises (for
    example Streamlit stopping the script) stops the run like ``should_cancel`` returning
    True, which raises :class:`VideoCancelled`. Either way nothing is left at ``dest``: the
    video is written to a temporary file beside it and renamed only when complete.
    ``max_pixels`` scales larger frames down (same aspect, even sides) before anything
    else, so that the output is smaller too.
    """
    if every < 1:
        raise ValueError("every must be 1 or more")
    dest = Path(dest)
    workers = workers or default_workers()
    container = open_input(source)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".part.mp4", dir=dest.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    frames: Optional[_InOrder] = None
    done = False
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-threaded decoding
        audio = AudioTrack(container.streams.audio[0] if container.streams.audio else None)
        rate = frame_rate(stream)
        total = frame_total(stream, container, rate)
        frames = _InOrder(tmp, rate, audio, show_probability, People.for_patrol(patrol, settings))
        started = time.perf_counter()
        cpu_started = time.process_time()
        last_report = started
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="video-analyze") as pool:
            try:
                for index, frame in enumerate(video_frames(container, stream, audio)):
                    if should_cancel is not None and should_cancel():
                        raise VideoCancelled("cancelled")
                    rgb = upright_rgb(frame)
                    if index == 0:
                        fit = fitted_size(rgb.shape[1], rgb.shape[0], max_pixels)
                    if fit != (rgb.shape[1], rgb.shape[0]):
                        rgb = cv2.resize(rgb, fit, interpolation=cv2.INTER_AREA)
                    t = float(frame.time) if frame.time is not None else index / float(rate)
                    frames.add(t, rgb, pool.submit(patrol.analyze, rgb, settings) if index % every == 0 else None)
                    frames.finish_until(workers * IN_FLIGHT_PER_WORKER)
                    now = time.perf_counter()
                    if on_progress is not None and now - last_report >= progress_interval_s:
                        last_report = now
                        on_progress(Progress(len(frames.counts), total, now - started))
                frames.finish_until(0)
            except BaseException:
                frames.cancel()
                raise
        writer, counts = frames.writer, frames.counts
        if writer is None:
            raise VideoError("The video has no frames we can decode")
        writer.finish()
        frames.people.finish()
        elapsed = time.perf_counter() - started
        if on_progress is not None:
            on_progress(Progress(len(counts), len(counts), elapsed))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the result is an ordinary file
        os.replace(tmp, dest)
        done = True
        return VideoResult(writer.stream.width, writer.stream.height, float(rate), len(counts), frames.analyzed,
                           every, elapsed, counts, time.process_time() - cpu_started, audio.outcome,
                           frames.people.records())
    except av.error.FFmpegError as exc:
        raise VideoError(f"The video could not be decoded or encoded: {exc}") from None
    finally:
        container.close()
        if not done:
            if frames is not None and frames.writer is not None:
                frames.writer.abort()
            tmp.unlink(missing_ok=True)


def annotate_video_bytes(data: bytes, patrol: MaskPatrol, settings: Settings = Settings(VIDEO_DETECTOR_DEFAULTS),
                         **kwargs) -> tuple[bytes, VideoResult]:
    """:func:`annotate_video` for an upload: the mp4 comes back as bytes, and the one
    temporary file (needed because faststart rewrites the file) is always deleted."""
    with tempfile.TemporaryDirectory(prefix="maskpatrol-video-") as folder:
        out = Path(folder) / "annotated.mp4"
        result = annotate_video(data, out, patrol, settings, **kwargs)
        return out.read_bytes(), result
