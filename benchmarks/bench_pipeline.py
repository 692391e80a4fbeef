"""Pipeline benchmark: how fast Mask Patrol detects, classifies and draws, and what it finds.

Run from the project root::

    .venv/bin/python benchmarks/bench_pipeline.py --data ../shared/data          # table
    .venv/bin/python benchmarks/bench_pipeline.py --data ../shared/data --json   # for diffs

Frames are generated, never stored: real faces from the data folder are pasted onto smooth
synthetic backgrounds. Only faces the Haar cascade finds *at full resolution and alone*
are used, so "found / placed" measures what the pipeline's downscaling and crowding cost,
not the cascade's general weakness on e.g. masked profiles.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as a plain script from anywhere
    sys.path.insert(0, str(ROOT))

from bench_args import add_data_arguments, add_haar_arguments, require_data  # noqa: E402
from maskpatrol.annotate import annotate  # noqa: E402
from maskpatrol.detectors import DEFAULT_DETECTOR, DETECTOR_NAMES, DetectorSettings  # noqa: E402
from maskpatrol.images import load_image  # noqa: E402
from maskpatrol.paths import CASCADE_PATH  # noqa: E402
from maskpatrol.pipeline import MaskPatrol, Settings  # noqa: E402
from maskpatrol.runtime import CV_THREADS_ENV  # noqa: E402

Box = tuple[int, int, int, int]

#: Face folders tried, in this order, alternating between them: masked and unmasked faces.
FACE_FOLDERS = ("faces/kaggle12k/test/without_mask", "faces/kaggle12k/test/with_mask")
#: Face sizes (detector box side, pixels of the frame) cycled through when placing faces.
FACE_SIZES = (40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120)
#: A placed face counts as found when a detected box overlaps it by this IoU.
MATCH_IOU = 0.3
#: Faces up to this side count as "small" (the 40 px faces downscaling must not lose).
SMALL_FACE_PX = 44


@dataclass(frozen=True)
class FaceSample:
    """A face photo plus where, inside it, the cascade sees the face (at full resolution)."""

    name: str
    rgb: np.ndarray
    box: Box


@dataclass
class Frame:
    rgb: np.ndarray
    truth: list[Box]


@dataclass(frozen=True)
class FrameType:
    key: str
    width: int
    height: int
    n_faces: int
    variants: int
    repeats: int


@dataclass
class Result:
    key: str
    width: int
    height: int
    n_faces: int
    runs: int
    detect_ms: list[float] = field(default_factory=list)
    classify_ms: list[float] = field(default_factory=list)
    draw_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    placed: int = 0
    found: int = 0
    false_positives: int = 0
    #: Faces found by the cascade on the full-resolution frame with the same settings: the
    #: pipeline's downscaling must not find fewer.
    reference_found: int = 0
    small_placed: int = 0
    small_found: int = 0


# --------------------------------------------------------------------------- frames


def reference_detect(cascade: cv2.CascadeClassifier, rgb: np.ndarray,
                     settings: DetectorSettings = DetectorSettings(), min_side: int = 24) -> list[Box]:
    """The plain cascade on the full-resolution frame: no downscale, no tricks. Used to pick
    detectable faces (``min_side`` 24, the cascade's window) and as the yardstick the
    pipeline's downscaled detection is compared with (``min_side`` = ``min_face_px``)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    found = cascade.detectMultiScale(gray, scaleFactor=settings.scale_factor,
                                     minNeighbors=settings.min_neighbors, minSize=(min_side, min_side))
    return [tuple(int(v) for v in b) for b in np.asarray(found).reshape(-1, 4)]


