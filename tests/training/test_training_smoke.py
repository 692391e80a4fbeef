"""A tiny training run goes through every step and leaves a model the app can load.

The runs read a small copy of the data folder (``support.small_data``): the composer and
calibration score its whole validation split, which in the full folder takes minutes and
shows nothing more about whether the steps work (how well the shipped model does is
``test_shipped_model.py``'s)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from support.keras_subprocess import keras_predict
from support.paths import ROOT
from support.small_data import small_data_folder

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def small_data(data_dir, tmp_path_factory):
    return small_data_folder(data_dir, tmp_path_factory.mktemp("small_data"))


def _train(data_dir, out, *extra: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "maskpatrol.train", "--data", str(data_dir), "--out", str(out),
         "--limit", "64", "--epochs", "1", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Epoch 1/1" in proc.stdout + proc.stderr  # the per-epoch progress report
    return proc.stdout


def _loads_and_agrees_with_keras(out, card, astronaut_rgb, tmp_path, columns: int):
    from maskpatrol.pipeline import MaskPatrol
    from maskpatrol.preprocess import to_model_input

    patrol = MaskPatrol.load(out)
    faces = patrol.analyze(astronaut_rgb)
    assert len(faces) == 1 and 0.0 <= faces[0].p_no_mask <= 1.0
    crop = astronaut_rgb[60:180, 160:290]
    np.save(tmp_path / "x.npy", to_model_input([crop], card["input_size"]))
    p_keras = keras_predict(out / "mask_classifier.keras", tmp_path / "x.npy")
    assert p_keras.shape == (1, columns)
    expected = patrol.classifier.predict([crop]) if columns == 1 else patrol.classifier.predict_classes([crop])
    np.testing.assert_allclose(p_keras.reshape(expected.shape), expected, atol=1e-4)


def test_two_class_run_of_one_epoch_on_64_images_writes_loadable_files(small_data, tmp_path, astronaut_rgb):
    out = tmp_path / "model"
    _train(small_data, out, "--two-class")
    card = json.loads((out / "model_card.json").read_text())
    assert card["training"]["epochs_run"] == 1 and card["class_names"] == ["mask", "no_mask"]
    assert sum(sum(c.values()) for k, c in card["training"]["counts"].items() if k.endswith("/train")) == 64
    _loads_and_agrees_with_keras(out, card, astronaut_rgb, tmp_path, columns=1)


def test_three_class_run_trains_both_networks_and_composes_them(small_data, tmp_path, astronaut_rgb):
    out = tmp_path / "model3"
    stdout = _train(small_data, out)  # the default, as `make train` runs it
    assert "binary network 1: training (seed 1234)" in stdout and "three network: training" in stdout
    card = json.loads((out / "model_card.json").read_text())
    # Both networks were trained (one epoch each), on the one split, and composed into one served model.
    branches = card["training"]["branches"]
    assert set(branches) == {"no_mask", "wearing"} and {b["epochs_run"] for b in branches.values()} == {1}
    assert {b["split_seed"] for b in branches.values()} == {1234}
    train_counts = {k: c for k, c in card["training"]["counts"].items() if k.endswith("/train")}
    assert sum(sum(c.values()) for c in train_counts.values()) == 64
    # All three classes are trained, the third from drawn and MaskedFace-Net masks.
    assert all(sum(c[name] for c in train_counts.values()) >= 21 for name in ("mask", "no_mask", "incorrect"))
    assert card["class_names"] == ["mask", "no_mask", "incorrect"] and 0.0 < card["incorrect_threshold"] < 1.0
    _loads_and_agrees_with_keras(out, card, astronaut_rgb, tmp_path, columns=3)
    # Every network is averaged over the face and its mirror: both views get one answer.
    from maskpatrol.classifier import MaskClassifier

    assert card["mirror_average"] is True
    views = card["mirror_comparison"]
    assert card["blend_weight"] == views["face_and_mirror"]["blend_weight"]
    assert all(0.0 < views[k]["log_loss"] < 5.0 for k in ("face_only", "face_and_mirror"))
    classifier = MaskClassifier(out / card["tflite_file"], card["input_size"])
    crop = astronaut_rgb[60:180, 160:290]
    np.testing.assert_allclose(classifier.predict_classes([crop[:, ::-1]]), classifier.predict_classes([crop]),
                               atol=1e-5)


def test_train_without_data_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "maskpatrol.train", "--data", str(tmp_path / "nowhere")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 2 and "--data" in proc.stderr and "Traceback" not in proc.stderr
