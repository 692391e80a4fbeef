"""Detection, batched classification, thread safety and drawing on real faces."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

from maskpatrol.annotate import annotate
from maskpatrol.detectors import DetectorSettings
from maskpatrol.pipeline import Face, MaskPatrol, Settings, summarize
from maskpatrol.preprocess import square_crop


def test_astronaut_has_one_unmasked_face(patrol, astronaut_rgb):
    faces = patrol.analyze(astronaut_rgb)
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    # Eileen Collins' face sits around x=180..270, y=70..160 in the 512x512 image.
    assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 180
    assert faces[0].label == "no_mask" and faces[0].p_no_mask > 0.5


@pytest.mark.parametrize("alpha", [1.0, 0.7])
def test_shipped_model_tells_a_mask_below_the_nose_from_one_worn_properly(patrol, astronaut_rgb, alpha):
    """The same drawn mask, moved from over the nose to under it, changes the label: the
    shipped model has the third class, and a screener sees "Mask below nose"."""
    from support.images import paint_mask

    box = patrol.analyze(astronaut_rgb)[0].box
    properly = patrol.analyze(paint_mask(astronaut_rgb, box, alpha, worn="properly"))
    below = patrol.analyze(paint_mask(astronaut_rgb, box, alpha, worn="below_nose"))
    assert [f.label for f in properly] == ["mask"]
    assert [f.label for f in below] == ["incorrect"]
    assert below[0].display_name == "Mask below nose" and below[0].p_incorrect > 0.5
    assert summarize(below) == "1 face: 0 mask, 1 mask below nose, 0 no mask"


def test_downscaled_detection_still_finds_40px_faces(patrol, astronaut_rgb):
    """A 40 px face in a 640x480 frame must survive the detector's internal downscale."""
    x, y, w, h = patrol.analyze(astronaut_rgb)[0].box
    crop = square_crop(astronaut_rgb, (x, y, w, h), scale=1.6)
    frame = np.full((480, 640, 3), 90, np.uint8)
    found = 0
    for size in (40, 48, 64):
        face = cv2.resize(crop, (int(size * 1.6),) * 2, interpolation=cv2.INTER_AREA)
        frame[:] = 90
        frame[200:200 + face.shape[0], 300:300 + face.shape[1]] = face
        boxes = patrol.detector.detect(frame, DetectorSettings(min_face_px=40))
        found += len(boxes) == 1
    assert found == 3


def test_batched_equals_per_face(patrol, astronaut_rgb):
    box = patrol.analyze(astronaut_rgb)[0].box
    crops = [square_crop(astronaut_rgb, box, scale=s) for s in (1.0, 1.2, 1.3, 1.5, 2.0)]
    crops.append(cv2.GaussianBlur(crops[2], (0, 0), 2))
    batched = patrol.classifier.predict(crops)
    single = np.array([patrol.classifier.predict([c])[0] for c in crops])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_a_face_and_its_mirror_get_the_same_answer(patrol, astronaut_rgb):
    """The served model averages every network over the face and its left-right mirror
    (``compose.MIRROR``): a person seen from either side, or a mirrored webcam, is judged alike."""
    from support.images import paint_mask

    box = patrol.analyze(astronaut_rgb)[0].box
    crops = [square_crop(img, box, scale=1.3) for img in
             (astronaut_rgb, paint_mask(astronaut_rgb, box, 1.0, worn="properly"),
              paint_mask(astronaut_rgb, box, 1.0, worn="below_nose"))]
    p = patrol.classifier.predict_classes(crops)
    p_mirrored = patrol.classifier.predict_classes([c[:, ::-1] for c in crops])
    assert patrol.card.raw["mirror_average"] is True
    assert np.argmax(p, axis=1).tolist() == [1, 0, 2]  # three different answers, each kept when mirrored
    np.testing.assert_allclose(p_mirrored, p, atol=1e-4)


