"""The one pipeline every consumer calls: detect -> crop -> classify (batched) -> Face -> Counts."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .classifier import DEFAULT_NUM_THREADS, MaskClassifier
from .detectors import DEFAULT_DETECTOR, Box, Detector, DetectorSettings, make_detector
from .model_card import ModelCard, ModelNotFoundError, load_card
from .paths import default_model_dir
from .preprocess import square_crop
from .tracking.settings import PeopleSettings

MASK = "mask"
NO_MASK = "no_mask"
#: A mask worn below the nose or on the chin: not properly masked.
INCORRECT = "incorrect"
LABELS = (MASK, NO_MASK, INCORRECT)
#: What people read for each label, on pages, images and exports.
DISPLAY_NAMES = {MASK: "Mask", NO_MASK: "No mask", INCORRECT: "Mask below nose"}


@dataclass(frozen=True)
class Face:
    box: Box
    p_no_mask: float
    label: str
    #: Always 0 with a binary model, which cannot see how a mask is worn.
    p_incorrect: float = 0.0
    #: The person's number in a video or stream (``tracking.people``); None in a photo.
    person: int | None = None

    @property
    def masked(self) -> bool:
        """Properly masked: a mask below the nose does not count."""
        return self.label == MASK

    @property
    def incorrect(self) -> bool:
        return self.label == INCORRECT

    @property
    def display_name(self) -> str:
        return DISPLAY_NAMES[self.label]

    @property
    def confidence(self) -> float:
        """The model's probability for the label it gave."""
        if self.label == NO_MASK:
            return self.p_no_mask
        if self.label == INCORRECT:
            return self.p_incorrect
        return max(0.0, 1.0 - self.p_no_mask - self.p_incorrect)

    def scaled(self, sx: float, sy: float | None = None) -> "Face":
        """The same face with its box in pixels ``sx`` (across) and ``sy`` (down; default
        ``sx``) times as large: from a preview or a shrunk picture to the photo, or back."""
        sy = sx if sy is None else sy
        x, y, w, h = self.box
        return replace(self, box=(int(round(x * sx)), int(round(y * sy)), int(round(w * sx)), int(round(h * sy))))

    def to_dict(self) -> dict[str, Any]:
        """The CLI/JSON schema of one face; ``person`` only where people are followed."""
        out = {"box": [int(v) for v in self.box], "label": self.label,
               "p_no_mask": round(float(self.p_no_mask), 6),
               "p_incorrect": round(float(self.p_incorrect), 6)}
        if self.person is not None:
            out["person"] = self.person
        return out


@dataclass(frozen=True)
class Counts:
    """How many faces got each label, in one photo or frame or added up over many (``a + b``).

    Every panel, summary, table, CSV and JSON reads its numbers here, so what counts as not
    properly masked is decided in this one place. A new kind of count is a new field with
    a default: ``Counts()`` and ``+`` take it up unchanged."""

    mask: int = 0
    no_mask: int = 0
    #: Masks below the nose; always 0 with a binary model.
    incorrect: int = 0

    @classmethod
    def of(cls, faces: Iterable[Face]) -> "Counts":
        return cls.of_labels(f.label for f in faces)

    @classmethod
    def of_labels(cls, labels: Iterable[str | None]) -> "Counts":
        """From labels as records and rows carry them; None (a row without a face) is skipped."""
        seen = Counter(labels)
        return cls(mask=seen[MASK], no_mask=seen[NO_MASK], incorrect=seen[INCORRECT])

    @property
    def total(self) -> int:
        """Faces, whatever their label."""
        return self.mask + self.no_mask + self.incorrect

    @property
    def not_masked(self) -> int:
        """Not properly masked: no mask, or a mask below the nose, which protects little."""
        return self.no_mask + self.incorrect

    @property
    def alert(self) -> bool:
        """Someone is not properly masked: what raises the warnings."""
        return self.not_masked > 0

    @property
    def summary(self) -> str:
        """"5 faces: 3 mask, 1 mask below nose, 1 no mask", the wording pages and the CLI
        share. The middle part appears only when such a face was seen."""
        n = self.total
        if n == 0:
            return "No faces found"
        middle = f", {self.incorrect} mask below nose" if self.incorrect else ""
        return f"{n} face{'s' if n != 1 else ''}: {self.mask} mask{middle}, {self.no_mask} no mask"

    @property
    def not_masked_text(self) -> str:
        """The warning's words, a face being a person: "2 people are not wearing a mask", or
        with a mask below the nose among them "3 people are not properly masked: 2 without
        a mask, 1 with the mask below the nose"."""
        n = self.not_masked
        who = "person is" if n == 1 else "people are"
        if not self.incorrect:
            return f"{n} {who} not wearing a mask"
        return f"{n} {who} not properly masked: {self.no_mask} without a mask, {self.incorrect} with the mask below the nose"

    @property
    def people_summary(self) -> str:
        """"16 people: 9 masked, 5 no mask, 2 mask below nose", for counts of people."""
        n = self.total
        return (f"{n} {'person' if n == 1 else 'people'}: {self.mask} masked, {self.no_mask} no mask, "
                f"{self.incorrect} mask below nose")

    def to_dict(self) -> dict[str, int]:
        """The JSON shape: ``{"total", "mask", "no_mask", "incorrect"}``."""
        return {"total": self.total, "mask": self.mask, "no_mask": self.no_mask, "incorrect": self.incorrect}

    def __add__(self, other: "Counts") -> "Counts":
        if not isinstance(other, Counts):
            return NotImplemented
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


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
    #: Threshold on p(incorrect); None means the model card's.
    incorrect_threshold: float | None = None
    #: How faces become people in videos and streams.
    people: PeopleSettings = field(default_factory=PeopleSettings)


