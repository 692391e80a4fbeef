"""The browser bundle's pipeline (``maskpatrol/web``, run by the Live webcam page's "This
browser" mode) against the Python one, in real headless Chromium, on still pictures.

The bundle is served as Streamlit serves it (under app/static/), by a plain loopback HTTP
server: these checks are about the two pipelines' numbers, not about Streamlit. Per face the
CLI finds on 15 composed stills, the browser must find the same box with the same label; the
converted classifier must give the .tflite's probabilities; and each step (passes and tiles,
the boxes' framing, resizing, cropping, labelling, drawing) must do what Python's does. The
page itself, the camera and the stream are ``test_webcam_browser_mode.py``'s.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from maskpatrol import cli
from maskpatrol.pipeline import LABELS, Settings
from support.browser import from_base64, with_base64
from support.figures import write_report

pytestmark = [pytest.mark.browser, pytest.mark.data]

#: Agreement the browser port must reach (issue 17): per face found by the CLI.
MIN_FACES, MIN_IOU, MIN_AGREEING = 50, 0.9, 0.98
#: Largest difference of any class probability (p(no mask), and p(mask below nose) with a
#: 3-class model) between onnxruntime-web on the converted classifier and LiteRT on the
#: .tflite, for the same input tensors.
CLASSIFIER_TOLERANCE = 1e-3

# (width, height, smallest face setting): webcam-sized frames with the webcam page's 80 px,
# and larger pictures with the CLI's 40 px, which need several passes and, at 1280 px, tiles.
STILL_LAYOUTS = [(640, 480, 80)] * 6 + [(960, 720, 40)] * 5 + [(1280, 960, 40)] * 4


@pytest.fixture(scope="module")
def static_url():
    """http://127.0.0.1:PORT/ serving the repository's static/ under app/static/, as Streamlit does."""
    import functools
    import http.server
    import threading

    from support.paths import ROOT

    class Handler(http.server.SimpleHTTPRequestHandler):
        def translate_path(self, path: str) -> str:
            return super().translate_path(path.removeprefix("/app"))

        def log_message(self, *args) -> None:  # keep the test output readable
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(ROOT)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def bundle_page(browser, static_url, patrol):
    """A page on the bundle's origin with the bundle imported, and the pipeline's config."""
    from maskpatrol.web.component import pipeline_config

    page = browser.new_page()
    page.goto(static_url)  # the root, as the app's pages: the config's URLs are relative to it
    page.evaluate("async () => { window.live = await import('/app/static/live/live.js'); }")
    yield page, pipeline_config(patrol.card)
    page.close()


def _face_pools(data_dir: Path) -> dict[str, list[Path]]:
    faces = data_dir / "faces"
    return {"mask": sorted((faces / "kaggle12k/test/with_mask").glob("*.jpg"))
            + sorted((faces / "chandrikadeb7/test/with_mask").glob("*.jpg")),
            "no_mask": sorted((faces / "kaggle12k/test/without_mask").glob("*.jpg"))
            + sorted((faces / "chandrikadeb7/test/without_mask").glob("*.jpg"))}


def compose_stills(data_dir: Path, out_dir: Path, seed: int = 17) -> list[Path]:
    """Test pictures: face photos of several sizes pasted, not overlapping, onto the clip's
    backdrop; masked and unmasked mixed. Written as PNG (lossless: both sides decode the
    same pixels)."""
    import random

    import cv2
    import numpy as np

    from support.webcam_clip import background

    rng = random.Random(seed)
    pools = _face_pools(data_dir)
    for pool in pools.values():
        rng.shuffle(pool)
    paths = []
    for i, (width, height, min_face) in enumerate(STILL_LAYOUTS):
        frame = cv2.resize(background(), (width, height), interpolation=cv2.INTER_LINEAR)
        placed: list[tuple[int, int, int]] = []
        for _ in range(200):
            if len(placed) == 4:
                break
            side = rng.randint(max(min_face + 30, 100), min(260, height // 2))
            x, y = rng.randint(0, width - side), rng.randint(0, height - side)
            if any(x < px + ps + 20 and px < x + side + 20 and y < py + ps + 20 and py < y + side + 20
                   for px, py, ps in placed):
                continue
            label = rng.choice(["mask", "no_mask"])
            path = pools[label].pop()
            face = cv2.imread(str(path))
            if face is None:
                continue
            h, w = face.shape[:2]
            s = min(h, w)
            face = face[(h - s) // 4 if h > w else 0:][:s, (w - s) // 2:(w - s) // 2 + s]
            frame[y:y + side, x:x + side] = cv2.cvtColor(
                cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA if s > side else cv2.INTER_CUBIC),
                cv2.COLOR_BGR2RGB)
            placed.append((x, y, side))
        path = out_dir / f"still_{i:02d}_{width}x{height}_min{min_face}.png"
        cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))
        paths.append(path)
    return paths


