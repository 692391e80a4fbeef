"""One 3-class model from two networks: the binary mask / no-mask network, and a 3-class
network that knows how a mask is worn.

Why two: a single 3-class network trained in the same hour scored worse on the binary
question than the binary network alone (measured 2026-11-30, 20 epochs: masked kaggle12k
test faces called masked 97.2% instead of 99.8%; chandrikadeb7 93.6% instead of 98.8%), and
the binary question is the costly one. The binary network alone, though, calls half of the
held-out masks drawn below the nose "no mask": a bare nose and mouth look unmasked to it.
So the 3-class network's p(incorrect) ``r`` is taken as it is, and the binary network
splits the rest between mask and no mask:

    output = [(1 - p_bin) * (1 - r), p_bin * (1 - r), r]        (mask, no mask, incorrect)

For a face the 3-class network sees no wrongly worn mask on (``r`` near 0), p(no mask) is
the binary network's own. It is one Keras model of built-in layers (fixed-weight Dense
layers pick and flip the columns), so it saves, converts to LiteRT and to ONNX like any
other, and serving still makes one call per frame. ``python -m maskpatrol.training.compose``
builds it from two trained folders.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import sys
from pathlib import Path

import numpy as np

from ..model_card import CARD_NAME
from ..paths import MODEL_BASENAME, REPO_ROOT, data_dir_from_env
from . import data


def compose(binary, three):
    """The composed Keras model (see module doc); ``binary`` outputs (N, 1), ``three`` (N, 3)."""
    import keras
    from keras import layers

    no_mask_branch = keras.Model(binary.input, binary.output, name="no_mask_branch")
    wearing_branch = keras.Model(three.input, three.output, name="wearing_branch")

    face = keras.Input(binary.input_shape[1:], name="face")
    p_bin = no_mask_branch(face)
    p3 = wearing_branch(face)
    r = layers.Dense(1, use_bias=False, name="p_incorrect")(p3)
    not_r = layers.Dense(1, name="one_minus_p_incorrect")(p3)
    not_bin = layers.Dense(1, name="one_minus_p_bin")(p_bin)
    mask = layers.Multiply(name="p_mask")([not_bin, not_r])
    no_mask = layers.Multiply(name="p_no_mask")([p_bin, not_r])
    out = layers.Concatenate(name="p_classes")([mask, no_mask, r])
    model = keras.Model(face, out, name="mask_classifier")

    pick = np.array([[0.0], [0.0], [1.0]], np.float32)
    model.get_layer("p_incorrect").set_weights([pick])
    model.get_layer("one_minus_p_incorrect").set_weights([-pick, np.array([1.0], np.float32)])
    model.get_layer("one_minus_p_bin").set_weights([np.array([[-1.0]], np.float32), np.array([1.0], np.float32)])
    for layer in model.layers:
        layer.trainable = False
    return model


def build(binary_dir: Path, three_dir: Path, out_dir: Path, data_dir: Path, seed: int = 1234,
          test: bool = True) -> dict:
    """Compose the two folders' models into ``out_dir`` (.keras, .tflite, model card with
    both trainings recorded), then pick the thresholds and fill the metrics on it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from .calibrate import calibrate
    from .synth_data import Painter
    from .train import code_version

    binary_card = json.loads((binary_dir / CARD_NAME).read_text())
    three_card = json.loads((three_dir / CARD_NAME).read_text())
    model = compose(keras.models.load_model(binary_dir / binary_card["keras_file"]),
                    keras.models.load_model(three_dir / three_card["keras_file"]))
    out_dir.mkdir(parents=True, exist_ok=True)
    keras_path, tflite_path = out_dir / f"{MODEL_BASENAME}.keras", out_dir / f"{MODEL_BASENAME}.tflite"
    model.save(keras_path)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints every tensor spec
        tflite_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())

    card = {key: three_card[key] for key in ("input_size", "preprocessing")}
    card.update({
        "name": MODEL_BASENAME,
        "tflite_file": tflite_path.name,
        "keras_file": keras_path.name,
        "class_names": list(data.CLASS_NAMES),
        "output": ("probabilities of mask, no mask, mask worn incorrectly (below the nose or on the chin): "
                   "p(incorrect) from the 3-class network, the rest split between mask and no mask by the "
                   "binary network (maskpatrol/training/compose.py)"),
        "training": {"seed": seed,
                     "branches": {"no_mask": _branch(binary_card), "wearing": _branch(three_card)},
                     "minutes": round(binary_card["training"]["minutes"] + three_card["training"]["minutes"], 2),
                     "sources": sorted(set(binary_card["training"]["sources"]) | set(three_card["training"]["sources"])),
                     "counts": three_card["training"]["counts"]},
        "model_bytes": tflite_path.stat().st_size,
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "code_version": code_version(),
    })
    samples = data.discover(data_dir, seed=seed, third_class=True)
    sources = data.SOURCES + data.THIRD_CLASS_SOURCES
    val = Painter.shared(seed).drawable(data.select(samples, "validation", sources))
    card = calibrate(card, out_dir, samples, val, test=test, seed=seed)
    print(f"Wrote {keras_path}, {tflite_path} ({card['model_bytes'] / 1024:.0f} KB) and {CARD_NAME}", flush=True)
    return card


def _branch(card: dict) -> dict:
    """What the composed card keeps of a branch's own card."""
    keep = ("epochs_run", "best_val_loss", "minutes", "seed", "batch_size", "limit", "sources")
    return {"class_names": card["class_names"], "date": card.get("date"), "code_version": card.get("code_version"),
            **{k: card["training"].get(k) for k in keep}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.compose",
                                 description="Compose a binary and a 3-class model folder into the served model.")
    ap.add_argument("--binary", type=Path, required=True, help="folder of the binary (mask / no mask) model")
    ap.add_argument("--three", type=Path, required=True, help="folder of the 3-class model")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "models")
    ap.add_argument("--data", type=Path, default=data_dir_from_env())
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    build(args.binary, args.three, args.out, args.data, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
