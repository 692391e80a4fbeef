"""One 3-class model from two kinds of network: the binary mask / no-mask network (or
several, averaged), and a 3-class network that knows how a mask is worn.

Why two: the binary question is the costly one, and a single 3-class network trained for
the same time answers it worse than the binary network alone. The binary network alone,
though, calls half of the held-out masks drawn below the nose "no mask": a bare nose and
mouth look unmasked to it. So the 3-class network's p(incorrect) ``r`` is taken as it is, and the rest is split
between mask and no mask by ``p``, whose log-odds blend both networks' evidence:

    logit(p) = w * logit(p_bin) + (1 - w) * logit(p3_no_mask / (p3_no_mask + p3_mask))
    output   = [(1 - p) * (1 - r), p * (1 - r), r]        (mask, no mask, incorrect)

The weight ``w`` is the one of ``BLEND_WEIGHTS`` whose output has the lowest log loss on the
validation views calibration uses (``choose_blend_weight``): a log loss, not an accuracy, so
that the choice does not hinge on the few faces near a threshold.

With ``MIRROR`` each network's logits are the mean over the face and its left-right mirror,
computed inside the same graph (``_mirror``), so serving still makes one call per frame.

The binary side may be several networks trained alike with other seeds (``train.BINARY_NETWORKS``);
``logit(p_bin)`` is then their mean, the odds' geometric mean. Every network must have been
trained on the split that composing calibrates and tests on (``check_same_split``): a
network trained on another split has seen some of the test faces, and the held-out figures
would look better than they are.
Every network's last layer is linear before its sigmoid / softmax, so the blend is
fixed-weight Dense layers on their logits: the model stays built-in layers only, saves,
converts to LiteRT and to ONNX like any other, and serving still makes one call per frame.
``python -m maskpatrol.training.compose`` builds it from trained folders. The measurements
behind each choice (two networks, the blend weight, the mirror, one split): docs/model.md,
"The third class".
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from ..model_card import CARD_NAME, binary_branch_names
from ..paths import MODEL_BASENAME, REPO_ROOT, data_dir_from_env
from . import data
from .artifacts import save_model, stamp


#: Every network's logits are averaged over the face and its left-right mirror, inside the
#: one model call: a mask, a nose, a chin look the same mirrored, a network's mistakes need
#: not. It lowers the validation log loss (``build`` records it with and without the
#: mirror in the card's ``mirror_comparison``; figures in docs/model.md) for twice the
#: classifier's work per face.
MIRROR = True

#: The blend weights ``choose_blend_weight`` tries; 1.0 is the binary network alone.
BLEND_WEIGHTS = tuple(float(w) for w in np.round(np.linspace(0.0, 1.0, 21), 2))


def _binaries(binary) -> list:
    """``binary`` as a list of networks: one network, or an ensemble of them."""
    return list(binary) if isinstance(binary, (list, tuple)) else [binary]


def _mirror(face):
    """``face`` (N, H, W, C) flipped left to right, in built-in layers only: move the width
    axis last, multiply it by the anti-diagonal 0/1 matrix (exact in float32), move it back."""
    from keras import layers

    width = face.shape[2]
    to_last = layers.Permute((1, 3, 2), name="width_last")(face)
    flip = layers.Dense(width, use_bias=False, trainable=False, name="flip_width")
    flipped = flip(to_last)
    flip.set_weights([np.eye(width, dtype=np.float32)[::-1]])
    return layers.Permute((1, 3, 2), name="mirrored_face")(flipped)


def _logits(binary, three, mirror: bool = False):
    """A Keras model: face -> every network's pre-activation outputs
    [z_bin_1, ..., z_bin_K, z_mask, z_no_mask, z_incorrect] for K binary networks; with
    ``mirror``, each is the mean of the network's logits on the face and on its mirror."""
    import keras
    from keras import layers

    binaries = _binaries(binary)
    face = keras.Input(binaries[0].input_shape[1:], name="face")
    views = [face, _mirror(face)] if mirror else [face]
    outputs = []
    for net, name in [*zip(binaries, binary_branch_names(len(binaries))), (three, "wearing")]:
        head = net.layers[-1]  # Dense with a sigmoid (binary) or softmax (3-class) activation
        trunk = keras.Model(net.input, head.input, name=f"{name}_trunk")
        logits = layers.Dense(head.units, name=f"{name}_head")  # the head without its activation
        per_view = [logits(trunk(view)) for view in views]
        logits.set_weights(head.get_weights())
        outputs.append(layers.Average(name=f"{name}_mean_of_views")(per_view) if mirror else per_view[0])
    return keras.Model(face, layers.Concatenate(name="logits")(outputs), name="branch_logits")


