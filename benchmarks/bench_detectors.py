"""YuNet, Haar and BlazeFace side by side: which faces each finds, whether their boxes agree, how fast
each is, and whether the mask classifier is as good on crops from either.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_detectors --data ../shared/data          # table
    .venv/bin/python -m benchmarks.bench_detectors --data ../shared/data --json   # for diffs
    .venv/bin/python -m benchmarks.bench_detectors --data ../shared/data --calibrate

What is measured (all images generated in memory from ``faces/chandrikadeb7``):

* **crops**: each face photo pasted in the middle of a grey canvas twice its size; a
  detector "finds" it when one of its boxes has its centre inside the pasted photo
  ("Smallest face" at 20 px for every detector: some photos are only 26 px wide).
* **agreement**: where Haar and a BlazeFace model both find a face on the photo, the IoU
  of the square regions :func:`maskpatrol.preprocess.square_crop` cuts from their boxes
  (what the classifier sees; the best-matching pair, as some photos show several people),
  so a box transform that frames faces differently shows up here.
* **classifier**: accuracy and no-mask recall of the shipped classifier on the crops cut
  from each detector's box, on the faces both found (same faces, different framing) and on
  all photos (a face the detector missed counts as a miss).
* **frames**: 640x480 frames with several photos pasted on a smooth background, found
  rate and milliseconds per frame for each detector (one thread each; other processes on
  the machine make wall time noisy, so the load average is printed too).
* ``--calibrate``: the median mapping from YuNet's and BlazeFace's raw boxes to Haar's box,
  the numbers behind ``TO_HAAR`` in :mod:`maskpatrol.detectors.yunet` and
  ``ModelSpec.to_haar`` in :mod:`maskpatrol.detectors.blazeface`.
* ``--write-figures``: the figures the app shows (Model page, detector picker) written to
  ``maskpatrol/detectors/comparison.json``, so they are never typed in by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from benchmarks.bench_args import add_haar_arguments
from benchmarks.scenes import Box, iou
from maskpatrol.detectors import DETECTOR_NAMES, Detector, DetectorSettings, make_detector
from maskpatrol.detectors.blazeface import FULL_RANGE, SHORT_RANGE, BlazeFaceDetector
from maskpatrol.detectors.boxes import IDENTITY, Detection
from maskpatrol.detectors.comparison import FIGURES_PATH, figures_from_report
from maskpatrol.detectors.yunet import YuNetDetector
from maskpatrol.images import load_image
from maskpatrol.pipeline import MASK, MaskPatrol, Settings, label_for
from maskpatrol.preprocess import CROP_SCALE, CROP_SHIFT_DOWN, square_crop

ROOT = Path(__file__).resolve().parent.parent
CLASSES = {"with_mask": "mask", "without_mask": "no_mask"}
SOURCE = "faces/chandrikadeb7"
DETECTORS = DETECTOR_NAMES
#: Grey of the canvas the photos are pasted on.
CANVAS_GREY = 128
FRAME_SIZE = (640, 480)
#: Agreement threshold of the issue: square regions overlap by at least this IoU.
AGREE_IOU = 0.5
#: Detector settings for the crops: "Smallest face" at the sidebar's minimum (20 px), for
#: every detector alike, since some chandrikadeb7 photos are only 26-40 px wide; at the
#: default 40 px those faces would be dropped by the setting, not missed by a detector.
CROP_SETTINGS = DetectorSettings(min_face_px=20)


@dataclass(frozen=True)
class Sample:
    name: str
    label: str  # "mask" / "no_mask"
    rgb: np.ndarray


def load_samples(data_dir: Path, per_class: int | None = None, seed: int = 0) -> list[Sample]:
    """Photos of both classes; ``per_class`` draws a seeded random subset of each."""
    rng = np.random.default_rng(seed)
    samples = []
    for folder, label in CLASSES.items():
        files = sorted((Path(data_dir) / SOURCE / folder).glob("*.jpg"))
        if not files:
            raise FileNotFoundError(f"no images in {Path(data_dir) / SOURCE / folder}")
        if per_class is not None and per_class < len(files):
            files = [files[i] for i in sorted(rng.choice(len(files), per_class, replace=False))]
        samples += [Sample(f"{folder}/{f.name}", label, load_image(f)) for f in files]
    return samples


def on_canvas(rgb: np.ndarray) -> tuple[np.ndarray, Box]:
    """The photo centred on a grey canvas twice its size, and where it sits."""
    h, w = rgb.shape[:2]
    canvas = np.full((2 * h, 2 * w, 3), CANVAS_GREY, np.uint8)
    x0, y0 = w // 2, h // 2
    canvas[y0:y0 + h, x0:x0 + w] = rgb
    return canvas, (x0, y0, w, h)


def crop_region(box: Sequence[float]) -> tuple[float, float, float, float]:
    """The square (x, y, side, side) that :func:`square_crop` cuts for ``box``."""
    x, y, w, h = (float(v) for v in box)
    side = max(w, h) * CROP_SCALE
    cx, cy = x + w / 2, y + h / 2 + CROP_SHIFT_DOWN * h
    return cx - side / 2, cy - side / 2, side, side


def inside(region: Box, boxes: Sequence[Box]) -> list[Box]:
    """The boxes whose centre lies inside ``region``."""
    x, y, w, h = region
    return [b for b in boxes if x <= b[0] + b[2] / 2 < x + w and y <= b[1] + b[3] / 2 < y + h]


def face_in(region: Box, boxes: Sequence[Box]) -> Box | None:
    """The largest box whose centre lies inside ``region`` (the pasted photo), if any."""
    return max(inside(region, boxes), key=lambda b: b[2] * b[3], default=None)


def build_detectors(names: Sequence[str] = DETECTORS) -> dict[str, Detector]:
    return {name: make_detector(name) for name in names}


def evaluate_crops(samples: Sequence[Sample], detectors: dict[str, Detector], patrol: MaskPatrol | None = None,
                   settings: DetectorSettings = CROP_SETTINGS) -> dict[str, Any]:
    """Found rates per class, agreement with Haar and classifier figures (see module doc)."""
    names = list(detectors)
    found: dict[str, dict[str, list[bool]]] = {n: {c: [] for c in CLASSES.values()} for n in names}
    agree: dict[str, list[float]] = {n: [] for n in names if n != "haar"}
    # Classifier inputs: for each detector, (true label, crop) of the faces it found.
    crops: dict[str, list[tuple[str, np.ndarray, str]]] = {n: [] for n in names}
    # Boxes besides the one taken for the face: other people in scene photos, but mostly
    # false alarms (a shirt, a mask seen as a second face); a faster setting must not buy
    # its speed with many more of them.
    beside: dict[str, int] = {n: 0 for n in names}
    for s in samples:
        canvas, region = on_canvas(s.rgb)
        drawn = {n: d.detect(canvas, settings) for n, d in detectors.items()}
        every = {n: inside(region, b) for n, b in drawn.items()}
        boxes = {n: face_in(region, b) for n, b in every.items()}
        for n, box in boxes.items():
            found[n][s.label].append(box is not None)
            beside[n] += len(drawn[n]) - (box is not None)
            if box is not None:
                crops[n].append((s.label, square_crop(canvas, box), s.name))
        if every.get("haar"):
            for n in agree:
                # The same face: some photos show several people, so compare the best pair.
                if every[n]:
                    agree[n].append(max(iou(crop_region(h), crop_region(b)) for h in every["haar"] for b in every[n]))
    report: dict[str, Any] = {"images": {c: sum(s.label == c for s in samples) for c in CLASSES.values()},
                              "found_rate": {n: {c: float(np.mean(v)) if v else 0.0 for c, v in per.items()}
                                             for n, per in found.items()},
                              "boxes_beside_face": beside,
                              "agreement": {n: {"pairs": len(v),
                                                "median_iou": float(np.median(v)) if v else 0.0,
                                                "iou_ge_0_5": float(np.mean(np.asarray(v) >= AGREE_IOU)) if v else 0.0}
                                            for n, v in agree.items()}}
    if patrol is not None:
        report["classifier"] = classifier_figures(patrol, crops, report["images"])
    return report


def _scores(truth: Sequence[str], pred: Sequence[str], totals: dict[str, int] | None = None) -> dict[str, float]:
    """Accuracy, no-mask recall and the share of unmasked faces flagged (any label but "mask",
    as ``Face.masked`` has it: "no mask" and "incorrect" both raise the app's alert); with ``totals`` the denominators are all photos,
    so a face the detector missed counts as wrong (and an unmasked one as not caught)."""
    truth, pred = np.asarray(truth), np.asarray(pred)
    n = sum(totals.values()) if totals else len(truth)
    n_nomask = totals["no_mask"] if totals else int((truth == "no_mask").sum())
    unmasked = truth == "no_mask"
    flagged = unmasked & (pred != MASK)
    return {"faces": int(len(truth)),
            "accuracy": float((truth == pred).sum() / n) if n else 0.0,
            "no_mask_recall": float((unmasked & (pred == "no_mask")).sum() / n_nomask) if n_nomask else 0.0,
            "flagged": float(flagged.sum() / n_nomask) if n_nomask else 0.0}


def classifier_figures(patrol: MaskPatrol, crops: dict[str, list[tuple[str, np.ndarray, str]]],
                       totals: dict[str, int]) -> dict[str, Any]:
    """Labels as the app gives them, at the card's thresholds. With a 3-class model a face
    may be labelled "incorrect" (mask below the nose); these photos are labelled only
    mask / no mask, so that label is right for neither in accuracy and recall, but on an
    unmasked face it raises the alert as "no mask" does: ``flagged`` counts it."""
    threshold, incorrect_threshold = patrol.threshold(Settings()), patrol.incorrect_threshold(Settings())
    preds: dict[str, dict[str, tuple[str, str]]] = {}
    for n, items in crops.items():
        probs = patrol.classifier.predict_classes([c for _, c, _ in items]) if items else np.empty((0, 3))
        preds[n] = {name: (label, label_for(float(p[1]), threshold, float(p[2]), incorrect_threshold))
                    for (label, _, name), p in zip(items, probs)}
    out: dict[str, Any] = {}
    for n, by_name in preds.items():
        entry = {"found_faces": _scores([t for t, _ in by_name.values()], [p for _, p in by_name.values()]),
                 "all_photos": _scores([t for t, _ in by_name.values()], [p for _, p in by_name.values()], totals)}
        if n != "haar" and "haar" in preds:
            both = sorted(set(by_name) & set(preds["haar"]))
            entry["both_found"] = {
                "this": _scores([by_name[k][0] for k in both], [by_name[k][1] for k in both]),
                "haar": _scores([preds["haar"][k][0] for k in both], [preds["haar"][k][1] for k in both])}
        out[n] = entry
    return out


def raw_detectors() -> dict[str, Callable[[np.ndarray], list[Detection]]]:
    """Each neural detector with its own framing (no mapping onto Haar's box)."""
    yunet = YuNetDetector(transform=IDENTITY)
    short, full = BlazeFaceDetector(SHORT_RANGE, transform=IDENTITY), BlazeFaceDetector(FULL_RANGE, transform=IDENTITY)
    return {"yunet": lambda rgb: yunet.detections(rgb, CROP_SETTINGS),
            SHORT_RANGE.file: short.detections, FULL_RANGE.file: full.detections}


def calibrate(samples: Sequence[Sample], raw: Callable[[np.ndarray], list[Detection]],
              settings: DetectorSettings = CROP_SETTINGS) -> dict[str, Any]:
    """Median mapping from a detector's own box to Haar's on faces both find.

    scale = Haar side / max(raw w, h); dx, dy = centre offset / raw w, h."""
    haar = make_detector("haar")
    ratios = []
    for s in samples:
        canvas, region = on_canvas(s.rgb)
        hb = face_in(region, haar.detect(canvas, settings))
        dets = [d for d in raw(canvas)
                if region[0] <= (d.box[0] + d.box[2]) / 2 < region[0] + region[2]
                and region[1] <= (d.box[1] + d.box[3]) / 2 < region[1] + region[3]]
        if hb is None or not dets:
            continue
        x0, y0, x1, y1 = max(dets, key=lambda d: (d.box[2] - d.box[0]) * (d.box[3] - d.box[1])).box
        bw, bh = x1 - x0, y1 - y0
        hx, hy, hw, hh = hb
        # Only pairs that are plausibly the same face (centres within half a face).
        if abs(hx + hw / 2 - (x0 + x1) / 2) > bw / 2 or abs(hy + hh / 2 - (y0 + y1) / 2) > bh / 2:
            continue
        ratios.append((hw / max(bw, bh), (hx + hw / 2 - (x0 + x1) / 2) / bw, (hy + hh / 2 - (y0 + y1) / 2) / bh))
    arr = np.asarray(ratios)
    if not len(arr):
        return {"pairs": 0}
    q = lambda col: [round(float(v), 4) for v in np.percentile(arr[:, col], [25, 50, 75])]  # noqa: E731
    return {"pairs": len(arr), "scale_q25_50_75": q(0), "dx_q25_50_75": q(1), "dy_q25_50_75": q(2)}


def _background(rng: np.random.Generator) -> np.ndarray:
    w, h = FRAME_SIZE
    small = rng.integers(40, 220, (6, 8, 3)).astype(np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def compose_frames(samples: Sequence[Sample], n_frames: int, faces_per_frame: int = 3,
                   seed: int = 1) -> list[tuple[np.ndarray, list[Box]]]:
    """640x480 frames with ``faces_per_frame`` photos (120-200 px tall) side by side."""
    rng = np.random.default_rng(seed)
    frames = []
    w, h = FRAME_SIZE
    slot = w // faces_per_frame
    for _ in range(n_frames):
        frame = _background(rng)
        truth = []
        for k in range(faces_per_frame):
            s = samples[int(rng.integers(len(samples)))]
            ph = int(rng.integers(120, 201))
            pw = min(slot - 8, max(16, round(s.rgb.shape[1] * ph / s.rgb.shape[0])))
            photo = cv2.resize(s.rgb, (pw, ph), interpolation=cv2.INTER_AREA)
            x = k * slot + int(rng.integers(0, slot - pw + 1))
            y = int(rng.integers(0, h - ph + 1))
            frame[y:y + ph, x:x + pw] = photo
            truth.append((x, y, pw, ph))
        frames.append((frame, truth))
    return frames


def evaluate_frames(frames: Sequence[tuple[np.ndarray, list[Box]]], detectors: dict[str, Detector],
                    settings: DetectorSettings = DetectorSettings(), repeats: int = 1) -> dict[str, Any]:
    out = {}
    for n, det in detectors.items():
        det.detect(frames[0][0], settings)  # warm-up: first call allocates
        times, placed, hit, extra = [], 0, 0, 0
        for _ in range(repeats):
            for frame, truth in frames:
                t0 = time.perf_counter()
                boxes = det.detect(frame, settings)
                times.append((time.perf_counter() - t0) * 1000)
                matched = [face_in(region, boxes) for region in truth]
                placed += len(truth)
                hit += sum(b is not None for b in matched)
                extra += sum(b not in matched for b in boxes)
        out[n] = {"frames": len(frames) * repeats, "faces_placed": placed, "found_rate": hit / placed if placed else 0.0,
                  "extra_boxes": extra, "ms_median": statistics.median(times),
                  "ms_p90": float(np.percentile(times, 90))}
    return out


#: scikit-image's bundled sample photos without a human face, for counting false boxes.
FACELESS_SAMPLES = ("coffee", "chelsea", "rocket", "coins", "hubble_deep_field", "immunohistochemistry",
                    "moon", "page", "text", "horse", "brick", "grass", "gravel", "colorwheel", "logo",
                    "checkerboard", "clock", "microaneurysms", "cell")


def faceless_images(n_synthetic: int = 100, seed: int = 7) -> dict[str, list[np.ndarray]]:
    """Real photos without faces (skimage, bundled) and smooth synthetic backgrounds, as
    640x480 RGB frames: every box a detector draws on them is a false alarm."""
    from skimage import data

    real = []
    for name in FACELESS_SAMPLES:
        try:
            img = np.asarray(getattr(data, name)())
        except Exception:  # a sample needing a download we cannot make: skip it
            continue
        if img.dtype == bool:
            img = img.astype(np.uint8) * 255
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = np.ascontiguousarray(img[..., :3]).astype(np.uint8)
        real.append(cv2.resize(img, FRAME_SIZE, interpolation=cv2.INTER_AREA))
    rng = np.random.default_rng(seed)
    return {"real_photos": real, "smooth_backgrounds": [_background(rng) for _ in range(n_synthetic)]}


def false_boxes(images: dict[str, list[np.ndarray]], detectors: dict[str, Detector],
                settings: DetectorSettings = DetectorSettings()) -> dict[str, dict[str, Any]]:
    """Per detector and image set: images with any box, and boxes in all."""
    out: dict[str, dict[str, Any]] = {}
    for n, det in detectors.items():
        out[n] = {}
        for kind, imgs in images.items():
            counts = [len(det.detect(img, settings)) for img in imgs]
            out[n][kind] = {"images": len(imgs), "images_with_boxes": int(sum(c > 0 for c in counts)),
                            "boxes": int(sum(counts))}
    return out


def table(report: dict[str, Any]) -> str:
    lines = []
    crops = report["crops"]
    if "haar_settings" in report:
        hs = report["haar_settings"]
        lines.append(f"Haar: scale factor {hs['scale_factor']}, min neighbours {hs['min_neighbors']}")
    lines.append(f"Crops on a grey canvas twice their size ({crops['images']['mask']} masked, "
                 f"{crops['images']['no_mask']} unmasked, {SOURCE}):")
    lines.append(f"{'detector':16} {'found mask':>11} {'found no mask':>14} {'IoU>=0.5 vs Haar':>17} {'median IoU':>11}"
                 f" {'boxes beside':>13}")
    for n, rates in crops["found_rate"].items():
        ag = crops["agreement"].get(n)
        agree = f"{ag['iou_ge_0_5']:.1%} of {ag['pairs']}" if ag else "-"
        med = f"{ag['median_iou']:.3f}" if ag else "-"
        lines.append(f"{n:16} {rates['mask']:>11.1%} {rates['no_mask']:>14.1%} {agree:>17} {med:>11}"
                     f" {crops['boxes_beside_face'][n]:>13}")
    if "classifier" in crops:
        lines.append("")
        lines.append("Classifier on crops from each detector's box (accuracy / no-mask recall; "
                     "flagged: unmasked called no mask or below nose):")
        for n, c in crops["classifier"].items():
            f, a = c["found_faces"], c["all_photos"]
            line = (f"{n:16} found faces {f['accuracy']:.1%} / {f['no_mask_recall']:.1%} ({f['faces']})"
                    f"   all photos {a['accuracy']:.1%} / {a['no_mask_recall']:.1%}, flagged {a['flagged']:.1%}")
            if "both_found" in c:
                b = c["both_found"]
                line += (f"   same faces as Haar ({b['this']['faces']}): this {b['this']['accuracy']:.1%} / "
                         f"{b['this']['no_mask_recall']:.1%}, haar {b['haar']['accuracy']:.1%} / "
                         f"{b['haar']['no_mask_recall']:.1%}")
            lines.append(line)
    fr = report["frames"]
    lines.append("")
    lines.append(f"{FRAME_SIZE[0]}x{FRAME_SIZE[1]} frames, {report['faces_per_frame']} photos each "
                 f"(load average {report['load_average']}):")
    lines.append(f"{'detector':16} {'found':>7} {'extra boxes':>12} {'ms median':>10} {'ms p90':>8}")
    for n, r in fr.items():
        lines.append(f"{n:16} {r['found_rate']:>7.1%} {r['extra_boxes']:>12} {r['ms_median']:>10.2f} {r['ms_p90']:>8.2f}")
    if "false_boxes" in report:
        lines.append("")
        lines.append("False boxes on 640x480 images without faces (images with a box / images):")
        for n, kinds in report["false_boxes"].items():
            lines.append(f"{n:16} " + "   ".join(f"{k.replace('_', ' ')} {v['images_with_boxes']}/{v['images']}"
                                                 for k, v in kinds.items()))
    if "calibration" in report:
        lines.append("")
        lines.append(f"Calibration (raw box -> Haar box, quartiles): {json.dumps(report['calibration'])}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=Path(os.environ.get("MASKPATROL_DATA_DIR", "../shared/data")))
    p.add_argument("--per-class", type=int, default=None, help="random photos per class (default: all)")
    p.add_argument("--frames", type=int, default=40, help="640x480 frames to compose")
    p.add_argument("--faces-per-frame", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3, help="timing passes over the frames")
    p.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=DETECTORS)
    p.add_argument("--no-classifier", action="store_true", help="skip the classifier figures")
    p.add_argument("--calibrate", action="store_true", help="also measure the YuNet/BlazeFace->Haar box mappings")
    p.add_argument("--write-figures", action="store_true",
                   help=f"write the figures the app shows to {FIGURES_PATH.relative_to(ROOT)} (needs all detectors, all photos)")
    add_haar_arguments(p)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    samples = load_samples(args.data, args.per_class, args.seed)
    detectors = build_detectors(args.detectors)
    patrol = None if args.no_classifier else MaskPatrol.load()
    # Haar's knobs, so that a faster setting can be judged on the same photos; BlazeFace
    # ignores them.
    haar = {"scale_factor": args.scale_factor, "min_neighbors": args.min_neighbors}
    frame_settings = replace(DetectorSettings(), **haar)
    report: dict[str, Any] = {"source": SOURCE, "faces_per_frame": args.faces_per_frame, "haar_settings": haar,
                              "load_average": [round(v, 2) for v in os.getloadavg()]}
    report["crops"] = evaluate_crops(samples, detectors, patrol, replace(CROP_SETTINGS, **haar))
    frames = compose_frames(samples, args.frames, args.faces_per_frame, seed=args.seed + 1)
    report["frames"] = evaluate_frames(frames, detectors, frame_settings, repeats=args.repeats)
    report["false_boxes"] = false_boxes(faceless_images(), detectors, frame_settings)
    if args.calibrate:
        report["calibration"] = {name: calibrate(samples, raw) for name, raw in raw_detectors().items()}
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.write_figures and (args.per_class is not None or set(args.detectors) != set(DETECTORS) or args.no_classifier):
        raise SystemExit("--write-figures needs every photo (no --per-class), every detector and the classifier")
    report = run(args)
    print(json.dumps(report, indent=2) if args.json else table(report))
    if args.write_figures:
        FIGURES_PATH.write_text(json.dumps(figures_from_report(report), indent=2) + "\n")
        print(f"figures written to {FIGURES_PATH.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
