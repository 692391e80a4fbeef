"""Video clips built at test time, with the faces in each frame known in advance.

Two kinds:

- :func:`astronaut_clip` needs no training data: scikit-image's astronaut photo (one
  unmasked face) drifting on a plain canvas, so every frame holds exactly one "no_mask".
- :func:`scene_clip` composes real masked and unmasked face photos from the training-data
  folder, chosen by ``webcam_clip.pick_scene`` only when the pipeline finds exactly those
  faces with the expected labels even after lossy compression. The clip is a small story
  whose per-second counts differ: nobody, then a masked and an unmasked person, then the
  unmasked person alone; so counts and the timeline can be checked, not just "a face".

Nothing here is committed as an image: every frame is generated when a test runs.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import av
import cv2
import numpy as np

from . import webcam_clip as wc

#: Container suffix -> encoder for the input clips we write.
ENCODERS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx", ".avi": "mpeg4"}


def write_clip(path: Path, frames: Iterable[np.ndarray], fps: int = 10, gop: int | None = None) -> int:
    """Encode RGB frames into ``path`` (container from the suffix); returns frames written.
    ``gop``: frames between key frames (a stream served over RTSP needs one every second or
    so, for a client that joins or reconnects mid-stream)."""
    codec = ENCODERS[path.suffix.lower()]
    n = 0
    with av.open(str(path), "w") as out:
        stream = None
        for rgb in frames:
            if stream is None:
                stream = out.add_stream(codec, rate=Fraction(fps))
                stream.width, stream.height = rgb.shape[1], rgb.shape[0]
                stream.pix_fmt = "yuv420p"
                if gop is not None:
                    stream.gop_size = gop
                if codec == "libx264":
                    stream.options = {"crf": "18", "preset": "veryfast"}
                else:
                    stream.bit_rate = 4_000_000
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
            n += 1
        if stream is not None:
            for packet in stream.encode():
                out.mux(packet)
    return n


def write_clip_with_sound(path: Path, frames: Sequence[np.ndarray], fps: int, audio_codec: str,
                          tones: Sequence[tuple[float, float]], video_start_s: float = 0.0,
                          sample_rate: int = 44100, layout: str = "mono",
                          frame_times: Sequence[float] | None = None) -> None:
    """A clip whose sound is known: ``tones`` is (seconds, Hz) played one after another from
    time 0, in ``audio_codec`` (the same tone on every channel of ``layout``); the first
    video frame is shown at ``video_start_s``, as in a clip cut from a longer recording.
    ``frame_times`` (seconds) makes a variable-frame-rate clip, as phones record."""
    channels = {"mono": 1, "stereo": 2}[layout]
    with av.open(str(path), "w") as out:
        video = out.add_stream(ENCODERS[path.suffix.lower()], rate=Fraction(fps))
        video.width, video.height = frames[0].shape[1], frames[0].shape[0]
        video.pix_fmt = "yuv420p"
        tick = Fraction(1, 1000) if frame_times is not None else Fraction(1, fps)
        video.codec_context.time_base = tick
        sound = out.add_stream(audio_codec, rate=sample_rate, layout=layout)
        times = frame_times if frame_times is not None else [i / fps for i in range(len(frames))]
        for rgb, t in zip(frames, times):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts, frame.time_base = round((video_start_s + t) / tick), tick
            for packet in video.encode(frame):
                out.mux(packet)
        pcm = np.concatenate([0.5 * np.sin(2 * np.pi * hz * np.arange(round(sample_rate * sec)) / sample_rate)
                              for sec, hz in tones]).astype(np.float32)
        for k in range(0, len(pcm), 1024):
            # Packed samples: each sample once per channel, side by side.
            chunk = av.AudioFrame.from_ndarray(np.repeat(pcm[k:k + 1024], channels)[None, :],
                                               format="flt", layout=layout)
            chunk.sample_rate, chunk.pts = sample_rate, k
            for packet in sound.encode(chunk):
                out.mux(packet)
        for stream in (video, sound):
            for packet in stream.encode():
                out.mux(packet)


def astronaut_frames(astronaut_rgb: np.ndarray, n_frames: int, size: tuple[int, int] = (640, 480),
                     face_side: int = 300) -> list[np.ndarray]:
    """The astronaut photo shrunk to ``face_side`` and drifting 2 px a frame on a grey canvas."""
    width, height = size
    photo = cv2.resize(astronaut_rgb, (face_side, face_side), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(n_frames):
        canvas = np.full((height, width, 3), 128, np.uint8)
        x = min(width - face_side, 20 + 2 * i)
        y = max(0, (height - face_side) // 2)
        canvas[y:y + face_side, x:x + face_side] = photo[:height - y, :width - x]
        frames.append(canvas)
    return frames


def astronaut_clip(path: Path, astronaut_rgb: np.ndarray, n_frames: int = 20, fps: int = 10,
                   size: tuple[int, int] = (640, 480)) -> int:
    return write_clip(path, astronaut_frames(astronaut_rgb, n_frames, size), fps)


#: The scene clip's story, one entry per second: which slots (0: left, 1: right) hold a face.
STORY: tuple[tuple[int, ...], ...] = ((), (0, 1), (1,))


def scene_frames(scene: wc.Scene, fps: int, story: Sequence[tuple[int, ...]] = STORY
                 ) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """Frames of ``story`` and, per frame, the true (faces, no_mask) counts."""
    faces = [wc.load_face(p) for p in scene.photos]
    frames, truth = [], []
    for slots in story:
        for _ in range(fps):
            frame = wc.background()
            for slot in slots:
                x, y = wc.SLOTS[slot]
                frame[y:y + wc.FACE_SIDE, x:x + wc.FACE_SIDE] = faces[slot]
            frames.append(frame)
            truth.append((len(slots), sum(scene.labels[s] == "no_mask" for s in slots)))
    return frames, truth


def scene_clip(path: Path, data_dir: Path, patrol, fps: int = 10) -> list[tuple[int, int]]:
    """Write the scene story to ``path``; returns the true (faces, no_mask) per frame."""
    scene = wc.pick_scene(data_dir, patrol, labels=("mask", "no_mask"))
    frames, truth = scene_frames(scene, fps)
    write_clip(path, frames, fps)
    return truth


#: Colour patches: saturated red, green and blue, a skin tone, a surgical-mask blue, grey.
PATCH_COLOURS = [(200, 40, 40), (60, 160, 60), (40, 60, 200), (224, 172, 140), (120, 170, 210), (128, 128, 128)]


def patches_frame(width: int, height: int, matrix: str = "itu601", colour_range: str = "MPEG") -> av.VideoFrame:
    """Vertical stripes in :data:`PATCH_COLOURS` as a yuv420p frame, converted with ``matrix``
    (``itu601``/``itu709``) and ``colour_range`` (``MPEG``/``JPEG``) and tagged so."""
    from av.video.reformatter import ColorRange, Colorspace

    rgb = np.zeros((height, width, 3), np.uint8)
    stripe = width // len(PATCH_COLOURS)
    for i, colour in enumerate(PATCH_COLOURS):
        rgb[:, stripe * i: stripe * (i + 1)] = colour
    return av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p", dst_colorspace=Colorspace[matrix], dst_color_range=ColorRange[colour_range])


def patches_clip(path: Path, width: int, height: int, matrix: str = "itu601", colour_range: str = "MPEG",
                 n_frames: int = 3, fps: int = 10) -> None:
    """An H.264 clip of :func:`patches_frame`, with the stream tagged like its frames, as
    cameras tag what they record."""
    from av.video.reformatter import ColorRange

    frame = patches_frame(width, height, matrix, colour_range)
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.options = {"crf": "10"}
        s.codec_context.colorspace = 1 if matrix == "itu709" else 6  # AVColorSpace numbers
        s.codec_context.color_range = ColorRange[colour_range].value
        for _ in range(n_frames):
            for packet in s.encode(frame):
                out.mux(packet)
        for packet in s.encode():
            out.mux(packet)


def patch_errors(rgb: np.ndarray) -> list[float]:
    """For each stripe of a :func:`patches_clip` frame as shown, the largest channel
    difference between its centre's mean colour and the colour it was made with."""
    height, width = rgb.shape[:2]
    stripe = width // len(PATCH_COLOURS)
    errors = []
    for i, colour in enumerate(PATCH_COLOURS):
        centre = rgb[height * 2 // 5: height * 3 // 5, stripe * i + stripe // 4: stripe * (i + 1) - stripe // 4]
        errors.append(float(np.abs(centre.reshape(-1, 3).mean(axis=0) - colour).max()))
    return errors
