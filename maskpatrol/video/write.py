"""Writing the annotated video: H.264 (libx264, ``yuv420p``, ``+faststart``) in mp4.

Why this format: it is the one every browser's ``<video>`` plays, and faststart puts the
index first so playback starts before the whole file has arrived.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional

import av
import cv2
import numpy as np

from ..audio_track import AudioTrack

#: x264 settings: constant quality 23 (its default, visually clean), preset "superfast".
#: Analysis and encoding share two cores, so encoder CPU is analysis speed lost:
#: "superfast" takes less CPU per frame than "veryfast" for larger files, and that keeps the
#: benchmark's 640x480 clip above 2x real time (docs/performance.md, "Video").
X264_OPTIONS = {"crf": "23", "preset": "superfast"}
#: What the writer tags its output with (AVColorSpace, AVColorPrimaries, AVColorTransfer-
#: Characteristic, AVColorRange numbers): the BT.601 matrix and video range that OpenCV's
#: RGB -> I420 uses, and BT.709 primaries and transfer, which are sRGB's. Untagged, Chromium
#: took 1280x720 output for BT.709 and showed a red 15 levels off; tagged with the matrix
#: alone it still did. With all four, both sizes show within 2 levels (measured).
OUTPUT_MATRIX, OUTPUT_PRIMARIES, OUTPUT_TRANSFER, OUTPUT_RANGE = 6, 1, 1, 1


def _even(n: int) -> int:
    """H.264 in yuv420p needs even sides; odd ones get one edge row/column repeated."""
    return n + (n % 2)


#: Output video time base: fine enough that each frame of a variable-frame-rate input (phone
#: clips often are) keeps its own time, so the picture stays in step with the sound.
VIDEO_TIME_BASE = Fraction(1, 90000)


class H264Writer:
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
