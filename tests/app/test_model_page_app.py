"""The Model page with and without evaluation reports, and the Home page."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from support.html_table import read_table
from support.paths import ROOT
from maskpatrol import reports
from maskpatrol.model_card import load_card
from maskpatrol.paths import MODELS_DIR

TIMEOUT = 60
FIGURES = [f for f, _, _ in reports.REPORT_FIGURES]


def run_page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(m: dict) -> dict:
    return {"n": 100, "tp": 48, "tn": 49, "fp": 1, "fn": 2, "accuracy": 0.97, "precision": 0.98,
            "recall": 0.96, "f1": 0.97, "specificity": 0.98, "roc_auc": 0.995, "threshold": 0.29, **m}


def test_missing_reports_say_how_to_produce_them(tmp_path, monkeypatch):
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path / "nothing-here"))
    at = run_page("model.py")
    [note] = [i.value for i in at.info if "No evaluation reports" in i.value]
    for name in reports.EVALUATION_FILES:
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
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path))
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
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path))
    at = run_page("model.py")
    assert not any("not found" in i.value for i in at.info)
    assert len(at.image) == len(FIGURES)
    tables = [read_table(h.value) for h in at.html]
    evaluation = next(t for t in tables if "Split" in t and "all_test" in set(t["Split"]))
    assert evaluation["Faces"] == ["100", "60"] and evaluation["No-mask recall"][0] == "96.0%"
    cross = next(t for t in tables if "Experiment" in t)
    assert cross["Accuracy"][0] == "71.0%"


def test_broken_metrics_file_is_treated_as_missing(tmp_path, monkeypatch):
    (tmp_path / "metrics.json").write_text("{truncated")
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path))
    at = run_page("model.py")
    assert any("`metrics.json` not found" in i.value for i in at.info)


def test_home_page_explains_pages_and_privacy():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.endswith("Mask Patrol")
    text = " ".join(m.value for m in at.markdown)
    assert "never stored" in text and "Mask 97%" in text
    # The shipped model has the third class: the examples and the legend name it.
    assert "Mask below nose 87%" in text and "**Mask below nose**: dashed box" in text
    assert "1 mask below nose" in text
    headings = " ".join(h.value for h in at.subheader)
    for page in ("Photos", "Live webcam", "Model", "Privacy"):
        assert page in headings


def card_with_binary_networks(tmp_path, monkeypatch, n: int) -> dict:
    """The shipped card with ``n`` mask / no-mask networks recorded (as compose writes them:
    ``no_mask``, ``no_mask_2``, ...), served from a folder of its own."""
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    branches = card["training"]["branches"]
    first = next(b for k, b in branches.items() if k.startswith("no_mask"))
    card["training"]["branches"] = {**{name: {**first, "epochs_run": 30 + k}
                                       for k, name in enumerate(["no_mask", "no_mask_2", "no_mask_3"][:n])},
                                    "wearing": {**branches["wearing"], "epochs_run": 18}}
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    monkeypatch.setenv("MASKPATROL_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path / "no-reports"))
    return card


def test_card_says_how_long_each_network_trained(monkeypatch, tmp_path):
    """The composed model records its networks' training apart; the page shows each, not
    "? epochs"."""
    card_with_binary_networks(tmp_path, monkeypatch, 1)
    at = run_page("model.py")
    line = next(m.value for m in at.markdown if m.value.startswith("Sources:"))
    assert "?" not in line
    assert "mask / no-mask network: 30 epochs" in line and "3-class network: 18 epochs" in line
    blend = next(m.value for m in at.markdown if m.value.startswith("**Blend**"))
    assert "the mask / no-mask network has a share" in blend and "mean" not in blend.split("Rule:")[0]


def test_card_with_two_binary_networks_names_both_and_says_they_are_averaged(monkeypatch, tmp_path):
    card = card_with_binary_networks(tmp_path, monkeypatch, 2)
    at = run_page("model.py")
    line = next(m.value for m in at.markdown if m.value.startswith("Sources:"))
    assert "mask / no-mask network 1: 30 epochs" in line and "mask / no-mask network 2: 31 epochs" in line
    assert "3-class network: 18 epochs" in line
    blend = next(m.value for m in at.markdown if m.value.startswith("**Blend**"))
    assert f"the mean of the 2 mask / no-mask networks has a share of {card['blend_weight']:.2f}" in blend


def test_shipped_card_says_how_the_networks_share_the_mask_or_no_mask_call(monkeypatch, tmp_path):
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path / "no-reports"))
    at = run_page("model.py")
    line = next(m.value for m in at.markdown if m.value.startswith("**Blend**"))
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    share = card["blend_weight"]
    assert f"has a share of {share:.2f}" in line
    assert f"3-class network {1 - share:.2f}" in line and "log loss" in line


def test_shipped_card_says_each_face_is_also_seen_mirrored(monkeypatch, tmp_path):
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path / "no-reports"))
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    [line] = [m.value for m in run_page("model.py").markdown if m.value.startswith("**Mirror**")]
    views = card["mirror_comparison"]
    assert f"{views['face_only']['log_loss']:.4f} for the face alone" in line
    assert f"{views['face_and_mirror']['log_loss']:.4f} with its mirror" in line
    # A model composed without the mirror (compose --no-mirror) does not claim it.
    card["mirror_average"] = False
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    monkeypatch.setenv("MASKPATROL_MODEL_DIR", str(tmp_path))
    assert not [m.value for m in run_page("model.py").markdown if m.value.startswith("**Mirror**")]


def three_class_card(tmp_path) -> dict:
    """The shipped card turned into a 3-class one, in the shape training writes, in a
    model folder of its own (the page reads only the card)."""
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    per_class = {"mask": {"precision": 0.97, "recall": 0.95, "n": 400},
                 "no_mask": {"precision": 0.96, "recall": 0.995, "n": 400},
                 "incorrect": {"precision": 0.9, "recall": 0.875, "n": 200}}
    card.update(class_names=["mask", "no_mask", "incorrect"], incorrect_threshold=0.42,
                incorrect_threshold_rule="the lowest p(incorrect) keeping 90% recall of masks below the nose "
                                         "on validation.")
    card.setdefault("metrics", {})["three_class"] = {
        "all_test": {"n": 1000, "labels": ["mask", "no_mask", "incorrect"], "accuracy": 0.948,
                     "matrix": [[380, 2, 18], [1, 398, 1], [20, 5, 175]], "per_class": per_class},
        "broken": {"n": 3, "labels": ["mask", "no_mask", "incorrect"], "matrix": [[1, 2]]}}
    card.setdefault("training", {}).setdefault("counts", {})["train"] = {"mask": 900, "no_mask": 800,
                                                                          "incorrect": 500}
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    return card


def test_three_class_card_shows_its_confusion_matrix_per_class_metrics_and_threshold(tmp_path, monkeypatch):
    three_class_card(tmp_path)
    monkeypatch.setenv("MASKPATROL_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path / "no-reports"))
    at = run_page("model.py")
    text = " ".join(m.value for m in at.markdown)
    assert "**Mask below nose threshold**: 0.420" in text and "90% recall of masks below the nose" in text
    assert "**all_test**: 1,000 faces, accuracy 94.8%" in text
    assert "broken" not in text  # a malformed split is left out, not a crash
    assert any("Three classes" in h.value for h in at.subheader)
    tables = [read_table(h.value) for h in at.html]
    matrix = next(t for t in tables if "True class" in t)
    assert matrix["True class"] == ["Mask", "No mask", "Mask below nose"]
    assert list(matrix)[1:4] == ["Called Mask", "Called No mask", "Called Mask below nose"]
    assert matrix["Called Mask below nose"] == ["18", "1", "175"] and matrix["Faces"] == ["400", "400", "200"]
    per_class = next(t for t in tables if "Class" in t and "Recall" in t)
    assert per_class["Recall"] == ["95.0%", "99.5%", "87.5%"]
    assert per_class["Precision"][2] == "90.0%" and per_class["Faces"] == ["400", "400", "200"]
    counts = next(t for t in tables if "Split" in t and "Mask below nose" in t)
    assert counts["Mask below nose"][counts["Split"].index("train")] == "500"


def test_binary_card_shows_no_three_class_section(tmp_path, monkeypatch):
    """A binary card (made from the shipped one, whichever that is) keeps today's page."""
    card = json.loads((MODELS_DIR / "model_card.json").read_text())
    card.update(class_names=["mask", "no_mask"], incorrect_threshold=None)
    card.get("metrics", {}).pop("three_class", None)
    (tmp_path / "model_card.json").write_text(json.dumps(card))
    monkeypatch.setenv("MASKPATROL_MODEL_DIR", str(tmp_path))
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path / "no-reports"))
    at = run_page("model.py")
    assert not any("Three classes" in h.value for h in at.subheader)
    assert "Mask below nose threshold" not in " ".join(m.value for m in at.markdown)
