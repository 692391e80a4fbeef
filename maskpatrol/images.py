"""Decoding and validation of user images, shared by the CLI and every page.

Everything a user can hand us (a phone JPEG lying on its side, a palette GIF, a 16-bit
TIFF, a CMYK print file, a zero-byte upload, a decompression bomb) ends here as either an
RGB ``uint8`` array or an :class:`ImageError` whose message can be shown as it is.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Refuse anything larger before decoding: 40 MP is above any phone camera and keeps a
#: decoded image (120 MB as RGB) within a 512 MB dyno.
MAX_PIXELS = 40_000_000

#: Rows converted to RGB at a time (about 4 MB of a 12 MP picture): the RGB array is filled
#: strip by strip, so no second full-size copy of the picture exists while it is converted.
STRIP_BYTES = 4 * 1024 * 1024

SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
#: Formats Pillow names differently that are one of ours: phone cameras write MPO (JPEG
#: with extra pictures such as a depth map appended); its first picture is a plain JPEG.
FORMAT_ALIASES = {"MPO": "JPEG"}
#: File extensions offered by upload widgets; matches :data:`SUPPORTED_FORMATS`.
SUPPORTED_EXTENSIONS = ("jpg", "jpeg", "png", "webp", "bmp", "gif", "tif", "tiff")

Source = Union[bytes, bytearray, memoryview, str, Path]

# Pillow warns about images over ~89 MP; our limit is lower and refuses them from the header
# with a message a user can act on, so the warning is noise. Set once at import: a
# ``warnings.catch_warnings()`` block per call is not thread-safe, and every browser session
# of the Streamlit server decodes in its own thread.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

#: EXIF tag 0x0112: how the camera was held (1 = upright; 5-8 turn by 90 degrees).
ORIENTATION_TAG = 0x0112


class ImageError(ValueError):
    """An image we cannot use; the message is written for the person who supplied it."""


@dataclass(frozen=True)
class DecodedImage:
    #: The first frame or page, upright, as RGB uint8 (H, W, 3); smaller than the file's
    #: picture when the caller asked for at most ``work_pixels`` (see :attr:`scale`).
    rgb: np.ndarray
    #: Frames or pages in the file (animated GIF/WEBP, multi-page TIFF), so a page can say
    #: that only the first was analysed. Read in the same pass as the pixels.
    frames: int = 1
    #: The upright picture's own (width, height); None means that of ``rgb``.
    full_size: tuple[int, int] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """The picture's (width, height) as the file holds it, upright."""
        return self.full_size or (int(self.rgb.shape[1]), int(self.rgb.shape[0]))

    @property
    def scale(self) -> tuple[float, float]:
        """(x, y) factors from ``rgb``'s pixels to the file's: (1.0, 1.0) when not reduced."""
        width, height = self.size
        return width / self.rgb.shape[1], height / self.rgb.shape[0]


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


def _grey_to_rgb(arr: np.ndarray) -> np.ndarray:
    """Stretch a 16/32-bit or float grey image to 0..255 and repeat it in three channels.

    float32, not float64: a 40 MP 16-bit image is 160 MB as float32 and would be 320 MB
    as float64, more than half of a 512 MB dyno.
    """
    arr = arr.astype(np.float32, copy=False)
    lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(arr.min()), float(arr.max())
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    grey = np.nan_to_num((arr - lo) * scale).round().clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=-1))


