"""Annotate a whole video file: decode -> shared pipeline -> draw -> H.264 mp4, streaming.

Why streaming: a minute of 640x480 video is 1800 frames, 1.6 GB as RGB arrays, so frames
are decoded, analysed, drawn and encoded one after another and only a few are alive at
once (:data:`IN_FLIGHT_PER_WORKER` per analysis thread). Per-frame counts are kept in
compact arrays (17 bytes a frame: an hour at 30 fps is under 2 MB).

Why H.264 (libx264, ``yuv420p``, ``+faststart``) in mp4: it is the one format every
browser's ``<video>`` plays, and faststart puts the index first so playback starts before
the whole file has arrived. The output has the input's frame count and (display) size,
and its sound (:mod:`maskpatrol.audio_track`).

Why threads: on 2 cores a Haar scan of one frame does not keep both cores busy, and the
pipeline is thread-safe, so frames are analysed by a small pool while the calling thread
decodes, draws and encodes, in order.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import time
from array import array
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Callable, Iterator, Optional, Sequence, Union

import av
import cv2
import numpy as np

from .annotate import annotate
from .audio_track import AudioTrack
from .detectors import DetectorSettings
from .pipeline import Face, MaskPatrol, Settings
from .runtime import usable_cpus

#: Containers offered by the upload widget and accepted by the CLI.
VIDEO_EXTENSIONS = ("mp4", "mov", "m4v", "avi", "webm", "mkv")
#: Detector defaults for video: faces of at least 60 px. Like the webcam page, video needs
#: tens of frames per second; the Haar scan's cost falls with the square of the smallest
#: face (40 px: ~25 ms a 640x480 frame on 2 cores, 60 px: ~15 ms, measured), and a person
#: filling a quarter of a 640x480 frame's height has a face of about 60 px.
VIDEO_DETECTOR_DEFAULTS = DetectorSettings(min_face_px=60)
#: x264 settings: constant quality 23 (its default, visually clean), preset "superfast".
#: Analysis and encoding share two cores, so encoder CPU is analysis speed lost: on the
#: benchmark's 640x480 clip "veryfast" took 3.5 ms of CPU per frame (2.4 MB per minute of
#: video) and reached 1.97x real time, "superfast" 2.7 ms (4.5 MB per minute) and 2.01x.
X264_OPTIONS = {"crf": "23", "preset": "superfast"}
#: Decoded frames waiting per analysis thread: enough to keep the pool busy, few enough
#: that a 4K video holds only a handful of 25 MB frames.
IN_FLIGHT_PER_WORKER = 2
#: Largest frame the web page processes (1280x720); larger videos are scaled down to it.
#: Measured peak RSS of the whole process for a 1080p input kept at 1080p: 390-570 MB
#: (x264's 1080p buffers alone ~140 MB), too much beside other sessions on a 512 MB dyno;
#: at 720p the work and buffers are 2.25x smaller. The CLI keeps the input size.
PAGE_MAX_PIXELS = 1280 * 720
#: No time-left estimate before this many frames and seconds.
ETA_MIN_FRAMES = 10
ETA_MIN_SECONDS = 1.0
#: Frame rate assumed when a file states none (some AVI and WebM files).
FALLBACK_FPS = Fraction(25)

Source = Union[str, Path, bytes, bytearray, memoryview, IO[bytes]]


class VideoError(ValueError):
    """A video we cannot read or write; the message is written for the person who gave it."""


class VideoCancelled(Exception):
    """Raised when ``should_cancel`` returned True; partial output has been deleted."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file says about itself (frame count and duration may be estimates)."""

    width: int
    height: int
    fps: float
    frames: Optional[int]
    duration_s: Optional[float]
    codec: str


