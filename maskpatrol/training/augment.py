"""Augmentation that attacks kaggle12k's shortcut.

In kaggle12k every unmasked face is a tight, aligned, sharp CelebA crop, and masked faces
are varied web crops: framing, size and sharpness alone separate the classes. Here every
image of both classes gets random framing (tight to loose), the blur and blockiness of a
30-60 px face cut from a scene, JPEG damage, colour and light changes, flips and greyscale,
so those cues stop predicting the label and only the mask does. For the 3-class network,
whose training masks are partly drawn, flat colour beyond the edge and flat bands (canvases,
borders, plain shirts) keep a flat lower edge from passing for a mask drawn on the chin:
without them, unmasked faces pasted on a flat backdrop were called "mask below nose".
"""

from __future__ import annotations

import cv2
import numpy as np

from ..preprocess import INPUT_SIZE


#: Random framing: (smallest, largest window side as a share of the image, largest shift off
#: centre as a share, largest rotation in degrees). ``WEAR_FRAMING`` is milder, so that the
#: wear network's bands (``bands.py``) still hold the nose and the mouth.
FRAMING = (0.62, 1.35, 0.12, 12.0)
WEAR_FRAMING = (0.85, 1.2, 0.06, 10.0)


def _frame(img: np.ndarray, rng: np.random.Generator, out_size: int, flat: bool = True,
           framing: tuple[float, float, float, float] = FRAMING) -> np.ndarray:
    """Random square window: 0.6x (tight) to 1.35x (loose, edges replicated) of the image,
    shifted off-centre, slightly rotated (``framing`` sets those ranges)."""
    lo, hi, shift, max_angle = framing
    size = img.shape[0]
    side = size * rng.uniform(lo, hi)
    cx = size / 2 + rng.uniform(-shift, shift) * size
    cy = size / 2 + rng.uniform(-shift, shift) * size
    angle = rng.uniform(-max_angle, max_angle) if rng.random() < 0.4 else 0.0
    scale = out_size / side
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[0, 2] += out_size / 2 - cx
    m[1, 2] += out_size / 2 - cy
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    if flat and rng.random() < 0.35:
        # Flat colour beyond the photo's edge, as when a small photo sits on a canvas or a
        # face is cut at a frame's border: the drawn masks are flat colour on the lower face,
        # so without this a flat band under the chin alone read as "mask below the nose".
        fill = tuple(float(v) for v in rng.uniform(0, 255, size=3))
        return cv2.warpAffine(img, m, (out_size, out_size), flags=interp, borderMode=cv2.BORDER_CONSTANT,
                              borderValue=fill)
    return cv2.warpAffine(img, m, (out_size, out_size), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def _band(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A flat band across one edge (mostly the bottom: a plain shirt, a canvas, a border)."""
    out = img.copy()
    size = out.shape[0]
    depth = int(size * rng.uniform(0.08, 0.35))
    colour = rng.uniform(0, 255, size=3).astype(np.uint8)
    side = rng.choice(4, p=[0.7, 0.1, 0.1, 0.1])
    if side == 0:
        out[size - depth:] = colour
    elif side == 1:
        out[:depth] = colour
    elif side == 2:
        out[:, :depth] = colour
    else:
        out[:, size - depth:] = colour
    return out


def _colour(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = img.astype(np.float32)
    if rng.random() < 0.8:
        f *= rng.uniform(0.65, 1.35)  # brightness
        mean = f.mean()
        f = (f - mean) * rng.uniform(0.7, 1.3) + mean  # contrast
        grey = f.mean(axis=2, keepdims=True)
        f = (f - grey) * rng.uniform(0.6, 1.4) + grey  # saturation
        f += rng.uniform(-12, 12, size=3).astype(np.float32)  # colour cast
    return np.clip(f, 0, 255).astype(np.uint8)


def augment_one(img: np.ndarray, rng: np.random.Generator, out_size: int = INPUT_SIZE,
                flat: bool = True, framing: tuple[float, float, float, float] = FRAMING) -> np.ndarray:
    """One random training view (uint8, out_size x out_size x 3) of a preloaded face.

    ``flat=False`` leaves out the flat borders and bands: they are there to teach the
    network that a flat edge is no mask, not to stand for faces the app sees, so the
    views that pick the thresholds (``calibrate.py``) do without them."""
    x = _frame(img, rng, out_size, flat, framing)
    if flat and rng.random() < 0.15:
        x = _band(x, rng)
    if rng.random() < 0.5:  # a small face in a scene, upscaled by the pipeline
        small = int(rng.integers(18, 60))
        x = cv2.resize(x, (small, small), interpolation=cv2.INTER_AREA)
        x = cv2.resize(x, (out_size, out_size), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.25:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.4, 1.4))
    x = _colour(x, rng)
    if rng.random() < 0.1:
        x = np.repeat(cv2.cvtColor(x, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
    if rng.random() < 0.4:
        ok, buf = cv2.imencode(".jpg", x, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(15, 90))])
        if ok:
            x = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if rng.random() < 0.5:
        x = x[:, ::-1]
    return np.ascontiguousarray(x)


def augment_batch(images: np.ndarray, rng: np.random.Generator, out_size: int = INPUT_SIZE,
                  flat: bool = True, framing: tuple[float, float, float, float] = FRAMING) -> np.ndarray:
    out = np.empty((len(images), out_size, out_size, 3), np.uint8)
    for i, img in enumerate(images):
        out[i] = augment_one(img, rng, out_size, flat, framing)
    return out


def plain_view(images: np.ndarray, out_size: int = INPUT_SIZE) -> np.ndarray:
    """The un-augmented view used for validation and test: the whole square, resized."""
    out = np.empty((len(images), out_size, out_size, 3), np.uint8)
    for i, img in enumerate(images):
        out[i] = cv2.resize(img, (out_size, out_size), interpolation=cv2.INTER_AREA)
    return out
