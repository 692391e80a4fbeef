"""The served model's blend of its two networks: the Keras graph computes what the rule says,
and the weight goes to the network whose answers fit the validation labels."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from maskpatrol.training.compose import (BLEND_WEIGHTS, blend_log_loss, blend_probabilities, check_same_split,
                                        choose_blend_weight, compare_views)
from support.paths import ROOT


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_weight_one_is_the_binary_network_splitting_what_is_not_incorrect():
    z = np.random.default_rng(0).normal(0.0, 3.0, (50, 4))
    b, r = _sigmoid(z[:, 0]), _softmax(z[:, 1:])[:, 2]
    expected = np.stack([(1 - b) * (1 - r), b * (1 - r), r], axis=1)
    np.testing.assert_allclose(blend_probabilities(z, 1.0), expected, atol=1e-12)
    for w in (0.0, 0.35, 1.0):
        p = blend_probabilities(z, w)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        np.testing.assert_allclose(p[:, 2], r, atol=1e-12)  # p(incorrect) is the 3-class network's own


def test_below_one_the_3_class_networks_no_mask_odds_among_mask_and_no_mask_join_in():
    z = np.random.default_rng(2).normal(0.0, 3.0, (50, 4))
    p3 = _softmax(z[:, 1:])
    b, three_says = _sigmoid(z[:, 0]), p3[:, 1] / (p3[:, 0] + p3[:, 1])
    w = 0.4
    p = _sigmoid(w * np.log(b / (1 - b)) + (1 - w) * np.log(three_says / (1 - three_says)))
    expected = np.stack([(1 - p) * (1 - p3[:, 2]), p * (1 - p3[:, 2]), p3[:, 2]], axis=1)
    np.testing.assert_allclose(blend_probabilities(z, w), expected, atol=1e-9)


def test_several_binary_networks_count_as_one_with_their_mean_log_odds():
    z = np.random.default_rng(7).normal(0.0, 3.0, (50, 5))  # two binary networks, then the 3-class one
    as_one = np.column_stack([z[:, :2].mean(axis=1), z[:, 2:]])
    for w in (0.0, 0.65, 1.0):
        np.testing.assert_allclose(blend_probabilities(z, w), blend_probabilities(as_one, w), atol=1e-12)
    # p(incorrect) is still the 3-class network's own, not taken from a binary network's column
    np.testing.assert_allclose(blend_probabilities(z, 0.5)[:, 2], _softmax(z[:, 2:])[:, 2], atol=1e-12)


def test_networks_trained_on_another_split_are_refused():
    """A network whose split followed its own training seed saw other networks' test faces
    (2026-12-01: 532 of the 775 chandrikadeb7 test faces); composing it would make the
    held-out figures lie."""
    same = [{"training": {"seed": 1234, "split_seed": 1234}}, {"training": {"seed": 1235, "split_seed": 1234}}]
    check_same_split(same)
    check_same_split([{"training": {"seed": 1234}}])  # a card from before split_seed was recorded
    with pytest.raises(ValueError, match="split of seed 1235"):
        check_same_split([same[0], {"training": {"seed": 1235}}])  # an old card trained with seed 1235
    with pytest.raises(ValueError, match="not held out"):
        check_same_split([same[0], {"training": {"seed": 1234, "split_seed": 99}}])


def test_the_weight_follows_the_network_that_is_right():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 3000)
    truth = np.where(y == 1, 3.0, -3.0)  # confident log-odds of "no mask" for the mask / no-mask faces
    noise = rng.normal(0.0, 3.0, len(y))
    incorrect = np.where(y == 2, 4.0, -4.0)
    binary_right = np.stack([truth, np.zeros_like(y, float), noise, incorrect], axis=1)
    three_right = np.stack([noise, np.zeros_like(y, float), truth, incorrect], axis=1)
    assert choose_blend_weight(y, binary_right) == 1.0
    assert choose_blend_weight(y, three_right) == 0.0
    both = np.stack([truth + rng.normal(0, 2, len(y)), np.zeros_like(y, float), truth + rng.normal(0, 2, len(y)),
                     incorrect], axis=1)
    assert 0.25 <= choose_blend_weight(y, both) <= 0.75  # two equally good, independent opinions: both heard
    assert set(BLEND_WEIGHTS) >= {0.0, 0.5, 1.0}


def test_when_both_networks_agree_the_binary_network_alone_is_kept():
    z = np.random.default_rng(5).normal(0.0, 2.0, (200, 4))
    z[:, 0] = z[:, 2] - z[:, 1]  # the same mask / no-mask log-odds: every weight fits alike
    assert choose_blend_weight(np.random.default_rng(6).integers(0, 3, 200), z) == 1.0


def test_the_mirror_comparison_rewards_views_whose_mistakes_differ():
    """What the card's ``mirror_comparison`` records: a face and its mirror whose logits carry
    independent errors average to a lower log loss; a mirror that sees exactly what the face
    does changes nothing."""
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 4000)
    truth = np.stack([np.where(y == 1, 2.0, -2.0), np.where(y == 0, 2.0, 0.0), np.where(y == 1, 2.0, 0.0),
                      np.where(y == 2, 3.0, 0.0)], axis=1)
    face, mirrored = (truth + rng.normal(0.0, 2.0, truth.shape) for _ in range(2))
    views = compare_views(y, face, mirrored)
    assert views["face_and_mirror"]["log_loss"] < views["face_only"]["log_loss"] - 0.02
    for name, z in (("face_only", face), ("face_and_mirror", (face + mirrored) / 2)):
        assert views[name]["blend_weight"] == choose_blend_weight(y, z)
        assert views[name]["log_loss"] == pytest.approx(blend_log_loss(y, z, views[name]["blend_weight"]), abs=1e-5)
    same = compare_views(y, face, face)
    assert same["face_and_mirror"] == same["face_only"]


_GRAPH_CHECK = """
import os, sys, numpy as np
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
import keras
from maskpatrol.training.compose import _logits, _mirror, blend_probabilities, compose
from maskpatrol.training.model import build_model
keras.utils.set_random_seed(3)
binary, three = build_model(classes=1), build_model(classes=3)
rng = np.random.default_rng(5)
for net in (binary, three):  # trained heads have biases: make sure they are carried over
    net.layers[-1].set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in net.layers[-1].get_weights()])
