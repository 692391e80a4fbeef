"""Choose the decision thresholds (no mask; mask below the nose) and fill the model card's metrics.

The threshold is picked on the validation split seen the way the app sees faces: each
validation image once as it is and three times degraded by the training augmentation
(small, blurred, re-framed, recoloured), because faces cut from webcam frames and crowd
photos look like that; picked on clean images alone, the threshold misses more unmasked
test faces (docs/model.md, "Training").

Everything runs on the ``.tflite`` through the serving preprocessing, so the numbers
describe exactly what the app runs. ``python -m maskpatrol.training.calibrate`` re-runs
this on an existing model folder without retraining.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from ..classifier import MaskClassifier
from ..model_card import CARD_NAME
from ..paths import data_dir_from_env, default_model_dir
from . import data
from .augment import augment_one
from .evaluate import face_image, held_out, predict_sample_classes
from .metrics import (binary_metrics, choose_incorrect_threshold, choose_threshold, flagged_not_masked,
                      three_class_labels, three_class_metrics)
from .synth_data import Painter, load_arrays

MIN_RECALL = 0.995
DEGRADED_VIEWS = 3
#: Real masked validation photos that may be called "incorrect" when its threshold is picked.
MAX_FALSE_INCORRECT = 0.015


def validation_scores(predict: Callable[[list[np.ndarray]], np.ndarray], val: list[data.Sample],
                      seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and ``predict``'s outputs (for a classifier, its ``predict_classes``) for clean
    plus degraded views of the validation images, 256 faces per call."""
    y = np.array([s.label for s in val])
    scores = [predict([face_image(s, seed) for s in val[i:i + 256]]) for i in range(0, len(val), 256)]
    images, _ = load_arrays(val, seed=seed)
    rng = np.random.default_rng([seed, 99])
    for _ in range(DEGRADED_VIEWS):
        views = [augment_one(img, rng, flat=False) for img in images]
        scores += [predict(views[i:i + 256]) for i in range(0, len(views), 256)]
    return np.tile(y, 1 + DEGRADED_VIEWS), np.concatenate(scores)


def raise_while_alerted(y: np.ndarray, p: np.ndarray, threshold: float, incorrect_threshold: float,
                        min_recall: float) -> float:
    """The highest no-mask threshold (from ``threshold`` up) at which at least ``min_recall`` of
    the unmasked faces are still labelled "no mask" or "incorrect"."""
    best = threshold
    for t in np.arange(threshold, 0.9, 0.005):
        if flagged_not_masked(y, three_class_labels(p, float(t), incorrect_threshold)) >= min_recall:
            best = float(t)
        else:
            break
    return best


def choose_three_class_thresholds(y: np.ndarray, p: np.ndarray, real_masked: np.ndarray) -> tuple[float, float]:
    """The no-mask and incorrect thresholds of a 3-class model (rules in ``calibrate``'s card text)."""
    start = choose_threshold(y == data.NO_MASK, p[:, 1], MIN_RECALL)
    t_inc = choose_incorrect_threshold(y, p, start, real_masked, MAX_FALSE_INCORRECT)
    # An unmasked face called "Mask below nose" raises the same alert as "No mask": the
    # no-mask threshold may rise as long as the alert still catches MIN_RECALL of them.
    threshold = raise_while_alerted(y, p, start, t_inc, MIN_RECALL)
    t_inc = choose_incorrect_threshold(y, p, threshold, real_masked, MAX_FALSE_INCORRECT)
    if flagged_not_masked(y, three_class_labels(p, threshold, t_inc)) < MIN_RECALL:
        # The re-picked incorrect threshold lets some unmasked faces through again: lower
        # the no-mask threshold until the alert catches MIN_RECALL of them (at ``start`` it
        # does whatever t_inc is). Lowering only calls more faces "no mask", so t_inc still
        # calls at most MAX_FALSE_INCORRECT of the real masked photos "incorrect".
        threshold = raise_while_alerted(y, p, start, t_inc, MIN_RECALL)
    return threshold, t_inc


