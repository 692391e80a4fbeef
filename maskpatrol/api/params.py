"""Query parameters of the analysis routes to pipeline settings, with a 422 naming the bad one."""

from __future__ import annotations

from dataclasses import replace

from starlette.datastructures import QueryParams

from ..detectors import DETECTOR_NAMES, DetectorSettings
from ..pipeline import Settings
from .errors import ApiError
from .query import single_values

DETECT_PARAMS = ("detector", "threshold", "min_face", "name")
CLASSIFY_PARAMS = ("threshold", "name")
#: Largest ``min_face`` accepted: no photo we decode (40 MP) has a face wider than this.
MAX_MIN_FACE = 10_000
#: Default ``name`` of a raw-body image in its record (the CLI reports the path it was given).
DEFAULT_NAME = "upload"


def _threshold(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        threshold = float(value)
    except ValueError:
        threshold = float("nan")
    if not 0.0 <= threshold <= 1.0:  # also refuses nan
        raise ApiError(422, f"threshold must be a number between 0 and 1, got {value!r}.")
    return threshold


def _min_face(value: str | None, default: int) -> int:
    if value is None:
        return default
    try:
        pixels = int(value)
    except ValueError:
        pixels = 0
    if not 1 <= pixels <= MAX_MIN_FACE:
        raise ApiError(422, f"min_face must be a whole number of pixels from 1 to {MAX_MIN_FACE}, got {value!r}.")
    return pixels


def _name(value: str | None) -> str:
    name = (value if value is not None else DEFAULT_NAME).strip()
    if not name or len(name) > 255:
        raise ApiError(422, "name must be 1 to 255 characters (it names the image in the answer).")
    return name


def detect_params(query: QueryParams) -> tuple[Settings, str]:
    """The :class:`Settings` for ``/detect`` (any unset value is the CLI's default) and the
    name a raw-body image gets in its record."""
    values = single_values(query, DETECT_PARAMS)
    defaults = DetectorSettings()
    detector = values.get("detector", defaults.name)
    if detector not in DETECTOR_NAMES:
        raise ApiError(422, f"detector must be one of {', '.join(DETECTOR_NAMES)}, got {detector!r}.")
    settings = Settings(replace(defaults, name=detector, min_face_px=_min_face(values.get("min_face"),
                                                                                 defaults.min_face_px)),
                        _threshold(values.get("threshold")))
    return settings, _name(values.get("name"))


def classify_params(query: QueryParams) -> tuple[float | None, str]:
    """The threshold for ``/classify`` (None: the model card's) and a raw image's name."""
    values = single_values(query, CLASSIFY_PARAMS)
    return _threshold(values.get("threshold")), _name(values.get("name"))
