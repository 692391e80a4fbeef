"""Paint face masks onto unmasked faces: training data for the third class, "incorrect".

No real, licensed set of incorrectly worn masks is available to us, so they are drawn: five
face landmarks (eyes, nose tip, mouth corners, as YuNet gives them) place a mask in the
face's own frame, so it follows the face's roll, yaw and size. Three ways to wear it:

- ``correct``: over the nose bridge, down past the chin (class "mask");
- ``below_nose``: the top edge between the nose tip and the upper lip, nose left out;
- ``chin``: the top edge under the lower lip, mouth and nose left out.

Painting correct masks too matters as much as the incorrect ones: if only incorrect masks
were drawn, "drawn texture" would predict the class and a real mask under the nose would
still read "mask". With both, only *where* the mask sits separates them.

Everything random comes from the ``rng`` passed in, so a seed gives the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

Style = Literal["correct", "below_nose", "chin"]
STYLES: tuple[Style, ...] = ("correct", "below_nose", "chin")
INCORRECT_STYLES: tuple[Style, ...] = ("below_nose", "chin")

#: Mask colours (RGB) and how often each is drawn: surgical blue and white, black and grey
#: cloth, navy, then anything (prints, fashion masks).
PALETTE: tuple[tuple[tuple[int, int, int], float], ...] = (
    ((150, 190, 225), 0.26), ((235, 238, 240), 0.16), ((30, 30, 34), 0.20),
    ((130, 130, 135), 0.09), ((40, 55, 95), 0.08),
)
#: Anti-aliasing: the outline is drawn this much larger, then shrunk.
SUPERSAMPLE = 4


@dataclass(frozen=True)
class Landmarks:
    """Five points in image pixels, in YuNet's order: the two eyes, the nose tip, the two
    mouth corners (each pair in image left-to-right order after :func:`from_yunet`)."""

    eye_l: np.ndarray
    eye_r: np.ndarray
    nose: np.ndarray
    mouth_l: np.ndarray
    mouth_r: np.ndarray

    @classmethod
    def from_points(cls, points) -> "Landmarks":
        p = [np.asarray(q, dtype=np.float64) for q in points]
        eyes = sorted(p[0:2], key=lambda q: q[0])
        mouth = sorted(p[3:5], key=lambda q: q[0])
        return cls(eyes[0], eyes[1], p[2], mouth[0], mouth[1])

    def frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(origin, x axis, y axis, eye distance): the face's own frame, origin between the
        eyes, x along the eye line, y down the face; both axes unit length in pixels."""
        origin = (self.eye_l + self.eye_r) / 2
        ex = self.eye_r - self.eye_l
        d = float(np.hypot(*ex))
        ux = ex / max(d, 1e-6)
        uy = np.array([-ux[1], ux[0]])
        return origin, ux, uy, d

    def in_frame(self) -> dict[str, np.ndarray]:
        origin, ux, uy, _ = self.frame()
        to = lambda q: np.array([(q - origin) @ ux, (q - origin) @ uy])  # noqa: E731
        return {"nose": to(self.nose), "mouth": to((self.mouth_l + self.mouth_r) / 2),
                "mouth_l": to(self.mouth_l), "mouth_r": to(self.mouth_r),
                "eye_l": to(self.eye_l), "eye_r": to(self.eye_r)}


