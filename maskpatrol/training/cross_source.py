"""Cross-source experiment: does the model learn masks, or kaggle12k's framing?

Trains one model on kaggle12k alone and tests it on chandrikadeb7, and one on
chandrikadeb7 alone and tests it on kaggle12k. A model that learned the shortcut (tight
CelebA crops = no mask) scores near 99% in-source and collapses across sources.
Results go to ``reports/cross_source.json`` and into the shipped model card.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..classifier import MaskClassifier
from ..model_card import CARD_NAME
from ..paths import REPORTS_DIR, data_dir_from_env, default_model_dir
from . import data
from .evaluate import predict_samples
from .metrics import binary_metrics
from .train import train

EXPERIMENTS = (("kaggle12k", "chandrikadeb7"), ("chandrikadeb7", "kaggle12k"))


def run(data_dir: Path, model_dir: Path, minutes: float, seed: int = 1234) -> dict:
    samples = data.discover(data_dir)
    results: dict[str, dict] = {}
    for train_src, test_src in EXPERIMENTS:
        with tempfile.TemporaryDirectory() as tmp:
            print(f"\n=== train on {train_src} only, test on {test_src} ===", flush=True)
            card = train(data_dir, Path(tmp), sources=(train_src,), max_minutes=minutes, seed=seed, third_class=False)
            clf = MaskClassifier(Path(tmp) / card["tflite_file"], card["input_size"], num_threads=2)
            row: dict[str, object] = {"threshold": card["threshold"], "epochs": card["training"]["epochs_run"]}
            for name, subset in ((f"{test_src}/test", data.select(samples, "test", (test_src,))),
                                 (f"{test_src}/all", data.select(samples, None, (test_src,))),
                                 (f"{train_src}/test (in-source)", data.select(samples, "test", (train_src,)))):
                y = np.array([s.label for s in subset])
                row[name] = binary_metrics(y, predict_samples(clf, subset), card["threshold"])
            results[f"train {train_src} -> test {test_src}"] = row
    REPORTS_DIR.mkdir(exist_ok=True)
    (REPORTS_DIR / "cross_source.json").write_text(json.dumps(results, indent=2) + "\n")
    card_path = model_dir / CARD_NAME
    if card_path.is_file():
        shipped = json.loads(card_path.read_text())
        shipped["cross_source"] = {k: {n: ({m: v[m] for m in ("n", "accuracy", "recall", "specificity", "roc_auc")}
                                           if isinstance(v, dict) else v) for n, v in row.items()}
                                   for k, row in results.items()}
        card_path.write_text(json.dumps(shipped, indent=2) + "\n")
    for name, row in results.items():
        print(name)
        for k, v in row.items():
            if isinstance(v, dict):
                print(f"  {k:32s} accuracy {v['accuracy']:.4f} no-mask recall {v['recall']:.4f} AUC {v['roc_auc']:.4f}")
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.cross_source", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=data_dir_from_env())
    ap.add_argument("--model", type=Path, default=default_model_dir(), help="shipped model whose card gets the results")
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget per experiment")
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    run(args.data, args.model, args.minutes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