@dataclass(frozen=True)
class Progress:
    """Where a run stands, for a progress bar with an ETA."""

    frames_done: int
    frames_total: Optional[int]  # None when the file does not say
    elapsed_s: float

    @property
    def fraction(self) -> Optional[float]:
        if not self.frames_total:
            return None
        return min(1.0, self.frames_done / self.frames_total)

    @property
    def fps(self) -> float:
        return self.frames_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> Optional[float]:
        """Seconds left at the speed so far; None without a total or before the speed means
        anything (the first frames pay for warming up: an early guess said 4 min for 20 s)."""
        if not self.frames_total or self.frames_done < ETA_MIN_FRAMES or self.elapsed_s < ETA_MIN_SECONDS:
            return None
        return max(0.0, (self.frames_total - self.frames_done) / self.fps)

    def describe(self) -> str:
        """'Frame 120 of 900 · 45 fps · about 17 s left' (the page and the CLI share it)."""
        total = f" of {self.frames_total}" if self.frames_total else ""
        text = f"Frame {self.frames_done}{total} · {self.fps:.0f} fps"
        eta = self.eta_s
        if eta is not None:
            text += f" · about {format_seconds(eta)} left"
        elif self.frames_total and self.frames_done < self.frames_total:
            text += " · estimating the time left"
        return text


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s"


class FrameCounts:
    """Faces and unmasked faces per frame, in compact arrays (not a list of objects), so
    memory stays flat however long the video is."""

    CSV_HEADER = ("frame", "time_s", "faces", "mask", "no_mask", "analyzed")

    def __init__(self) -> None:
        self.time_s = array("d")
        self.faces = array("H")
        self.no_mask = array("H")
        self.analyzed = array("b")

    def append(self, time_s: float, faces: Sequence[Face], analyzed: bool) -> None:
        self.time_s.append(time_s)
        self.faces.append(min(len(faces), 65535))
        self.no_mask.append(min(sum(not f.masked for f in faces), 65535))
        self.analyzed.append(1 if analyzed else 0)

    def __len__(self) -> int:
        return len(self.faces)

    def rows(self) -> Iterator[tuple[int, float, int, int, int, int]]:
        """(frame, time_s, faces, mask, no_mask, analyzed) per frame, frame numbers from 0."""
        for i in range(len(self)):
            n, bad = self.faces[i], self.no_mask[i]
            yield i, round(self.time_s[i], 3), n, n - bad, bad, self.analyzed[i]

    def write_csv(self, out: IO[str]) -> None:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.CSV_HEADER)
        writer.writerows(self.rows())

    def csv_text(self) -> str:
        buf = io.StringIO()
        self.write_csv(buf)
        return buf.getvalue()

    def per_second(self) -> list[tuple[int, int, int]]:
        """(second, most faces in one frame, most unmasked faces in one frame) for each
        whole second of the video. The maximum, not the mean: one unmasked person seen for
        a few frames should show on the timeline, not be averaged away."""
        out: dict[int, list[int]] = {}
        for t, n, bad in zip(self.time_s, self.faces, self.no_mask):
            sec = max(0, int(t))
            cur = out.setdefault(sec, [0, 0])
            cur[0], cur[1] = max(cur[0], n), max(cur[1], bad)
        return [(s, v[0], v[1]) for s, v in sorted(out.items())]


def timeline(counts: FrameCounts) -> dict[str, list[int]]:
    """The chart's columns per second (see ``per_second``): most faces, most unmasked faces,
    and "Mask" = the difference, so that stacked bars are as tall as the most faces seen
    and their red part shows the unmasked ones."""
    rows = counts.per_second()
    return {"Second": [r[0] for r in rows], "Faces": [r[1] for r in rows], "No mask": [r[2] for r in rows],
            "Mask": [r[1] - r[2] for r in rows]}


