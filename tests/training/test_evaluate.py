"""`python -m maskpatrol.evaluate` writes the report the Model page shows.

It runs on a small copy of the data folder (``support.small_data``): the report's form is
the claim here; the shipped model's figures on the full test split are
``test_shipped_model.py``'s."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from PIL import Image

from support.paths import ROOT
from support.small_data import small_data_folder

pytestmark = pytest.mark.data


def test_evaluate_writes_metrics_and_plots(data_dir, tmp_path):
    out = tmp_path / "reports"
    small = small_data_folder(data_dir, tmp_path / "data")
    proc = subprocess.run([sys.executable, "-m", "maskpatrol.evaluate", "--data", str(small),
                           "--model", str(ROOT / "models"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((out / "metrics.json").read_text())["metrics"]
    for split in ("kaggle12k/test", "chandrikadeb7/test", "all_test"):
        m = metrics[split]
        for key in ("accuracy", "precision", "recall", "f1", "specificity", "roc_auc"):
            assert 0.0 <= m[key] <= 1.0
    assert metrics["all_test"]["n"] == metrics["kaggle12k/test"]["n"] + metrics["chandrikadeb7/test"]["n"]
    for name in ("confusion_matrix.png", "roc_curve.png", "calibration.png", "mistakes.png"):
        with Image.open(out / name) as img:
            assert img.width > 300 and img.height > 200
