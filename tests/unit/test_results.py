"""Per-image results, exports and report helpers behind the Photos and Model pages."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from support.images import png_bytes
from maskpatrol import cli
from maskpatrol import export, reports, results
from maskpatrol.detectors import DetectorSettings
from maskpatrol.images import encode_jpeg, load_image
from maskpatrol.pipeline import Face


@pytest.fixture(scope="module")
def astro(patrol, astronaut_rgb):
    return results.analyze_bytes(patrol, png_bytes(astronaut_rgb), "astronaut.png")


def test_astronaut_result_has_one_unmasked_face_preview_and_thumbnail(astro):
    assert astro.ok and (astro.width, astro.height) == (512, 512)
    assert astro.summary == "1 face: 0 mask, 1 no mask"
    assert astro.counts.not_masked == 1 and astro.counts.mask == 0
    assert astro.preview is not None and load_image(astro.preview).shape == (512, 512, 3)
    assert astro.preview_scale == 1.0
    thumb = Image.open(io.BytesIO(astro.thumbnails[0]))
    assert thumb.size == (results.THUMB_PX, results.THUMB_PX)


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"this is not an image", "not an image"),
    (png_bytes(np.zeros((40, 40, 3), np.uint8))[:60], "corrupt"),
])
def test_bad_files_become_error_results_not_exceptions(patrol, data, words):
    r = results.analyze_bytes(patrol, data, "bad.png")
    assert not r.ok and words in r.error and "bad.png" in r.error
    assert r.faces == () and r.summary == "Could not be read"


def test_too_many_pixels_is_refused_before_decoding(patrol):
    buf = io.BytesIO()
    Image.new("1", (8000, 5001)).save(buf, format="PNG")  # 40.008 MP, a few KB
    r = results.analyze_bytes(patrol, buf.getvalue(), "huge.png")
    assert not r.ok and "too large" in r.error


def test_a_photo_over_the_work_size_is_judged_shrunk_with_boxes_in_its_own_pixels(patrol, astronaut_rgb):
    import cv2

    big = cv2.resize(astronaut_rgb, (2048, 2048), interpolation=cv2.INTER_AREA)
    whole = results.analyze_bytes(patrol, png_bytes(big), "big.png", work_pixels=None)
    shrunk = results.analyze_bytes(patrol, png_bytes(big), "big.png", work_pixels=1024 * 1024)
    assert (shrunk.width, shrunk.height) == (2048, 2048)
    face = min(whole.faces, key=lambda f: abs(f.box[0] - 4 * 174) + abs(f.box[1] - 4 * 67))
    near = min(shrunk.faces, key=lambda f: abs(f.box[0] - face.box[0]) + abs(f.box[1] - face.box[1]))
    assert near.label == face.label == "no_mask"
    assert all(abs(a - b) <= 0.08 * face.box[2] for a, b in zip(near.box, face.box)), (near.box, face.box)
    # The download is drawn at the size that was analysed, boxes mapped onto it.
    png = Image.open(io.BytesIO(results.annotated_png(png_bytes(big), shrunk, work_pixels=1024 * 1024)))
    assert png.size == (1024, 1024)


def test_large_photo_gets_small_preview_with_boxes_scaled(patrol, astronaut_rgb):
    import cv2

    big = cv2.resize(astronaut_rgb, (2048, 2048), interpolation=cv2.INTER_LINEAR)
    r = results.analyze_bytes(patrol, png_bytes(big), "big.png")
    preview = load_image(r.preview)
    assert r.ok and r.width == 2048 and max(preview.shape[:2]) == results.PREVIEW_MAX_SIDE
    assert len(r.faces) >= 1
    shown = results.annotated_preview(r, True)
    assert shown.shape == preview.shape
    # The no-mask box (thick, red) is drawn where the full-resolution box lands after scaling.
    # Her face: at 4x the 512 px photo, around (900, 450); an upscaled photo has more
    # faint look-alikes (the helmet, a glove) the detector may box too.
    face = min(r.faces, key=lambda f: abs(f.box[0] + f.box[2] / 2 - 900) + abs(f.box[1] + f.box[3] / 2 - 450))
    assert face.label == "no_mask"
    x, y, w, h = (int(round(v * r.preview_scale)) for v in face.box)
    edge = shown[y + h // 2, x - 1:x + 2].astype(int)
    assert (np.abs(edge - np.array([230, 30, 30])).sum(axis=1) < 60).any()


def test_relabel_applies_threshold_without_touching_probabilities(astro):
    p = astro.faces[0].p_no_mask
    assert results.relabel(astro, min(1.0, p + 0.001) if p < 1 else 1.01).faces[0].label == "mask"
    assert results.relabel(astro, 0.01).faces[0].label == "no_mask"
    assert results.relabel(astro, 0.5).faces[0].p_no_mask == p


def test_annotated_png_is_full_resolution_and_marked(astro, astronaut_rgb):
    png = results.annotated_png(png_bytes(astronaut_rgb), astro, show_probability=True)
    out = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert out.shape == astronaut_rgb.shape
    x, y, w, h = astro.faces[0].box
    assert not np.array_equal(out[y:y + h, x], astronaut_rgb[y:y + h, x])  # box edge drawn


def test_json_export_matches_the_cli_schema(astro, astronaut_png, capsys):
    cli.main(["detect", "--json", str(astronaut_png)])
    cli_row = json.loads(capsys.readouterr().out.splitlines()[0])
    [ours] = json.loads(export.to_json([astro]))
    assert set(ours) == set(cli_row)
    assert {k: v for k, v in ours.items() if k != "path"} == {k: v for k, v in cli_row.items() if k != "path"}


def test_csv_has_a_row_per_face_and_per_failed_or_empty_photo(astro):
    bad = results.ImageResult(name="broken.jpg", error="broken.jpg is corrupt")
    empty = results.ImageResult(name="wall.png", width=100, height=80)
    two = results.ImageResult(name="two.png", width=10, height=10,
                        faces=(Face((1, 2, 3, 4), 0.1, "mask"), Face((5, 6, 7, 8), 0.9, "no_mask")))
    rows = list(csv.DictReader(io.StringIO(export.to_csv([astro, bad, empty, two]))))
    assert [r["path"] for r in rows] == ["astronaut.png", "broken.jpg", "wall.png", "two.png", "two.png"]
    assert tuple(rows[0]) == export.CSV_COLUMNS
    assert rows[0]["label"] == "no_mask" and float(rows[0]["p_no_mask"]) > 0.5 and rows[0]["face"] == "1"
    assert 0.0 <= float(rows[0]["p_incorrect"]) <= 1.0
    assert rows[1]["error"] == "broken.jpg is corrupt" and rows[1]["label"] == ""
    assert rows[2]["face"] == "" and rows[2]["width"] == "100"
    assert [(r["face"], r["x"], r["h"], r["label"]) for r in rows[3:]] == [("1", "1", "4", "mask"),
                                                                           ("2", "5", "8", "no_mask")]


def test_face_rows_show_or_hide_probability(astro):
    [row] = results.face_rows(astro, show_probability=True)
    assert row["Label"] == "No mask" and row["p(no mask)"] > 0.5
    assert row["Thumbnail"].startswith("data:image/png;base64,")
    x, y, w, h = astro.faces[0].box
    assert row["Box (x, y, w, h)"] == f"{x}, {y}, {w}, {h}"
    assert "p(no mask)" not in results.face_rows(astro, show_probability=False)[0]


def test_summary_rows_and_overall_summary(astro):
    bad = results.ImageResult(name="broken.jpg", error="broken.jpg is corrupt")
    rows = results.summary_rows([astro, bad])
    assert rows[0] == {"Photo": "astronaut.png", "Faces": 1, "Mask": 0, "No mask": 1,
                       "Result": "1 face: 0 mask, 1 no mask"}
    assert rows[1]["Faces"] is None and rows[1]["Result"] == "Error: broken.jpg is corrupt"
    assert results.overall_summary([astro, bad]) == "2 photos, 1 face: 0 mask, 1 no mask; 1 photo could not be read"
    assert results.overall_summary([results.ImageResult(name="a", width=5, height=5)]) == "1 photo, no faces found"


# A photo as a 3-class model sees it: one face each way (probabilities built directly, so
# these checks hold whichever model is shipped).
THREE = results.ImageResult(name="three.png", width=640, height=480, faces=(
    Face((10, 20, 100, 100), 0.04, "mask", 0.03), Face((200, 20, 100, 100), 0.10, "incorrect", 0.81),
    Face((400, 20, 100, 100), 0.92, "no_mask", 0.05)), preview=encode_jpeg(np.full((480, 640, 3), 128, np.uint8)))


def test_mask_below_nose_is_counted_apart_and_as_not_properly_masked():
    assert (THREE.counts.mask, THREE.counts.incorrect, THREE.counts.no_mask) == (1, 1, 1)
    assert THREE.counts.not_masked == 2  # the warnings count the mask below the nose too
    assert THREE.summary == "3 faces: 1 mask, 1 mask below nose, 1 no mask"


def test_relabel_keeps_p_incorrect_and_uses_the_incorrect_threshold():
    at_card = results.relabel(THREE, 0.5, 0.5)
    assert [f.label for f in at_card.faces] == ["mask", "incorrect", "no_mask"]
    assert [f.p_incorrect for f in at_card.faces] == [0.03, 0.81, 0.05]
    assert [f.label for f in results.relabel(THREE, 0.5, 0.9).faces] == ["mask", "mask", "no_mask"]
    # no mask wins when both thresholds are passed: missing an unmasked face costs most
    assert [f.label for f in results.relabel(THREE, 0.05, 0.02).faces] == ["incorrect", "no_mask", "no_mask"]
    # without an incorrect threshold (a binary model) nothing is called "incorrect"
    assert [f.label for f in results.relabel(THREE, 0.5).faces] == ["mask", "mask", "no_mask"]


def test_face_rows_write_mask_below_nose_and_its_probability():
    rows = results.face_rows(THREE)
    assert [r["Label"] for r in rows] == ["Mask", "Mask below nose", "No mask"]
    assert [r["p(mask below nose)"] for r in rows] == [0.03, 0.81, 0.05]
    assert "p(mask below nose)" not in results.face_rows(THREE, show_probability=False)[0]
    # a binary model's table stays as it was, unless the caller asks for the column
    binary = results.relabel(THREE, 0.5)
    assert "p(mask below nose)" not in results.face_rows(binary)[0]
    assert "p(mask below nose)" in results.face_rows(binary, show_incorrect=True)[0]


def test_summary_rows_count_mask_below_nose_between_mask_and_no_mask(astro):
    rows = results.summary_rows([THREE, astro])
    assert list(rows[0]) == ["Photo", "Faces", "Mask", "Mask below nose", "No mask", "Result"]
    assert [rows[0][k] for k in ("Mask", "Mask below nose", "No mask")] == [1, 1, 1]
    assert rows[1]["Mask below nose"] == 0
    assert "Mask below nose" not in results.summary_rows([astro])[0]
    assert results.summary_rows([astro], show_incorrect=True)[0]["Mask below nose"] == 0
    assert results.overall_summary([THREE, astro]) == "2 photos, 4 faces: 1 mask, 1 mask below nose, 2 no mask"


def test_exports_carry_the_third_label_and_p_incorrect():
    rows = list(csv.DictReader(io.StringIO(export.to_csv([THREE]))))
    assert tuple(rows[0]) == export.CSV_COLUMNS and export.CSV_COLUMNS[-1] == "p_incorrect"
    assert [(r["label"], float(r["p_incorrect"])) for r in rows] == [("mask", 0.03), ("incorrect", 0.81),
                                                                       ("no_mask", 0.05)]
    [record] = json.loads(export.to_json([THREE]))
    assert [(f["label"], f["p_incorrect"]) for f in record["faces"]] == [("mask", 0.03), ("incorrect", 0.81),
                                                                          ("no_mask", 0.05)]


def test_preview_draws_the_mask_below_nose_box_dashed():
    from maskpatrol.annotate import INCORRECT_RGB

    shown = results.annotated_preview(THREE)
    left_edge = (shown[20:121, 200] == INCORRECT_RGB).all(axis=1)
    assert 40 < left_edge.sum() < 101  # amber, with gaps


def test_no_face_advice_follows_photo_and_settings():
    small = results.ImageResult(name="s.png", width=300, height=200)
    tips = results.no_face_advice(small, DetectorSettings())
    # The default detector: size and confidence first, never "switch detector".
    assert "300x200" in tips[0] and "Smallest face" in tips[1] and "confidence" in tips[2]
    assert not any("Switch" in t for t in tips)
    haar = " ".join(results.no_face_advice(small, DetectorSettings(name="haar")))
    assert "strictness" in haar and "scale step" in haar and "confidence" not in haar
    large = results.ImageResult(name="l.png", width=3000, height=2000)
    loosest = results.no_face_advice(large, DetectorSettings(1.05, 1, 20, "haar"))
    # Nothing left to lower and the photo is big: the other detector, then the general hint.
    assert not any(w in " ".join(loosest) for w in ("Smallest face", "strictness", "larger photo"))
    assert "Switch **Face detector** to **YuNet**" in loosest[0] and "front-facing" in loosest[-1]


def test_reports_dir_and_readers(tmp_path, monkeypatch):
    monkeypatch.setenv(reports.REPORTS_ENV_VAR, str(tmp_path))
    assert reports.reports_dir() == tmp_path
    assert reports.read_json(tmp_path / "metrics.json") is None
    (tmp_path / "bad.json").write_text("{not json")
    assert reports.read_json(tmp_path / "bad.json") is None


def test_metrics_and_cross_source_rows():
    m = {"n": 10, "tp": 4, "tn": 5, "fp": 1, "fn": 0, "accuracy": 0.9, "precision": 0.8, "recall": 1.0,
         "specificity": 5 / 6, "roc_auc": 0.95, "threshold": 0.3}
    [row] = reports.metrics_rows({"all_test": m, "note": "ignored"})
    assert row["Split"] == "all_test" and row["Accuracy"] == "90.0%" and row["No-mask recall"] == "100.0%"
    assert row["Missed unmasked"] == 0 and row["False alarms"] == 1 and row["ROC AUC"] == "0.9500"
    nan = dict(m, precision=float("nan"))
    assert reports.metrics_rows({"x": nan})[0]["Precision"] == "n/a"
    cross = {"train a -> test b": {"threshold": 0.3, "epochs": 3, "b/test": m, "a/test (in-source)": m}}
    rows = reports.cross_source_rows(cross)
    assert [r["Tested on"] for r in rows] == ["b/test", "a/test (in-source)"]


def test_warning_text_names_the_mask_below_nose_only_when_one_was_seen(astro):
    assert results.not_masked_text([astro]) == "1 person is not wearing a mask"
    assert results.not_masked_text([THREE, astro]) == ("3 people are not properly masked: 2 without a mask, "
                                                  "1 with the mask below the nose")
    below_only = results.relabel(THREE, 0.99, 0.5)
    assert results.not_masked_text([below_only]) == ("1 person is not properly masked: 0 without a mask, "
                                                "1 with the mask below the nose")
