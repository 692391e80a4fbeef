"""Metrics for the "no mask" class (positive = no mask) and the threshold rule."""

from __future__ import annotations

import math

import numpy as np


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve by the rank-sum formula (ties count half)."""
    y = np.asarray(y).astype(bool)
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p), dtype=np.float64)
    sorted_p = np.asarray(p)[order]
    i = 0
    while i < len(p):  # average ranks over ties
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - pos * (pos + 1) / 2.0) / (pos * neg))


def roc_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False-positive and true-positive rates over all thresholds, for plotting."""
    y = np.asarray(y).astype(bool)
    order = np.argsort(-np.asarray(p), kind="mergesort")
    tp = np.concatenate([[0], np.cumsum(y[order])])
    fp = np.concatenate([[0], np.cumsum(~y[order])])
    return fp / max(1, (~y).sum()), tp / max(1, y.sum())


def binary_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float | int]:
    y = np.asarray(y).astype(bool)
    pred = np.asarray(p) >= threshold
    tp = int((pred & y).sum())
    tn = int((~pred & ~y).sum())
    fp = int((pred & ~y).sum())
    fn = int((~pred & y).sum())
    n = len(y)

    def div(a: float, b: float) -> float:
        return a / b if b else float("nan")

    precision, recall = div(tp, tp + fp), div(tp, tp + fn)
    f1 = div(2 * precision * recall, precision + recall) if not (math.isnan(precision) or math.isnan(recall)) else float("nan")
    return {
        "n": n, "tp": tp, "tn": tn, "fp": fp, "fn": fn,
        "accuracy": div(tp + tn, n),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "specificity": div(tn, tn + fp),
        "roc_auc": roc_auc(y, p),
        "threshold": float(threshold),
    }


def choose_threshold(y: np.ndarray, p: np.ndarray, min_recall: float = 0.995) -> float:
    """The highest threshold (so the fewest false alarms) whose no-mask recall on this
    data is still at least ``min_recall``."""
    y = np.asarray(y).astype(bool)
    pos = np.sort(np.asarray(p)[y])
    if len(pos) == 0:
        raise ValueError("no 'no mask' examples to choose a threshold on")
    needed = math.ceil(min_recall * len(pos) - 1e-9)
    allowed_misses = len(pos) - needed
    # Everything at or above pos[allowed_misses] is called "no mask".
    return float(pos[allowed_misses])


def three_class_labels(p: np.ndarray, threshold: float, incorrect_threshold: float) -> np.ndarray:
    """Predicted class indices (0 mask, 1 no mask, 2 incorrect) by the serving rule
    (``pipeline.label_for``): no mask first, then incorrect, else mask."""
    p = np.asarray(p)
    return np.where(p[:, 1] >= threshold, 1, np.where(p[:, 2] >= incorrect_threshold, 2, 0))


def flagged_not_masked(y: np.ndarray, labels: np.ndarray) -> float:
    """Share of the unmasked faces (``y`` == 1) whose label (class indices, as
    :func:`three_class_labels` gives them) raises the alert: "no mask" or "incorrect"."""
    y, labels = np.asarray(y), np.asarray(labels)
    return float((labels[y == 1] != 0).mean())


def three_class_metrics(y: np.ndarray, pred: np.ndarray,
                        names: tuple[str, ...] = ("mask", "no_mask", "incorrect")) -> dict:
    """Confusion matrix (rows true, columns predicted), accuracy and per-class figures."""
    y, pred = np.asarray(y), np.asarray(pred)
    k = len(names)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (y, pred), 1)
    per_class = {}
    for c, name in enumerate(names):
        tp, n_true, n_pred = int(matrix[c, c]), int(matrix[c].sum()), int(matrix[:, c].sum())
        per_class[name] = {"n": n_true, "precision": tp / n_pred if n_pred else float("nan"),
                           "recall": tp / n_true if n_true else float("nan")}
    return {"n": int(len(y)), "labels": list(names), "matrix": matrix.tolist(),
            "accuracy": float((y == pred).mean()) if len(y) else float("nan"), "per_class": per_class}


def choose_incorrect_threshold(y: np.ndarray, p: np.ndarray, threshold: float, real_masked: np.ndarray,
                               max_false_on_real: float) -> float:
    """The threshold on p(incorrect) with the best F1 for "incorrect", among those that call
    at most ``max_false_on_real`` of the real masked photos (``real_masked``) incorrect: a
    false "mask below nose" on a properly masked person costs a screener's trust."""
    y, p = np.asarray(y), np.asarray(p)
    real_masked = np.asarray(real_masked, dtype=bool)
    best, best_f1 = 0.5, -1.0
    fallback, fallback_false = 0.99, float("inf")
    for t in np.round(np.arange(0.05, 0.99, 0.01), 2):
        pred = three_class_labels(p, threshold, t)
        tp = int(((pred == 2) & (y == 2)).sum())
        fp = int(((pred == 2) & (y != 2)).sum())
        fn = int(((pred != 2) & (y == 2)).sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        false_real = float((pred[real_masked] == 2).mean()) if real_masked.any() else 0.0
        if false_real < fallback_false:
            fallback, fallback_false = float(t), false_real
        if false_real <= max_false_on_real and f1 > best_f1:
            best, best_f1 = float(t), f1
    return best if best_f1 >= 0 else fallback