@dataclass
class VideoResult:
    """What a finished run produced (the video itself is at ``path`` or in bytes)."""

    width: int
    height: int
    fps: float
    frames: int
    analyzed_frames: int
    every: int
    elapsed_s: float
    counts: FrameCounts
    #: CPU time of the whole process (all threads) during the run: unlike ``elapsed_s``,
    #: hardly affected by other processes, so it tells what the work costs.
    cpu_s: float = 0.0
    #: What happened to the sound: "none", "copied (aac)", "re-encoded to AAC (from ...)",
    #: or "dropped (why)" (see :class:`~maskpatrol.audio_track.AudioTrack`).
    audio: str = "none"

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps if self.fps else 0.0

    @property
    def speed(self) -> float:
        """Times real time: 2.0 means a minute of video took 30 s."""
        return self.duration_s / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def max_faces(self) -> int:
        return max(self.counts.faces, default=0)

    @property
    def frames_with_no_mask(self) -> int:
        return sum(1 for n in self.counts.no_mask if n)

    def summary(self) -> str:
        """One line a person reads: size, frames, who was seen, speed."""
        sampled = ("" if self.every == 1 else
                   f", {self.analyzed_frames} analysed (1 in {self.every}; the others reuse its boxes)")
        seen = (f"up to {self.max_faces} face{'s' if self.max_faces != 1 else ''} per frame; "
                f"someone without a mask in {self.frames_with_no_mask} frame"
                f"{'s' if self.frames_with_no_mask != 1 else ''}") if self.max_faces else "no faces found"
        return (f"{self.frames} frames, {self.width}x{self.height} at {self.fps:.3g} fps "
                f"({format_seconds(self.duration_s)}){sampled}: {seen}. "
                f"Processed in {format_seconds(self.elapsed_s)} ({self.speed:.1f}x real time)."
                + ("" if self.audio == "none" else f" Sound: {self.audio}."))


# --------------------------------------------------------------------------- reading


def _open_input(source: Source) -> av.container.InputContainer:
    name = str(source) if isinstance(source, (str, Path)) else "the upload"
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise VideoError("The video file is empty (0 bytes)")
        source = io.BytesIO(bytes(source))
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise VideoError(f"File not found: {path}")
        if path.is_dir():
            raise VideoError(f"{path} is a folder, not a video file")
        if path.stat().st_size == 0:
            raise VideoError(f"{path} is empty (0 bytes)")
        source = str(path)
    try:
        container = av.open(source, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise VideoError(f"{name} is not a video we can read ({exc.__class__.__name__})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{name} has no video track")
    return container


def _frame_rate(stream: av.video.stream.VideoStream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < float(rate) <= 240:
            return Fraction(rate).limit_denominator(1_000_000)
    return FALLBACK_FPS


def _frame_total(stream: av.video.stream.VideoStream, container: av.container.InputContainer,
                 rate: Fraction) -> Optional[int]:
    if stream.frames:
        return int(stream.frames)
    if stream.duration is not None and stream.time_base is not None:
        return max(1, round(float(stream.duration * stream.time_base) * float(rate)))
    if container.duration:  # microseconds
        return max(1, round(container.duration / 1_000_000 * float(rate)))
    return None


def _video_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream,
                  audio: AudioTrack) -> Iterator[av.VideoFrame]:
    """The video's frames in order; the sound's packets go to ``audio`` on the way, so the
    file is read once."""
    streams = [stream] + ([audio.source] if audio.source is not None else [])
    for packet in container.demux(*streams):
        if packet.stream.type == "video":
            yield from packet.decode()
        else:
            audio.feed(packet)


def _rotation(frame: av.VideoFrame) -> int:
    """Quarter turns (counter-clockwise) that the file's display matrix asks for: phones
    store portrait video sideways with this tag, and people expect to see it upright."""
    try:
        degrees = frame.rotation
    except (AttributeError, ValueError):
        return 0
    return int(round((degrees or 0) / 90.0)) % 4


def probe(source: Source) -> VideoInfo:
    """Size (as displayed), frame rate, frame count and duration, without decoding it all."""
    container = _open_input(source)
    try:
        stream = container.streams.video[0]
        rate = _frame_rate(stream)
        total = _frame_total(stream, container, rate)
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError):
            raise VideoError("The video has no frames we can decode") from None
        upright = _rotation(first) % 2 == 0
        width, height = (first.width, first.height) if upright else (first.height, first.width)
        return VideoInfo(int(width), int(height), float(rate), total,
                         total / float(rate) if total else None, stream.codec_context.name)
    finally:
        container.close()


