"""The wear network: each output sees only its own band of the face, and the composed model
computes p(incorrect) = p(mouth covered) x (1 - p(nose covered)) in one call."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from maskpatrol.preprocess import INPUT_SIZE
from maskpatrol.training import bands, wear
from support.paths import ROOT

# TensorFlow is never imported into the test process (support/keras_subprocess.py says why):
# the checks that build networks run in a child.
_GRAPH_CHECK = """
import os, sys, numpy as np
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
from maskpatrol.preprocess import INPUT_SIZE
from maskpatrol.training import bands, compose, wear
from maskpatrol.training.model import build_model
keras.utils.set_random_seed(0)
net = wear.build_wear_model(width=4)

# Each output changes only with its own band of the face.
rng = np.random.default_rng(0)
x = rng.uniform(-1, 1, (2, INPUT_SIZE, INPUT_SIZE, 3)).astype(np.float32)
base = net.predict(x, verbose=0)
below_nose = x.copy()
below_nose[:, bands.NOSE_ROWS[1]:] = rng.uniform(-1, 1, below_nose[:, bands.NOSE_ROWS[1]:].shape)
above_mouth = x.copy()
above_mouth[:, :bands.MOUTH_ROWS[0]] = rng.uniform(-1, 1, above_mouth[:, :bands.MOUTH_ROWS[0]].shape)
np.testing.assert_allclose(net.predict(below_nose, verbose=0)[:, 0], base[:, 0], atol=1e-6)
np.testing.assert_allclose(net.predict(above_mouth, verbose=0)[:, 1], base[:, 1], atol=1e-6)

# Composed: p(incorrect) = p(mouth covered) x (1 - p(nose covered)), mirror-averaged; sums to one.
def logit(p):
    return np.log(p) - np.log1p(-p)

for keep_three in (True, False):
    keras.utils.set_random_seed(1)
    served = compose.compose(build_model(width=4, classes=1), build_model(width=4, classes=3), 0.7, mirror=True)
    model = wear.compose_with_wear(served, net, keep_three=keep_three)
    x = np.random.default_rng(2).uniform(-1, 1, (5, INPUT_SIZE, INPUT_SIZE, 3)).astype(np.float32)
    out = model.predict(x, verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)
    z = (logit(net.predict(x, verbose=0)) + logit(net.predict(x[:, :, ::-1], verbose=0))) / 2
    covered = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(out[:, 2], covered[:, 1] * (1 - covered[:, 0]), atol=1e-4)
print("ok")
"""


def test_the_bands_lie_in_the_crop_and_the_nose_band_starts_above_the_mouth_band():
    for top, bottom in (bands.NOSE_ROWS, bands.MOUTH_ROWS):
        assert 0 <= top < bottom <= INPUT_SIZE
    assert bands.NOSE_ROWS[0] < bands.MOUTH_ROWS[0] and bands.NOSE_ROWS[1] < bands.MOUTH_ROWS[1]


def test_each_output_sees_its_own_band_and_the_composed_model_is_mouth_times_bare_nose():
    run = subprocess.run([sys.executable, "-c", _GRAPH_CHECK], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0 and run.stdout.strip().endswith("ok"), run.stderr[-3000:]


def test_training_targets_say_what_is_covered():
    assert wear.TARGETS["mask"] == (1.0, 1.0) and wear.TARGETS["no_mask"] == (0.0, 0.0)
    assert wear.TARGETS["below_nose"] == (0.0, 1.0) and wear.TARGETS["chin"] == (0.0, 0.0)


def test_threshold_rules():
    p = np.array([0.0] * 97 + [0.5, 0.6, 0.9])
    assert wear.incorrect_rows(p, 0.015) == 0.61  # at most 1 of 100 at or above
    probs = np.zeros((200, 3))
    probs[:, 1] = np.linspace(0, 1, 200)
    t = wear.no_mask_threshold(probs, 0.99, 0.9)
    assert np.mean(probs[:, 1] >= t) >= 0.9 and np.mean(probs[:, 1] >= t + 0.005) < 0.9
