"""The 3-class thresholds keep the promises the model card states for them."""

from __future__ import annotations

import numpy as np
import pytest

from maskpatrol.training.calibrate import MAX_FALSE_INCORRECT, MIN_RECALL, choose_three_class_thresholds
from maskpatrol.training.metrics import flagged_not_masked, three_class_labels


@pytest.mark.parametrize("seed", range(40))
def test_the_alert_still_catches_the_unmasked_faces_and_few_masked_ones_are_called_below_nose(seed):
    # Noisy 3-class scores; some seeds (3, 11, 20, 37) once ended with the incorrect
    # threshold re-picked after the no-mask one had been raised, letting 0.6% of the
    # unmasked faces through without an alert.
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, 900)
    z = rng.normal(0.0, 1.5, (len(y), 3))
    z[np.arange(len(y)), y] += 2.5
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    real_masked = (y == 0) & (rng.random(len(y)) < 0.7)
    threshold, incorrect_threshold = choose_three_class_thresholds(y, p, real_masked)
    labels = three_class_labels(p, threshold, incorrect_threshold)
    assert flagged_not_masked(y, labels) >= MIN_RECALL
    assert (labels[real_masked] == 2).mean() <= MAX_FALSE_INCORRECT
