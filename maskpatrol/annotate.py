"""Drawing results onto images, for pages, downloads and the webcam stream."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .pipeline import Face

# Colours in RGB. Green/red alone fails the ~8% of men with red-green colour blindness,
# so the label text and the line style (thick for "No mask") carry the meaning too.
MASK_RGB = (0, 200, 83)
NO_MASK_RGB = (230, 30, 30)
# Label text on those fills, for contrast (WCAG): black on the green is 9.4:1 (white was
# 2.2:1, unreadable for many), white on the red 4.6:1.
MASK_TEXT_RGB = (0, 0, 0)
NO_MASK_TEXT_RGB = (255, 255, 255)


def label_text(face: Face, show_probability: bool = True) -> str:
    name = "Mask" if face.masked else "No mask"
    if not show_probability:
        return name
    confidence = 1.0 - face.p_no_mask if face.masked else face.p_no_mask
    return f"{name} {confidence * 100:.0f}%"


def annotate(rgb: np.ndarray, faces: Sequence[Face], show_probability: bool = True,
             in_place: bool = False) -> np.ndarray:
    """Boxes and labels on a copy of ``rgb`` (or on ``rgb`` itself for video frames)."""
    out = rgb if in_place else rgb.copy()
    height, width = out.shape[:2]
    base = max(1.0, min(width, height) / 640.0)
    for face in faces:
        x, y, w, h = face.box
        colour = MASK_RGB if face.masked else NO_MASK_RGB
        thickness = max(2, int(round((2 if face.masked else 4) * base)))
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thickness)
        text = label_text(face, show_probability)
        font_scale = max(0.45, min(2.5, w / 160.0, 0.6 * base))
        text_thick = max(1, int(round(font_scale * 2)))
        (tw, th), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, text_thick)
        pad = max(2, int(round(3 * font_scale)))
        top = y - th - baseline - 2 * pad
        if top < 0:  # no room above the box: put the label inside it
            top = y
        left = min(max(0, x), max(0, width - tw - 2 * pad))
        cv2.rectangle(out, (left, top), (left + tw + 2 * pad, top + th + baseline + 2 * pad), colour, -1)
        cv2.putText(out, text, (left + pad, top + pad + th), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale, MASK_TEXT_RGB if face.masked else NO_MASK_TEXT_RGB, text_thick, cv2.LINE_AA)
    return out
