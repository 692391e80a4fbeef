"""Evaluate the shipped .tflite model on the data splits and write reports/.

Reads images at full resolution through the serving preprocessing, so the figures are
those of the model the app runs, not of an idealised copy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..classifier import MaskClassifier
from ..model_card import load_card
from ..paths import REPORTS_DIR, data_dir_from_env, default_model_dir
from ..preprocess import center_square
from . import data
from .metrics import binary_metrics, roc_curve, three_class_labels, three_class_metrics


def face_image(sample: data.Sample, seed: int = 1234) -> np.ndarray:
    """The face image the classifier sees for a sample: the photo's centre square, or for a
    synthetic sample the same square with its mask drawn on."""
    if sample.style:
        from .synth_data import Painter

        return Painter.shared(seed).draw(sample)
    return center_square(data.read_rgb(sample.path))


def predict_sample_classes(classifier: MaskClassifier, samples: list[data.Sample], batch: int = 256,
                           seed: int = 1234) -> np.ndarray:
    """(N, 3) mask / no mask / incorrect probabilities for dataset images, in order."""
    probs = np.empty((len(samples), 3), dtype=np.float64)
    for start in range(0, len(samples), batch):
        faces = [face_image(s, seed) for s in samples[start:start + batch]]
        probs[start:start + len(faces)] = classifier.predict_classes(faces)
    return probs


def predict_samples(classifier: MaskClassifier, samples: list[data.Sample], batch: int = 256,
                    seed: int = 1234) -> np.ndarray:
    """p(no mask) for dataset images, in order."""
    return predict_sample_classes(classifier, samples, batch, seed)[:, 1]


def held_out(samples: list[data.Sample], seed: int) -> dict[str, list[data.Sample]]:
    """Test splits by source; synthetic ones only where a mask could be drawn."""
    out: dict[str, list[data.Sample]] = {}
    for source in data.SOURCES + data.THIRD_CLASS_SOURCES:
        test_s = data.select(samples, "test", (source,))
        if source == "synthetic" and test_s:
            from .synth_data import Painter

            test_s = Painter.shared(seed).drawable(test_s)
        if test_s:
            out[source] = test_s
    return out


def _plots(out: Path, y: np.ndarray, p: np.ndarray, threshold: float, samples: list[data.Sample],
           confusion: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pred = p >= threshold
    if confusion is None:
        cm = np.array([[int((~pred & (y == 0)).sum()), int((pred & (y == 0)).sum())],
                       [int((~pred & (y == 1)).sum()), int((pred & (y == 1)).sum())]])
        names = ["mask", "no mask"]
        title = f"Confusion matrix (threshold {threshold:.3f})"
    else:  # the 3-class matrix over every held-out split
        cm = np.array(confusion["matrix"])
        names = ["mask", "no mask", "below nose"]
        title = "Confusion matrix, all test splits"
    fig, ax = plt.subplots(figsize=(4.2 if confusion is None else 4.8, 3.8))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=14,
                color="white" if v > cm.max() / 2 else "black")
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out / "confusion_matrix.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(4.2, 4))
    for source in data.SOURCES:
        idx = np.array([s.source == source for s in samples])
        if idx.any() and len(set(y[idx])) == 2:
            fpr, tpr = roc_curve(y[idx], p[idx])
            ax.plot(fpr, tpr, label=source)
    fpr, tpr = roc_curve(y, p)
    ax.plot(fpr, tpr, "k--", label="all test")
    ax.set_xlabel("false alarm rate (masked called unmasked)")
    ax.set_ylabel("no-mask recall")
    ax.set_xlim(0, 0.3)
    ax.set_ylim(0.7, 1.005)
    ax.set_title("ROC (zoomed)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "roc_curve.png", dpi=110)
    plt.close(fig)

    bins = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(p, bins) - 1, 0, 9)
    mean_p = [p[which == b].mean() if (which == b).any() else np.nan for b in range(10)]
    frac = [y[which == b].mean() if (which == b).any() else np.nan for b in range(10)]
    count = [int((which == b).sum()) for b in range(10)]
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(4.2, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    ax.plot(mean_p, frac, "o-", label="model")
    ax.set_ylabel("fraction truly unmasked")
    ax.set_title("Reliability")
    ax.legend(loc="upper left")
    ax2.bar((bins[:-1] + bins[1:]) / 2, count, width=0.09)
    ax2.set_yscale("log")
    ax2.set_xlabel("predicted p(no mask)")
    ax2.set_ylabel("faces")
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=110)
    plt.close(fig)

    # The mistakes that cost the most: misses (unmasked called masked) first.
    wrong = np.where(pred != (y == 1))[0]
    wrong = sorted(wrong, key=lambda i: -abs(p[i] - threshold) - (10 if y[i] == 1 else 0))[:24]
    cols = 6
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.6, rows * 2.4))
    for ax in np.atleast_1d(axes).ravel():
        ax.axis("off")
    for ax, i in zip(np.atleast_1d(axes).ravel(), wrong):
        ax.imshow(center_square(data.read_rgb(samples[i].path)))
        truth = "no mask" if y[i] == 1 else "mask"
        ax.set_title(f"true: {truth}\np(no mask)={p[i]:.2f}\n{samples[i].source}", fontsize=7,
                     color="red" if y[i] == 1 else "black")
    if not wrong:
        fig.text(0.5, 0.5, "No mistakes on the test splits", ha="center")
    fig.suptitle(f"Worst mistakes ({len(np.where(pred != (y == 1))[0])} in all)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "mistakes.png", dpi=110)
    plt.close(fig)


def three_class_report(classifier: MaskClassifier, card, samples: list[data.Sample], seed: int) -> dict:
    """Per held-out split: the 3-class confusion matrix and per-class figures; plus the
    cross-check on real masked photos (how many are wrongly called "incorrect")."""
    report: dict[str, dict] = {}
    ys: dict[str, np.ndarray] = {}
    preds: dict[str, np.ndarray] = {}
    for source, test_s in held_out(samples, seed).items():
        ys[source] = np.array([s.label for s in test_s])
        preds[source] = three_class_labels(predict_sample_classes(classifier, test_s, seed=seed), card.threshold,
                                           card.incorrect_threshold)
        report[f"{source}/test"] = three_class_metrics(ys[source], preds[source])
    report["all_test"] = three_class_metrics(np.concatenate(list(ys.values())), np.concatenate(list(preds.values())))
    third = [src for src in data.THIRD_CLASS_SOURCES if src in ys]
    if third:
        report["drawn_and_maskedfacenet/test"] = three_class_metrics(np.concatenate([ys[s] for s in third]),
                                                                     np.concatenate([preds[s] for s in third]))
    masked = [s for s in samples if s.source == "chandrikadeb7" and s.label == data.MASK]
    for name, subset in (("chandrikadeb7 masked, test", [s for s in masked if s.split == "test"]),
                         ("chandrikadeb7 masked, all", masked)):
        pred = three_class_labels(predict_sample_classes(classifier, subset, seed=seed), card.threshold,
                                  card.incorrect_threshold)
        report.setdefault("cross_check", {})[name] = {"n": len(subset),
                                                      "called_incorrect": float((pred == data.INCORRECT).mean())}
    return report


def evaluate(data_dir: Path, model_dir: Path, out: Path = REPORTS_DIR, seed: int = 1234) -> dict:
    card = load_card(model_dir)
    classifier = MaskClassifier(model_dir / card.tflite_file, card.input_size, num_threads=2)
    samples = data.discover(data_dir, third_class=card.has_incorrect)
    test = data.select(samples, "test", data.SOURCES)
    y = np.array([s.label for s in test])
    print(f"Evaluating {model_dir / card.tflite_file} on {len(test)} test faces ...", flush=True)
    p = predict_samples(classifier, test)
    metrics: dict[str, dict] = {"all_test": binary_metrics(y == data.NO_MASK, p, card.threshold)}
    for source in data.SOURCES:
        idx = np.array([s.source == source for s in test])
        if idx.any():
            metrics[f"{source}/test"] = binary_metrics(y[idx] == data.NO_MASK, p[idx], card.threshold)
    out.mkdir(parents=True, exist_ok=True)
    result = {"model": str(model_dir / card.tflite_file), "threshold": card.threshold, "metrics": metrics}
    if card.has_incorrect:
        print("Evaluating the third class on the held-out drawn and MaskedFace-Net faces ...", flush=True)
        result["incorrect_threshold"] = card.incorrect_threshold
        result["three_class"] = three_class_report(classifier, card, samples, seed)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    _plots(out, y, p, card.threshold, test, (result.get("three_class") or {}).get("all_test"))
    for name, m in metrics.items():
        print(f"  {name:22s} n={m['n']:5d} accuracy {m['accuracy']:.4f} precision {m['precision']:.4f} "
              f"no-mask recall {m['recall']:.4f} specificity {m['specificity']:.4f} AUC {m['roc_auc']:.4f}")
    for name, m in result.get("three_class", {}).items():
        if "per_class" in m:
            inc = m["per_class"]["incorrect"]
            print(f"  3-class {name:28s} n={m['n']:5d} accuracy {m['accuracy']:.4f} incorrect recall "
                  f"{inc['recall']:.4f} precision {inc['precision']:.4f}")
    for name, c in result.get("three_class", {}).get("cross_check", {}).items():
        print(f"  {name}: {c['called_incorrect']:.2%} of {c['n']} called 'incorrect'")
    print(f"Wrote {out}/metrics.json, confusion_matrix.png, roc_curve.png, calibration.png, mistakes.png")
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskpatrol.evaluate",
                                 description="Evaluate the served .tflite model and write reports/.")
    ap.add_argument("--data", type=Path, default=data_dir_from_env(),
                    help="data folder holding faces/ (default: $MASKPATROL_DATA_DIR)")
    ap.add_argument("--model", type=Path, default=default_model_dir(), help="model folder (default: models/)")
    ap.add_argument("--out", type=Path, default=REPORTS_DIR, help="report folder (default: reports/)")
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    evaluate(args.data, args.model, args.out)
    return 0