def blend_probabilities(z: np.ndarray, weight: float) -> np.ndarray:
    """(N, 3) mask / no mask / incorrect probabilities from (N, K + 3) logits (``_logits``'
    columns), as ``compose``'s graph computes them. K binary networks count as one whose
    log-odds are their mean."""
    z = np.asarray(z, np.float64)
    k = z.shape[1] - 3
    blended = weight * z[:, :k].mean(axis=1) + (1.0 - weight) * (z[:, k + 1] - z[:, k])
    p = 1.0 / (1.0 + np.exp(-blended))
    e = np.exp(z[:, k:] - z[:, k:].max(axis=1, keepdims=True))
    r = e[:, 2] / e.sum(axis=1)
    return np.stack([(1.0 - p) * (1.0 - r), p * (1.0 - r), r], axis=1)


def choose_blend_weight(y: np.ndarray, z: np.ndarray) -> float:
    """The weight in ``BLEND_WEIGHTS`` whose output has the lowest log loss on labels ``y``
    (class indices) for logits ``z``; on a tie (within rounding), the one nearest the binary
    network alone, which answers the costly question on its own best."""
    losses = {w: blend_log_loss(y, z, w) for w in BLEND_WEIGHTS}
    best = min(losses.values())
    return max(w for w, loss in losses.items() if loss <= best + 1e-9)


def blend_log_loss(y: np.ndarray, z: np.ndarray, weight: float) -> float:
    """The mean log loss of ``blend_probabilities(z, weight)`` on labels ``y`` (class indices)."""
    y = np.asarray(y)
    return float(-np.log(np.clip(blend_probabilities(z, weight)[np.arange(len(y)), y], 1e-7, 1.0)).mean())


def compare_views(y: np.ndarray, z_face: np.ndarray, z_mirrored: np.ndarray) -> dict:
    """For the face alone and for the mean of the face's and its mirror's logits (what
    ``_logits(..., mirror=True)`` computes), the best blend weight and its log loss: the
    measurement behind ``MIRROR``, kept in the card so that it can be checked."""
    views = {"face_only": z_face, "face_and_mirror": (z_face + z_mirrored) / 2.0}
    out = {}
    for name, z in views.items():
        weight = choose_blend_weight(y, z)
        out[name] = {"blend_weight": weight, "log_loss": round(blend_log_loss(y, z, weight), 5)}
    return out


def compose(binary, three, weight: float = 1.0, mirror: bool = False):
    """The composed Keras model (see module doc); ``binary`` (one network or a list of them)
    outputs (N, 1), ``three`` (N, 3), ``weight`` is the binary networks' share of the mask /
    no-mask log-odds, ``mirror`` averages every network's logits over the face and its mirror."""
    import keras
    from keras import layers

    k = len(_binaries(binary))
    branches = _logits(binary, three, mirror)
    face = keras.Input(branches.input_shape[1:], name="face")
    z = branches(face)
    blended = layers.Dense(1, use_bias=False, name="no_mask_logit")(z)
    p = layers.Activation("sigmoid", name="p_no_mask_of_rest")(blended)
    p3 = layers.Activation("softmax", name="wearing_probabilities")(
        layers.Dense(3, use_bias=False, name="wearing_logits")(z))
    r = layers.Dense(1, use_bias=False, name="p_incorrect")(p3)
    not_r = layers.Dense(1, name="one_minus_p_incorrect")(p3)
    not_p = layers.Dense(1, name="one_minus_p_no_mask_of_rest")(p)
    mask = layers.Multiply(name="p_mask")([not_p, not_r])
    no_mask = layers.Multiply(name="p_no_mask")([p, not_r])
    out = layers.Concatenate(name="p_classes")([mask, no_mask, r])
    model = keras.Model(face, out, name="mask_classifier")

    one = np.array([1.0], np.float32)
    model.get_layer("no_mask_logit").set_weights(
        [np.array([[weight / k]] * k + [[weight - 1.0], [1.0 - weight], [0.0]], np.float32)])
    model.get_layer("wearing_logits").set_weights([np.eye(k + 3, 3, -k, dtype=np.float32)])
    pick = np.array([[0.0], [0.0], [1.0]], np.float32)
    model.get_layer("p_incorrect").set_weights([pick])
    model.get_layer("one_minus_p_incorrect").set_weights([-pick, one])
    model.get_layer("one_minus_p_no_mask_of_rest").set_weights([np.array([[-1.0]], np.float32), one])
    for layer in model.layers:
        layer.trainable = False
    return model


def check_same_split(cards: Sequence[dict]) -> None:
    """Refuse networks trained on another split than ``data.SPLIT_SEED``'s: their "held-out"
    faces would include faces they trained on. Cards written before ``split_seed`` was
    recorded used their training seed for the split."""
    for card in cards:
        training = card.get("training", {})
        used = training.get("split_seed", training.get("seed"))
        if used != data.SPLIT_SEED:
            raise ValueError(f"a network was trained on the split of seed {used}, not {data.SPLIT_SEED}: "
                             "its held-out faces are not held out for the others. Retrain it with this code.")


