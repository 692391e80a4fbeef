"""Drawing the three labels: each must read without colour vision (line style and text),
measured on the drawn pixels."""

from __future__ import annotations

import numpy as np
import pytest

from maskpatrol.annotate import INCORRECT_RGB, MASK_RGB, NO_MASK_RGB, annotate, dash_pattern, label_text
from maskpatrol.pipeline import Face

GREY = 128
BOX = (150, 200, 160, 120)  # x, y, w, h: room above for the label
FACES = {"mask": Face(BOX, 0.05, "mask", 0.02), "no_mask": Face(BOX, 0.9, "no_mask", 0.04),
         "incorrect": Face(BOX, 0.08, "incorrect", 0.87)}


def _drawn(label: str) -> np.ndarray:
    return annotate(np.full((480, 480, 3), GREY, np.uint8), [FACES[label]])


def _edge_runs(line: np.ndarray, colour: tuple[int, int, int]) -> list[int]:
    """Lengths of the runs of ``colour`` along a row or column of pixels."""
    on = (line == colour).all(axis=1).astype(int)
    edges = np.flatnonzero(np.diff(np.r_[0, on, 0]))
    return list(edges[1::2] - edges[0::2])


def _luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour."""
    c = np.asarray(rgb, float) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def test_incorrect_label_reads_mask_below_nose_with_its_confidence():
    assert label_text(FACES["incorrect"]) == "Mask below nose 87%"
    assert label_text(FACES["incorrect"], show_probability=False) == "Mask below nose"
    assert label_text(FACES["mask"]) == "Mask 93%"  # 1 - p(no mask) - p(incorrect)
    assert label_text(FACES["no_mask"]) == "No mask 90%"


def test_mask_below_nose_box_is_dashed_amber_and_the_others_solid():
    """The left edge of the box, away from the label: unbroken for mask and no mask,
    broken into several dashes with gaps for a mask below the nose."""
    x, y, w, h = BOX
    colours = {"mask": MASK_RGB, "no_mask": NO_MASK_RGB, "incorrect": INCORRECT_RGB}
    for label, colour in colours.items():
        out = _drawn(label)
        left_edge = out[y:y + h + 1, x]
        runs = _edge_runs(left_edge, colour)
        if label == "incorrect":
            dash, gap = dash_pattern(3)
            assert len(runs) >= 4, runs  # several dashes along 120 px
            assert max(runs) <= dash + 1, runs
            gaps = (left_edge == (GREY,) * 3).all(axis=1).sum()
            assert gaps >= 3 * gap, gaps  # grey shows through between the dashes
        else:
            assert runs == [h + 1], (label, runs)
    # Amber differs from both other box colours, most of all in green and red.
    assert np.abs(np.subtract(INCORRECT_RGB, MASK_RGB)).sum() > 200
    assert np.abs(np.subtract(INCORRECT_RGB, NO_MASK_RGB)).sum() > 100


def test_dashed_box_keeps_its_corners_and_every_edge():
    x, y, w, h = BOX
    out = _drawn("incorrect")
    for cx, cy in [(x, y + h), (x + w, y + h), (x + w, y)]:  # the top-left sits under the label
        assert (out[cy, cx] == INCORRECT_RGB).all(), (cx, cy)
    for line in (out[y + h, x:x + w + 1], out[y:y + h + 1, x + w]):  # bottom and right edges
        assert len(_edge_runs(line, INCORRECT_RGB)) >= 4


def test_dashed_box_thickness_between_mask_and_no_mask():
    """Thickness carries meaning too: thin = mask, thick = no mask, in between = below nose."""
    x, y, w, h = BOX
    widths = {}
    for label, colour in {"mask": MASK_RGB, "no_mask": NO_MASK_RGB, "incorrect": INCORRECT_RGB}.items():
        row = _drawn(label)[y + 5, x - 5:x + 6]  # across the left edge, in its first dash
        widths[label] = int((row == colour).all(axis=1).sum())
    assert widths["mask"] < widths["incorrect"] < widths["no_mask"], widths


@pytest.mark.parametrize("label", ["mask", "no_mask", "incorrect"])
def test_label_text_has_wcag_contrast_on_its_fill(label):
    """Fill = the label's commonest colour, text = the pixel farthest from it."""
    above = _drawn(label)[:BOX[1]]
    rows, cols = np.where((above != GREY).any(axis=2))
    patch = above[rows.min():rows.max() + 1, cols.min():cols.max() + 1].reshape(-1, 3)
    assert len(patch) > 500
    colours, counts = np.unique(patch, axis=0, return_counts=True)
    fill = colours[counts.argmax()]
    text = patch[np.abs(patch.astype(int) - fill).sum(axis=1).argmax()]
    light, dark = sorted([_luminance(fill), _luminance(text)], reverse=True)
    assert (light + 0.05) / (dark + 0.05) >= 4.5, (fill, text)
    if label == "incorrect":
        assert tuple(fill) == INCORRECT_RGB


def test_dashed_box_is_clipped_at_the_image_border():
    """A face at the edge of the picture: dashes past the border are cut, nothing raises."""
    out = annotate(np.full((100, 100, 3), GREY, np.uint8), [Face((60, 60, 80, 80), 0.1, "incorrect", 0.8)])
    assert (out[60:100, 60] == INCORRECT_RGB).all(axis=1).any()


def test_a_long_label_shrinks_to_stay_whole_on_a_narrow_photo():
    """A 140 px wide photo, one face wide: "Mask below nose 72%" at the usual size would be
    cut at the right edge; it is drawn smaller, with its padding still inside the photo."""
    def text_right_edge(width: int) -> int:
        out = annotate(np.full((200, width, 3), GREY, np.uint8), [Face((0, 30, 140, 160), 0.1, "incorrect", 0.72)])
        black = np.flatnonzero((out < 60).all(axis=2).any(axis=0))  # columns holding label text
        return int(black.max())

    assert text_right_edge(140) <= 140 - 3  # the last letter ends before the edge, with padding
    assert text_right_edge(400) > 140  # at the usual size it would not have fitted