def label_for(p_no_mask: float, threshold: float, p_incorrect: float = 0.0,
              incorrect_threshold: float | None = None) -> str:
    """No mask first, since missing one costs most; then a mask below the nose.

    ">=": at exactly a threshold we call the worse label, for the same reason."""
    if p_no_mask >= threshold:
        return NO_MASK
    if incorrect_threshold is not None and p_incorrect >= incorrect_threshold:
        return INCORRECT
    return MASK


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

    def incorrect_threshold(self, settings: Settings) -> float | None:
        """None for a binary model: it never says "incorrect"."""
        if not self.card.has_incorrect:
            return None
        return self.card.incorrect_threshold if settings.incorrect_threshold is None else float(settings.incorrect_threshold)

    def faces_from_probs(self, boxes: Sequence[Box], probs: np.ndarray, settings: Settings = Settings()) -> list[Face]:
        """Faces from boxes and ``classifier.predict_classes`` rows, labelled by ``settings``."""
        t_no, t_inc = self.threshold(settings), self.incorrect_threshold(settings)
        return [Face(box, float(p[1]), label_for(float(p[1]), t_no, float(p[2]), t_inc), float(p[2]))
                for box, p in zip(boxes, probs)]

    def classify_faces(self, faces_rgb: Sequence[np.ndarray], threshold: float | None = None) -> list[Face]:
        """Classifier alone on ready face crops (the CLI's ``classify``); boxes cover each crop."""
        probs = self.classifier.predict_classes(faces_rgb)
        boxes = [(0, 0, int(f.shape[1]), int(f.shape[0])) for f in faces_rgb]
        return self.faces_from_probs(boxes, probs, Settings(threshold=threshold))

    def analyze(self, rgb: np.ndarray, settings: Settings = Settings(),
                timings: dict[str, float] | None = None) -> list[Face]:
        """All faces of an RGB image with their labels. ``timings`` (if given) receives
        detection and classification milliseconds, for the benchmarks."""
        t0 = time.perf_counter()
        boxes = self.detector_for(settings.detector.name).detect(rgb, settings.detector)
        t1 = time.perf_counter()
        crops = [square_crop(rgb, box) for box in boxes]
        probs = self.classifier.predict_classes(crops)
        t2 = time.perf_counter()
        if timings is not None:
            timings["detect_ms"] = (t1 - t0) * 1000.0
            timings["classify_ms"] = (t2 - t1) * 1000.0
        return self.faces_from_probs(boxes, probs, settings)


def summarize(faces: Iterable[Face]) -> str:
    """:attr:`Counts.summary` of ``faces``: "5 faces: 3 mask, 1 mask below nose, 1 no mask"."""
    return Counts.of(faces).summary