def _to_rgb(img: Image.Image) -> np.ndarray:
    """Convert any Pillow mode to RGB uint8, keeping what a person would see.

    Strip by strip into one preallocated array: converting the whole picture at once
    would hold Pillow's copy, the converted copy and NumPy's copy of it side by side."""
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        # 16/32-bit grey and float: Pillow's own convert("L") clips to 0..255, which turns a
        # normal 16-bit photo white. Stretch the real range (of the whole picture) instead.
        return _grey_to_rgb(np.asarray(img))
    width, height = img.size
    rows = max(1, STRIP_BYTES // (4 * width))
    out = np.empty((height, width, 3), dtype=np.uint8)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        out[top:bottom] = _strip_to_rgb(img.crop((0, top, width, bottom)))
    return out


def _strip_to_rgb(img: Image.Image) -> np.ndarray:
    """One strip of :func:`_to_rgb`: every conversion here is per pixel, so strips give
    exactly the pixels a whole-picture conversion would."""
    mode = img.mode
    if mode == "P":
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent areas become white, as a browser would show them on this app.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    rgb = img if mode == "RGB" else img.convert("RGB")
    return np.asarray(rgb, dtype=np.uint8)


def _too_large(label: str, width: int, height: int, max_pixels: int) -> ImageError:
    return ImageError(
        f"{label} is too large: {width}x{height} = {width * height / 1e6:.1f} megapixels "
        f"(limit {max_pixels / 1e6:.0f} MP). Please resize it and try again."
    )


def _bomb_message(label: str, exc: Exception, max_pixels: int) -> str:
    """Pillow refuses images over ~179 MP inside ``Image.open``, before we see the size;
    its message holds the pixel count, which we pass on in the same words as our own limit."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    size = f"{int(match.group(1)) / 1e6:.0f} megapixels" if match else "too many pixels"
    return (f"{label} is too large: {size} (limit {max_pixels / 1e6:.0f} MP). "
            "Please resize it and try again.")


def _upright(img: Image.Image) -> Image.Image:
    """Apply EXIF orientation. Broken EXIF never costs the user the photo: the pixels are
    fine, so a malformed orientation tag is ignored rather than refused. An upright picture
    is returned as it is (``exif_transpose`` would copy it)."""
    try:
        if img.getexif().get(ORIENTATION_TAG, 1) == 1:
            return img
        return ImageOps.exif_transpose(img) or img
    except Exception:  # noqa: BLE001 - any EXIF parsing failure means "no usable orientation"
        return img


def reduction(width: int, height: int, work_pixels: int | None) -> int:
    """The smallest whole factor (1, 2, 4 or 8, then any) that brings a picture within
    ``work_pixels``; 1 when it fits or there is no limit."""
    if work_pixels is None or width * height <= work_pixels:
        return 1
    factor = 2
    while math.ceil(width / factor) * math.ceil(height / factor) > work_pixels:
        factor = factor * 2 if factor < 8 else factor + 1
    return factor


def _reduced(img: Image.Image, work_pixels: int | None) -> Image.Image:
    """Load the pixels, at most ``work_pixels`` of them. A JPEG is decoded at 1/2, 1/4 or
    1/8 scale by its decoder (the full picture never exists in memory); other formats are
    decoded, then shrunk by box averaging."""
    factor = reduction(img.width, img.height, work_pixels)
    if factor > 1 and img.format in ("JPEG", "MPO"):
        img.draft(img.mode, (img.width // min(factor, 8), img.height // min(factor, 8)))
    img.load()
    factor = reduction(img.width, img.height, work_pixels)
    if factor > 1:
        if img.mode.startswith("I;"):  # 16-bit grey: reduce() wants 32-bit
            img = img.convert("I")
        elif img.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
            img = img.convert("RGBA" if "A" in img.mode or img.mode == "P" else "RGB")
        img = img.reduce(factor)
    return img


def _frames(img: Image.Image) -> int:
    """Frame count for the "only the first was analysed" notice: a notice, never a reason
    to refuse a file whose first frame decodes."""
    try:
        return max(1, int(getattr(img, "n_frames", 1)))
    except Exception:  # noqa: BLE001 - a damaged later frame must not cost the first
        return 1


def _decode(data: bytes, label: str, max_pixels: int, work_pixels: int | None) -> DecodedImage:
    """Header checks first (format, pixel count), then the pixels of the first frame."""
    img = Image.open(io.BytesIO(data))
    fmt = FORMAT_ALIASES.get(img.format or "", img.format)
    width, height = img.size
    if fmt not in SUPPORTED_FORMATS:
        raise ImageError(
            f"{label} is a {img.format} image; supported formats are " + ", ".join(SUPPORTED_FORMATS)
        )
    if width * height > max_pixels:
        raise _too_large(label, width, height, max_pixels)
    if width == 0 or height == 0:
        raise ImageError(f"{label} has no pixels ({width}x{height})")
    # Animated GIF/WEBP and multi-page TIFF: the first frame or page is the photo we analyse.
    frames = _frames(img)
    img.seek(0)
    transposed = _upright_size(img)
    img = _upright(_reduced(img, work_pixels))
    if img.width * img.height > max_pixels:  # rotation never grows it; a safety net only
        raise _too_large(label, img.width, img.height, max_pixels)
    return DecodedImage(_to_rgb(img), frames, (height, width) if transposed else (width, height))


def _upright_size(img: Image.Image) -> bool:
    """Whether the EXIF orientation turns the picture by 90 degrees (width and height swap)."""
    try:
        return img.getexif().get(ORIENTATION_TAG, 1) in (5, 6, 7, 8)
    except Exception:  # noqa: BLE001 - as in _upright: broken EXIF is no orientation
        return False


def load_image(source: Source, *, max_pixels: int = MAX_PIXELS, name: str | None = None,
               work_pixels: int | None = None) -> np.ndarray:
    """Decode ``source`` (bytes or a path) to an RGB ``uint8`` array of shape (H, W, 3).

    The same as :func:`decode_image`, for callers that need only the pixels."""
    return decode_image(source, max_pixels=max_pixels, name=name, work_pixels=work_pixels).rgb


def decode_image(source: Source, *, max_pixels: int = MAX_PIXELS, name: str | None = None,
                 work_pixels: int | None = None) -> DecodedImage:
    """Decode ``source`` (bytes or a path): its first frame as RGB ``uint8`` and its frame count.

    EXIF orientation is applied so faces are upright, animated images and multi-page TIFFs
    give their first frame, and the pixel count is checked from the header, before any
    pixel is decoded. With ``work_pixels``, a larger picture is decoded shrunk by a whole
    factor to at most that many pixels (:func:`reduction`); :attr:`DecodedImage.scale`
    maps its pixels back to the file's. Whatever the bytes are, the only exception is :class:`ImageError`
    (a fuzz test holds us to that): a decoder's own error type, text or traceback never
    reaches a user.
    """
    label = name or (str(source) if isinstance(source, (str, Path)) else "The file")
    data = _open_bytes(source)
    if not data:
        raise ImageError(f"{label} is empty (0 bytes)")
    try:
        return _decode(data, label, max_pixels, work_pixels)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(
            f"{label} is not an image we can read (supported: {', '.join(SUPPORTED_FORMATS)})"
        ) from None
    except Image.DecompressionBombError as exc:
        raise ImageError(_bomb_message(label, exc, max_pixels)) from None
    except MemoryError:
        raise ImageError(f"{label} needs more memory to decode than this server has. "
                         "Please resize it and try again.") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{label} is corrupt or truncated and could not be decoded ({_short(exc)})") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise anything on hostile input
        # struct.error, IndexError, TypeError, ZeroDivisionError, ... from a malformed
        # header: the file is broken, and the user hears exactly that.
        raise ImageError(f"{label} is corrupt and could not be decoded ({type(exc).__name__})") from None


def _short(exc: BaseException, limit: int = 160) -> str:
    """The decoder's reason, on one line and short enough for a message box."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes of an RGB array, for downloads."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


#: Quality of the JPEG previews kept in memory: no visible loss at screen size.
PREVIEW_JPEG_QUALITY = 90


def encode_jpeg(rgb: np.ndarray, quality: int = PREVIEW_JPEG_QUALITY) -> bytes:
    """JPEG bytes of an RGB array: a picture kept in memory at a tenth of its pixels' size."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()