def background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth, colourful, face-free background: gradients plus blurred blobs.

    Smooth on purpose: sharp random texture makes the cascade fire on noise, which would
    measure the background rather than the pipeline."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    out = np.empty((height, width, 3), np.float32)
    for c in range(3):
        slope, base = rng.uniform(-60, 60, 2), rng.uniform(70, 190)
        out[..., c] = base + slope[0] * xx / width + slope[1] * yy / height
    small = rng.normal(0, 25, (max(2, height // 40), max(2, width // 40), 3)).astype(np.float32)
    out += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    return np.clip(out, 0, 255).astype(np.uint8)


def _pad_and_detect(cascade: cv2.CascadeClassifier, face: np.ndarray, rng: np.random.Generator) -> list[Box]:
    h, w = face.shape[:2]
    canvas = background(w * 2 + 40, h * 2 + 40, rng)
    canvas[h // 2 + 20:h // 2 + 20 + h, w // 2 + 20:w // 2 + 20 + w] = face
    return [(x - w // 2 - 20, y - h // 2 - 20, bw, bh)
            for x, y, bw, bh in reference_detect(cascade, canvas)]


def scaled_face(sample: FaceSample, side: int) -> tuple[np.ndarray, Box]:
    """The face photo resized so that its face box is ``side`` pixels wide."""
    f = side / sample.box[2]
    h, w = sample.rgb.shape[:2]
    nw, nh = max(1, round(w * f)), max(1, round(h * f))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
    img = cv2.resize(sample.rgb, (nw, nh), interpolation=interp)
    x, y, bw, bh = sample.box
    return img, (round(x * f), round(y * f), round(bw * f), round(bh * f))


def select_faces(data_dir: Path, count: int, max_tries: int = 400) -> list[FaceSample]:
    """The first ``count`` face photos (sorted names, folders alternating) in which the
    full-resolution cascade finds exactly one face, both at native size and shrunk so the
    face is 40 px: deterministic, and every placed face is one Haar can find."""
    cascade = cv2.CascadeClassifier(str(CASCADE_PATH))
    lists = []
    for folder in FACE_FOLDERS:
        path = data_dir / folder
        if not path.is_dir():
            raise SystemExit(f"face folder {path} not found: pass --data pointing at the folder with faces/")
        lists.append(sorted(p for p in path.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")))
    chosen: list[FaceSample] = []
    rng = np.random.default_rng(1234)
    tries = 0
    for i in range(max(len(x) for x in lists)):
        for files in lists:
            if len(chosen) >= count or tries >= max_tries or i >= len(files):
                continue
            tries += 1
            rgb = load_image(files[i])
            # Enlarge small crops so the native-size check works at more than one scale.
            if max(rgb.shape[:2]) < 160:
                f = 160 / max(rgb.shape[:2])
                rgb = cv2.resize(rgb, (round(rgb.shape[1] * f), round(rgb.shape[0] * f)),
                                 interpolation=cv2.INTER_LINEAR)
            boxes = _pad_and_detect(cascade, rgb, rng)
            if len(boxes) != 1:
                continue
            sample = FaceSample(f"{files[i].parent.name}/{files[i].name}", rgb, boxes[0])
            small, _ = scaled_face(sample, FACE_SIZES[0])
            if len(_pad_and_detect(cascade, small, rng)) != 1:
                continue
            chosen.append(sample)
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} Haar-detectable faces found in {data_dir} (wanted {count})")
    return chosen


def compose(width: int, height: int, faces: Sequence[FaceSample], sizes: Sequence[int],
            rng: np.random.Generator, scale: float = 1.0) -> Frame:
    """Paste faces at non-overlapping random places; returns the frame and the true boxes.

    ``scale`` multiplies face sizes (a 12 MP photo taken from the same distance has
    proportionally larger faces)."""
    frame = background(width, height, rng)
    taken: list[tuple[int, int, int, int]] = []
    truth: list[Box] = []
    for sample, side in zip(faces, sizes):
        img, (bx, by, bw, bh) = scaled_face(sample, round(side * scale))
        h, w = img.shape[:2]
        for _ in range(200):
            x0 = int(rng.integers(0, max(1, width - w)))
            y0 = int(rng.integers(0, max(1, height - h)))
            rect = (x0 - 4, y0 - 4, x0 + w + 4, y0 + h + 4)
            if all(rect[2] <= t[0] or rect[0] >= t[2] or rect[3] <= t[1] or rect[1] >= t[3] for t in taken):
                break
        else:
            raise RuntimeError(f"no room for {len(faces)} faces in a {width}x{height} frame")
        taken.append(rect)
        frame[y0:y0 + h, x0:x0 + w] = img[:min(h, height - y0), :min(w, width - x0)]
        truth.append((x0 + bx, y0 + by, bw, bh))
    return Frame(frame, truth)


def iou(a: Box, b: Box) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


def match(truth: Sequence[Box], found: Sequence[Box]) -> tuple[int, int]:
    """(true faces found, detections matching no true face), greedy by IoU."""
    free = list(found)
    hits = 0
    for t in truth:
        best = max(free, key=lambda b: iou(t, b), default=None)
        if best is not None and iou(t, best) >= MATCH_IOU:
            hits += 1
            free.remove(best)
    return hits, len(free)


# --------------------------------------------------------------------------- timing


def frame_types(quick: bool) -> list[FrameType]:
    """The fixed benchmark set; ``quick`` is a seconds-long smoke version of the same."""
    r = (lambda full, small: small if quick else full)
    return [
        FrameType("640x480 0 faces", 640, 480, 0, r(8, 1), r(300, 5)),
        FrameType("640x480 1 face", 640, 480, 1, r(8, 1), r(300, 5)),
        FrameType("640x480 3 faces", 640, 480, 3, r(8, 2), r(300, 5)),
        FrameType("640x480 6 faces", 640, 480, 6, r(8, 1), r(300, 5)),
        FrameType("1280x720 3 faces", 1280, 720, 3, r(4, 1), r(60, 3)),
        FrameType("4000x3000 6 faces", 4000, 3000, 6, r(1, 1), r(5, 1)),
    ]


def build_frames(ft: FrameType, faces: Sequence[FaceSample], seed: int) -> list[Frame]:
    rng = np.random.default_rng(seed + ft.width * 7 + ft.n_faces)
    frames = []
    scale = 3.0 if ft.width >= 4000 else 1.0  # 12 MP: faces 120-360 px
    for v in range(ft.variants):
        start = (v * 5 + ft.n_faces) % len(faces)
        picked = [faces[(start + k) % len(faces)] for k in range(ft.n_faces)]
        sizes = [FACE_SIZES[(v * 3 + k * 4) % len(FACE_SIZES)] for k in range(ft.n_faces)]
        frames.append(compose(ft.width, ft.height, picked, sizes, rng, scale))
    return frames


def run_type(patrol: MaskPatrol, ft: FrameType, frames: Sequence[Frame], settings: Settings,
             warmup: int) -> Result:
    res = Result(ft.key, ft.width, ft.height, ft.n_faces, ft.repeats)
    cascade = cv2.CascadeClassifier(str(CASCADE_PATH))
    for frame in frames:  # quality: once per distinct frame
        boxes = [f.box for f in patrol.analyze(frame.rgb, settings)]
        hits, extra = match(frame.truth, boxes)
        res.placed += len(frame.truth)
        res.found += hits
        res.false_positives += extra
        small = [t for t in frame.truth if t[2] <= SMALL_FACE_PX]
        res.small_placed += len(small)
        res.small_found += match(small, boxes)[0]
        ref = reference_detect(cascade, frame.rgb, settings.detector, settings.detector.min_face_px)
        res.reference_found += match(frame.truth, ref)[0]
    canvas = [f.rgb.copy() for f in frames]  # drawing target, as a video frame is drawn in place
    for i in range(warmup + ft.repeats):
        k = i % len(frames)
        np.copyto(canvas[k], frames[k].rgb)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        faces = patrol.analyze(frames[k].rgb, settings, timings)
        t1 = time.perf_counter()
        annotate(canvas[k], faces, show_probability=True, in_place=True)
        t2 = time.perf_counter()
        if i < warmup:
            continue
        res.detect_ms.append(timings["detect_ms"])
        res.classify_ms.append(timings["classify_ms"])
        res.draw_ms.append((t2 - t1) * 1000.0)
        res.total_ms.append((t2 - t0) * 1000.0)
    return res


def interleaved_ratio(patrol: MaskPatrol, frames: Sequence[Frame], settings: Settings, baseline: str,
                      repeats: int) -> dict[str, Any]:
    """The pipeline against ``baseline`` (another detector) on the same frames, one call of
    each in turn, so both see the same load: machines here differ ~2x in speed and a busy one
    more, and the ratio survives that where the absolute milliseconds do not."""
    other = Settings(replace(settings.detector, name=baseline), settings.threshold)
    times: dict[str, list[float]] = {"this": [], "baseline": []}
    for i in range(repeats + 2):
        frame = frames[i % len(frames)].rgb
        for key, st in (("this", settings), ("baseline", other)):
            t0 = time.perf_counter()
            patrol.analyze(frame, st)
            if i >= 2:  # two untimed rounds: first calls allocate
                times[key].append((time.perf_counter() - t0) * 1000.0)
    this, base = statistics.median(times["this"]), statistics.median(times["baseline"])
    return {"baseline": baseline, "runs": repeats, "this_ms_median": round(this, 2),
            "baseline_ms_median": round(base, 2), "ratio": round(this / base, 3)}


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, np.float64), q)) if values else float("nan")


def summarize_result(r: Result) -> dict[str, Any]:
    def stat(v: list[float]) -> dict[str, float]:
        return {"median": round(pct(v, 50), 3), "p95": round(pct(v, 95), 3)}

    med = pct(r.total_ms, 50)
    return {
        "frame": r.key, "width": r.width, "height": r.height, "faces_per_frame": r.n_faces,
        "runs": r.runs,
        "detect_ms": stat(r.detect_ms), "classify_ms": stat(r.classify_ms),
        "draw_ms": stat(r.draw_ms), "total_ms": stat(r.total_ms),
        "fps": round(1000.0 / med, 1) if med > 0 else None,
        "faces_placed": r.placed, "faces_found": r.found, "false_positives": r.false_positives,
        "faces_found_full_resolution": r.reference_found,
        "small_faces_placed": r.small_placed, "small_faces_found": r.small_found,
    }


# --------------------------------------------------------------------------- cold start

_COLD_CHILD = r"""
import time, sys, json
t0 = time.perf_counter()
import numpy as np
from maskpatrol.pipeline import MaskPatrol, Settings
from maskpatrol.detectors import DetectorSettings
from maskpatrol.annotate import annotate
patrol = MaskPatrol.load(detector=sys.argv[2])
frame = np.load(sys.argv[1])
faces = patrol.analyze(frame, Settings(DetectorSettings(name=sys.argv[2])))
annotate(frame, faces, in_place=True)
t1 = time.perf_counter()
rss_kb = 0
with open("/proc/self/status") as fh:
    for line in fh:
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
print(json.dumps({"in_process_s": t1 - t0, "rss_mb": rss_kb / 1024, "faces": len(faces),
                  "tensorflow_imported": bool(bad)}))
"""


def cold_start(frame: np.ndarray, runs: int, detector: str = DEFAULT_DETECTOR) -> dict[str, Any]:
    """Fresh interpreters: process spawn + imports + model load + first frame analysed and
    drawn, measured from outside (wall clock), and the RSS a serving process then holds."""
    walls, inner, rss, tf = [], [], [], False
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "frame.npy"
        np.save(path, frame)
        for _ in range(runs):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", _COLD_CHILD, str(path), detector], cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
            wall = time.perf_counter() - t0
            if out.returncode != 0:
                raise RuntimeError(f"cold-start child failed:\n{out.stderr}")
            info = json.loads(out.stdout.strip().splitlines()[-1])
            walls.append(wall)
            inner.append(info["in_process_s"])
            rss.append(info["rss_mb"])
            tf = tf or info["tensorflow_imported"]
    return {"runs": runs, "wall_s_median": round(statistics.median(walls), 3),
            "wall_s_max": round(max(walls), 3),
            "in_process_s_median": round(statistics.median(inner), 3),
            "serving_rss_mb_median": round(statistics.median(rss), 1),
            "tensorflow_imported": tf}


# --------------------------------------------------------------------------- output


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def table(report: dict[str, Any]) -> str:
    head = ("| frame | detect ms (med / p95) | classify ms | draw ms | total ms (med / p95) | fps "
            "| faces found / placed | full-res cascade | faces <= 44 px found |\n"
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    rows = [head]
    for r in report["frames"]:
        def s(key: str) -> str:
            return f"{r[key]['median']:.1f} / {r[key]['p95']:.1f}"
        rows.append(f"| {r['frame']} | {s('detect_ms')} | {s('classify_ms')} | {s('draw_ms')} | "
                    f"{s('total_ms')} | {r['fps']} | {r['faces_found']}/{r['faces_placed']} | "
                f"{r['faces_found_full_resolution']}/{r['faces_placed']} | "
                f"{r['small_faces_found']}/{r['small_faces_placed']} |")
    env = report["environment"]
    lines = ["\n".join(rows), "",
             f"Peak RSS of this benchmark process: {report['peak_rss_mb']:.0f} MB"]
    cs = report.get("cold_start")
    if cs:
        lines.append(f"Cold start (new process: import + load + first frame), median of {cs['runs']}: "
                     f"{cs['wall_s_median']:.2f} s (max {cs['wall_s_max']:.2f} s); serving RSS "
                     f"{cs['serving_rss_mb_median']:.0f} MB; TensorFlow imported: {cs['tensorflow_imported']}")
    ratio = report.get("ratio_to_baseline")
    if ratio:
        lines.append(f"640x480 3 faces, timed in turn with {ratio['baseline']} ({ratio['runs']} runs): "
                     f"{ratio['this_ms_median']:.1f} ms vs {ratio['baseline_ms_median']:.1f} ms, "
                     f"ratio {ratio['ratio']:.2f}")
    lines.append(f"Detector {env['detector']} (Haar scale factor {env['scale_factor']}, min neighbours "
                 f"{env['min_neighbors']}); {env['cpus']} CPUs, cv2 threads {env['cv2_threads']}, classifier threads "
                 f"{env['classifier_threads']}, load average before/after {env['load_before']} / {env['load_after']}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(p)
    p.add_argument("--quick", action="store_true", help="a few runs per frame type (smoke test)")
    p.add_argument("--frames", default="", help="comma-separated substrings selecting frame types, "
                   "e.g. '640x480' (default: all)")
    p.add_argument("--cold-runs", type=int, default=3, help="cold-start subprocesses (0 skips)")
    p.add_argument("--warmup", type=int, default=None, help="untimed runs per frame type")
    p.add_argument("--detector", choices=DETECTOR_NAMES, default=DEFAULT_DETECTOR,
                   help=f"face detector the pipeline runs (default: {DEFAULT_DETECTOR}). 'full-res cascade' "
                        "stays the plain Haar cascade, as a yardstick")
    add_haar_arguments(p)
    p.add_argument("--baseline", choices=[*DETECTOR_NAMES, ""], default="haar",
                   help="detector timed in turn with --detector on the 640x480 3-face frames, for a "
                        "ratio that holds across machines and load (default: haar; '' skips)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cv-threads", type=int, default=None,
                   help="override OpenCV's thread count (default: maskpatrol.runtime's choice)")
    p.add_argument("--classifier-threads", type=int, default=None,
                   help="override LiteRT's thread count (default: the pipeline's)")
    return require_data(p, p.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = load_average()
    types = frame_types(args.quick)
    if args.frames:
        wanted = [w.strip() for w in args.frames.split(",") if w.strip()]
        types = [t for t in types if any(w in t.key for w in wanted)]
    faces = select_faces(args.data, 12)
    patrol = (MaskPatrol.load() if args.classifier_threads is None
              else MaskPatrol.load(num_threads=args.classifier_threads))
    if args.cv_threads is not None:
        os.environ[CV_THREADS_ENV] = str(args.cv_threads)  # the cold-start children too
        cv2.setNumThreads(args.cv_threads)
    settings = Settings(DetectorSettings(name=args.detector, scale_factor=args.scale_factor,
                                         min_neighbors=args.min_neighbors))
    warmup = args.warmup if args.warmup is not None else (1 if args.quick else 10)
    results = []
    three_face_frame = None
    for ft in types:
        frames = build_frames(ft, faces, args.seed)
        if ft.width == 640 and ft.n_faces == 3:
            three_face_frame = frames[0].rgb
        results.append(summarize_result(run_type(patrol, ft, frames, settings,
                                                 min(warmup, ft.repeats))))
        del frames
    if three_face_frame is None:
        three_face_frame = build_frames(FrameType("cold", 640, 480, 3, 1, 1), faces, args.seed)[0].rgb
    cold = cold_start(three_face_frame, args.cold_runs, args.detector) if args.cold_runs > 0 else None
    ratio = None
    if args.baseline and args.baseline != args.detector:
        ft = FrameType("640x480 3 faces", 640, 480, 3, 8, 60 if args.quick else 300)
        ratio = interleaved_ratio(patrol, build_frames(ft, faces, args.seed), settings, args.baseline,
                                  5 if args.quick else 100)
    report = {
        "frames": results,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cold_start": cold,
        "ratio_to_baseline": ratio,
        "face_images": [f.name for f in faces],
        "environment": {
            "detector": args.detector,
            "scale_factor": args.scale_factor, "min_neighbors": args.min_neighbors,
            "cpus": os.cpu_count(), "cv2_threads": cv2.getNumThreads(),
            "classifier_threads": getattr(patrol.classifier, "num_threads", None),
            "python": platform.python_version(), "opencv": cv2.__version__,
            "load_before": load_before, "load_after": load_average(), "quick": args.quick,
        },
    }
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
