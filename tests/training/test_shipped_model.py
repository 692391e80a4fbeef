"""The shipped model meets the accuracy the README promises, on data it never trained on."""

from __future__ import annotations

import numpy as np
import pytest

from maskpatrol.paths import MODELS_DIR
from maskpatrol.preprocess import center_square, to_model_input
from maskpatrol.training import data
from maskpatrol.training.evaluate import held_out, predict_sample_classes
from maskpatrol.training.metrics import binary_metrics, three_class_labels, three_class_metrics

from support.keras_subprocess import keras_predict

pytestmark = pytest.mark.data

ACCEPTANCE = {  # split: (min accuracy, min no-mask recall)
    "kaggle12k": (0.990, 0.995),
    "chandrikadeb7": (0.970, 0.980),
}
#: "Mask below nose" on held-out faces whose source face never met training (issue #19: 90%).
MIN_INCORRECT_RECALL = 0.90
MIN_INCORRECT_PRECISION = 0.90
#: Real masked photos wrongly called "Mask below nose" (issue #19: at most 2%).
MAX_MASKED_CALLED_INCORRECT = 0.02


@pytest.fixture(scope="module")
def card(patrol):
    """The raw model card of the model under test (the one the ``patrol`` fixture loaded)."""
    return patrol.card.raw


@pytest.fixture(scope="module")
def samples(data_dir, card):
    return data.discover(data_dir, third_class=True)


@pytest.fixture(scope="module")
def test_probs(patrol, samples, card):
    """Every held-out split, with the shipped .tflite's (N, 3) probabilities."""
    seed = card["training"]["seed"]
    return {source: (np.array([s.label for s in test]), predict_sample_classes(patrol.classifier, test, seed=seed))
            for source, test in held_out(samples, seed).items()}


@pytest.mark.parametrize("source", sorted(ACCEPTANCE))
def test_shipped_tflite_meets_acceptance(patrol, test_probs, source):
    y, p = test_probs[source]
    assert len(y) > 400  # the whole held-out split, not a sample of it
    m = binary_metrics(y == data.NO_MASK, p[:, 1], patrol.card.threshold)
    min_acc, min_recall = ACCEPTANCE[source]
    assert m["accuracy"] >= min_acc, m
    assert m["recall"] >= min_recall, m


def test_mask_below_nose_is_found_on_held_out_faces(patrol, test_probs):
    """Drawn below-nose / chin masks on held-out faces, and MaskedFace-Net's held-out ones."""
    labels, truths = [], []
    for source, (y, p) in test_probs.items():
        labels.append(three_class_labels(p, patrol.card.threshold, patrol.card.incorrect_threshold))
        truths.append(y)
    y, labels = np.concatenate(truths), np.concatenate(labels)
    assert (y == data.INCORRECT).sum() > 400
    m = three_class_metrics(y, labels)["per_class"]["incorrect"]
    assert m["recall"] >= MIN_INCORRECT_RECALL, m
    assert m["precision"] >= MIN_INCORRECT_PRECISION, m


def test_real_masked_photos_are_rarely_called_below_nose(patrol, test_probs):
    y, p = test_probs["chandrikadeb7"]
    labels = three_class_labels(p, patrol.card.threshold, patrol.card.incorrect_threshold)
    masked = y == data.MASK
    assert masked.sum() > 200
    assert (labels[masked] == data.INCORRECT).mean() <= MAX_MASKED_CALLED_INCORRECT


def test_splits_do_not_overlap(samples):
    seen: dict[str, str] = {}
    for s in samples:
        key = f"{s.path}:{s.style}"
        assert seen.setdefault(key, s.split) == s.split
    for source in ("chandrikadeb7", "maskedfacenet"):
        train = {s.path for s in data.select(samples, "train", (source,))}
        test = {s.path for s in data.select(samples, "test", (source,))}
        assert train and test and not (train & test)
    # A face a mask was drawn on stays in the split of the photo it was drawn on.
    real = {s.path: s.split for s in samples if s.source in data.SOURCES}
    drawn = [s for s in samples if s.source == "synthetic"]
    assert drawn and all(real[s.path] == s.split for s in drawn)


def test_keras_and_tflite_agree_on_real_crops(patrol, samples, astronaut_rgb, tmp_path):
    rng = np.random.default_rng(0)
    real = [s for s in samples if s.source != "synthetic"]
    picks = [real[i] for i in rng.choice(len(real), 40, replace=False)]
    faces = [center_square(data.read_rgb(s.path)) for s in picks]
    faces.append(center_square(astronaut_rgb[60:180, 160:290]))
    np.save(tmp_path / "x.npy", to_model_input(faces, patrol.card.input_size))
    p_keras = keras_predict(MODELS_DIR / "mask_classifier.keras", tmp_path / "x.npy")
    np.testing.assert_allclose(patrol.classifier.predict_classes(faces), p_keras, atol=1e-4)


def test_model_card_matches_files(card):
    tflite = MODELS_DIR / card["tflite_file"]
    assert tflite.stat().st_size == card["model_bytes"] <= 5 * 1024 * 1024
    assert card["class_names"] == ["mask", "no_mask", "incorrect"]
    assert 0 < card["threshold"] < 1
    assert 0 < card["incorrect_threshold"] < 1
    for key in ("kaggle12k/test", "chandrikadeb7/test"):
        assert card["metrics"][key]["n"] > 400
    assert card["metrics"]["three_class"]["all_test"]["n"] > 2000