#: Colour tags of a decoded frame (FFmpeg's AVColorSpace and AVColorRange numbers) for which
#: OpenCV's I420 conversion, a BT.601 matrix on video-range (16-235) values, is the right
#: one. FFmpeg assumes the same for untagged video, so "unspecified" belongs here too.
BT601_MATRICES = frozenset({2, 5, 6})  # unspecified, BT.470 BG, SMPTE 170M
VIDEO_RANGES = frozenset({0, 1})  # unspecified, MPEG
#: What the writer tags its output with (AVColorSpace, AVColorPrimaries, AVColorTransfer-
#: Characteristic, AVColorRange numbers): the BT.601 matrix and video range that OpenCV's
#: RGB -> I420 uses, and BT.709 primaries and transfer, which are sRGB's. Untagged, Chromium
#: took 1280x720 output for BT.709 and showed a red 15 levels off; tagged with the matrix
#: alone it still did. With all four, both sizes show within 2 levels (measured).
OUTPUT_MATRIX, OUTPUT_PRIMARIES, OUTPUT_TRANSFER, OUTPUT_RANGE = 6, 1, 1, 1


def _to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """The frame as RGB. The usual case, 4:2:0 BT.601 video-range YUV of even size, goes
    through OpenCV's SIMD conversion: 1.5 ms a 640x480 frame against 7 ms in swscale
    (measured), with the same colours to within one level. Anything else, such as the
    BT.709 of most HD phone clips (where OpenCV's matrix took 14 levels off a saturated
    red) or full-range video, goes through swscale, which follows the frame's own tags."""
    if (frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0
            and frame.colorspace in BT601_MATRICES and frame.color_range in VIDEO_RANGES):
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def _upright_rgb(frame: av.VideoFrame) -> np.ndarray:
    rgb = _to_rgb(frame)
    turns = _rotation(frame)
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


# --------------------------------------------------------------------------- writing


def _even(n: int) -> int:
    """H.264 in yuv420p needs even sides; odd ones get one edge row/column repeated."""
    return n + (n % 2)


#: Output video time base: fine enough that each frame of a variable-frame-rate input (phone
#: clips often are) keeps its own time, so the picture stays in step with the sound.
VIDEO_TIME_BASE = Fraction(1, 90000)


class _Writer:
    """An H.264 mp4 encoder for RGB frames of one fixed size.

    Frames are timed from their input times less ``start_s`` (the first frame's), so the
    output starts at 0 and the sound, shifted by the same amount, stays in step."""

    def __init__(self, path: Path, width: int, height: int, rate: Fraction,
                 audio: Optional[AudioTrack] = None, start_s: float = 0.0) -> None:
        self.width, self.height = width, height
        self.audio = audio
        self.container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            self.stream = self.container.add_stream("libx264", rate=rate)
            self.stream.width, self.stream.height = _even(width), _even(height)
            self.stream.pix_fmt = "yuv420p"
            ctx = self.stream.codec_context
            ctx.colorspace, ctx.color_primaries, ctx.color_trc, ctx.color_range = (
                OUTPUT_MATRIX, OUTPUT_PRIMARIES, OUTPUT_TRANSFER, OUTPUT_RANGE)
            self.stream.options = dict(X264_OPTIONS)
            self.stream.codec_context.time_base = VIDEO_TIME_BASE
            if audio is not None:  # every stream must exist before the first packet is written
                audio.attach(self.container, start_s)
        except Exception:
            self.container.close()
            raise
        self.start_s = start_s
        self.last_pts = -1

    def write(self, rgb: np.ndarray, time_s: float) -> None:
        if rgb.shape[1] != self.stream.width or rgb.shape[0] != self.stream.height:
            rgb = cv2.copyMakeBorder(rgb, 0, self.stream.height - rgb.shape[0], 0,
                                     self.stream.width - rgb.shape[1], cv2.BORDER_REPLICATE)
        # OpenCV's RGB -> I420 is the inverse of the decode path's, and faster than swscale.
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        # Strictly increasing even if the input repeats or lacks a timestamp.
        frame.pts = max(self.last_pts + 1, round((time_s - self.start_s) / VIDEO_TIME_BASE))
        frame.time_base = VIDEO_TIME_BASE
        self.last_pts = frame.pts
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def finish(self) -> None:
        for packet in self.stream.encode():
            self.container.mux(packet)
        if self.audio is not None:
            self.audio.finish()
        self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # already failed; the file is deleted by the caller anyway
            pass


# --------------------------------------------------------------------------- the run


