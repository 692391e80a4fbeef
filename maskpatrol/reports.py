"""Reading the evaluation reports the Model page shows (``reports/``), in plain words.

``python -m maskpatrol.evaluate`` writes them; this module only finds and reads them, and
says which are missing and how to produce them, without Streamlit, so the rules are tested
without a browser.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .model_card import binary_branches
from .paths import REPORTS_DIR

REPORTS_ENV_VAR = "MASKPATROL_REPORTS_DIR"
EVALUATE_COMMAND = "python -m maskpatrol.evaluate --data $MASKPATROL_DATA_DIR   # or: make evaluate"
CROSS_SOURCE_COMMAND = "python -m maskpatrol.training.cross_source --data $MASKPATROL_DATA_DIR"
#: (file, title, what it shows) for each figure the evaluation writes.
REPORT_FIGURES = (
    ("confusion_matrix.png", "Confusion matrix",
     "Test faces by true and predicted class at the shipped thresholds (with a 3-class model: mask, "
     "no mask and mask below nose, over every test split)."),
    ("roc_curve.png", "ROC curve",
     "No-mask recall against false alarms over all thresholds, per data source (zoomed)."),
    ("calibration.png", "Calibration",
     "How often faces given a probability are truly unmasked; the diagonal is perfect."),
    ("mistakes.png", "Mistakes gallery",
     "The worst test errors, missed unmasked faces first."),
)


#: Why a report is missing from every clone and deployment, not only from an unevaluated one.
UNPUBLISHED = {"mistakes.png": " It is not published with the app: it shows faces from the training "
                               "data, which stay out of the repository."}
#: Everything ``python -m maskpatrol.evaluate`` writes.
EVALUATION_FILES = ("metrics.json", *(f for f, _, _ in REPORT_FIGURES))


def missing_reports(folder: Path) -> list[str]:
    """Which evaluation outputs are absent, so the page can say how to produce them."""
    return [name for name in EVALUATION_FILES if not (folder / name).is_file()]


def reports_dir() -> Path:
    """``reports/``, overridable so a test (or a second evaluation) can point elsewhere."""
    value = os.environ.get(REPORTS_ENV_VAR)
    return Path(value) if value else REPORTS_DIR


def read_json(path: Path) -> dict[str, Any] | None:
    """A report as a dict, or None when it is missing or unreadable (the page says how to make it)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _pct(v: Any) -> str:
    return f"{100 * v:.1f}%" if isinstance(v, (int, float)) and v == v else "n/a"


def metrics_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of binary metrics (positive = no mask), one per split, in plain words."""
    rows = []
    for split, m in metrics.items():
        if not isinstance(m, dict) or "n" not in m:
            continue
        rows.append({"Split": split, "Faces": m.get("n"),
                     "Accuracy": _pct(m.get("accuracy")),
                     "No-mask recall": _pct(m.get("recall")),
                     "Specificity": _pct(m.get("specificity")),
                     "Precision": _pct(m.get("precision")),
                     "ROC AUC": f"{m['roc_auc']:.4f}" if isinstance(m.get("roc_auc"), (int, float)) else "n/a",
                     "Missed unmasked": m.get("fn"), "False alarms": m.get("fp")})
    return rows


def cross_source_rows(cross: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of ``reports/cross_source.json``: one per experiment and test set."""
    rows = []
    for experiment, row in cross.items():
        if not isinstance(row, dict):
            continue
        for split, m in row.items():
            if isinstance(m, dict):
                rows.append({"Experiment": experiment, "Tested on": split, "Faces": m.get("n"),
                             "Accuracy": _pct(m.get("accuracy")), "No-mask recall": _pct(m.get("recall")),
                             "Specificity": _pct(m.get("specificity"))})
    return rows


def training_time(training: dict[str, Any]) -> str:
    """How long training took, from a model card's ``training``: a composed model records its
    networks under ``branches`` and has no top-level epoch count."""
    branches = training.get("branches")
    if not branches:
        return f"{training.get('epochs_run', '?')} epochs in {training.get('minutes', '?')} minutes"
    binaries = binary_branches(training)
    names = {"wearing": "3-class network"}
    names.update({k: "mask / no-mask network" + (f" {i}" if len(binaries) > 1 else "")
                  for i, k in enumerate(binaries, 1)})
    parts = [f"{names.get(k, k)}: {b.get('epochs_run', '?')} epochs in {b.get('minutes', '?')} minutes"
             for k, b in branches.items()]
    return "; ".join(parts) + f" ({training.get('minutes', '?')} minutes in all)"


#: The three classes in the words the pages use (a local copy: this module stays free of
#: the serving imports, like the rest of the reports code).
CLASS_NAMES = {"mask": "Mask", "no_mask": "No mask", "incorrect": "Mask below nose"}


def three_class_metrics(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The card's ``metrics["three_class"]``: per split, a 3x3 confusion matrix (rows = true
    class, columns = predicted, in ``labels`` order), accuracy and per-class precision and
    recall. Splits without a square matrix matching their labels are left out; a binary
    card has none."""
    found = metrics.get("three_class") if isinstance(metrics, dict) else None
    if not isinstance(found, dict):
        return {}
    good = {}
    for split, m in found.items():
        labels, matrix = (m.get("labels"), m.get("matrix")) if isinstance(m, dict) else (None, None)
        if (isinstance(labels, list) and isinstance(matrix, list) and len(matrix) == len(labels)
                and all(isinstance(row, list) and len(row) == len(labels) for row in matrix)):
            good[split] = m
    return good


def _name(label: str) -> str:
    return CLASS_NAMES.get(label, label)


def three_class_heading(split: str, m: dict[str, Any]) -> str:
    """"**all_test**: 1,200 faces, accuracy 96.5%"."""
    n = m.get("n")
    faces = f"{n:,} faces" if isinstance(n, int) else "faces not counted"
    return f"**{split}**: {faces}, accuracy {_pct(m.get('accuracy'))}"


def confusion_rows(m: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per true class: how many of its faces were given each label. The diagonal is
    right; a "No mask" face in another column is the costly miss."""
    labels = m["labels"]
    return [{"True class": _name(true), **{f"Called {_name(p)}": int(n) for p, n in zip(labels, row)},
             "Faces": int(sum(row))} for true, row in zip(labels, m["matrix"])]


def per_class_rows(m: dict[str, Any]) -> list[dict[str, Any]]:
    """Precision (of the faces given this label, the share truly of it) and recall (of the
    faces truly of it, the share found) per class."""
    per_class = m.get("per_class") if isinstance(m.get("per_class"), dict) else {}
    rows = []
    for label in m["labels"]:
        c = per_class.get(label, {}) if isinstance(per_class.get(label), dict) else {}
        rows.append({"Class": _name(label), "Faces": c.get("n"), "Precision": _pct(c.get("precision")),
                     "Recall": _pct(c.get("recall"))})
    return rows
