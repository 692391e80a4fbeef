"""The drawn masks of the third class: repeatable for a seed, and where the landmarks say.

If a "below the nose" mask covered the nose, the model would learn that incorrect masks
look like correct ones; if the drawing changed from run to run, no two trainings would
agree. These checks use the astronaut photo and YuNet's landmarks on it, no data folder.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from maskpatrol.detectors import DetectorSettings
from maskpatrol.detectors.yunet import YuNetDetector
from maskpatrol.training.synth import STYLES, Landmarks, paint_mask

SEEDS = range(12)


@pytest.fixture(scope="module")
def face_and_landmarks(astronaut_rgb):
    face = astronaut_rgb[20:236, 120:336].copy()  # the face, with room around it
    [found] = YuNetDetector().detections(face, DetectorSettings(name="yunet", min_face_px=40))
    return face, Landmarks.from_points(found.keypoints)


def _points(lm: Landmarks) -> dict[str, np.ndarray]:
    """Places on the face in image pixels: the nose tip, the mouth's centre, and the chin
    (as far below the mouth as the mouth is below the nose)."""
    mouth = (lm.mouth_l + lm.mouth_r) / 2
    return {"nose": lm.nose, "mouth": mouth, "chin": mouth + 0.9 * (mouth - lm.nose)}


def _alpha_at(alpha: np.ndarray, point: np.ndarray) -> float:
    x, y = np.round(point).astype(int)
    return float(alpha[y, x])


@pytest.mark.parametrize("style", STYLES)
def test_same_seed_same_picture_other_seed_other_picture(face_and_landmarks, style):
    face, lm = face_and_landmarks
    a, _ = paint_mask(face, lm, style, np.random.default_rng(7))
    b, _ = paint_mask(face, lm, style, np.random.default_rng(7))
    c, _ = paint_mask(face, lm, style, np.random.default_rng(8))
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 1.0
    assert not np.array_equal(a, face)  # something was drawn, on a copy
    assert a.shape == face.shape and a.dtype == np.uint8


# Which places each way of wearing covers (True) or leaves bare (False).
COVERS = {
    "correct": {"nose": True, "mouth": True, "chin": True},
    "below_nose": {"nose": False, "mouth": True, "chin": True},
    "chin": {"nose": False, "mouth": False, "chin": True},
}


@pytest.mark.parametrize("style", STYLES)
def test_the_mask_sits_where_the_landmarks_say(face_and_landmarks, style):
    face, lm = face_and_landmarks
    for seed in SEEDS:
        _, alpha = paint_mask(face, lm, style, np.random.default_rng(seed))
        for place, point in _points(lm).items():
            value = _alpha_at(alpha, point)
            if COVERS[style][place]:
                assert value > 0.9, (style, seed, place, value)
            else:
                assert value < 0.1, (style, seed, place, value)
        # The eyes always stay bare.
        assert _alpha_at(alpha, lm.eye_l) < 0.1 and _alpha_at(alpha, lm.eye_r) < 0.1


def test_a_tilted_face_gets_a_tilted_mask(face_and_landmarks):
    """The mask follows the face's roll: drawn on a face turned by 30 degrees, it covers
    and leaves bare the same places as on the upright face."""
    face, lm = face_and_landmarks
    h, w = face.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
    tilted = cv2.warpAffine(face, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    move = lambda p: turn[:, :2] @ p + turn[:, 2]  # noqa: E731
    tilted_lm = Landmarks.from_points([move(p) for p in (lm.eye_l, lm.eye_r, lm.nose, lm.mouth_l, lm.mouth_r)])
    for seed in SEEDS:
        _, alpha = paint_mask(tilted, tilted_lm, "below_nose", np.random.default_rng(seed))
        points = _points(tilted_lm)
        assert _alpha_at(alpha, points["nose"]) < 0.1
        assert _alpha_at(alpha, points["mouth"]) > 0.9 and _alpha_at(alpha, points["chin"]) > 0.9


@pytest.mark.parametrize("style", STYLES)
def test_real_fabric_comes_from_the_donors_mask_only(face_and_landmarks, style):
    """A donor whose worn mask is red and everything else green: the mask drawn with its fabric
    is red wherever it covers the face, whatever the face's own size and place."""
    face, lm = face_and_landmarks
    donor = np.zeros((300, 260, 3), np.uint8)
    donor[:] = (0, 255, 0)
    # The donor's face: twice as large, shifted; its mask from the nose down to the chin.
    scale, shift = 1.3, np.array([-30.0, 20.0])
    moved = [p * scale + shift for p in (lm.eye_l, lm.eye_r, lm.nose, lm.mouth_l, lm.mouth_r)]
    donor_lm = Landmarks.from_points(moved)
    _, _, _, d = donor_lm.frame()
    top, bottom = int(donor_lm.nose[1] - 0.2 * d), int(max(donor_lm.mouth_l[1], donor_lm.mouth_r[1]) + 1.2 * d)
    left, right = int(donor_lm.eye_l[0] - 0.9 * d), int(donor_lm.eye_r[0] + 0.9 * d)
    donor[top:bottom, left:right] = (255, 0, 0)
    painted, alpha = paint_mask(face, lm, style, np.random.default_rng(3), fabric=(donor, donor_lm))
    covered = alpha > 0.99
    assert covered.sum() > 500
    red = painted[covered].astype(int)
    assert (red[:, 0] > 200).mean() > 0.98 and (red[:, 1] < 60).mean() > 0.98, red.mean(axis=0)
    bare = alpha < 0.01
    assert np.abs(painted[bare].astype(int) - face[bare]).max() <= 3  # the face itself is left alone
