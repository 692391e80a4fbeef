"""The one pipeline every consumer calls: detect -> crop -> classify (batched) -> Face."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .classifier import DEFAULT_NUM_THREADS, MaskClassifier
from .detectors import DEFAULT_DETECTOR, Box, Detector, DetectorSettings, make_detector
from .model_card import ModelCard, ModelNotFoundError, load_card
from .paths import default_model_dir
from .preprocess import square_crop

MASK = "mask"
NO_MASK = "no_mask"


@dataclass(frozen=True)
class Face:
    box: Box
    p_no_mask: float
    label: str

    @property
    def masked(self) -> bool:
        return self.label == MASK

    def to_dict(self) -> dict[str, Any]:
        """The CLI/JSON schema of one face."""
        return {"box": [int(v) for v in self.box], "label": self.label,
                "p_no_mask": round(float(self.p_no_mask), 6)}


def image_record(path: str, faces: Sequence[Face] = (), width: int | None = None,
                 height: int | None = None, error: str | None = None) -> dict[str, Any]:
    """One image in the schema of ``python -m maskpatrol detect --json``; the CLI and the
    Photos page's JSON download both write it, so the two can never drift apart."""
    return {"path": path, "width": width, "height": height,
            "faces": [f.to_dict() for f in faces], "error": error}


@dataclass(frozen=True)
class Settings:
    """Everything a user may change, as one immutable value passed with each call.

    ``threshold=None`` means the model card's threshold, chosen on validation data.
    """

    detector: DetectorSettings = field(default_factory=DetectorSettings)
    threshold: float | None = None


def label_for(p_no_mask: float, threshold: float) -> str:
    # ">=": at exactly the threshold we call it unmasked, since a miss costs more.
    return NO_MASK if p_no_mask >= threshold else MASK


class MaskPatrol:
    """Detector + classifier + model card. Shared by all users and threads, never mutated."""

    def __init__(self, detector: Detector, classifier: MaskClassifier, card: ModelCard) -> None:
        #: The detector used when a call does not name another one.
        self.detector = detector
        self.classifier = classifier
        self.card = card
        self._detectors: dict[str, Detector] = {detector.name: detector}
        self._detectors_lock = threading.Lock()

    def detector_for(self, name: str) -> Detector:
        """The detector called ``name``, built on first use and then shared: a page that
        never picks a second detector never loads its model."""
        found = self._detectors.get(name)
        if found is not None:
            return found
        with self._detectors_lock:
            if name not in self._detectors:
                self._detectors[name] = make_detector(name)
            return self._detectors[name]

    @classmethod
    def load(cls, model_dir: str | Path | None = None, detector: str = DEFAULT_DETECTOR,
             num_threads: int = DEFAULT_NUM_THREADS) -> "MaskPatrol":
        model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        card = load_card(model_dir)
        model_path = model_dir / card.tflite_file
        if not model_path.is_file():
            raise ModelNotFoundError(f"The model card names {model_path}, which does not exist")
        classifier = MaskClassifier(model_path, card.input_size, num_threads=num_threads)
        return cls(make_detector(detector), classifier, card)

    def threshold(self, settings: Settings) -> float:
        return self.card.threshold if settings.threshold is None else float(settings.threshold)

    def classify_faces(self, faces_rgb: Sequence[np.ndarray], threshold: float | None = None) -> list[tuple[str, float]]:
        """Classifier alone on ready face crops (the CLI's ``classify``)."""
        t = self.card.threshold if threshold is None else threshold
        probs = self.classifier.predict(faces_rgb)
        return [(label_for(p, t), float(p)) for p in probs]

    def analyze(self, rgb: np.ndarray, settings: Settings = Settings(),
                timings: dict[str, float] | None = None) -> list[Face]:
        """All faces of an RGB image with their labels. ``timings`` (if given) receives
        detection and classification milliseconds, for the benchmarks."""
        t0 = time.perf_counter()
        boxes = self.detector_for(settings.detector.name).detect(rgb, settings.detector)
        t1 = time.perf_counter()
        crops = [square_crop(rgb, box) for box in boxes]
        probs = self.classifier.predict(crops)
        t2 = time.perf_counter()
        if timings is not None:
            timings["detect_ms"] = (t1 - t0) * 1000.0
            timings["classify_ms"] = (t2 - t1) * 1000.0
        threshold = self.threshold(settings)
        return [Face(box, float(p), label_for(float(p), threshold)) for box, p in zip(boxes, probs)]


def summarize(faces: Sequence[Face]) -> str:
    """"5 faces: 4 mask, 1 no mask" — the wording pages and the CLI share."""
    n = len(faces)
    if n == 0:
        return "No faces found"
    masked = sum(f.masked for f in faces)
    return f"{n} face{'s' if n != 1 else ''}: {masked} mask, {n - masked} no mask"
