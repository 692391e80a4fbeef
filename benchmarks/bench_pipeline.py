"""Pipeline benchmark: how fast Mask Patrol detects, classifies and draws, and what it finds.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_pipeline --data ../shared/data          # table
    .venv/bin/python -m benchmarks.bench_pipeline --data ../shared/data --json   # for diffs

The frames are :mod:`benchmarks.scenes`' (real, Haar-detectable faces pasted on smooth
backgrounds, true boxes known), so "found / placed" measures what the pipeline's downscaling
and crowding cost.
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

from benchmarks.bench_args import add_data_arguments, add_haar_arguments, require_data
from benchmarks.scenes import (Frame, FrameType, build_frames, load_average, match, pct, reference_detect,
                               select_faces)
from maskpatrol.annotate import annotate
from maskpatrol.detectors import DEFAULT_DETECTOR, DETECTOR_NAMES, DetectorSettings
from maskpatrol.paths import CASCADE_PATH
from maskpatrol.pipeline import MaskPatrol, Settings
from maskpatrol.runtime import CV_THREADS_ENV

ROOT = Path(__file__).resolve().parent.parent

#: Faces up to this side count as "small" (the 40 px faces downscaling must not lose).
SMALL_FACE_PX = 44


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