def mask_outline(lm: Landmarks, style: Style, rng: np.random.Generator) -> np.ndarray:
    """The mask's outline as an (N, 2) float polygon in image pixels."""
    origin, ux, uy, d = lm.frame()
    f = lm.in_frame()
    nose_y, mouth_y = f["nose"][1], f["mouth"][1]
    mouth_y = max(mouth_y, nose_y + 0.15 * d)
    chin_y = mouth_y + (mouth_y - nose_y) * rng.uniform(1.5, 2.0)
    # Yaw moves the nose towards one cheek: the mask's centre follows it and the far half narrows.
    cx = float(rng.uniform(0.6, 0.9) * f["nose"][0])
    half = 0.5 * d
    left = d * rng.uniform(0.95, 1.15) * float(np.clip((f["nose"][0] - f["eye_l"][0]) / half, 0.45, 1.6))
    right = d * rng.uniform(0.95, 1.15) * float(np.clip((f["eye_r"][0] - f["nose"][0]) / half, 0.45, 1.6))
    if style == "correct":
        top = nose_y * rng.uniform(0.3, 0.6)
        bump = d * rng.uniform(0.08, 0.2)
    elif style == "below_nose":
        top = nose_y + (mouth_y - nose_y) * rng.uniform(0.3, 0.65)
        bump = d * rng.uniform(0.0, 0.08)
    else:  # chin: below the lower lip
        top = mouth_y + (chin_y - mouth_y) * rng.uniform(0.25, 0.5)
        bump = d * rng.uniform(0.0, 0.05)
        narrow = rng.uniform(0.8, 0.95)
        left, right = left * narrow, right * narrow
    # Under the jaw: a mask on the chin hangs lower than one worn properly.
    low = (0.15, 0.5) if style == "chin" else (-0.05, 0.3)
    bottom = chin_y + (chin_y - mouth_y) * rng.uniform(*low)
    waist = top + (bottom - top) * rng.uniform(0.35, 0.55)
    points: list[tuple[float, float]] = []
    # Top edge, left cheek to right cheek, raised in the middle (over the nose).
    for t in np.linspace(-1.0, 1.0, 13):
        x = cx + (t * left if t < 0 else t * right)
        points.append((x, top - bump * (1 - t * t) + 0.05 * d * t * t))
    # Right side down to the waist, then a half ellipse under the chin back to the left side.
    points.append((cx + right * rng.uniform(0.95, 1.05), waist))
    for a in np.linspace(0.0, np.pi, 15):
        w = right if a < np.pi / 2 else left
        points.append((cx + np.cos(a) * w * 0.98, waist + np.sin(a) * (bottom - waist)))
    pts = np.array(points)
    return origin + pts[:, :1] * ux + pts[:, 1:2] * uy


def _base_colour(rng: np.random.Generator) -> np.ndarray:
    colours, weights = zip(*PALETTE)
    other = 1.0 - sum(weights)
    pick = rng.choice(len(colours) + 1, p=[*weights, other])
    if pick == len(colours):
        return rng.uniform(20, 240, size=3)
    return np.array(colours[pick], dtype=np.float64) + rng.normal(0, 10, size=3)


