"""One input to its record: decode, run the pipeline, give the faces (boxes in the file's
pixels) or the reason there are none.

Every front end goes through here: the CLI's ``detect`` and ``classify``, the HTTP API, the
batch workers and the Photos page (:mod:`maskpatrol.results`). So a file gives the same faces
everywhere, and a failure the same words, by one policy (:func:`failure`): an input that
cannot be used (:class:`~maskpatrol.images.ImageError`) is reported in that error's words,
any other failure as :func:`could_not_process`. :func:`detect` and :func:`classify` never
raise; :func:`detect_record` and :func:`classify_record` write the ``--json`` schemas.

The server (the Photos page and the API) passes ``work_pixels``; the CLI and the batch
analyse at full size. A picture larger than ``work_pixels`` is analysed shrunk by a whole
factor (:func:`maskpatrol.images.reduction`) and its boxes are scaled back, and YuNet scales
its tiles one by one (``DetectorSettings.scale_tiles``): the server's memory then depends on
``work_pixels``, not on the photo (``docs/performance.md``).
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence, TypeVar, Union

import numpy as np

from .images import DecodedImage, ImageError, Source, decode_image
from .pipeline import Face, MaskPatrol, Settings, image_record
from .preprocess import center_square

#: A file (path), its bytes, or pixels already decoded (RGB uint8, H x W x 3).
Input = Union[Source, np.ndarray]
#: Held while one input is decoded and analysed (the server's photo slots); none by default.
Slot = Callable[[], AbstractContextManager]
T = TypeVar("T")


@dataclass(frozen=True)
class Analysis:
    #: The decoded pixels that were analysed; drop the analysis (or this) when done with them.
    decoded: DecodedImage
    #: Faces in ``decoded.rgb``'s pixels (for crops and drawings on those pixels).
    faces_analysed: tuple[Face, ...]

    @property
    def width(self) -> int:
        return self.decoded.size[0]

    @property
    def height(self) -> int:
        return self.decoded.size[1]

    @property
    def faces(self) -> tuple[Face, ...]:
        """Faces with boxes in the file's own pixels (what records and tables report)."""
        return to_scale(self.faces_analysed, *self.decoded.scale)


def to_scale(faces: Sequence[Face], sx: float, sy: float) -> tuple[Face, ...]:
    """``faces`` with boxes scaled by ``sx`` and ``sy`` (unchanged at 1, 1)."""
    if sx == 1.0 and sy == 1.0:
        return tuple(faces)
    return tuple(face.scaled(sx, sy) for face in faces)


def _decode(source: Input, name: str | None, work_pixels: int | None) -> DecodedImage:
    if isinstance(source, np.ndarray):
        return DecodedImage(source)
    return decode_image(source, name=name, work_pixels=work_pixels)


def analyze_source(patrol: MaskPatrol, source: Input, settings: Settings = Settings(), *,
                   name: str | None = None, work_pixels: int | None = None,
                   timings: dict[str, float] | None = None) -> Analysis:
    """Decode ``source`` (at most ``work_pixels``) and judge its faces; raises
    :class:`maskpatrol.images.ImageError` for a file that is not a usable picture."""
    decoded = _decode(source, name, work_pixels)
    if decoded.scale != (1.0, 1.0):  # already shrunk: search it tile by tile too
        settings = replace(settings, detector=replace(settings.detector, scale_tiles=True))
    return Analysis(decoded, tuple(patrol.analyze(decoded.rgb, settings, timings=timings)))


# --------------------------------------------------------------------------- records and errors


@dataclass(frozen=True)
class Failure:
    """Why one input gave no result, in the words every front end reports."""

    message: str
    #: The input itself cannot be used (an ImageError: for its sender to fix, an HTTP 400);
    #: False when we failed on it (an HTTP 500).
    bad_input: bool


def could_not_process(name: str, exc: BaseException) -> str:
    """The words for a failure that is ours, not the input's: a message, never a traceback."""
    return f"could not process {name}: {exc}"


def failure(name: str, exc: Exception) -> Failure:
    """The one error policy: an :class:`ImageError` in its own words, anything else as ours."""
    if isinstance(exc, ImageError):
        return Failure(str(exc), bad_input=True)
    return Failure(could_not_process(name, exc), bad_input=False)


def _attempt(name: str, slot: Slot, work: Callable[..., T], /, *args: Any, **kwargs: Any) -> T | Failure:
    try:
        with slot():
            return work(*args, **kwargs)
    except Exception as exc:  # one input's failure is reported, and the others go on
        return failure(name, exc)


def detect(patrol: MaskPatrol, source: Input, settings: Settings = Settings(), *, name: str,
           work_pixels: int | None = None, timings: dict[str, float] | None = None,
           slot: Slot = nullcontext) -> Analysis | Failure:
    """:func:`analyze_source` for a front end: the analysis, or the :class:`Failure` that
    ``name`` (what the record and the messages call the input) met."""
    return _attempt(name, slot, analyze_source, patrol, source, settings, name=name, work_pixels=work_pixels,
                    timings=timings)


def _classify(patrol: MaskPatrol, source: Input, threshold: float | None, name: str,
              work_pixels: int | None) -> Face:
    [face] = patrol.classify_faces([center_square(_decode(source, name, work_pixels).rgb)], threshold)
    return face


def classify(patrol: MaskPatrol, source: Input, threshold: float | None = None, *, name: str,
             work_pixels: int | None = None, slot: Slot = nullcontext) -> Face | Failure:
    """The classifier alone on a face crop (its centre square is the face), or the Failure."""
    return _attempt(name, slot, _classify, patrol, source, threshold, name, work_pixels)


def detect_record(name: str, outcome: Analysis | Failure) -> dict[str, Any]:
    """One input in the schema of ``detect --json`` (also the API's and the downloads')."""
    if isinstance(outcome, Failure):
        return image_record(name, error=outcome.message)
    return image_record(name, outcome.faces, outcome.width, outcome.height)


def classify_record(name: str, outcome: Face | Failure) -> dict[str, Any]:
    """One face crop in the schema of ``classify --json`` (also the API's)."""
    if isinstance(outcome, Failure):
        return {"path": name, "label": None, "p_no_mask": None, "p_incorrect": None, "error": outcome.message}
    face = outcome.to_dict()
    return {"path": name, "label": face["label"], "p_no_mask": face["p_no_mask"],
            "p_incorrect": face["p_incorrect"], "error": None}
