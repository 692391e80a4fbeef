"""The bad-input corpus, generated at test time (no binaries are committed).

Each :class:`Case` is one file a visitor might upload, with what a user must see for it:
either a clear error (``error`` is a regex the message must match) or a correct result
(``faces`` is the exact number of faces the default settings must find). Faces come from
one real photo (scikit-image's astronaut) cropped around the face the detector finds and
tiled on a grid, so an image with ``n`` faces really has ``n`` detectable faces.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image

#: Padding around the detected face box in a tile, as a fraction of the box side.
TILE_MARGIN = 0.5
#: Pixels between tiles and around the grid.
GAP = 24


@dataclass(frozen=True)
class Case:
    """One corpus file: its name, bytes and what the user must get."""

    name: str
    data: bytes
    error: str | None = None  # regex the user-facing message must match
    faces: int | None = None  # exact face count for a readable image
    size: tuple[int, int] | None = None  # (width, height) the result must report

    @property
    def ok(self) -> bool:
        return self.error is None


def encode(img: Image.Image | np.ndarray, fmt: str, **kw) -> bytes:
    """Bytes of ``img`` saved as ``fmt`` (Pillow's encoder)."""
    if isinstance(img, np.ndarray):
        img = Image.fromarray(img)
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@lru_cache(maxsize=1)
def face_tile() -> np.ndarray:
    """The astronaut's face with a margin, as the detector finds it (computed once)."""
    from skimage import data

    from maskpatrol.pipeline import MaskPatrol

    rgb = np.ascontiguousarray(data.astronaut())
    x, y, w, h = MaskPatrol.load().analyze(rgb)[0].box
    m = int(w * TILE_MARGIN)
    return np.ascontiguousarray(rgb[max(0, y - m): y + h + m, max(0, x - m): x + w + m])


def paint_mask(tile: np.ndarray) -> np.ndarray:
    """A light-blue surgical-mask shape over nose and mouth of a face tile."""
    th, tw = tile.shape[:2]
    # The face box sits inside the tile with TILE_MARGIN on each side.
    side = int(round(tw / (1 + 2 * TILE_MARGIN)))
    x = y = int(side * TILE_MARGIN)
    w = h = side
    pts = np.array([[x + w // 10, y + int(.55 * h)], [x + int(.9 * w), y + int(.55 * h)],
                    [x + int(.95 * w), y + int(1.05 * h)], [x + w // 2, y + int(1.2 * h)],
                    [x + w // 20, y + int(1.05 * h)]], np.int32)
    out = tile.copy()
    cv2.fillPoly(out, [pts], (170, 200, 230))
    return out


def face_grid(n: int, masked: int = 0, background: int = 200, gap: int = GAP) -> np.ndarray:
    """An RGB image with ``n`` faces on a near-square grid; the last ``masked`` wear masks.

    Tiles sit ``gap`` pixels apart and from the border: the detector's scan windows step
    over the image, and a masked face flush with the right edge was missed without it.
    Masked faces are still found less reliably than bare ones (Haar looks for nose and
    mouth), so a test that needs exact counts checks the grid with the pipeline first.
    ``n == 0`` gives a plain one-tile grey picture (nothing face-like in it).
    """
    tile = face_tile()
    th, tw = tile.shape[:2]
    cols = max(1, int(np.ceil(np.sqrt(n))))
    rows = max(1, int(np.ceil(n / cols)))
    canvas = np.full((rows * (th + gap) + gap, cols * (tw + gap) + gap, 3), background, np.uint8)
    masked_tile = paint_mask(tile) if masked else tile
    for i in range(n):
        r, c = divmod(i, cols)
        y, x = gap + r * (th + gap), gap + c * (tw + gap)
        canvas[y:y + th, x:x + tw] = masked_tile if i >= n - masked else tile
    return canvas


def png_with_header_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb's shape)."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


def _exif_rotated_face() -> bytes:
    """A JPEG stored lying on its side with EXIF orientation 6 ("rotate 90 CW to view"),
    as phones write portrait photos: the face is only found if the rotation is applied."""
    upright = face_grid(2)  # landscape, two faces: after rotation it must be 392x196 again
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # 90 CCW: viewing needs 90 CW
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", quality=95, exif=exif.tobytes())


def _animated_gif() -> bytes:
    """Two frames: a face first, a blank frame second. The first frame is what we analyse."""
    first = Image.fromarray(face_grid(1)).convert("P", palette=Image.Palette.ADAPTIVE)
    blank = Image.new("P", first.size, 0)
    return encode(first, "GIF", save_all=True, append_images=[blank], duration=200, loop=0)


def _multipage_tiff() -> bytes:
    """Page 1 has two faces, page 2 is blank: the first page is what we analyse."""
    first = Image.fromarray(face_grid(2))
    return encode(first, "TIFF", save_all=True, append_images=[Image.new("RGB", first.size, (0, 0, 0))])


def _png16() -> bytes:
    """A 16-bit greyscale PNG (scanners, medical and astro cameras write these)."""
    grey = cv2.cvtColor(face_grid(1), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
    img = Image.fromarray(grey)
    assert img.mode.startswith("I;16"), img.mode
    return encode(img, "PNG")


def _cmyk_jpeg() -> bytes:
    """A CMYK JPEG (print workflows export these)."""
    return encode(Image.fromarray(face_grid(1)).convert("CMYK"), "JPEG", quality=95)


def _huge_jpeg() -> bytes:
    """A valid 8000x6000 (48 MP) JPEG: above the 40 MP limit, so it must be refused
    with a message saying so, from the header, before 144 MB of pixels are decoded."""
    # A smooth gradient compresses to a few hundred kB, so the file is valid and small.
    ramp = np.linspace(0, 255, 8000, dtype=np.float32).astype(np.uint8)
    rgb = np.broadcast_to(ramp[None, :, None], (6000, 8000, 3))
    return encode(np.ascontiguousarray(rgb), "JPEG", quality=70)


def bad_input_corpus() -> list[Case]:
    """Every kind of upload the issue lists, with the outcome a user must get."""
    one = face_grid(1)
    one_h, one_w = one.shape[:2]
    jpeg = encode(one, "JPEG", quality=90)
    png = encode(one, "PNG")
    g30 = face_grid(30)
    return [
        Case("zero_bytes.jpg", b"", error=r"zero_bytes\.jpg is empty"),
        Case("notes.jpg", b"Meeting notes: buy masks.\n" * 20, error=r"notes\.jpg is not an image we can read"),
        Case("truncated.jpg", jpeg[: len(jpeg) // 3], error=r"truncated\.jpg is corrupt or truncated"),
        Case("truncated.png", png[: len(png) // 2], error=r"truncated\.png is corrupt or truncated"),
        Case("bomb.png", png_with_header_size(100_000, 100_000),
             error=r"bomb\.png is too large: 10000 megapixels \(limit 40 MP\)"),
        Case("huge_8000x6000.jpg", _huge_jpeg(), error=r"huge_8000x6000\.jpg is too large: 8000x6000 = 48\.0 megapixels"),
        Case("one_pixel.png", encode(Image.new("RGB", (1, 1), (10, 20, 30)), "PNG"), faces=0, size=(1, 1)),
        Case("png16.png", _png16(), faces=1, size=(one_w, one_h)),
        Case("cmyk.jpg", _cmyk_jpeg(), faces=1, size=(one_w, one_h)),
        Case("animated.gif", _animated_gif(), faces=1, size=(one_w, one_h)),
        Case("multipage.tif", _multipage_tiff(), faces=2, size=face_grid(2).shape[1::-1]),
        Case("exif_rotated.jpg", _exif_rotated_face(), faces=2, size=face_grid(2).shape[1::-1]),
        Case("no_faces.png", encode(face_grid(0), "PNG"), faces=0, size=(one_w, one_h)),
        Case("thirty_faces.jpg", encode(g30, "JPEG", quality=92), faces=30, size=(g30.shape[1], g30.shape[0])),
    ]
