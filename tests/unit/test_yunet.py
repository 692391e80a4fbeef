"""YuNet, the default detector: the shipped file, its decoding, the scale plan, and faces of
every size in pictures of every size, masked ones included."""

from __future__ import annotations

import hashlib
import math

import cv2
import numpy as np
import pytest

from maskpatrol.detectors import DEFAULT_DETECTOR, DetectorSettings, make_detector
from maskpatrol.detectors.yunet import (COARSE_SHORT_SIDE, MAX_TILE_SIDE, MAX_UPSCALE, MODEL_FILE, MODEL_SHA256,
                                        PYRAMID_STEP, STRIDES, TARGET_MIN_FACE_PX, TILE_OVERLAP, YuNetDetector,
                                        decode, nms, plan_passes)
from maskpatrol.paths import MODELS_DIR
from maskpatrol.pipeline import MaskPatrol

from support.images import paint_mask

#: The same network as a fixed-size export, for OpenCV's own FaceDetectorYN (the reference
from support.paths import ROOT

#: The same network as a fixed-size export, for OpenCV's own FaceDetectorYN (the reference
#: decoder); the shared models folder holds it beside our dynamic-size copy.
OPENCV_MODEL = ROOT.parent / "shared" / "models" / "yunet" / "yunet_n_640_640.onnx"


@pytest.fixture(scope="module")
def yunet() -> YuNetDetector:
    return YuNetDetector()


#: The face (Haar's box, 98 px) is this fraction of :func:`face_rgb`'s width.
FACE_FRACTION = 98 / 150


@pytest.fixture(scope="module")
def face_rgb(astronaut_rgb) -> np.ndarray:
    """The astronaut's head, a little wider than her face: one clear, frontal, unmasked face."""
    return np.ascontiguousarray(astronaut_rgb[35:195, 150:300])


def test_yunet_is_the_default_detector():
    assert DEFAULT_DETECTOR == "yunet" and DetectorSettings().name == "yunet"
    assert isinstance(make_detector(), YuNetDetector)


