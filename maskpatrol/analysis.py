"""One picture to its judged faces: decode, run the pipeline, give the boxes in the file's pixels.

The Photos page (:mod:`maskpatrol.results`) and the HTTP API call :func:`analyze_source`, so
a file gives the same faces in both, whatever its size. A picture larger than
``work_pixels`` is analysed shrunk by a whole factor (:func:`maskpatrol.images.reduction`)
and its boxes are scaled back, and YuNet scales its tiles one by one
(``DetectorSettings.scale_tiles``): the server's memory then depends on ``work_pixels``, not
on the photo (``docs/performance.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from .images import DecodedImage, Source, decode_image
from .pipeline import Face, MaskPatrol, Settings


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


def analyze_source(patrol: MaskPatrol, source: Source, settings: Settings = Settings(), *,
                   name: str | None = None, work_pixels: int | None = None,
                   timings: dict[str, float] | None = None) -> Analysis:
    """Decode ``source`` (at most ``work_pixels``) and judge its faces; raises
    :class:`maskpatrol.images.ImageError` for a file that is not a usable picture."""
    decoded = decode_image(source, name=name, work_pixels=work_pixels)
    if decoded.scale != (1.0, 1.0):  # already shrunk: search it tile by tile too
        settings = replace(settings, detector=replace(settings.detector, scale_tiles=True))
    return Analysis(decoded, tuple(patrol.analyze(decoded.rgb, settings, timings=timings)))