def fitted_size(width: int, height: int, max_pixels: Optional[int]) -> tuple[int, int]:
    """(width, height) scaled down to at most ``max_pixels``, same aspect, even sides."""
    if not max_pixels or width * height <= max_pixels:
        return width, height
    scale = (max_pixels / (width * height)) ** 0.5
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def default_workers() -> int:
    return min(2, usable_cpus())


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
    container = _open_input(source)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".part.mp4", dir=dest.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    writer: Optional[_Writer] = None
    done = False
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame-threaded decoding
        audio = AudioTrack(container.streams.audio[0] if container.streams.audio else None)
        rate = _frame_rate(stream)
        total = _frame_total(stream, container, rate)
        counts = FrameCounts()
        started = time.perf_counter()
        cpu_started = time.process_time()
        last_report = started
        last_faces: list[Face] = []
        analyzed = 0
        pending: deque[tuple[float, np.ndarray, Optional[Future]]] = deque()

        def finish_one() -> None:
            nonlocal writer, last_faces, analyzed
            t, rgb, fut = pending.popleft()
            if fut is not None:
                last_faces = fut.result()
                analyzed += 1
            counts.append(t, last_faces, fut is not None)
            annotate(rgb, last_faces, show_probability, in_place=True)
            if writer is None:
                writer = _Writer(tmp, rgb.shape[1], rgb.shape[0], rate, audio, start_s=t)
            if (rgb.shape[1], rgb.shape[0]) != (writer.width, writer.height):
                rgb = cv2.resize(rgb, (writer.width, writer.height), interpolation=cv2.INTER_AREA)
            writer.write(rgb, t)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="video-analyze") as pool:
            try:
                for index, frame in enumerate(_video_frames(container, stream, audio)):
                    if should_cancel is not None and should_cancel():
                        raise VideoCancelled("cancelled")
                    rgb = _upright_rgb(frame)
                    if index == 0:
                        fit = fitted_size(rgb.shape[1], rgb.shape[0], max_pixels)
                    if fit != (rgb.shape[1], rgb.shape[0]):
                        rgb = cv2.resize(rgb, fit, interpolation=cv2.INTER_AREA)
                    t = float(frame.time) if frame.time is not None else index / float(rate)
                    fut = pool.submit(patrol.analyze, rgb, settings) if index % every == 0 else None
                    pending.append((t, rgb, fut))
                    while len(pending) > workers * IN_FLIGHT_PER_WORKER:
                        finish_one()
                    now = time.perf_counter()
                    if on_progress is not None and now - last_report >= progress_interval_s:
                        last_report = now
                        on_progress(Progress(len(counts), total, now - started))
                while pending:
                    finish_one()
            except BaseException:
                for _, _, fut in pending:
                    if fut is not None:
                        fut.cancel()
                raise
        if writer is None:
            raise VideoError("The video has no frames we can decode")
        writer.finish()
        elapsed = time.perf_counter() - started
        if on_progress is not None:
            on_progress(Progress(len(counts), len(counts), elapsed))
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the result is an ordinary file
        os.replace(tmp, dest)
        done = True
        return VideoResult(writer.stream.width, writer.stream.height, float(rate), len(counts), analyzed, every,
                           elapsed, counts, time.process_time() - cpu_started, audio.outcome)
    except av.error.FFmpegError as exc:
        raise VideoError(f"The video could not be decoded or encoded: {exc}") from None
    finally:
        container.close()
        if not done:
            if writer is not None:
                writer.abort()
            tmp.unlink(missing_ok=True)


def annotate_video_bytes(data: bytes, patrol: MaskPatrol, settings: Settings = Settings(VIDEO_DETECTOR_DEFAULTS),
                         **kwargs) -> tuple[bytes, VideoResult]:
    """:func:`annotate_video` for an upload: the mp4 comes back as bytes, and the one
    temporary file (needed because faststart rewrites the file) is always deleted."""
    with tempfile.TemporaryDirectory(prefix="maskpatrol-video-") as folder:
        out = Path(folder) / "annotated.mp4"
        result = annotate_video(data, out, patrol, settings, **kwargs)
        return out.read_bytes(), result
