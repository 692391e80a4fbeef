"""One input -> its rows, with the shared pipeline. No Ray here: the Ray workers call this,
and so can anything else (tests, a notebook).

The steps and the error messages are those of ``detect`` (photos: :mod:`maskpatrol.analysis`)
and ``video`` (videos), so that a batch row and the single-machine commands give the same
numbers and the same words for a bad file. A failure ends as an error row; nothing raised
here stops a job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import IO, Any, Iterator

import av
import numpy as np

from ..analysis import Failure, analyze_source, could_not_process, detect, failure
from ..audio_track import AudioTrack
from ..detectors import DetectorSettings
from ..images import ImageError, Source
from ..pipeline import MaskPatrol, Settings
from ..tracking.people import People
from ..video import VIDEO_DETECTOR_DEFAULTS, VideoError
from ..video.read import frame_rate, open_input, upright_rgb, video_frames
from .inputs import IMAGE, is_uri
from .rows import Row, error_row, face_rows


@dataclass(frozen=True)
class BatchSettings:
    """What a batch run may change, one immutable value shipped to every worker.

    ``min_face`` None keeps each command's own default: 40 px for photos (``detect``),
    60 px for video frames (``video``), so rows match what those commands print."""

    detector: str = DetectorSettings().name
    threshold: float | None = None
    min_face: int | None = None
    min_score: float | None = None
    every: int = 1

    def for_kind(self, kind: str) -> Settings:
        base = DetectorSettings() if kind == IMAGE else VIDEO_DETECTOR_DEFAULTS
        detector = replace(base, name=self.detector, min_score=self.min_score,
                           min_face_px=self.min_face if self.min_face is not None else base.min_face_px)
        return Settings(detector, self.threshold)


def _open_uri(uri: str) -> IO[bytes]:
    from pyarrow import fs as pafs  # ships with ray[data]

    filesystem, path = pafs.FileSystem.from_uri(uri)
    return filesystem.open_input_file(path)


def _read(path: str) -> Source:
    """A local path as it is (decoding reads it); a URI's bytes."""
    if not is_uri(path):
        return path
    try:
        with _open_uri(path) as f:
            return f.read()
    except FileNotFoundError:  # in the words decoding gives a missing local path
        raise ImageError(f"File not found: {path}") from None


def analyse_image(patrol: MaskPatrol, path: str, settings: Settings) -> list[Row]:
    """The rows of one photo: ``detect``'s steps and error wording."""
    try:
        source = _read(path)
    except Exception as exc:  # a worker never dies for one file
        return [error_row(path, IMAGE, failure(path, exc).message)]
    analysis = detect(patrol, source, settings, name=path)
    if isinstance(analysis, Failure):
        return [error_row(path, IMAGE, analysis.message)]
    return face_rows(path, IMAGE, analysis.faces, analysis.width, analysis.height)


def video_frames_rgb(source: Any) -> Iterator[tuple[int, float, np.ndarray]]:
    """(index, seconds, upright RGB) per frame, timed as ``annotate_video`` times them
    (the frame's own timestamp, else index / frame rate), so rows match ``video --csv``."""
    container = open_input(source)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = frame_rate(stream)
        for index, frame in enumerate(video_frames(container, stream, AudioTrack(None))):
            t = float(frame.time) if frame.time is not None else index / float(rate)
            yield index, t, upright_rgb(frame)
    finally:
        container.close()


def analyse_video(patrol: MaskPatrol, path: str, settings: Settings, every: int = 1) -> list[Row]:
    """The rows of every ``every``-th frame of one video, each face with its person's number
    (people are followed as by the ``video`` command); an error after some frames keeps
    the rows so far and adds one error row (the audit still sees what was analysed)."""
    rows: list[Row] = []
    tracks: list[int] = []  # the tracker's number of each face row, in order
    people = People.for_patrol(patrol, settings)
    frames = 0
    handle = None
    try:
        handle = _open_uri(path) if is_uri(path) else None
        for index, t, rgb in video_frames_rgb(handle if handle is not None else path):
            frames += 1
            if index % every:
                continue
            judged = analyze_source(patrol, rgb, settings)
            tracks.extend(people.update(judged.faces, t, (judged.width, judged.height)).tracks)
            rows.extend(face_rows(path, "video", judged.faces, judged.width, judged.height,
                                  frame=index, time_s=round(t, 3)))
        if not frames:
            raise VideoError("The video has no frames we can decode")
    except VideoError as exc:
        rows.append(error_row(path, "video", str(exc)))
    except FileNotFoundError:  # a URI (local paths are reported by open_input, in these words)
        rows.append(error_row(path, "video", f"File not found: {path}"))
    except av.error.FFmpegError as exc:
        rows.append(error_row(path, "video", f"The video could not be decoded or encoded: {exc}"))
    except Exception as exc:  # a worker never dies for one file
        rows.append(error_row(path, "video", could_not_process(path, exc)))
    finally:
        if handle is not None:
            handle.close()
    people.finish()
    number = {p.track: p.number for p in people.people()}
    face_rows_only = (r for r in rows if r["box"] is not None)
    for row, track in zip(face_rows_only, tracks):
        row["person"] = number.get(track)
    return rows


def analyse(patrol: MaskPatrol, path: str, kind: str, settings: BatchSettings) -> list[Row]:
    """The rows of one input of either kind."""
    if kind == IMAGE:
        return analyse_image(patrol, path, settings.for_kind(IMAGE))
    return analyse_video(patrol, path, settings.for_kind(kind), settings.every)
