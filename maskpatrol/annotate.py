"""Drawing results onto images, for pages, downloads and the webcam stream."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from .pipeline import INCORRECT, MASK, NO_MASK, Face

# Colours in RGB. Green/red alone fails the ~8% of men with red-green colour blindness,
# so the label text and the line style carry the meaning too: thin solid for "Mask",
# thick solid for "No mask", dashed for "Mask below nose".
MASK_RGB = (0, 200, 83)
NO_MASK_RGB = (230, 30, 30)
INCORRECT_RGB = (255, 150, 0)  # amber: between the two, and unlike either in lightness
# Label text on those fills, for contrast (WCAG): black on the green is 9.4:1 (white would
# be 2.2:1, unreadable for many), white on the red 4.6:1, black on the amber 9.6:1 (white
# would be 2.2:1).
MASK_TEXT_RGB = (0, 0, 0)
NO_MASK_TEXT_RGB = (255, 255, 255)
INCORRECT_TEXT_RGB = (0, 0, 0)


@dataclass(frozen=True)
class BoxStyle:
    """How one label is drawn. ``weight`` is the line thickness at 640 px (scaled with the
    image); ``dashed`` breaks the outline so the style reads without any colour."""

    colour: tuple[int, int, int]
    text_colour: tuple[int, int, int]
    weight: int
    dashed: bool = False


STYLES = {
    MASK: BoxStyle(MASK_RGB, MASK_TEXT_RGB, 2),
    NO_MASK: BoxStyle(NO_MASK_RGB, NO_MASK_TEXT_RGB, 4),
    INCORRECT: BoxStyle(INCORRECT_RGB, INCORRECT_TEXT_RGB, 3, dashed=True),
}


def label_text(face: Face, show_probability: bool = True) -> str:
    """"Mask 97%", "No mask 88%", "Mask below nose 87%": the written verdict, after the
    person's number where people are followed ("#7 No mask 91%")."""
    number = "" if face.person is None else f"#{face.person} "
    if not show_probability:
        return number + face.display_name
    return f"{number}{face.display_name} {face.confidence * 100:.0f}%"


def dash_pattern(thickness: int) -> tuple[int, int]:
    """(dash, gap) in pixels: gaps wide enough to see at a glance on a small box."""
    return 3 * thickness, 2 * thickness


def _dashed_rectangle(img: np.ndarray, x: int, y: int, w: int, h: int,
                      colour: tuple[int, int, int], thickness: int) -> None:
    """The outline of ``cv2.rectangle`` as filled dashes, each edge starting at a corner
    so every corner is drawn. Filled rectangles, not ``cv2.line``, whose round caps would
    fill the gaps of a thick line."""
    dash, gap = dash_pattern(thickness)
    # The band around the edge's line: thickness + 1 pixels, as wide as cv2.rectangle draws
    # an even thickness, so 3 lands between the solid 2 (mask) and 4 (no mask).
    lo, hi = (thickness + 1) // 2, thickness // 2

    def run(length: int) -> list[tuple[int, int]]:
        return [(s, min(s + dash, length)) for s in range(0, length + 1, dash + gap)]

    for a, b in run(w):  # top and bottom edges
        cv2.rectangle(img, (x + a, y - lo), (x + b, y + hi), colour, -1)
        cv2.rectangle(img, (x + a, y + h - lo), (x + b, y + h + hi), colour, -1)
    for a, b in run(h):  # left and right edges
        cv2.rectangle(img, (x - lo, y + a), (x + hi, y + b), colour, -1)
        cv2.rectangle(img, (x + w - lo, y + a), (x + w + hi, y + b), colour, -1)


def _fit_label(text: str, box_w: int, image_w: int, base: float
               ) -> tuple[float, int, tuple[int, int], int, int]:
    """Font scale, thickness, text size, baseline and padding for a label: sized by the box,
    then shrunk (to no less than 0.3) when the words would be cut at the picture's edge;
    "Mask below nose 87%" is twice as long as "Mask 97%", and a small photo is often only
    one face wide."""
    font_scale = max(0.45, min(2.5, box_w / 160.0, 0.6 * base))
    while True:
        text_thick = max(1, int(round(font_scale * 2)))
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, text_thick)
        pad = max(2, int(round(3 * font_scale)))
        if tw + 2 * pad <= image_w or font_scale <= 0.3:
            return font_scale, text_thick, (tw, th), baseline, pad
        font_scale = max(0.3, font_scale * 0.9)


def annotate(rgb: np.ndarray, faces: Sequence[Face], show_probability: bool = True,
             in_place: bool = False) -> np.ndarray:
    """Boxes and labels on a copy of ``rgb`` (or on ``rgb`` itself for video frames)."""
    out = rgb if in_place else rgb.copy()
    height, width = out.shape[:2]
    base = max(1.0, min(width, height) / 640.0)
    for face in faces:
        x, y, w, h = face.box
        style = STYLES[face.label]
        thickness = max(2, int(round(style.weight * base)))
        if style.dashed:
            _dashed_rectangle(out, x, y, w, h, style.colour, thickness)
        else:
            cv2.rectangle(out, (x, y), (x + w, y + h), style.colour, thickness)
        text = label_text(face, show_probability)
        font_scale, text_thick, (tw, th), baseline, pad = _fit_label(text, w, width, base)
        top = y - th - baseline - 2 * pad
        if top < 0:  # no room above the box: put the label inside it
            top = y
        left = min(max(0, x), max(0, width - tw - 2 * pad))
        cv2.rectangle(out, (left, top), (left + tw + 2 * pad, top + th + baseline + 2 * pad), style.colour, -1)
        cv2.putText(out, text, (left + pad, top + pad + th), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale, style.text_colour, text_thick, cv2.LINE_AA)
    return out
