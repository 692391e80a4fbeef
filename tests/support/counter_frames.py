"""Frames that carry their own number, so a test can tell which frame a source handed over.

The number is drawn twice: as digits for a person looking at a frame, and as a row of 16
black or white blocks (one bit each, 16 px wide) that survive H.264 and JPEG compression and
are read back with :func:`read_counter`.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

BITS = 16
BLOCK = 16


def counter_frame(n: int, width: int = 320, height: int = 240) -> np.ndarray:
    """An RGB frame showing ``n`` (0 <= n < 65536)."""
    rgb = np.full((height, width, 3), 96, np.uint8)
    for bit in range(BITS):
        value = 255 if (n >> bit) & 1 else 0
        rgb[0:BLOCK, bit * BLOCK:(bit + 1) * BLOCK] = value
    cv2.putText(rgb, str(n), (20, height // 2 + 20), cv2.FONT_HERSHEY_SIMPLEX, 2.0,
                (255, 255, 0), 3, cv2.LINE_AA)
    return rgb


def read_counter(rgb: np.ndarray) -> int:
    """The number :func:`counter_frame` drew, read from its blocks' centres."""
    n = 0
    half = BLOCK // 2
    for bit in range(BITS):
        centre = rgb[half - 3:half + 3, bit * BLOCK + half - 3:bit * BLOCK + half + 3]
        if centre.mean() > 128:
            n |= 1 << bit
    return n


def jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def write_counter_clip(path: Path, frames: int, fps: int = 25, width: int = 320,
                       height: int = 240, gop: int = 25) -> Path:
    """An H.264 MP4 of ``frames`` counter frames at ``fps``, a key frame every ``gop`` frames
    (a reader joining a stream starts at a key frame)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "23", "g": str(gop), "bf": "0",
                          "tune": "zerolatency"}
        for n in range(frames):
            frame = av.VideoFrame.from_ndarray(counter_frame(n, width, height), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path