def test_shared_pipeline_from_four_threads_matches_serial(patrol, astronaut_rgb):
    frames = [astronaut_rgb, np.ascontiguousarray(astronaut_rgb[:, ::-1]),
              cv2.resize(astronaut_rgb, (640, 640)), np.ascontiguousarray(astronaut_rgb[50:450, 20:500])]
    serial = [patrol.analyze(f) for f in frames]
    results: dict[tuple[int, int], list[Face]] = {}
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for r in range(10):
                i = (t + r) % len(frames)
                results[(t, r)] = patrol.analyze(frames[i])
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for (t, r), faces in results.items():
        expected = serial[(t + r) % len(frames)]
        assert [f.box for f in faces] == [f.box for f in expected]
        np.testing.assert_allclose([f.p_no_mask for f in faces], [f.p_no_mask for f in expected], atol=1e-6)


def test_threshold_setting_changes_labels(patrol, astronaut_rgb):
    p = patrol.analyze(astronaut_rgb)[0].p_no_mask
    above = patrol.analyze(astronaut_rgb, Settings(threshold=float(np.nextafter(p, 2.0))))
    assert above[0].label == "mask"
    at = patrol.analyze(astronaut_rgb, Settings(threshold=p))
    assert at[0].label == "no_mask"


def test_no_faces_in_blank_image(patrol):
    assert patrol.analyze(np.zeros((300, 400, 3), np.uint8)) == []
    assert summarize([]) == "No faces found"


def test_summary_wording():
    faces = [Face((0, 0, 1, 1), 0.1, "mask")] * 4 + [Face((0, 0, 1, 1), 0.9, "no_mask")]
    assert summarize(faces) == "5 faces: 4 mask, 1 no mask"


def test_annotate_draws_coloured_boxes_without_touching_input(astronaut_rgb):
    before = astronaut_rgb.copy()
    faces = [Face((100, 100, 80, 80), 0.9, "no_mask"), Face((300, 300, 80, 80), 0.1, "mask")]
    out = annotate(astronaut_rgb, faces)
    np.testing.assert_array_equal(astronaut_rgb, before)
    # Left edge of each box has the class colour: red for no mask, green for mask.
    r, g, b = out[140, 100].astype(int)
    assert r > 180 and g < 80
    r, g, b = out[340, 300].astype(int)
    assert g > 150 and r < 80


def test_model_card_threshold_is_used(patrol):
    assert 0.0 < patrol.card.threshold < 1.0
    assert patrol.threshold(Settings()) == patrol.card.threshold
    assert patrol.threshold(Settings(threshold=0.42)) == 0.42


def test_missing_model_dir_gives_clear_error(tmp_path):
    from maskpatrol.model_card import ModelNotFoundError

    with pytest.raises(ModelNotFoundError, match="maskpatrol.train"):
        MaskPatrol.load(tmp_path)


def test_detector_is_chosen_per_call_and_built_once(patrol, astronaut_rgb):
    """A user's detector choice travels in the settings; an unknown name is a clear error."""
    haar = DetectorSettings(name="haar")
    assert patrol.detector_for("haar") is patrol.detector_for("haar")
    assert [f.box for f in patrol.analyze(astronaut_rgb, Settings(haar))] == patrol.detector_for("haar").detect(astronaut_rgb, haar)
    assert patrol.detector.name == "yunet" and patrol.detector_for("yunet") is patrol.detector
    with pytest.raises(ValueError, match="available: yunet, haar"):
        patrol.analyze(astronaut_rgb, Settings(DetectorSettings(name="nope")))


def test_model_metrics_label_faces_by_the_serving_rule():
    """The figures on the Model page and in the card come from ``three_class_labels``, the
    app's labels from ``label_for``: if the two rules drifted apart, the published figures
    would describe a different app. Checked over a grid that lands exactly on both thresholds."""
    import itertools

    from maskpatrol.pipeline import LABELS, label_for
    from maskpatrol.training.metrics import three_class_labels

    grid = [0.0, 0.1, 0.196, 0.3, 0.53, 0.7, 1.0]
    for threshold, incorrect_threshold in itertools.product((0.196, 0.5), (0.53, 0.9)):
        p = np.array([[max(0.0, 1 - a - b), a, b] for a, b in itertools.product(grid, grid)])
        got = [LABELS[i] for i in three_class_labels(p, threshold, incorrect_threshold)]
        assert got == [label_for(a, threshold, b, incorrect_threshold) for _, a, b in p]
        assert set(got) == set(LABELS)
