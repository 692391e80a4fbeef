"""The shipped model meets the accuracy the README promises, on data it never trained on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from maskpatrol.paths import MODELS_DIR
from maskpatrol.preprocess import center_square, to_model_input
from maskpatrol.training import data
from maskpatrol.training.evaluate import predict_samples
from maskpatrol.training.metrics import binary_metrics

from keras_subprocess import keras_predict

pytestmark = pytest.mark.data

ACCEPTANCE = {  # split: (min accuracy, min no-mask recall)
    "kaggle12k": (0.990, 0.995),
    "chandrikadeb7": (0.970, 0.980),
}


@pytest.fixture(scope="module")
def samples(data_dir):
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    return data.discover(data_dir, seed=card["training"]["seed"])


@pytest.mark.parametrize("source", sorted(ACCEPTANCE))
def test_shipped_tflite_meets_acceptance(patrol, samples, source):
    test = data.select(samples, "test", (source,))
    assert len(test) > 400  # the whole held-out split, not a sample of it
    y = np.array([s.label for s in test])
    m = binary_metrics(y, predict_samples(patrol.classifier, test), patrol.card.threshold)
    min_acc, min_recall = ACCEPTANCE[source]
    assert m["accuracy"] >= min_acc, m
    assert m["recall"] >= min_recall, m


def test_splits_do_not_overlap(samples):
    seen: dict[str, str] = {}
    for s in samples:
        key = str(s.path)
        assert seen.setdefault(key, s.split) == s.split
    train = {s.path for s in data.select(samples, "train", ("chandrikadeb7",))}
    test = {s.path for s in data.select(samples, "test", ("chandrikadeb7",))}
    assert train and test and not (train & test)


def test_keras_and_tflite_agree_on_real_crops(patrol, samples, astronaut_rgb, tmp_path):
    rng = np.random.default_rng(0)
    picks = [samples[i] for i in rng.choice(len(samples), 40, replace=False)]
    faces = [center_square(data.read_rgb(s.path)) for s in picks]
    faces.append(center_square(astronaut_rgb[60:180, 160:290]))
    np.save(tmp_path / "x.npy", to_model_input(faces, patrol.card.input_size))
    p_keras = keras_predict(MODELS_DIR / "mask_classifier.keras", tmp_path / "x.npy")
    p_tflite = patrol.classifier.predict(faces)
    np.testing.assert_allclose(p_tflite, p_keras.reshape(-1), atol=1e-4)


def test_model_card_matches_files():
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    tflite = MODELS_DIR / card["tflite_file"]
    assert tflite.stat().st_size == card["model_bytes"] <= 5 * 1024 * 1024
    assert card["class_names"] == ["mask", "no_mask"]
    assert 0 < card["threshold"] < 1
    for key in ("kaggle12k/test", "chandrikadeb7/test"):
        assert card["metrics"][key]["n"] > 400