def _cli_faces(path: Path, min_face: int) -> list[dict]:
    """``python -m maskpatrol detect --json`` on one still, called in this process (the real
    command is run once, in tests/unit/test_cli.py)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["detect", "--json", "--min-face", str(min_face), str(path)]) == 0
    return json.loads(out.getvalue().splitlines()[0])["faces"]


def _box_iou(a, b) -> float:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / (a[2] * a[3] + b[2] * b[3] - w * h)


@pytest.fixture(scope="module")
def agreement(bundle_page, data_dir, patrol, tmp_path_factory, artifacts):
    """Every still analysed by the CLI and by the browser; per CLI face, its best browser match."""
    import base64

    import cv2

    page, config = bundle_page
    work = tmp_path_factory.mktemp("stills")
    rows = []
    extra_browser_faces = 0
    for path in compose_stills(data_dir, work):
        min_face = int(path.stem.rsplit("min", 1)[1])
        expected = _cli_faces(path, min_face)
        rgba = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGBA)
        got = page.evaluate(
            """async ([config, b64, w, h, settings]) => {
                const bytes = Uint8ClampedArray.from(atob(b64), c => c.charCodeAt(0));
                return (await window.live.analyzeStill(config, bytes, w, h, settings)).faces; }""",
            [config, base64.b64encode(rgba.tobytes()).decode(), rgba.shape[1], rgba.shape[0],
             {"threshold": patrol.card.threshold, "incorrect_threshold": patrol.incorrect_threshold(Settings()),
              "min_face_px": min_face, "min_score": None}])
        used: set[int] = set()
        for face in expected:
            ious = [(_box_iou(face["box"], g["box"]), k) for k, g in enumerate(got) if k not in used]
            best_iou, k = max(ious, default=(0.0, None))
            match = got[k] if k is not None and best_iou > 0 else None
            if match is not None:
                used.add(k)
            rows.append({"image": path.name, "box": face["box"], "label": face["label"], "p": face["p_no_mask"],
                         "p_incorrect": face["p_incorrect"],
                         "browser_box": match and match["box"], "browser_label": match and match["label"],
                         "browser_p": match and round(match["p_no_mask"], 6),
                         "browser_p_incorrect": match and round(match["p_incorrect"], 6), "iou": round(best_iou, 4)})
        extra_browser_faces += len(got) - len(used)
    agreeing = [r for r in rows if r["iou"] >= MIN_IOU and r["label"] == r["browser_label"]]
    p_diffs = [max(abs(r["p"] - r["browser_p"]), abs(r["p_incorrect"] - r["browser_p_incorrect"]))
               for r in rows if r["browser_p"] is not None]
    summary = {"faces": len(rows), "agreeing": len(agreeing), "share": round(len(agreeing) / max(1, len(rows)), 4),
               "min_iou": min((r["iou"] for r in rows), default=None), "extra_browser_faces": extra_browser_faces,
               "max_p_difference": max(p_diffs, default=None),
               "labels": {lab: sum(r["label"] == lab for r in rows) for lab in LABELS},
               "disagreeing": [r for r in rows if r not in agreeing]}
    write_report("webcam_browser_agreement", summary)
    return summary


def test_browser_pipeline_agrees_with_the_cli_on_stills(agreement):
    assert agreement["faces"] >= MIN_FACES, agreement
    # The stills are of masked and unmasked faces: both labels well represented.
    assert min(agreement["labels"]["mask"], agreement["labels"]["no_mask"]) >= 10, agreement["labels"]
    assert agreement["share"] >= MIN_AGREEING, agreement["disagreeing"]
    # And no more than the same share of faces the browser finds that the CLI does not.
    assert agreement["extra_browser_faces"] <= (1 - MIN_AGREEING) * agreement["faces"], agreement


def test_converted_classifier_matches_the_tflite_on_real_crops(bundle_page, data_dir, patrol):
    """The ONNX conversion (scripts/convert_classifier_web.py) in onnxruntime-web against
    the served .tflite in LiteRT, on the same input tensors made from real face photos."""
    import base64

    import numpy as np

    from maskpatrol.images import load_image
    from maskpatrol.preprocess import center_square, to_model_input

    page, config = bundle_page
    pools = _face_pools(data_dir)
    photos = pools["mask"][:24] + pools["no_mask"][:24]
    batch = to_model_input([center_square(load_image(p)) for p in photos], patrol.card.input_size)
    expected = patrol.classifier.predict_classes([center_square(load_image(p)) for p in photos])
    got = np.asarray(page.evaluate(
        """async ([config, b64, n]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            return window.live.classifyBatch(config, new Float32Array(bytes.buffer), n); }""",
        [config, base64.b64encode(batch.astype(np.float32).tobytes()).decode(), len(photos)]))
    assert got.shape == expected.shape == (48, 3)  # mask, no mask, incorrect: a binary model's last is 0
    write_report("webcam_browser_classifier", {"crops": len(photos), "max_abs_difference": float(np.abs(got - expected).max()),
                                               "tolerance": CLASSIFIER_TOLERANCE})
    assert np.abs(got - expected).max() <= CLASSIFIER_TOLERANCE, np.abs(got - expected).max()
    # Real crops of both kinds: the check covers both ends of the output, not one.
    assert (expected[:, 1] < 0.1).sum() >= 10 and (expected[:, 1] > 0.9).sum() >= 10


def test_the_browser_plans_the_same_passes_and_tiles_as_python(bundle_page):
    """yunet.plan_passes and its JavaScript port, over picture sizes from a thumbnail to a
    40 MP photo and every "Smallest face" step: same scales, sizes and tiles."""
    from maskpatrol.detectors.yunet import plan_passes

    page, config = bundle_page
    cases = [(w, h, m) for w, h in [(64, 48), (320, 240), (640, 480), (480, 640), (1280, 720), (1920, 1080),
                                    (4000, 3000), (7300, 5500)] for m in range(20, 205, 15)]
    got = page.evaluate("([cases, c]) => cases.map(([w, h, m]) => window.live.planPasses(w, h, m, c))",
                        [cases, config["detector"]])
    for (w, h, m), js in zip(cases, got):
        py = plan_passes(w, h, m)
        assert [(p.width, p.height, [list(t) for t in p.tiles]) for p in py] == \
            [(p["width"], p["height"], p["tiles"]) for p in js], (w, h, m)
        assert [p.scale for p in py] == pytest.approx([p["scale"] for p in js], rel=1e-12)


def test_the_browser_maps_boxes_onto_haars_framing_as_python(bundle_page):
    """boxes.BoxTransform.to_boxes (YuNet's TO_HAAR) and its port: same integer boxes,
    same faces dropped as too small or outside, same order, on random boxes."""
    import numpy as np

    from maskpatrol.detectors.yunet import TO_HAAR

    page, config = bundle_page
    rng = np.random.default_rng(3)
    xy = rng.uniform(-60, 660, (300, 2))
    wh = rng.uniform(5, 300, (300, 2))
    xywh = np.concatenate([xy, wh], axis=1)
    for min_side in (1.0, 34.0, 68.0):
        py = TO_HAAR.to_boxes(np.concatenate([xy, xy + wh], axis=1), (480, 640), min_side)
        js = page.evaluate("([b, m, t]) => window.live.toBoxes(b, 640, 480, m, t)",
                           [xywh.tolist(), min_side, config["detector"]["to_haar"]])
        assert [list(b) for b in py] == js


@pytest.mark.parametrize("interpolation", ["area", "linear"])
def test_the_browser_resizes_as_opencv(bundle_page, interpolation):
    """OpenCV's INTER_AREA (shrinking: the detector's passes, face crops to 64 px) and
    INTER_LINEAR (enlarging) against their ports, on noise, where every rounding shows:
    within one grey level everywhere, and equal almost everywhere."""
    import base64

    import cv2
    import numpy as np

    page, _ = bundle_page
    rng = np.random.default_rng(5)
    flag = cv2.INTER_AREA if interpolation == "area" else cv2.INTER_LINEAR
    sizes = ([(640, 480, 301, 226), (275, 275, 64, 64), (640, 480, 320, 240), (97, 131, 64, 64)]
             if interpolation == "area" else [(40, 40, 64, 64), (301, 226, 602, 452), (33, 57, 64, 64)])
    for w, h, ow, oh in sizes:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        expected = cv2.resize(rgb, (ow, oh), interpolation=flag)
        got = page.evaluate(with_base64(
            """([b64, w, h, ow, oh, mode]) => {
                const data = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                return TO_BASE64(window.live.resize({data, width: w, height: h, channels: 3}, ow, oh, mode).data); }"""),
            [base64.b64encode(rgb.tobytes()).decode(), w, h, ow, oh, interpolation])
        diff = np.abs(from_base64(got).astype(np.int16).reshape(oh, ow, 3) - expected.astype(np.int16))
        assert diff.max() <= 1 and (diff == 0).mean() >= 0.99, ((w, h, ow, oh), diff.max(), (diff == 0).mean())


def test_the_browser_crops_faces_as_python(bundle_page):
    """preprocess.square_crop and its port, boxes inside and across every edge."""
    import base64

    import numpy as np

    from maskpatrol.preprocess import CROP_SCALE, CROP_SHIFT_DOWN, square_crop

    page, _ = bundle_page
    rgb = np.random.default_rng(8).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    for box in [(40, 30, 50, 50), (0, 0, 40, 40), (130, 90, 30, 30), (-10, 60, 45, 45), (100, 100, 57, 57)]:
        expected = square_crop(rgb, box)
        got = page.evaluate(
            """([b64, box, scale, shift]) => {
                const data = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
                const c = window.live.squareCrop({data, width: 160, height: 120, channels: 3}, box, scale, shift);
                return [c.width, c.height, Array.from(c.data)]; }""",
            [base64.b64encode(rgb.tobytes()).decode(), list(box), CROP_SCALE, CROP_SHIFT_DOWN])
        assert (got[1], got[0]) == expected.shape[:2]
        assert np.array_equal(np.asarray(got[2], np.uint8).reshape(expected.shape), expected), box


def test_the_browser_drops_boxes_cut_by_a_tile_edge_as_python(bundle_page):
    """yunet._whole_in_tile and its port, for tiles at every position of a tiled picture."""
    import numpy as np

    from maskpatrol.detectors.yunet import _whole_in_tile

    page, config = bundle_page
    rng = np.random.default_rng(11)
    cand = np.zeros((400, 14), np.float32)
    cand[:, :2] = rng.uniform(-20, 1000, (400, 2))
    cand[:, 2:4] = rng.uniform(10, 300, (400, 2))
    scores = rng.uniform(0.5, 1, 400).astype(np.float32)
    for tile in [(0, 0, 1024, 1024), (768, 0, 1024, 1024), (0, 768, 1024, 500), (500, 300, 1024, 1024)]:
        kept, _ = _whole_in_tile(cand.copy(), scores, tile, 2000, 1500)
        cut = page.evaluate("([boxes, tile, m]) => boxes.map(b => window.live.cutByTile(b, tile, 2000, 1500, m))",
                            [cand[:, :4].tolist(), list(tile), config["detector"]["tile_edge_margin"]])
        assert kept[:, :4].tolist() == cand[[not c for c in cut], :4].tolist(), tile


def test_the_browser_labels_as_python(bundle_page):
    """classify.js labelFor and pipeline.label_for over a grid of probabilities and
    thresholds, exactly at the thresholds too, with a binary model (no incorrect threshold)
    and a 3-class one."""
    import itertools

    from maskpatrol.pipeline import label_for

    page, _ = bundle_page
    grid = [0.0, 0.2, 0.29, 0.3, 0.5, 0.7, 1.0]
    cases = [(p, t, q, u) for p, t, q in itertools.product(grid, (0.3, 0.5), grid) for u in (None, 0.5, 0.7)]
    got = page.evaluate("cases => cases.map(([p, t, q, u]) => window.live.labelFor(p, t, q, u))", cases)
    assert got == [label_for(p, t, q, u) for p, t, q, u in cases]
    assert {"mask", "no_mask", "incorrect"} <= set(got)


def test_the_browser_reads_one_or_three_outputs_as_python(bundle_page):
    import numpy as np

    from maskpatrol.classifier import as_class_columns

    page, _ = bundle_page
    rng = np.random.default_rng(4)
    sigmoid = rng.uniform(0, 1, (5, 1))
    softmax = rng.dirichlet((1, 1, 1), 5)
    for raw in (sigmoid, softmax):
        got = page.evaluate("([d, n]) => window.live.asClassColumns(d, n)", [raw.ravel().tolist(), len(raw)])
        np.testing.assert_allclose(got, as_class_columns(raw), atol=1e-12)
    error = page.evaluate("() => { try { window.live.asClassColumns([0.1, 0.2, 0.3, 0.4], 2); return null; }"
                          " catch (e) { return e.message; } }")
    assert error and "2 outputs" in error


def test_the_browser_draws_each_box_as_python(bundle_page):
    """draw.js and annotate.py on the same blank frame, one face of each label. The dashed
    "Mask below nose" outline (left, right and bottom edges; the top one carries the label
    band, whose text the two fonts draw differently) is the same pixels, dashes included;
    the solid ones are unbroken, and the "No mask" line is the thicker."""
    import numpy as np

    from maskpatrol.annotate import annotate, STYLES
    from maskpatrol.pipeline import Face

    page, config = bundle_page
    w, h = 640, 480
    faces = [Face((40, 150, 150, 170), 0.1, "mask"), Face((240, 150, 150, 170), 0.9, "no_mask"),
             Face((440, 150, 151, 171), 0.1, "incorrect", 0.8)]
    expected = annotate(np.zeros((h, w, 3), np.uint8), faces, show_probability=False)
    got = page.evaluate(with_base64(
        """([faces, styles, w, h]) => {
            const c = document.createElement("canvas"); c.width = w; c.height = h;
            const g = c.getContext("2d"); g.fillStyle = "#000"; g.fillRect(0, 0, w, h);
            window.live.annotate(g, faces, false, w, h, styles);
            return TO_BASE64(g.getImageData(0, 0, w, h).data); }"""),
        [[{"box": list(f.box), "label": f.label, "p_no_mask": f.p_no_mask, "p_incorrect": f.p_incorrect}
          for f in faces], config["styles"], w, h])
    got = from_base64(got).reshape(h, w, 4)[..., :3]
    widths = {}
    for face in faces:
        x, y, bw, bh = face.box
        colour = np.array(STYLES[face.label].colour, np.uint8)
        region = (slice(y + 4, y + bh + 4), slice(x - 4, x + bw + 4))  # below the top edge
        want = np.all(expected[region] == colour, axis=-1)
        have = np.all(np.abs(got[region].astype(int) - colour) <= 2, axis=-1)
        left_edge = have[:bh - 8, :8]  # the left edge, rows clear of the corners
        widths[face.label] = left_edge.sum(axis=1).max()
        if STYLES[face.label].dashed:
            assert (want != have).sum() == 0, (face.label, int(want.sum()), int((want != have).sum()))
            assert 0.3 < left_edge.any(axis=1).mean() < 0.9  # dashes and gaps
        else:
            assert left_edge.any(axis=1).all(), face.label  # unbroken
    assert widths["no_mask"] > widths["mask"], widths