def calibrate(card: dict, model_dir: Path, samples: list[data.Sample], val: list[data.Sample],
              test: bool = True, seed: int = 1234) -> dict:
    """Set the thresholds and ``metrics`` in ``card``, write it, and return it."""
    classifier = MaskClassifier(model_dir / card["tflite_file"], card["input_size"], num_threads=2)
    three = "incorrect" in card.get("class_names", [])
    y_val, p_val = validation_scores(classifier.predict_classes, val, seed)
    threshold = choose_threshold(y_val == data.NO_MASK, p_val[:, 1], MIN_RECALL)
    card["threshold"] = threshold
    card["threshold_rule"] = (f"highest threshold keeping no-mask recall >= {MIN_RECALL:.3f} on the validation "
                              f"split, each image seen clean and {DEGRADED_VIEWS}x degraded by the training augmentation")
    metrics: dict = {"validation_clean_and_degraded": binary_metrics(y_val == data.NO_MASK, p_val[:, 1], threshold)}
    if three:
        real_masked = np.tile([s.label == data.MASK and s.source in data.SOURCES for s in val], 1 + DEGRADED_VIEWS)
        threshold, t_inc = choose_three_class_thresholds(y_val, p_val, real_masked)
        card["threshold"] = threshold
        card["threshold_rule"] = (
            f"highest threshold whose labels still flag >= {MIN_RECALL:.3f} of the unmasked validation faces as "
            "not properly masked ('no mask' or 'mask below nose', with the incorrect threshold below), each image "
            f"seen clean and {DEGRADED_VIEWS}x degraded by the training augmentation")
        card["incorrect_threshold"] = t_inc
        card["incorrect_threshold_rule"] = (
            "on the same validation views, among faces not called 'no mask': the threshold on p(incorrect) with the "
            f"best F1 for 'incorrect' that calls at most {MAX_FALSE_INCORRECT:.1%} of the real masked photos "
            "(kaggle12k, chandrikadeb7) 'incorrect'")
        labels = three_class_labels(p_val, threshold, t_inc)
        metrics["validation_clean_and_degraded"] = binary_metrics(y_val == data.NO_MASK, p_val[:, 1], threshold)
        metrics["validation_clean_and_degraded"]["flagged_not_masked"] = flagged_not_masked(y_val, labels)
        three_m = {"validation_clean_and_degraded": three_class_metrics(y_val, labels)}
    if test:
        all_y, all_p = [], []
        for source, test_s in held_out(samples, seed).items():
            y = np.array([s.label for s in test_s])
            p = predict_sample_classes(classifier, test_s, seed=seed)
            labels = three_class_labels(p, threshold, t_inc) if three else None
            if source in data.SOURCES:
                metrics[f"{source}/test"] = binary_metrics(y == data.NO_MASK, p[:, 1], threshold)
                if three:
                    metrics[f"{source}/test"]["flagged_not_masked"] = flagged_not_masked(y, labels)
            if three:
                three_m[f"{source}/test"] = three_class_metrics(y, labels)
                all_y.append(y)
                all_p.append(p)
        if three and all_y:
            y, p = np.concatenate(all_y), np.concatenate(all_p)
            three_m["all_test"] = three_class_metrics(y, three_class_labels(p, threshold, t_inc))
    if three:
        metrics["three_class"] = three_m
    card["metrics"] = metrics
    (model_dir / CARD_NAME).write_text(json.dumps(card, indent=2) + "\n")
    print(f"Threshold {threshold:.4f}" + (f", incorrect threshold {card['incorrect_threshold']:.2f}" if three else ""),
          flush=True)
    for name, m in metrics.items():
        if name != "three_class":
            print(f"  {name:30s} accuracy {m['accuracy']:.4f}  no-mask recall {m['recall']:.4f}  "
                  f"specificity {m['specificity']:.4f}  AUC {m['roc_auc']:.4f}", flush=True)
    for name, m in metrics.get("three_class", {}).items():
        inc = m["per_class"]["incorrect"]
        print(f"  3-class {name:30s} accuracy {m['accuracy']:.4f}  incorrect recall {inc['recall']:.4f} "
              f"precision {inc['precision']:.4f}  matrix {m['matrix']}", flush=True)
    return card


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.calibrate",
                                 description="Re-pick the threshold and metrics of an exported model.")
    ap.add_argument("--data", type=Path, default=data_dir_from_env())
    ap.add_argument("--model", type=Path, default=default_model_dir())
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    card = json.loads((args.model / CARD_NAME).read_text())
    seed = card.get("training", {}).get("seed", args.seed)
    sources = tuple(card.get("training", {}).get("sources", data.SOURCES))
    three = "incorrect" in card.get("class_names", [])
    samples = data.discover(args.data, third_class=three)
    val = data.select(samples, "validation", sources)
    if three:
        val = Painter.shared(seed).drawable(val)
    calibrate(card, args.model, samples, val, seed=seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
