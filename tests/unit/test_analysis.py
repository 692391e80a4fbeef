"""A picture gives the same faces, in its own pixels, whether it was analysed whole or
shrunk to fit the server's memory (with the real shipped model)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from maskpatrol.analysis import analyze_source, to_scale
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