x = np.random.default_rng(4).uniform(-1, 1, (6, 64, 64, 3)).astype("float32")
z = _logits(binary, three).predict(x, verbose=0)
for w in (0.3, 1.0):
    np.testing.assert_allclose(compose(binary, three, w).predict(x, verbose=0), blend_probabilities(z, w), atol=1e-5)
b, r = binary.predict(x, verbose=0)[:, 0], three.predict(x, verbose=0)[:, 2]
np.testing.assert_allclose(compose(binary, three, 1.0).predict(x, verbose=0),
                           np.stack([(1 - b) * (1 - r), b * (1 - r), r], axis=1), atol=1e-5)
# Two binary networks: the graph averages their log-odds, i.e. the odds' geometric mean.
second = build_model(classes=1)
second.layers[-1].set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in second.layers[-1].get_weights()])
b2 = second.predict(x, verbose=0)[:, 0]
odds = np.sqrt(b / (1 - b) * b2 / (1 - b2))
np.testing.assert_allclose(compose([binary, second], three, 1.0).predict(x, verbose=0)[:, 1],
                           odds / (1 + odds) * (1 - r), atol=1e-5)
z2 = _logits([binary, second], three).predict(x, verbose=0)
np.testing.assert_allclose(compose([binary, second], three, 0.4).predict(x, verbose=0),
                           blend_probabilities(z2, 0.4), atol=1e-5)
# Mirror averaging: each network's logits are the mean over the face and its left-right mirror.
mirrored = x[:, :, ::-1, :]
face = keras.Input((64, 64, 3))
assert np.array_equal(keras.Model(face, _mirror(face)).predict(x, verbose=0), mirrored)  # exact, not near
z2m = _logits([binary, second], three, mirror=True).predict(x, verbose=0)
np.testing.assert_allclose(z2m, (z2 + _logits([binary, second], three).predict(mirrored, verbose=0)) / 2,
                           rtol=1e-4, atol=1e-6)
zm = (z + _logits(binary, three).predict(mirrored, verbose=0)) / 2
np.testing.assert_allclose(compose(binary, three, 0.6, mirror=True).predict(x, verbose=0),
                           blend_probabilities(zm, 0.6), atol=1e-5)
# ... and a face that is its own mirror gets the same answer as without it.
symmetric = np.concatenate([x[:, :, :32], x[:, :, :32][:, :, ::-1]], axis=2)
np.testing.assert_allclose(compose(binary, three, 0.6, mirror=True).predict(symmetric, verbose=0),
                           compose(binary, three, 0.6).predict(symmetric, verbose=0), atol=1e-5)
print("graph ok")
"""


def test_the_composed_keras_graph_computes_the_blend():
    # TensorFlow runs in a child process: it must never be imported into the test process
    # (support/keras_subprocess.py says why).
    proc = subprocess.run([sys.executable, "-c", _GRAPH_CHECK], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "graph ok" in proc.stdout, proc.stderr[-3000:]
