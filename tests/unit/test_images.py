"""Every input a user may hand us decodes to upright RGB, or fails with a clear message."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from maskpatrol.images import MAX_PIXELS, ImageError, load_image


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def small(astronaut_rgb) -> Image.Image:
    return Image.fromarray(astronaut_rgb).resize((128, 96))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"])
def test_each_format_decodes_to_rgb(small, fmt):
    rgb = load_image(_save(small, fmt))
    assert rgb.dtype == np.uint8 and rgb.shape == (96, 128, 3)
    # The picture survives the trip (lossy formats and GIF's palette within tolerance).
    diff = np.abs(rgb.astype(int) - np.asarray(small, dtype=int)).mean()
    assert diff < 25


def test_gif_gives_first_frame():
    red = Image.new("RGB", (20, 20), (255, 0, 0))
    blue = Image.new("RGB", (20, 20), (0, 0, 255))
    data = _save(red, "GIF", save_all=True, append_images=[blue])
    rgb = load_image(data)
    assert rgb[10, 10, 0] > 200 and rgb[10, 10, 2] < 50


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 0))
    img.paste((255, 255, 255), (0, 0, 20, 20))  # white on the left half
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    rgb = load_image(_save(img, "JPEG", exif=exif.tobytes(), quality=95))
    assert rgb.shape[:2] == (40, 20)  # portrait after rotation
    assert rgb[:20].mean() > 200 and rgb[20:].mean() < 50  # left half is now on top


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "L", "CMYK", "I;16", "1"])
def test_modes_are_converted(small, mode):
    if mode == "I;16":
        grey = (np.asarray(small.convert("L"), dtype=np.uint16) * 257)
        img = Image.fromarray(grey)
        assert img.mode.startswith("I;16")
        data = _save(img, "PNG")
    else:
        img = small.convert(mode)
        data = _save(img, "TIFF" if mode == "CMYK" else "PNG")
    rgb = load_image(data)
    assert rgb.dtype == np.uint8 and rgb.shape == (96, 128, 3)
    assert rgb.std() > 10  # not blank, not clipped to white


def test_16bit_tiff_keeps_contrast():
    ramp = np.tile(np.linspace(0, 4000, 64).astype(np.uint16), (16, 1))
    rgb = load_image(_save(Image.fromarray(ramp), "TIFF"))
    assert rgb[:, 0].max() < 10 and rgb[:, -1].min() > 245


def test_transparency_becomes_white():
    img = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert load_image(_save(img, "PNG")).min() == 255


def _png_with_header_size(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height while holding almost no data."""
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")


def test_pixel_limit_refused_before_decoding():
    with pytest.raises(ImageError, match="too large.*megapixels"):
        load_image(_png_with_header_size(10000, 5000))  # 50 MP claimed, a few bytes of data
    assert MAX_PIXELS == 40_000_000


def test_custom_pixel_limit(small):
    with pytest.raises(ImageError, match="too large"):
        load_image(_save(small, "PNG"), max_pixels=1000)


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, this is a text file\n", "not an image"),
])
def test_bad_bytes_give_clear_errors(data, message):
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_truncated_jpeg(small):
    data = _save(small, "JPEG")
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(data[: len(data) // 3])


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_bomb_over_pillows_own_limit_gets_the_same_clear_message():
    # 100000 x 100000 trips Pillow's check inside Image.open, before our header check runs.
    with pytest.raises(ImageError, match=r"bomb\.png is too large: 10000 megapixels \(limit 40 MP\)\. Please resize"):
        load_image(_png_with_header_size(100_000, 100_000), name="bomb.png")


def test_mpo_from_a_phone_camera_is_read_as_jpeg(small):
    data = _save(small, "MPO", save_all=True, append_images=[small.rotate(90)])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    rgb = load_image(data)
    assert rgb.shape == (96, 128, 3)
    assert np.abs(rgb.astype(int) - np.asarray(small, dtype=int)).mean() < 25


def test_unsupported_format_names_itself(small):
    with pytest.raises(ImageError, match="is a PPM image; supported formats are JPEG, PNG"):
        load_image(_save(small, "PPM"), name="x.ppm")


def test_broken_exif_keeps_the_photo(small):
    """A photo whose EXIF block is damaged still has good pixels: keep them. (Found by
    fuzzing: a Make tag retagged as GrayResponseUnit made Pillow's EXIF reader raise a raw
    struct.error, which reached the user as a traceback.)"""
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation
    exif[0x010F] = "Phone"  # Make, ASCII
    data = _save(small, "JPEG", exif=exif.tobytes(), quality=95)
    start = data.index(b"Exif\x00\x00")
    entry = data.index(b"\x01\x0f\x00\x02", start)  # Make, type ASCII (big-endian IFD)
    broken = data[:entry] + b"\x01\x22" + data[entry + 2:]  # 0x0122 must be SHORT, not ASCII
    rgb = load_image(broken)
    assert rgb.dtype == np.uint8 and sorted(rgb.shape) == [3, 96, 128]


def test_multipage_tiff_gives_first_page():
    red = Image.new("RGB", (20, 10), (255, 0, 0))
    blue = Image.new("RGB", (40, 40), (0, 0, 255))
    rgb = load_image(_save(red, "TIFF", save_all=True, append_images=[blue]))
    assert rgb.shape == (10, 20, 3) and rgb[5, 5, 0] > 200 and rgb[5, 5, 2] < 50


def test_16bit_png_uses_full_range_without_float64():
    ramp = np.tile(np.linspace(1000, 3000, 32).astype(np.uint16), (8, 1))
    rgb = load_image(_save(Image.fromarray(ramp), "PNG"))
    assert rgb.dtype == np.uint8 and rgb[:, 0].max() == 0 and rgb[:, -1].min() == 255


def test_decoder_errors_of_any_type_become_image_errors(monkeypatch, small):
    """Whatever a decoder raises on hostile input (struct.error, IndexError, ...), the caller
    gets an ImageError naming the file, never the decoder's own exception."""
    import struct as struct_mod

    def boom(self):
        raise struct_mod.error("unpack requires a buffer of 4 bytes")

    data = _save(small, "PNG")
    monkeypatch.setattr(ImageFile.ImageFile, "load", boom)
    with pytest.raises(ImageError, match=r"x\.png is corrupt and could not be decoded \(error\)"):
        load_image(data, name="x.png")


def test_decoding_reports_the_frame_count_with_the_first_page(astronaut_rgb):
    import io

    from PIL import Image

    from maskpatrol.images import decode_image

    pages = [Image.fromarray(astronaut_rgb), Image.new("RGB", (64, 64)), Image.new("RGB", (32, 32))]
    buf = io.BytesIO()
    pages[0].save(buf, format="TIFF", save_all=True, append_images=pages[1:])
    decoded = decode_image(buf.getvalue())
    assert decoded.frames == 3
    np.testing.assert_array_equal(decoded.rgb, astronaut_rgb)  # the first page is the one analysed
    single = io.BytesIO()
    pages[0].save(single, format="PNG")
    assert decode_image(single.getvalue()).frames == 1
    with pytest.raises(ImageError):
        decode_image(b"not an image")
