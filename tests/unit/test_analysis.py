"""A picture gives the same faces, in its own pixels, whether it was analysed whole or
shrunk to fit the server's memory (with the real shipped model); a failure gives the same
words and record in every front end."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from PIL import Image

from maskpatrol.analysis import (Analysis, Failure, analyze_source, classify, classify_record, detect, detect_record,
                                 to_scale)
from maskpatrol.images import ImageError
from maskpatrol.pipeline import MASK, NO_MASK, Face, Settings
from support.images import png_bytes

#: The astronaut's 512 px, four times across and down.
LARGE = 2048
#: A quarter of LARGE's pixels: the picture is analysed at half size.
WORK_PIXELS = 1024 * 1024
#: How far a box edge may move between the two analyses, as a share of the picture's side:
#: the half-size picture has half the detail, so the detector lands a few pixels apart.
BOX_TOLERANCE = 0.03


@pytest.fixture(scope="module")
def large_png(astronaut_rgb) -> bytes:
    # Pixel replication, not smooth interpolation: YuNet finds extra "faces" in the
    # astronaut's blurred 2048 px bicubic/bilinear upscales that the half-size picture
    # lacks, which would test the detector's false alarms rather than the scaling.
    return png_bytes(np.asarray(Image.fromarray(astronaut_rgb).resize((LARGE, LARGE), Image.NEAREST)))


@pytest.fixture(scope="module")
def whole(patrol, large_png):
    return analyze_source(patrol, large_png)


@pytest.fixture(scope="module")
def shrunk(patrol, large_png):
    return analyze_source(patrol, large_png, work_pixels=WORK_PIXELS)


def test_a_large_picture_is_analysed_at_half_size(whole, shrunk):
    assert whole.decoded.rgb.shape == (LARGE, LARGE, 3)
    assert shrunk.decoded.rgb.shape == (LARGE // 2, LARGE // 2, 3)


def test_the_shrunk_analysis_reports_the_files_width_and_height(shrunk):
    assert (shrunk.width, shrunk.height) == (LARGE, LARGE)


def test_the_shrunk_analysis_finds_the_faces_of_the_whole_one_in_the_files_pixels(whole, shrunk):
    assert [f.label for f in whole.faces] == [NO_MASK]  # the astronaut, and nothing else
    assert [f.label for f in shrunk.faces] == [f.label for f in whole.faces]
    for big, small in zip(whole.faces, shrunk.faces):
        # Within a few % of the picture's side: a box left in analysed pixels would be off by half.
        assert np.abs(np.subtract(small.box, big.box)).max() <= BOX_TOLERANCE * LARGE, (small.box, big.box)
        assert small.p_no_mask == pytest.approx(big.p_no_mask, abs=0.05)


def test_faces_analysed_are_in_the_decoded_pixels_and_faces_scale_them_back(shrunk):
    assert shrunk.decoded.scale == (2.0, 2.0)
    assert shrunk.faces == to_scale(shrunk.faces_analysed, 2.0, 2.0)
    side = LARGE // 2
    for face in shrunk.faces_analysed:
        x, y, w, h = face.box
        assert 0 <= x and 0 <= y and x + w <= side and y + h <= side, face.box  # on the analysed pixels


def test_a_picture_within_work_pixels_is_analysed_whole(patrol, astronaut_rgb):
    analysis = analyze_source(patrol, png_bytes(astronaut_rgb), work_pixels=WORK_PIXELS)
    assert analysis.decoded.rgb.shape == astronaut_rgb.shape
    assert (analysis.width, analysis.height) == (512, 512)
    assert analysis.faces == analysis.faces_analysed == tuple(patrol.analyze(astronaut_rgb))
    assert len(analysis.faces) == 1


def test_settings_and_timings_reach_the_pipeline(patrol, astronaut_rgb):
    # A threshold above the astronaut's p(no mask) turns the face's label: proof it was used.
    default = analyze_source(patrol, png_bytes(astronaut_rgb))
    strict = Settings(threshold=0.99999)
    timings: dict[str, float] = {}
    analysis = analyze_source(patrol, png_bytes(astronaut_rgb), strict, timings=timings)
    assert [f.label for f in default.faces] == [NO_MASK]
    assert [f.label for f in analysis.faces] != [NO_MASK]
    assert analysis.faces == tuple(patrol.analyze(astronaut_rgb, strict))
    assert set(timings) == {"detect_ms", "classify_ms"}


def test_a_file_that_is_not_a_picture_raises_image_error_with_its_name(patrol):
    with pytest.raises(ImageError, match="notes.txt"):
        analyze_source(patrol, b"not a picture at all", name="notes.txt")


# --- to_scale ----------------------------------------------------------------------------

FACES = (Face((10, 20, 30, 40), 0.9, NO_MASK), Face((1, 3, 5, 7), 0.1, MASK, 0.05))


def test_to_scale_at_one_returns_the_same_faces():
    scaled = to_scale(list(FACES), 1.0, 1.0)
    assert isinstance(scaled, tuple)
    assert all(a is b for a, b in zip(scaled, FACES)) and len(scaled) == len(FACES)


def test_to_scale_scales_across_and_down_separately_and_keeps_the_rest():
    scaled = to_scale(FACES, 2.0, 0.5)
    assert [f.box for f in scaled] == [(20, 10, 60, 20), (2, 2, 10, 4)]  # 1.5 and 3.5 round to even
    assert [(f.p_no_mask, f.label, f.p_incorrect) for f in scaled] == \
        [(f.p_no_mask, f.label, f.p_incorrect) for f in FACES]


# --- one error policy, one wording, one record per command --------------------------------


def boom(*args, **kwargs):
    raise RuntimeError("boom")


def test_a_file_that_cannot_be_used_fails_as_bad_input_in_the_image_errors_words(patrol):
    outcome = detect(patrol, b"not a picture at all", name="notes.txt")
    assert outcome == Failure("notes.txt is not an image we can read (supported: JPEG, PNG, WEBP, BMP, GIF, TIFF)",
                              bad_input=True)
    assert classify(patrol, b"", name="empty.jpg") == Failure("empty.jpg is empty (0 bytes)", bad_input=True)


def test_a_failure_of_ours_is_returned_as_could_not_process_not_raised(patrol, astronaut_rgb, monkeypatch):
    monkeypatch.setattr(patrol, "analyze", boom)
    monkeypatch.setattr(patrol, "classify_faces", boom)
    expected = Failure("could not process a.png: boom", bad_input=False)
    assert detect(patrol, png_bytes(astronaut_rgb), name="a.png") == expected
    assert classify(patrol, png_bytes(astronaut_rgb), name="a.png") == expected


def test_every_front_end_words_a_failure_of_ours_alike(patrol, astronaut_png, monkeypatch, capsys):
    from maskpatrol import cli, results
    from maskpatrol.api.analysis import classify_records, detect_records
    from maskpatrol.api.body import Upload
    from maskpatrol.batch.work import BatchSettings, analyse
    from maskpatrol.pipeline import MaskPatrol

    monkeypatch.setattr(MaskPatrol, "analyze", boom)
    monkeypatch.setattr(MaskPatrol, "classify_faces", boom)
    path, data = str(astronaut_png), astronaut_png.read_bytes()
    words = f"could not process {path}: boom"
    assert cli.main(["detect", "--json", path]) == 1
    assert json.loads(capsys.readouterr().out)["error"] == words
    assert cli.main(["classify", "--json", path]) == 1
    assert json.loads(capsys.readouterr().out)["error"] == words
    [row] = analyse(patrol, path, "image", BatchSettings())
    assert row["error"] == words
    assert results.analyze_bytes(patrol, data, path).error == words
    for outcomes in (detect_records([Upload(path, data)], Settings()), classify_records([Upload(path, data)], None)):
        assert [(o.status, o.record["error"]) for o in outcomes] == [(500, words)]


def test_the_slot_is_held_while_the_input_is_decoded_and_analysed(patrol, astronaut_rgb, monkeypatch):
    held = []

    @contextlib.contextmanager
    def slot():
        held.append(True)
        yield
        held.append(False)

    original = patrol.analyze
    monkeypatch.setattr(patrol, "analyze", lambda *a, **k: (held.append("analysed"), original(*a, **k))[1])
    assert isinstance(detect(patrol, png_bytes(astronaut_rgb), name="a.png", slot=slot), Analysis)
    assert held == [True, "analysed", False]


def test_a_slot_that_cannot_be_had_is_a_failure_of_ours(patrol, astronaut_rgb):
    assert detect(patrol, png_bytes(astronaut_rgb), name="a.png", slot=boom) == \
        Failure("could not process a.png: boom", bad_input=False)


def test_pixels_already_decoded_are_analysed_as_they_are(patrol, astronaut_rgb):
    analysis = analyze_source(patrol, astronaut_rgb)
    assert (analysis.width, analysis.height) == (512, 512)
    assert analysis.faces == tuple(patrol.analyze(astronaut_rgb))


def test_the_records_are_the_clis_json_schemas(patrol, astronaut_rgb):
    analysis = detect(patrol, astronaut_rgb, name="a.png")
    [face] = analysis.faces
    assert detect_record("a.png", analysis) == {"path": "a.png", "width": 512, "height": 512,
                                                "faces": [face.to_dict()], "error": None}
    crop = classify(patrol, astronaut_rgb, name="a.png")
    assert list(classify_record("a.png", crop)) == ["path", "label", "p_no_mask", "p_incorrect", "error"]
    assert classify_record("a.png", crop) == {"path": "a.png", **{k: crop.to_dict()[k] for k in
                                              ("label", "p_no_mask", "p_incorrect")}, "error": None}


def test_the_record_of_a_failure_has_only_its_path_and_error():
    failed = Failure("x.png is empty (0 bytes)", bad_input=True)
    assert detect_record("x.png", failed) == {"path": "x.png", "width": None, "height": None, "faces": [],
                                              "error": "x.png is empty (0 bytes)"}
    assert classify_record("x.png", failed) == {"path": "x.png", "label": None, "p_no_mask": None,
                                                "p_incorrect": None, "error": "x.png is empty (0 bytes)"}
