"""A 3-class model for page tests, made from the shipped one (and a binary one, for the binary wording).

The real classifier still runs; only its output moves, for each face it calls masked, 90%
of p(mask) to p(mask below nose), as a 3-class model's softmax would for a mask worn on the
chin. The card says it has the third class and its threshold is 0.5. Everything after the
classifier (labels, relabelling, pages, downloads) is the code a user runs. Patches are on
classes, undone after each test, so the cached pipeline other tests share is untouched.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from maskpatrol.classifier import MaskClassifier
from maskpatrol.model_card import ModelCard
from maskpatrol.pipeline import MaskPatrol, Settings

INCORRECT_THRESHOLD = 0.5
#: What the Photos and Video pages' legend says once the model has the third class.
LEGEND = ("**Mask below nose** (dashed box)",
          "the mask leaves the nose or mouth uncovered; counted as not properly masked")


def legend_explains_mask_below_nose(captions: str) -> bool:
    return all(part in captions for part in LEGEND)


def fake_three_class(monkeypatch: Any) -> None:
    original = MaskClassifier.predict_classes

    def predict_classes(self: MaskClassifier, faces: Sequence[np.ndarray]) -> np.ndarray:
        probs = original(self, faces).copy()
        masked = probs[:, 1] < 0.5
        probs[masked, 2] = 0.9 * probs[masked, 0]
        probs[masked, 0] *= 0.1
        return probs

    def incorrect_threshold(self: MaskPatrol, settings: Settings) -> float:
        return INCORRECT_THRESHOLD if settings.incorrect_threshold is None else float(settings.incorrect_threshold)

    monkeypatch.setattr(MaskClassifier, "predict_classes", predict_classes)
    monkeypatch.setattr(ModelCard, "has_incorrect", property(lambda self: True))
    monkeypatch.setattr(MaskPatrol, "incorrect_threshold", incorrect_threshold)


def fake_binary(monkeypatch: Any) -> None:
    """The other way round: whatever model ships, the pages see a binary one (no third
    label, no incorrect threshold), so the binary wording stays tested after a 3-class
    model ships. A 3-class model's p_incorrect may still be above 0; nothing shows it."""
    monkeypatch.setattr(ModelCard, "has_incorrect", property(lambda self: False))
    monkeypatch.setattr(MaskPatrol, "incorrect_threshold", lambda self, settings: None)