def build(binary_dirs: Sequence[Path], three_dir: Path, out_dir: Path, data_dir: Path, seed: int = 1234,
          test: bool = True, mirror: bool = MIRROR) -> dict:
    """Compose the folders' models (one or more binary ones, one 3-class one) into ``out_dir``
    (.keras, .tflite, model card with every training recorded), then pick the thresholds and
    fill the metrics on it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from ..preprocess import to_model_input
    from .calibrate import calibrate, validation_scores
    from .synth_data import Painter

    binary_dirs = [Path(d) for d in binary_dirs]
    binary_cards = [json.loads((d / CARD_NAME).read_text()) for d in binary_dirs]
    three_card = json.loads((three_dir / CARD_NAME).read_text())
    check_same_split([*binary_cards, three_card])
    binary = [keras.models.load_model(d / c["keras_file"]) for d, c in zip(binary_dirs, binary_cards)]
    three = keras.models.load_model(three_dir / three_card["keras_file"])
    samples = data.discover(data_dir, third_class=True)
    sources = data.SOURCES + data.THIRD_CLASS_SOURCES
    val = Painter.shared(seed).drawable(data.select(samples, "validation", sources))
    logits, size = _logits(binary, three), three_card["input_size"]

    def both_views(faces):
        x = to_model_input(faces, size)
        return np.concatenate([logits.predict(x, verbose=0), logits.predict(x[:, :, ::-1], verbose=0)], axis=1)

    y_val, z_both = validation_scores(both_views, val, seed)
    half = z_both.shape[1] // 2
    views = compare_views(y_val, z_both[:, :half], z_both[:, half:])
    for name, v in views.items():
        print(f"  {name:16s} blend weight {v['blend_weight']:.2f}, validation log loss {v['log_loss']:.4f}", flush=True)
    weight = views["face_and_mirror" if mirror else "face_only"]["blend_weight"]
    print(f"Blend weight of the binary network{'s' if len(binary) > 1 else ''}: {weight:.2f} "
          "(lowest validation log loss)", flush=True)
    model = compose(binary, three, weight, mirror)
    keras_path, tflite_path = save_model(model, out_dir)

    binary_words = f"the mean of the {len(binary)} binary networks" if len(binary) > 1 else "the binary network"
    card = {key: three_card[key] for key in ("input_size", "preprocessing")}
    card.update({
        "name": MODEL_BASENAME,
        "tflite_file": tflite_path.name,
        "keras_file": keras_path.name,
        "class_names": list(data.CLASS_NAMES),
        "output": ("probabilities of mask, no mask, mask worn incorrectly (below the nose or on the chin): "
                   "p(incorrect) from the 3-class network; the rest split between mask and no mask by a blend "
                   f"of the mask / no-mask log-odds of {binary_words} and of the 3-class network "
                   "(maskpatrol/training/compose.py)"
                   + ("; every network's logits are the mean over the face and its left-right mirror" if mirror else "")),
        "mirror_average": mirror,
        "mirror_comparison": {**views, "measure": "each at its own best blend weight: the log loss on the "
                                                  "validation split seen clean and degraded"},
        "blend_weight": weight,
        "blend_weight_rule": (f"the share of {binary_words} in the mask / no-mask log-odds: of {BLEND_WEIGHTS[0]:g}, "
                              f"{BLEND_WEIGHTS[1]:g}, ..., {BLEND_WEIGHTS[-1]:g}, the one with the lowest log loss on "
                              "the validation split seen clean and degraded"),
        "training": {"seed": seed,
                     "branches": {**{name: _branch(c)
                                     for name, c in zip(binary_branch_names(len(binary)), binary_cards)},
                                  "wearing": _branch(three_card)},
                     "minutes": round(sum(c["training"]["minutes"] for c in [*binary_cards, three_card]), 2),
                     "sources": sorted({s for c in [*binary_cards, three_card] for s in c["training"]["sources"]}),
                     "counts": three_card["training"]["counts"]},
        **stamp(tflite_path),
    })
    card = calibrate(card, out_dir, samples, val, test=test, seed=seed)
    print(f"Wrote {keras_path}, {tflite_path} ({card['model_bytes'] / 1024:.0f} KB) and {CARD_NAME}", flush=True)
    return card


def _branch(card: dict) -> dict:
    """What the composed card keeps of a branch's own card."""
    keep = ("epochs_run", "best_val_loss", "minutes", "seed", "split_seed", "batch_size", "limit", "sources")
    return {"class_names": card["class_names"], "date": card.get("date"), "code_version": card.get("code_version"),
            **{k: card["training"].get(k) for k in keep}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.compose",
                                 description="Compose a binary and a 3-class model folder into the served model.")
    ap.add_argument("--binary", type=Path, nargs="+", required=True,
                    help="folder(s) of the binary (mask / no mask) model; several are averaged")
    ap.add_argument("--three", type=Path, required=True, help="folder of the 3-class model")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "models")
    ap.add_argument("--data", type=Path, default=data_dir_from_env())
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-mirror", dest="mirror", action="store_false",
                    help="classify the face alone, not the mean over the face and its mirror (half the cost)")
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    build(args.binary, args.three, args.out, args.data, seed=args.seed, mirror=args.mirror)
    return 0


if __name__ == "__main__":
    sys.exit(main())
