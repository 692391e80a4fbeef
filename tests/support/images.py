"""Test pictures made by code, never copied: PNG bytes, and a mask drawn on a face."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


#: Where the drawn mask's top edge sits, as a share of the detector box's height: over the
#: nose bridge when worn properly, under the nose tip when pulled down. (Until the third
#: class, the top sat at 0.55: on the astronaut that is the nose tip, which a model that
#: tells a mask below the nose rightly reads as worn too low.)
MASK_TOP = {"properly": 0.42, "below_nose": 0.68}


def paint_mask(rgb: np.ndarray, box, alpha: float = 1.0, worn: str = "properly") -> np.ndarray:
    """A light-blue surgical-mask shape over the lower face in ``box`` (a detector box),
    blended with ``alpha``, worn ``properly`` (nose and mouth covered) or ``below_nose``:
    a masked face we may publish and commit."""
    import cv2

    x, y, w, h = box
    top = MASK_TOP[worn]
    pts = np.array([[x + w // 10, y + int(top * h)], [x + int(.9 * w), y + int(top * h)],
                    [x + int(.95 * w), y + int(1.05 * h)], [x + w // 2, y + int(1.2 * h)],
                    [x + w // 20, y + int(1.05 * h)]], np.int32)
    painted = rgb.copy()
    cv2.fillPoly(painted, [pts], (170, 200, 230))
    return cv2.addWeighted(painted, alpha, rgb, 1 - alpha, 0)


def png_bytes(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def phone_photo(width: int, height: int, seed: int = 0, faces: int = 4) -> bytes:
    """A JPEG the size of a phone camera's, like a photo of a group: a smooth, slightly noisy
    scene with ``faces`` copies of skimage's astronaut at a tenth to a fifth of its height.
    Made in strips, so a 40 MP picture costs this process little memory."""
    import cv2
    from skimage import data

    rng = np.random.default_rng(seed)
    head = data.astronaut()[20:240, 130:330]
    scene = cv2.resize(rng.integers(60, 200, (max(2, height // 50), max(2, width // 50), 3), dtype=np.uint8),
                       (width, height), interpolation=cv2.INTER_CUBIC)
    for k in range(faces):
        side = int(height * (0.1 + 0.1 * k / max(1, faces - 1)))
        face = cv2.resize(head, (side * head.shape[1] // head.shape[0], side), interpolation=cv2.INTER_AREA)
        y, x = int(height * 0.25), int(width * (0.05 + 0.9 * k / max(1, faces)))
        h, w = face.shape[:2]
        scene[y:y + h, x:x + w] = face[: height - y, : width - x]
    for top in range(0, height, 512):
        strip = scene[top:top + 512]
        strip[:] = np.clip(strip + rng.integers(-8, 9, strip.shape, dtype=np.int16), 0, 255)
    buf = io.BytesIO()
    Image.fromarray(scene).save(buf, format="JPEG", quality=92)
    return buf.getvalue()
