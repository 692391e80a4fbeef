"""YuNet's tile-by-tile scaling (``DetectorSettings.scale_tiles``), used for photos the server
already shrank: the same faces as scaling the whole picture, without holding that copy."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from support.images import phone_photo
from maskpatrol.detectors import DetectorSettings
from maskpatrol.detectors.yunet import YuNetDetector, plan_passes, scaled_tile
from maskpatrol.images import load_image


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_image(phone_photo(3648, 2736, seed=2))


@pytest.mark.parametrize("scale", [0.94, 0.5, 1.7])
def test_a_tile_scaled_from_its_own_part_matches_the_whole_picture_scaled(photo, scale):
    h, w = photo.shape[:2]
    width, height = round(w * scale), round(h * scale)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    whole = cv2.resize(photo, (width, height), interpolation=interp)
    sx, sy = w / width, h / height
    for x, y in [(0, 0), (768, 512), (width - 700, height - 600)]:
        tile = x, y, tw, th = x, y, min(1024, width - x), min(1024, height - y)
        part = scaled_tile(photo, tile, sx, sy, interp)
        assert part.shape == (th, tw, 3)
        # Within half a scaled pixel: the mean difference is small, not zero.
        diff = np.abs(part.astype(int) - whole[y:y + th, x:x + tw]).mean()
        assert diff < 6, (tile, diff)


def test_tile_by_tile_finds_the_same_faces_as_the_whole_scaled_picture(photo):
    detector = YuNetDetector()
    assert len(plan_passes(photo.shape[1], photo.shape[0], DetectorSettings().min_face_px)[0].tiles) > 1
    whole = detector.detect(photo, DetectorSettings())
    tiled = detector.detect(photo, replace(DetectorSettings(), scale_tiles=True))
    assert len(whole) == len(tiled) >= 4
    for a in whole:
        b = min(tiled, key=lambda t: abs(t[0] - a[0]) + abs(t[1] - a[1]))
        assert all(abs(u - v) <= max(3, 0.03 * a[2]) for u, v in zip(a, b)), (a, b)
