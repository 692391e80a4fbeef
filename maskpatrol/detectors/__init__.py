"""Face detectors: anything with ``detect(rgb, settings) -> list[Box]`` fits the pipeline."""

from __future__ import annotations

from typing import Callable

from .base import MIN_SIZE_SLACK, Box, Detector, DetectorSettings, smallest_searched_face  # noqa: F401  (re-exported)


def _yunet() -> Detector:
    from .yunet import YuNetDetector

    return YuNetDetector()


def _haar() -> Detector:
    from .haar import HaarDetector

    return HaarDetector()


def _blazeface() -> Detector:
    from .blazeface import SHORT_RANGE, BlazeFaceDetector

    return BlazeFaceDetector(SHORT_RANGE, name="blazeface")


def _blazeface_full() -> Detector:
    from .blazeface import FULL_RANGE, BlazeFaceDetector

    return BlazeFaceDetector(FULL_RANGE, name="blazeface-full")


#: CLI name -> factory, the default first. Factories import lazily so that a process only
#: pays for the detectors it actually uses. "yunet" (the default) finds masked and small
#: faces; "haar" is the classic OpenCV cascade of the original design; "blazeface" is
#: MediaPipe's short-range model (faces filling a good part of the picture); "blazeface-full"
#: its full-range model (192x192 input).
_FACTORIES: dict[str, Callable[[], Detector]] = {
    "yunet": _yunet,
    "haar": _haar,
    "blazeface": _blazeface,
    "blazeface-full": _blazeface_full,
}

#: One line per detector for pickers and ``--help``: what it is good at.
DETECTOR_LABELS: dict[str, str] = {
    "yunet": "YuNet (recommended: masked and small faces)",
    "haar": "Haar cascade (classic; misses most masked faces)",
    "blazeface": "BlazeFace short range (near faces, masks)",
    "blazeface-full": "BlazeFace full range (groups, small faces)",
}

DETECTOR_NAMES: tuple[str, ...] = tuple(_FACTORIES)
#: The detector used when nobody picks one: pages, CLI, API and benchmarks.
DEFAULT_DETECTOR: str = DetectorSettings.name


def default_min_score(name: str) -> float | None:
    """The confidence a detector uses when the user has not set one (``None``: Haar has none)."""
    if name == "yunet":
        from .yunet import DEFAULT_MIN_SCORE

        return DEFAULT_MIN_SCORE
    if name.startswith("blazeface"):
        from .blazeface import spec_for

        return spec_for(name).min_score
    return None


def make_detector(name: str = DEFAULT_DETECTOR) -> Detector:
    """Build a detector by its CLI name."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown detector {name!r}; available: {', '.join(DETECTOR_NAMES)}") from None
    return factory()
