"""Large pictures are decoded shrunk by a whole factor, their size and scale still report the
file's own pixels, and the strip-by-strip conversion to RGB changes no pixel."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from maskpatrol import images
from maskpatrol.images import decode_image, reduction


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _photo(astronaut_rgb: np.ndarray, width: int, height: int) -> Image.Image:
    """The astronaut stretched to ``width`` x ``height``: real detail at any size."""
    return Image.fromarray(astronaut_rgb).resize((width, height), Image.BILINEAR)


# --- reduction ---------------------------------------------------------------------------

def test_a_picture_that_fits_or_has_no_limit_is_not_reduced():
    assert reduction(4032, 3024, 16_000_000) == 1  # a 12 MP phone photo
    assert reduction(4000, 4000, 16_000_000) == 1  # exactly at the limit
    assert reduction(8000, 6000, None) == 1


def test_a_picture_over_the_limit_is_halved():
    assert reduction(2000, 1000, 1_000_000) == 2  # twice the limit
    assert reduction(2000, 1001, 1_000_000) == 2  # just over twice: a half still fits


def test_a_40_mp_photo_at_16_mp_is_halved():
    assert reduction(7304, 5476, 16_000_000) == 2  # 40.0 MP to 10.0 MP


def test_factors_go_1_2_4_8_then_whole_numbers():
    # 1000 x 1000 = 1 MP. 5 would reach 40,000 px, but the steps below 8 are powers of 2.
    assert reduction(1000, 1000, 200_000) == 4   # 62,500 px
    assert reduction(1000, 1000, 50_000) == 8    # 4 gives 62,500 > 50,000
    assert reduction(1000, 1000, 15_625) == 8    # 125 x 125 exactly
    assert reduction(1000, 1000, 15_624) == 9    # 112 x 112 = 12,544: one step, not 16
    assert reduction(1000, 1000, 1_000) == 33    # 31 x 31 = 961 (32 gives 32 x 32 = 1,024)


def test_the_reduced_size_counts_partial_pixels_at_the_edges():
    # 1001 x 1001 / 2 is 501 x 501 = 251,001 px after rounding up: over 250,500.
    assert reduction(1001, 1001, 250_500) == 4


# --- decode_image(work_pixels=...) -------------------------------------------------------

def test_a_jpeg_over_work_pixels_is_decoded_at_half_size_by_its_decoder(astronaut_rgb, monkeypatch):
    data = _save(_photo(astronaut_rgb, 2000, 1000), "JPEG", quality=92)
    drafts = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def draft(self, mode, size):
        result = real_draft(self, mode, size)
        drafts.append(self.size)  # the size the decoder will produce
        return result

    def no_reduce(self, *args, **kwargs):
        raise AssertionError("the JPEG was decoded whole and then shrunk")

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    monkeypatch.setattr(Image.Image, "reduce", no_reduce)
    decoded = decode_image(data, work_pixels=1_000_000)
    assert drafts == [(1000, 500)]
    assert decoded.rgb.shape == (500, 1000, 3)
    assert decoded.size == (2000, 1000)
    assert decoded.scale == (2.0, 2.0)


def test_the_half_size_jpeg_shows_the_same_picture(astronaut_rgb):
    full = _photo(astronaut_rgb, 2000, 1000)
    decoded = decode_image(_save(full, "JPEG", quality=92), work_pixels=1_000_000)
    expected = np.asarray(full.reduce(2), dtype=int)
    assert np.abs(decoded.rgb.astype(int) - expected).mean() < 4


def test_a_png_over_work_pixels_is_reduced_by_box_averaging(astronaut_rgb):
    full = _photo(astronaut_rgb, 1200, 900)
    decoded = decode_image(_save(full, "PNG"), work_pixels=200_000)  # 1.08 MP; 2 gives 270,000 px, 4 gives 67,500
    assert decoded.rgb.shape == (225, 300, 3)
    assert decoded.size == (1200, 900)
    assert decoded.scale == (4.0, 4.0)
    # Lossless file, so exactly Pillow's box reduction of the picture.
    assert np.array_equal(decoded.rgb, np.asarray(full.reduce(4)))


def test_a_reduced_size_that_does_not_divide_gives_the_exact_scale(astronaut_rgb):
    decoded = decode_image(_save(_photo(astronaut_rgb, 1001, 601), "PNG"), work_pixels=200_000)
    assert decoded.rgb.shape == (301, 501, 3)  # rounded up: the edge pixels are kept
    assert decoded.size == (1001, 601)
    assert decoded.scale == (1001 / 501, 601 / 301)


def test_a_picture_within_work_pixels_is_decoded_whole(astronaut_rgb):
    full = _photo(astronaut_rgb, 400, 300)
    decoded = decode_image(_save(full, "PNG"), work_pixels=120_000)
    assert decoded.rgb.shape == (300, 400, 3)
    assert decoded.size == (400, 300) and decoded.scale == (1.0, 1.0)
    assert np.array_equal(decoded.rgb, np.asarray(full))


def test_an_exif_rotated_jpeg_reports_its_upright_size_and_scale():
    # Stored 2000 x 1000 with the left half white; orientation 6 shows it upright as
    # 1000 x 2000 with that half on top.
    img = Image.new("RGB", (2000, 1000), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 1000, 1000))
    exif = Image.Exif()
    exif[images.ORIENTATION_TAG] = 6
    decoded = decode_image(_save(img, "JPEG", exif=exif.tobytes(), quality=95), work_pixels=1_000_000)
    assert decoded.rgb.shape == (1000, 500, 3)
    assert decoded.size == (1000, 2000)
    assert decoded.scale == (2.0, 2.0)
    assert decoded.rgb[:480].mean() > 200 and decoded.rgb[520:].mean() < 50


# --- strip-by-strip conversion -----------------------------------------------------------

def _whole_picture_rgb(img: Image.Image) -> np.ndarray:
    """What a person sees, converted in one go by Pillow: transparency over white."""
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return np.asarray(img.convert("RGB"))


@pytest.fixture
def strips(monkeypatch):
    """Force strips of ``rows`` rows for a picture ``width`` wide; records each strip's height."""
    heights: list[int] = []
    real = images._strip_to_rgb

    def spy(img):
        heights.append(img.height)
        return real(img)

    monkeypatch.setattr(images, "_strip_to_rgb", spy)

    def force(width: int, rows: int) -> list[int]:
        monkeypatch.setattr(images, "STRIP_BYTES", 4 * width * rows)
        return heights

    return force