def test_shipped_model_is_the_vendored_file_with_its_licence():
    path = MODELS_DIR / MODEL_FILE
    assert hashlib.sha256(path.read_bytes()).hexdigest() == MODEL_SHA256
    licence = (path.parent / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence
    source = (path.parent / "SOURCE.md").read_text()
    assert MODEL_SHA256 in source and "libfacedetection.train" in source


def test_decode_places_a_box_from_one_cell():
    # A 64x96 input: one confident cell at stride 16, row 2, column 3.
    height, width = 64, 96
    outputs = {}
    for stride in STRIDES:
        n = (height // stride) * (width // stride)
        outputs[f"cls_{stride}"] = np.zeros((1, n, 1), np.float32)
        outputs[f"obj_{stride}"] = np.zeros((1, n, 1), np.float32)
        outputs[f"bbox_{stride}"] = np.zeros((1, n, 4), np.float32)
        outputs[f"kps_{stride}"] = np.zeros((1, n, 10), np.float32)
    idx = 2 * (width // 16) + 3
    outputs["cls_16"][0, idx, 0], outputs["obj_16"][0, idx, 0] = 0.81, 1.0
    outputs["bbox_16"][0, idx] = [0.5, 0.25, math.log(2.0), math.log(3.0)]
    outputs["kps_16"][0, idx] = [0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0]
    cand, scores = decode(outputs, height, width, min_score=0.5)
    assert scores.tolist() == pytest.approx([0.9])
    cx, cy = (3 + 0.5) * 16, (2 + 0.25) * 16
    assert cand[0, :4].tolist() == pytest.approx([cx - 16, cy - 24, 32, 48])
    assert cand[0, 4:8].tolist() == pytest.approx([48, 32, 64, 32])  # eyes at the cell's corners
    assert decode(outputs, height, width, min_score=0.95)[0].shape == (0, 14)


@pytest.mark.skipif(not OPENCV_MODEL.is_file(), reason=f"OpenCV's fixed-size YuNet export not found at {OPENCV_MODEL}")
@pytest.mark.parametrize("size", [(512, 512), (640, 480), (300, 200)])
def test_our_decoding_finds_the_faces_opencvs_detector_finds(yunet, astronaut_rgb, size):
    """The same network decoded by OpenCV's FaceDetectorYN and by us, on one pass at the
    picture's own size: the same boxes (the browser port mirrors our decode)."""
    rgb = cv2.resize(astronaut_rgb, size, interpolation=cv2.INTER_AREA)
    reference = cv2.FaceDetectorYN.create(str(OPENCV_MODEL), "", size, 0.5, 0.3, 5000)
    _, faces = reference.detect(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    with yunet._pool.borrow() as runner:
        cand, scores = runner.run(rgb, 0.5)
    keep = nms(cand, scores)
    assert faces is not None and len(faces) == len(keep) == 1
    np.testing.assert_allclose(cand[keep][0, :14], faces[0, :14], atol=0.05)
    assert float(scores[keep][0]) == pytest.approx(float(faces[0, 14]), abs=1e-4)


@pytest.mark.parametrize("width,height,min_face", [(160, 120, 20), (640, 480, 40), (640, 480, 80), (1000, 1000, 40),
                                                   (4000, 3000, 40), (7300, 5480, 40), (7300, 5480, 200)])
def test_scale_plan_covers_small_faces_large_faces_and_every_pixel(width, height, min_face):
    passes = plan_passes(width, height, min_face)
    first = passes[0]
    # The smallest wanted face reaches the size YuNet needs (unless that would enlarge too much).
    assert first.scale == pytest.approx(min(MAX_UPSCALE, TARGET_MIN_FACE_PX / (min_face * 0.85)))
    # A face filling the picture lands where YuNet finds it (the last pass), passes evenly spaced.
    assert passes[-1].scale * min(width, height) <= max(COARSE_SHORT_SIDE, first.scale * min(width, height)) + 1
    for a, b in zip(passes, passes[1:]):
        assert a.scale / b.scale <= PYRAMID_STEP + 1e-6
    for p in passes:
        covered = np.zeros((p.height, p.width), bool)
        for x, y, w, h in p.tiles:
            assert 0 < w <= MAX_TILE_SIDE and 0 < h <= MAX_TILE_SIDE
            covered[y:y + h, x:x + w] = True
        assert covered.all()
        if len(p.tiles) > 1:  # neighbours overlap, so a face is whole in some tile
            xs = sorted({t[0] for t in p.tiles})
            assert all(b - a <= MAX_TILE_SIDE - TILE_OVERLAP for a, b in zip(xs, xs[1:]))


def _paste(canvas_w: int, canvas_h: int, face: np.ndarray, side: int, at: tuple[int, int]) -> tuple[np.ndarray, tuple]:
    """``face`` scaled to ``side`` px wide on a smooth grey-brown canvas at ``at`` (x, y)."""
    h = max(1, round(face.shape[0] * side / face.shape[1]))
    small = cv2.resize(face, (side, h), interpolation=cv2.INTER_AREA if side < face.shape[1] else cv2.INTER_LINEAR)
    gx = np.linspace(90, 160, canvas_w, dtype=np.float32)
    canvas = np.repeat(np.repeat(gx[None, :, None], canvas_h, 0), 3, 2).astype(np.uint8)
    x, y = at
    canvas[y:y + h, x:x + side] = small[:canvas_h - y, :canvas_w - x]
    return canvas, (x, y, side, h)


@pytest.mark.parametrize("canvas,face,min_face", [
    ((160, 160), 16, 16), ((160, 160), 100, 20), ((640, 480), 40, 40), ((640, 480), 120, 40),
    ((640, 480), 300, 40), ((1000, 1000), 640, 40), ((4000, 3000), 40, 40), ((4000, 3000), 1900, 40),
])
def test_faces_from_tiny_to_filling_the_frame_are_found(yunet, face_rgb, canvas, face, min_face):
    w, h = canvas
    side = round(face / FACE_FRACTION)
    x = (w - side) // 3
    rgb, (fx, fy, fw, fh) = _paste(w, h, face_rgb, side, (x, max(0, (h - side * face_rgb.shape[0] // face_rgb.shape[1]) // 2)))
    boxes = yunet.detect(rgb, DetectorSettings(min_face_px=min_face))
    centres = [(bx + bw / 2, by + bh / 2) for bx, by, bw, bh in boxes]
    assert any(fx <= cx < fx + fw and fy <= cy < fy + fh for cx, cy in centres), (boxes, (fx, fy, fw, fh))


def test_a_40_megapixel_photo_is_searched_in_tiles_and_finds_small_and_large_faces(yunet, face_rgb):
    rgb, small = _paste(7300, 5480, face_rgb, round(40 / FACE_FRACTION), (5000, 4000))
    big_side = 4000
    big = cv2.resize(face_rgb, (big_side, round(face_rgb.shape[0] * big_side / face_rgb.shape[1])))
    rgb[300:300 + big.shape[0], 300:300 + big_side] = big
    boxes = yunet.detect(rgb, DetectorSettings(min_face_px=40))
    def hit(region):
        x, y, w, h = region
        return any(x <= bx + bw / 2 < x + w and y <= by + bh / 2 < y + h for bx, by, bw, bh in boxes)
    assert hit(small) and hit((300, 300, big_side, big.shape[0])), boxes


def test_a_masked_portrait_is_found_and_called_masked(patrol: MaskPatrol, astronaut_rgb):
    """The issue's failing case: a frontal face in a surgical mask. Haar misses it; YuNet must not."""
    box = patrol.analyze(astronaut_rgb)[0].box
    masked = paint_mask(astronaut_rgb, box, 1.0)
    faces = patrol.analyze(masked)
    assert len(faces) == 1 and faces[0].label == "mask", faces


def test_smallest_face_setting_drops_smaller_faces(yunet, face_rgb):
    rgb, _ = _paste(640, 480, face_rgb, round(60 / FACE_FRACTION), (100, 100))
    assert yunet.detect(rgb, DetectorSettings(min_face_px=40))
    assert yunet.detect(rgb, DetectorSettings(min_face_px=100)) == []


def test_confidence_setting_trades_faces_for_certainty(yunet, astronaut_rgb):
    [det] = yunet.detections(astronaut_rgb)
    assert yunet.detect(astronaut_rgb, DetectorSettings(min_score=det.score - 0.01))
    assert yunet.detect(astronaut_rgb, DetectorSettings(min_score=min(0.999, det.score + 0.01))) == []


def test_landmarks_sit_inside_the_face(yunet, astronaut_rgb):
    [det] = yunet.detections(astronaut_rgb)
    x0, y0, x1, y1 = det.box
    (rex, rey), (lex, ley), (nx, ny), (rmx, rmy), (lmx, lmy) = det.keypoints
    assert all(x0 < x < x1 and y0 < y < y1 for x, y in det.keypoints)
    assert rex < lex and max(rey, ley) < ny < min(rmy, lmy)  # eyes above nose above mouth


def test_each_thread_gets_its_own_session(yunet, astronaut_rgb):
    from concurrent.futures import ThreadPoolExecutor

    expected = yunet.detect(astronaut_rgb)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: yunet.detect(astronaut_rgb), range(16)))
    assert all(r == expected for r in results)


def test_a_picture_smaller_than_the_network_stride_gives_no_face_and_no_error(yunet):
    assert yunet.detect(np.zeros((5, 7, 3), np.uint8)) == []
    with pytest.raises(ValueError):
        yunet.detect(np.zeros((10, 10), np.uint8))