def mask_texture(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A float RGB texture: a colour, maybe pleats or a print, fabric noise and the shading
    of a curved surface (darker at the sides and the lower edge)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    tex = np.broadcast_to(_base_colour(rng), (height, width, 3)).copy()
    kind = rng.random()
    if kind < 0.4:  # surgical pleats: a few horizontal folds
        n = int(rng.integers(2, 4))
        period = height / (n + 1.5)
        fold = 0.5 + 0.5 * np.cos(2 * np.pi * yy / period + rng.uniform(0, 6.3))
        tex *= (1 - rng.uniform(0.06, 0.18) * fold)[..., None]
    elif kind < 0.55:  # a print: stripes or dots of a second colour
        second = _base_colour(rng)
        scale = rng.uniform(4, 12)
        if rng.random() < 0.5:
            on = np.sin((xx * rng.uniform(-1, 1) + yy) / scale * np.pi) > 0.3
        else:
            on = (np.sin(xx / scale * np.pi) * np.sin(yy / scale * np.pi)) > 0.55
        tex[on] = second
    tex += rng.normal(0, rng.uniform(2, 9), size=tex.shape)  # fabric grain
    # Curved surface: lit in the middle, falling off to the cheeks and under the chin.
    u = (xx / max(width - 1, 1)) * 2 - 1
    v = yy / max(height - 1, 1)
    light_dir = rng.uniform(-0.5, 0.5)
    shade = 1.0 - rng.uniform(0.15, 0.4) * (u - light_dir) ** 2 - rng.uniform(0.0, 0.25) * v ** 2
    return tex * shade[..., None]


#: Where a donor's worn mask is surely fabric, in its face frame (eye distances from between
#: the eyes): across the cheeks, from just under the nose tip to under the mouth.
FABRIC_X = 0.95
FABRIC_BELOW_NOSE, FABRIC_BELOW_MOUTH = 0.05, 0.75


def fabric_texture(donor: np.ndarray, donor_lm: Landmarks, lm: Landmarks, outline: np.ndarray,
                   shape: tuple[int, int]) -> np.ndarray:
    """A real mask's fabric for a drawn outline: the part of ``donor`` (a photo of a mask worn
    properly, with its landmarks) that is surely fabric, stretched over the box ``outline``
    fills in this face's frame. Float RGB of ``shape``: its weave, print, folds and light are
    a real mask's, where ``mask_texture``'s are drawn."""
    o_b, ux_b, uy_b, d_b = donor_lm.frame()
    f_b = donor_lm.in_frame()
    top_b = f_b["nose"][1] + FABRIC_BELOW_NOSE * d_b
    bottom_b = max(f_b["mouth"][1], top_b + 0.3 * d_b) + FABRIC_BELOW_MOUTH * d_b
    at_b = lambda x, y: o_b + x * ux_b + y * uy_b  # noqa: E731
    src = np.float32([at_b(-FABRIC_X * d_b, top_b), at_b(FABRIC_X * d_b, top_b), at_b(-FABRIC_X * d_b, bottom_b)])
    origin, ux, uy, _ = lm.frame()
    local = np.stack([(outline - origin) @ ux, (outline - origin) @ uy], axis=1)
    (x0, y0), (x1, y1) = local.min(axis=0), local.max(axis=0)
    at = lambda x, y: origin + x * ux + y * uy  # noqa: E731
    dst = np.float32([at(x0, y0), at(x1, y0), at(x0, y1)])
    h, w = shape
    warped = cv2.warpAffine(donor, cv2.getAffineTransform(src, dst), (w, h), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REFLECT_101)
    return warped.astype(np.float64)


def paint_mask(rgb: np.ndarray, lm: Landmarks, style: Style, rng: np.random.Generator,
               fabric: tuple[np.ndarray, Landmarks] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``rgb`` wearing a mask the ``style`` way, and the alpha (0..1) it was painted
    with. ``fabric``: a photo of a real mask worn properly and its landmarks, whose fabric is
    used (``fabric_texture``) instead of a drawn one."""
    h, w = rgb.shape[:2]
    outline = mask_outline(lm, style, rng)
    s = SUPERSAMPLE
    canvas = np.zeros((h * s, w * s), np.uint8)
    cv2.fillPoly(canvas, [np.round(outline * s).astype(np.int32)], 255, lineType=cv2.LINE_AA)
    alpha = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0
    _, _, _, d = lm.frame()
    if rng.random() < 0.6:  # ear loops: thin strings from the mask's upper and lower corners outwards
        alpha_loops = np.zeros((h * s, w * s), np.uint8)
        thickness = max(1, int(round(d * s * rng.uniform(0.02, 0.04))))
        top_l, top_r, low_r, low_l = outline[0], outline[12], outline[13], outline[-1]
        origin, ux, uy, _ = lm.frame()
        for a, b in ((top_l, -1), (top_r, 1), (low_l, -1), (low_r, 1)):
            end = a + ux * b * d * rng.uniform(0.3, 0.5) - uy * d * rng.uniform(0.1, 0.4)
            cv2.line(alpha_loops, tuple(np.round(a * s).astype(int)), tuple(np.round(end * s).astype(int)),
                     255, thickness, cv2.LINE_AA)
        loops = cv2.resize(alpha_loops, (w, h), interpolation=cv2.INTER_AREA).astype(np.float64) / 255.0
        alpha = np.maximum(alpha, loops * rng.uniform(0.5, 0.9))
    if fabric is None:
        tex = mask_texture(h, w, rng)
        # Match the scene's light: a mask in a dark photo is dark too.
        face_light = float(rgb[alpha > 0.5].mean()) / 128.0 if (alpha > 0.5).any() else 1.0
        tex *= np.clip(face_light, 0.35, 1.5) ** rng.uniform(0.4, 0.8)
    else:
        tex = fabric_texture(fabric[0], fabric[1], lm, outline, (h, w))
    soft = cv2.GaussianBlur(alpha, (0, 0), max(0.3, d * rng.uniform(0.0, 0.02)))
    out = rgb.astype(np.float64) * (1 - soft[..., None]) + tex * soft[..., None]
    return np.clip(out, 0, 255).astype(np.uint8), soft