def _with_alpha(rgb: Image.Image) -> Image.Image:
    """``rgb`` with an alpha ramp from clear (left) to opaque (right), every level present."""
    alpha = np.tile(np.linspace(0, 255, rgb.width).round().astype(np.uint8), (rgb.height, 1))
    out = rgb.convert("RGBA")
    out.putalpha(Image.fromarray(alpha))
    return out


def _in_mode(base: Image.Image, mode: str) -> tuple[Image.Image, str]:
    """``base`` in ``mode``, and a lossless format that keeps the mode."""
    if mode == "RGBA":
        return _with_alpha(base), "PNG"
    if mode == "LA":
        return _with_alpha(base).convert("LA"), "PNG"
    if mode == "P":
        pal = base.convert("P", palette=Image.ADAPTIVE, colors=64)
        pal.info["transparency"] = 0  # one palette entry is see-through
        return pal, "PNG"
    return base.convert(mode), "TIFF" if mode == "CMYK" else "PNG"


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "LA", "CMYK"])
def test_strips_give_exactly_the_whole_picture_conversion(astronaut_rgb, strips, mode):
    img, fmt = _in_mode(_photo(astronaut_rgb, 97, 61), mode)
    data = _save(img, fmt)
    opened = Image.open(io.BytesIO(data))
    assert opened.mode == mode  # the file kept the mode under test
    heights = strips(97, 7)
    rgb = decode_image(data).rgb
    assert heights == [7] * 8 + [5]  # 61 rows: eight whole strips and a short last one
    expected = _whole_picture_rgb(opened)
    assert rgb.shape == expected.shape == (61, 97, 3)
    assert np.array_equal(rgb, expected)


def test_a_tall_picture_in_many_strips_changes_no_pixel(astronaut_rgb, strips):
    img = _with_alpha(_photo(astronaut_rgb, 37, 1000))
    data = _save(img, "PNG")
    heights = strips(37, 3)
    rgb = decode_image(data).rgb
    assert len(heights) == 334 and sum(heights) == 1000
    assert np.array_equal(rgb, _whole_picture_rgb(Image.open(io.BytesIO(data))))


def test_a_picture_wider_than_a_strip_is_converted_a_row_at_a_time(astronaut_rgb, strips):
    heights = strips(200, 0)  # STRIP_BYTES 0: not even one row fits
    data = _save(_photo(astronaut_rgb, 200, 20), "PNG")
    rgb = decode_image(data).rgb
    assert heights == [1] * 20
    assert np.array_equal(rgb, _whole_picture_rgb(Image.open(io.BytesIO(data))))
