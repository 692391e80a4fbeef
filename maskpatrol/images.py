"""Decoding and validation of user images, shared by the CLI and every page.

Everything a user can hand us (a phone JPEG lying on its side, a palette GIF, a 16-bit
TIFF, a CMYK print file, a zero-byte upload, a decompression bomb) ends here as either an
RGB ``uint8`` array or an :class:`ImageError` whose message can be shown as it is.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Refuse anything larger before decoding: 40 MP is above any phone camera and keeps a
#: decoded image (120 MB as RGB) within a 512 MB dyno.
MAX_PIXELS = 40_000_000

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
#: File extensions offered by upload widgets; matches :data:`SUPPORTED_FORMATS`.
SUPPORTED_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")

Source = Union[bytes, bytearray, memoryview, str, Path]


class ImageError(ValueError):
    """An image we cannot use; the message is written for the person who supplied it."""


def _open_bytes(source: Source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    path = Path(source)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageError(f"File not found: {path}") from None
    except IsADirectoryError:
        raise ImageError(f"{path} is a folder, not an image file") from None
    except PermissionError:
        raise ImageError(f"Permission denied reading {path}") from None
    except OSError as exc:
        raise ImageError(f"Could not read {path}: {exc.strerror or exc}") from None


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to RGB uint8, keeping what a person would see."""
    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grey: Pillow's own convert("L") clips to 0..255, which turns a
        # normal 16-bit photo white. Stretch the real range instead.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        grey = ((arr - lo) * scale).round().astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        grey = np.nan_to_num((arr - lo) * scale).round().astype(np.uint8)
        return np.ascontiguousarray(np.stack([grey] * 3, axis=-1))
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent areas become white, as a browser would show them on this app.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    rgb = img.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def load_image(source: Source, *, max_pixels: int = MAX_PIXELS, name: str | None = None) -> np.ndarray:
    """Decode ``source`` (bytes or a path) to an RGB ``uint8`` array of shape (H, W, 3).

    EXIF orientation is applied so faces are upright, animated images give their first
    frame, and the pixel count is checked from the header, before any pixel is decoded.
    """
    label = name or (str(source) if isinstance(source, (str, Path)) else "The file")
    data = _open_bytes(source)
    if not data:
        raise ImageError(f"{label} is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns or raises at ~89 MP; ours is stricter and
            # gives a message a user can act on, so silence Pillow's.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            fmt = img.format
            width, height = img.size
            if fmt not in SUPPORTED_FORMATS:
                raise ImageError(
                    f"{label} is a {fmt} image; supported formats are "
                    + ", ".join(SUPPORTED_FORMATS)
                )
            if width * height > max_pixels:
                raise ImageError(
                    f"{label} is too large: {width}x{height} = {width * height / 1e6:.1f} megapixels "
                    f"(limit {max_pixels / 1e6:.0f} MP). Please resize it and try again."
                )
            if width == 0 or height == 0:
                raise ImageError(f"{label} has no pixels ({width}x{height})")
            img.seek(0)
            img.load()
            img = ImageOps.exif_transpose(img) or img
            return _to_rgb(img)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(
            f"{label} is not an image we can read (supported: {', '.join(SUPPORTED_FORMATS)})"
        ) from None
    except Image.DecompressionBombError:
        raise ImageError(f"{label} is too large to decode safely") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{label} is corrupt or truncated and could not be decoded ({exc})") from None


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an RGB array, for downloads."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()
