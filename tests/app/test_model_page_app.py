"""The Model page with and without evaluation reports, and the Home page."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from maskpatrol import results as R
from maskpatrol.model_card import load_card
from maskpatrol.paths import MODELS_DIR

TIMEOUT = 60
FIGURES = [f for f, _, _ in R.REPORT_FIGURES]


def run_page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(m: dict) -> dict:
    return {"n": 100, "tp": 48, "tn": 49, "fp": 1, "fn": 2, "accuracy": 0.97, "precision": 0.98,
            "recall": 0.96, "f1": 0.97, "specificity": 0.98, "roc_auc": 0.995, "threshold": 0.29, **m}


def test_missing_reports_say_how_to_produce_them(tmp_path, monkeypatch):
    monkeypatch.setenv(R.REPORTS_ENV_VAR, str(tmp_path / "nothing-here"))
    at = run_page("model.py")
    [note] = [i.value for i in at.info if "No evaluation reports" in i.value]
    for name in R.EVALUATION_FILES:
        assert name in note
    assert sum("python -m maskpatrol.evaluate" in c.value for c in at.code) == 1
    assert not at.image
    # The model card is still shown in full.
    card = load_card(MODELS_DIR)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Decision threshold"] == f"{card.threshold:.3f}"
    assert shown["Input"] == f"{card.input_size}x{card.input_size} RGB"


def test_partly_missing_reports_are_named_one_by_one(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(tmp_path / "roc_curve.png")
    monkeypatch.setenv(R.REPORTS_ENV_VAR, str(tmp_path))
    at = run_page("model.py")
    infos = " ".join(i.value for i in at.info)
    for name in ("metrics.json", "confusion_matrix.png", "calibration.png", "mistakes.png"):
        assert f"`{name}` not found" in infos
    assert "`roc_curve.png` not found" not in infos and len(at.image) == 1


def test_reports_are_shown_when_present(tmp_path, monkeypatch):
    for i, name in enumerate(FIGURES):
        Image.fromarray(np.full((40, 60, 3), 40 * i, np.uint8)).save(tmp_path / name)
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"model": "m", "threshold": 0.29,
         "metrics": {"all_test": metric({}), "kaggle12k/test": metric({"n": 60})}}))
    (tmp_path / "cross_source.json").write_text(json.dumps(
        {"train kaggle12k -> test chandrikadeb7": {"threshold": 0.3, "epochs": 5,
                                                    "chandrikadeb7/test": metric({"accuracy": 0.71})}}))
    monkeypatch.setenv(R.REPORTS_ENV_VAR, str(tmp_path))
    at = run_page("model.py")
    assert not any("not found" in i.value for i in at.info)
    assert len(at.image) == len(FIGURES)
    tables = [d.value for d in at.dataframe]
    evaluation = next(t for t in tables if "Split" in t.columns and "all_test" in set(t["Split"]))
    assert list(evaluation["Faces"]) == [100, 60] and evaluation["No-mask recall"][0] == "96.0%"
    cross = next(t for t in tables if "Experiment" in t.columns)
    assert cross["Accuracy"][0] == "71.0%"


def test_broken_metrics_file_is_treated_as_missing(tmp_path, monkeypatch):
    (tmp_path / "metrics.json").write_text("{truncated")
    monkeypatch.setenv(R.REPORTS_ENV_VAR, str(tmp_path))
    at = run_page("model.py")
    assert any("`metrics.json` not found" in i.value for i in at.info)


def test_home_page_explains_pages_and_privacy():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.endswith("Mask Patrol")
    text = " ".join(m.value for m in at.markdown)
    assert "never stored" in text and "Mask 97%" in text
    headings = " ".join(h.value for h in at.subheader)
    for page in ("Photos", "Live webcam", "Model", "Privacy"):
        assert page in headings
