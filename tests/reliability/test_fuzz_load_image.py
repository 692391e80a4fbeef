"""Fuzzing ``maskpatrol.images.load_image``: whatever bytes arrive, only ImageError escapes.

Pure random bytes rarely get past the first magic-number check, so most examples mutate
small valid files of every supported format (flipped bytes, cut tails, spliced headers),
which reaches the decoders' header and body parsers. Hypothesis runs derandomized (a fixed
seed per test) with no example database, so CI sees the same examples on every run.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from PIL import Image, TiffTags

from support.paths import ARTIFACTS
from support.corpus import encode
from maskpatrol.images import ImageError, load_image

# Hypothesis keeps a cache of constants even without an example database; keep it in the
# git-ignored artifacts folder rather than a new .hypothesis/ at the repository root.
set_hypothesis_home_dir(str(ARTIFACTS / "hypothesis"))

#: Examples per test; the report quotes these counts.
RANDOM_EXAMPLES = 300
MUTATION_EXAMPLES = 700
EXIF_EXAMPLES = 300

def fuzz(max_examples: int) -> settings:
    """Deterministic, database-free settings (nothing is written to .hypothesis/)."""
    return settings(max_examples=max_examples, derandomize=True, database=None, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _seeds() -> list[bytes]:
    """Small valid files: every supported format, and the modes with their own code paths."""
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: phones write it, so exif_transpose runs on every photo
    exif[0x010F] = "Phone"  # Make and Model: ASCII entries whose tags and types get mutated
    exif[0x0110] = "Model X"
    grey16 = Image.fromarray((rng.integers(0, 65535, (12, 16))).astype(np.uint16))
    return [
        encode(rgb, "JPEG", quality=80, exif=exif.tobytes()),
        encode(rgb, "PNG"),
        encode(rgb.convert("RGBA"), "PNG"),
        encode(grey16, "PNG"),
        encode(rgb, "WEBP", quality=80),
        encode(rgb, "BMP"),
        encode(rgb.convert("P"), "GIF", save_all=True, append_images=[rgb.convert("P").rotate(90)]),
        encode(rgb, "TIFF", save_all=True, append_images=[rgb.rotate(180)]),
        encode(rgb.convert("CMYK"), "JPEG"),
        encode(rgb.convert("CMYK"), "TIFF"),
        encode(grey16, "TIFF"),
        encode(rgb, "MPO", save_all=True, append_images=[rgb.rotate(90)]),
    ]


SEEDS = _seeds()


def _check(data: bytes) -> None:
    """The property: an RGB uint8 array, or an ImageError with a message a person can read."""
    try:
        rgb = load_image(data, name="upload.bin")
    except ImageError as exc:
        message = str(exc)
        assert message.startswith("upload.bin ") and "Traceback" not in message and len(message) < 400
        return
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.size > 0


@fuzz(RANDOM_EXAMPLES)
@given(st.binary(min_size=0, max_size=4096))
def test_random_bytes_only_raise_image_error(data: bytes) -> None:
    _check(data)


@st.composite
def mutated_files(draw) -> bytes:
    """A seed file with a few bytes overwritten, possibly cut short, possibly with a tail appended."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    # Headers (and a JPEG's EXIF block) hold sizes, offsets, tags and counts: bias edits
    # to the first 96 bytes.
    for _ in range(draw(st.integers(1, 6))):
        hi = min(len(data) - 1, 95) if draw(st.integers(0, 3)) else len(data) - 1
        data[draw(st.integers(0, hi))] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(1, len(data)))]
    if draw(st.integers(0, 4)) == 0:
        data += draw(st.binary(max_size=64))
    return bytes(data)


@fuzz(MUTATION_EXAMPLES)
@given(mutated_files())
def test_mutated_images_only_raise_image_error(data: bytes) -> None:
    _check(data)


#: A phone-like JPEG (orientation, Make, Model) for the structured EXIF fuzzer below.
EXIF_JPEG = SEEDS[0]
_TIFF = EXIF_JPEG.index(b"Exif\x00\x00") + 6  # where the EXIF's TIFF header starts
_ENTRIES = _TIFF + 10  # first 12-byte IFD entry (after the 8-byte header and the 2-byte count)


KNOWN_TAGS = sorted(TiffTags.TAGS_V2)


@st.composite
def damaged_exif(draw) -> bytes:
    """The same photo with IFD entries rewritten: tags, types, counts and offsets that do not
    fit each other, as buggy phone apps and hostile uploads produce. Random byte flips
    rarely land here; this is where a raw struct.error once escaped."""
    data = bytearray(EXIF_JPEG)
    for _ in range(draw(st.integers(1, 3))):
        entry = _ENTRIES + 12 * draw(st.integers(0, 2))
        offset, size = draw(st.sampled_from([(0, 2), (2, 2), (4, 4), (8, 4)]))  # tag, type, count, value
        if offset == 0 and draw(st.booleans()):  # a real tag that expects another type
            value = draw(st.sampled_from(KNOWN_TAGS)).to_bytes(2, "big")
        else:
            value = draw(st.binary(min_size=size, max_size=size))
        data[entry + offset: entry + offset + size] = value
    return bytes(data)


@fuzz(EXIF_EXAMPLES)
@given(damaged_exif())
def test_damaged_exif_only_raises_image_error(data: bytes) -> None:
    _check(data)


@pytest.mark.parametrize("seed", range(len(SEEDS)))
def test_every_seed_decodes(seed: int) -> None:
    """The mutation fuzzer starts from files that really decode (else it fuzzes nothing)."""
    rgb = load_image(SEEDS[seed])
    assert rgb.shape[2] == 3 and rgb.shape[0] in (24, 32, 12, 16)
