"""What following people across frames costs (issue 32): the tracker and the per-person
judgement per frame beside the pipeline's own time, and the webcam callback's throughput and
memory for this tree beside a revision without tracking, measured in the same run.

The scene: a 640x480 clip at 25 fps in which 4 real faces from the data folder (the ones
``benchmarks.scenes.select_faces`` picks) move, each in its quarter of the frame, on smooth
paths at up to ~190 px/s, over a smooth background. Frames are made once and shared by every
measurement (saved to a temporary ``.npy`` for the fresh processes).

* ``tracking``: in this process (this tree), ``patrol.analyze`` on every frame (its ms per
  frame is the yardstick), then on those faces: ``People.update`` alone, fed again and again
  to fresh ``People`` (ms per frame, median and p95); the same plus ``People.counts``, also
  after 400 people have been judged (a long stream); ``Tracker.update`` alone; and the
  callback's work around the analysis with and without tracking, frame by frame in turn
  (drawing the faces, against tracking them and drawing them as people): what tracking adds.
  Each beside the pipeline as a ratio. The issue's budget: at most 1 ms a frame.
* ``serving``: ``LiveProcessor.process_rgb`` (the WebRTC callback's core, the proxy for the
  webcam's frames per second) on the same frames, in a fresh process per run started in the tree
  under test (``bench_memory.in_tree``), three arms taking turns, several rounds: this tree;
  this tree with tracking off (``People`` swapped for a stub that passes the faces through: the
  same pipeline without tracking); the baseline. Frames per second (also paired round by round),
  CPU ms per frame (every thread's: steadier than the wall clock on a busy machine), and the RSS
  after loading and after the frames (less the frames the benchmark holds, which a server would
  not). The baseline differs from this tree by whatever else is uncommitted too, not only by
  tracking; the tracking-off arm differs by tracking alone. The issue's budgets: FPS within 5%
  of the baseline's, memory within 20 MB. Reported, not asserted.
* ``import``: what importing ``maskpatrol.tracking``'s modules adds to a process that holds
  the pipeline (time, RSS, modules from outside the package: expected the standard library
  only).

Run from the project root::

    .venv/bin/python -m benchmarks.bench_people [--baseline REV] [--out benchmarks/results/people.json]

``--baseline`` defaults to ``HEAD``, the commit before tracking while it is uncommitted.
``--quick`` runs a few frames once (the test's smoke run). Results: ``benchmarks/results/people.json``,
read by ``docs/performance.md`` ("People tracking").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchmarks.bench_args import add_data_arguments, require_data, write_report
from benchmarks.bench_memory import archive, in_tree
from benchmarks.scenes import FaceSample, background, load_average, pct, scaled_face, select_faces

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "people.json"
WIDTH, HEIGHT, FPS = 640, 480, 25
#: Face box sides (pixels), one per face, one face per quarter of the frame.
FACE_SIDES = (72, 80, 88, 96)
#: Each face's path: an ellipse this wide and high (pixels, half-axes) run round in PERIOD_S.
SWING_PX = (90, 50)
PERIOD_S = 3.0
#: The issue's budgets.
TRACKING_BUDGET_MS = 1.0
FPS_TOLERANCE = 0.05
MEMORY_BUDGET_MB = 20.0

#: Run in a fresh process in the tree under test (``bench_memory.in_tree``): the webcam
#: callback's core on the saved frames; prints one JSON line.
SERVE_SCRIPT = r'''
import gc, json, resource, sys, time
import numpy as np, psutil
config = json.load(open(sys.argv[1]))
saved = np.load(config["frames"])
frames, passes = list(saved), config["passes"]
held_mb = saved.nbytes / 2**20  # the benchmark's frames: not the server's memory
proc = psutil.Process()
rss = lambda: proc.memory_info().rss / 2**20 - held_mb
from maskpatrol.memory import release_freed, tune_allocator
tune_allocator()
from maskpatrol.live.channel import OptionsBox, ResultQueue
from maskpatrol.live.processor import LiveProcessor
from maskpatrol.pipeline import MaskPatrol
patrol = MaskPatrol.load()
live = LiveProcessor(patrol, OptionsBox(), ResultQueue())
if config["tracking_off"]:  # this tree's callback following no one: faces drawn as found
    import maskpatrol.live.processor as processor
    from maskpatrol.pipeline import Counts
    from maskpatrol.tracking.people import PeopleUpdate
    class Untracked:
        counts = Counts()
        def update(self, faces, t, frame_size=None):
            return PeopleUpdate(list(faces), [], [0] * len(faces))
        def records(self):
            return []
    processor.People = type("People", (), {"for_patrol": staticmethod(lambda *args: Untracked())})
for frame in frames[:5]:  # warm-up: first-run costs are not the stream's
    live.process_rgb(frame)
live.reset()
gc.collect(); release_freed()
out = {"rss_loaded_mb": rss(), "tracking": hasattr(live, "people_counts") and not config["tracking_off"]}
seconds = []
cpu_start = time.process_time()  # every thread's: onnxruntime and OpenCV use two
for _ in range(passes):  # one stream: people walk out when the clip starts again
    start = time.perf_counter()
    for frame in frames:
        live.process_rgb(frame)
    seconds.append(time.perf_counter() - start)
cpu_s = time.process_time() - cpu_start
gc.collect(); release_freed()
out["rss_after_mb"] = rss()
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - held_mb
out["frames_held_mb"] = held_mb
out["frames"] = len(frames) * passes
out["fps"] = out["frames"] / sum(seconds)
out["cpu_ms_per_frame"] = cpu_s * 1000 / out["frames"]
out["people_judged"] = len(live.people_records()) if out["tracking"] else None
print(json.dumps(out))
'''

#: Run in a fresh process in this tree: what importing the tracking modules adds to a process
#: that already holds the pipeline (which they need anyway). Not the live package: its
#: ``__init__`` imports the processor, and so the tracking modules, already.
IMPORT_SCRIPT = r'''
import json, sys, time
import numpy as np, psutil
proc = psutil.Process()
import maskpatrol.pipeline
before, rss0 = set(sys.modules), proc.memory_info().rss / 2**20
start = time.perf_counter()
import maskpatrol.tracking.tracker, maskpatrol.tracking.people
ms = (time.perf_counter() - start) * 1000
new = sorted(set(sys.modules) - before)
outside = [m for m in new if not m.startswith("maskpatrol")]
print(json.dumps({"import_ms": ms, "rss_added_mb": proc.memory_info().rss / 2**20 - rss0,
                  "modules_added": new, "modules_added_outside_maskpatrol": outside,
                  "third_party_modules_added": [m for m in outside
                                                if m.split(".")[0].lstrip("_") not in sys.stdlib_module_names]}))
'''


# --------------------------------------------------------------------------- the scene


def moving_frames(faces: Sequence[FaceSample], n: int) -> tuple[list[np.ndarray], list[list[tuple]]]:
    """``n`` frames of the 4 faces moving, each round the centre of its quarter; and each
    frame's true boxes."""
    rng = np.random.default_rng(32)
    base = background(WIDTH, HEIGHT, rng)
    pasted = [scaled_face(face, side) for face, side in zip(faces, FACE_SIDES)]
    frames, truth = [], []
    for i in range(n):
        t = i / FPS
        frame, boxes = base.copy(), []
        for k, (img, (bx, by, bw, bh)) in enumerate(pasted):
            phase = 2 * math.pi * (t / PERIOD_S + k / len(pasted))
            cx = (k % 2 + 0.5) * WIDTH / 2 + SWING_PX[0] * math.cos(phase)
            cy = (k // 2 + 0.5) * HEIGHT / 2 + SWING_PX[1] * math.sin(phase)
            h, w = img.shape[:2]
            x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
            frame[y0:y0 + h, x0:x0 + w] = img
            boxes.append((x0 + bx, y0 + by, bw, bh))
        frames.append(frame)
        truth.append(boxes)
    return frames, truth


# --------------------------------------------------------------------------- tracking cost


def _per_call_ms(fn, inputs: Sequence[Any], reps: int, fresh) -> list[float]:
    """Milliseconds of each ``fn(state, i, x)`` call over ``reps`` passes of ``inputs``,
    each pass with a ``fresh()`` state (a new stream)."""
    times = []
    for _ in range(reps):
        state = fresh()
        for i, x in enumerate(inputs):
            start = time.perf_counter()
            fn(state, i, x)
            times.append(time.perf_counter() - start)
    return [t * 1000 for t in times]


def _figures(ms: Sequence[float]) -> dict[str, float]:
    return {"median": round(pct(ms, 50), 4), "p95": round(pct(ms, 95), 4), "mean": round(float(np.mean(ms)), 4)}


def tracking_cost(frames: Sequence[np.ndarray], passes: int, reps: int, long_loops: int) -> dict[str, Any]:
    """The pipeline's ms per frame beside what People and the Tracker add, in this process."""
    from maskpatrol.annotate import annotate
    from maskpatrol.pipeline import MaskPatrol, Settings
    from maskpatrol.tracking.people import People
    from maskpatrol.tracking.tracker import Tracker

    patrol = MaskPatrol.load()
    settings = Settings()
    for frame in frames[:3]:
        patrol.analyze(frame, settings)  # warm-up
    pipeline_ms, faces = [], []
    for p in range(passes):
        for frame in frames:
            start = time.perf_counter()
            found = patrol.analyze(frame, settings)
            pipeline_ms.append((time.perf_counter() - start) * 1000)
            if p == 0:
                faces.append(found)
    size = (WIDTH, HEIGHT)
    boxes = [[f.box for f in fs] for fs in faces]
    people_ms = _per_call_ms(lambda pe, i, fs: pe.update(fs, i / FPS, size), faces, reps,
                             lambda: People.for_patrol(patrol, settings))
    live_ms = _per_call_ms(lambda pe, i, fs: (pe.update(fs, i / FPS, size), pe.counts), faces, reps,
                           lambda: People.for_patrol(patrol, settings))
    tracker_ms = _per_call_ms(lambda tr, i, bs: tr.update(bs, i / FPS, size), boxes, reps,
                              lambda: Tracker(settings.people))
    # A long stream: everyone judged so far is counted again each frame (People.counts), so
    # time the live path again after the clip has passed ``long_loops`` times, people leaving
    # between passes (4 new people each pass).
    gap_s = len(faces) / FPS + 2 * settings.people.keep_lost_s
    long_people = People.for_patrol(patrol, settings)
    for loop in range(long_loops):
        for i, fs in enumerate(faces):
            long_people.update(fs, loop * gap_s + i / FPS, size)
    judged_before = len(long_people.people())
    loop = [long_loops - 1]

    def next_pass() -> People:
        loop[0] += 1
        return long_people

    long_ms = _per_call_ms(lambda pe, i, fs: (pe.update(fs, loop[0] * gap_s + i / FPS, size), pe.counts),
                           faces, max(1, reps // 10), next_pass)
    # The callback's work around the analysis, with and without tracking, frame by frame in
    # turn (which goes first alternates): drawing the frame's faces, against People.update,
    # People.counts and drawing the faces as people ("#3 No mask 91%").
    plain_ms, tracked_ms = [], []
    for _ in range(max(1, reps // 10)):
        people = People.for_patrol(patrol, settings)
        for i, (frame, fs) in enumerate(zip(frames, faces)):
            for tracked in ((False, True) if i % 2 else (True, False)):
                canvas = frame.copy()
                start = time.perf_counter()
                if tracked:
                    shown = people.update(fs, i / FPS, size).faces
                    people.counts
                else:
                    shown = fs
                annotate(canvas, shown, True, in_place=True)
                (tracked_ms if tracked else plain_ms).append((time.perf_counter() - start) * 1000)
    added = [b - a for a, b in zip(plain_ms, tracked_ms)]
    tracker = Tracker(settings.people)
    tracks = set()
    for i, bs in enumerate(boxes):
        tracks.update(tracker.update(bs, i / FPS, size)[0])
    pipe = _figures(pipeline_ms)
    out = {"pipeline_analyze_ms": pipe, "people_update_ms": _figures(people_ms),
           "people_update_and_counts_ms": _figures(live_ms), "tracker_update_ms": _figures(tracker_ms),
           "callback_draw_only_ms": _figures(plain_ms), "callback_track_and_draw_ms": _figures(tracked_ms),
           "tracking_adds_to_callback_ms": _figures(added),
           "long_stream_people_judged_before": judged_before,
           "long_stream_people_update_and_counts_ms": _figures(long_ms),
           "pipeline_passes": passes, "tracking_reps": reps,
           "faces_per_frame_mean": round(float(np.mean([len(fs) for fs in faces])), 2),
           "tracks_started": len(tracks)}
    for key in ("people_update_ms", "people_update_and_counts_ms", "long_stream_people_update_and_counts_ms",
                "tracker_update_ms", "tracking_adds_to_callback_ms"):
        out[f"ratio_{key[:-3]}_to_pipeline"] = round(out[key]["median"] / pipe["median"], 6)
    out["budget_ms"] = TRACKING_BUDGET_MS
    out["within_budget"] = out["tracking_adds_to_callback_ms"]["median"] <= TRACKING_BUDGET_MS
    return out


# --------------------------------------------------------------------------- serving, A/B


def serving(arms: dict[str, tuple[Path, Path]], rounds: int) -> dict[str, Any]:
    """Each arm's callback (a tree, and a config file naming the frames and whether tracking
    is off) in a fresh process, the arms taking turns, the order rotated every round so a
    drift in the machine's load falls on each; medians of the rounds."""
    runs: dict[str, list[dict]] = {label: [] for label in arms}
    order = list(arms)
    for r in range(rounds):
        for label in order[r % len(order):] + order[:r % len(order)]:
            tree, config = arms[label]
            run = in_tree(SERVE_SCRIPT, tree, config, timeout=900)
            if run.returncode:
                raise RuntimeError(f"serving ({label}) in {tree} failed:\n{run.stderr[-3000:]}")
            figures = json.loads(run.stdout.strip().splitlines()[-1])
            figures["load_1min"] = load_average()[:1]
            runs[label].append(figures)
    out: dict[str, Any] = {"rounds": rounds}
    for label, rs in runs.items():
        out[label] = {k: round(statistics.median(r[k] for r in rs), 2)
                      for k in ("fps", "cpu_ms_per_frame", "rss_loaded_mb", "rss_after_mb", "peak_rss_mb")}
        out[label].update(frames_per_run=rs[0]["frames"], frames_held_mb_not_counted=round(rs[0]["frames_held_mb"], 1),
                          tracking=rs[0]["tracking"], people_judged=rs[0]["people_judged"],
                          fps_runs=[round(r["fps"], 2) for r in rs],
                          load_1min_runs=[r["load_1min"][0] for r in rs if r["load_1min"]],
                          rss_after_mb_runs=[round(r["rss_after_mb"], 1) for r in rs])
    return out


def compare(serve: dict[str, Any], a_label: str, b_label: str) -> dict[str, Any]:
    """Arm ``a_label``'s serving figures as ratios and differences to ``b_label``'s; the FPS
    also round by round (each round's runs ran close together: a burst of other work hits both)."""
    a, b = serve[a_label], serve[b_label]
    ratio = a["fps"] / b["fps"]
    per_round = [x / y for x, y in zip(a["fps_runs"], b["fps_runs"])]
    paired = statistics.median(per_round)
    return {"of": a_label, "to": b_label,
            "fps_ratio": round(ratio, 4), "fps_change_pct": round((ratio - 1) * 100, 2),
            "fps_within_5pct": abs(ratio - 1) <= FPS_TOLERANCE,
            "fps_ratio_per_round": [round(x, 4) for x in per_round],
            "fps_ratio_paired_median": round(paired, 4), "fps_paired_within_5pct": abs(paired - 1) <= FPS_TOLERANCE,
            "cpu_ms_per_frame_ratio": round(a["cpu_ms_per_frame"] / b["cpu_ms_per_frame"], 4),
            "rss_after_diff_mb": round(a["rss_after_mb"] - b["rss_after_mb"], 2),
            "rss_after_ratio": round(a["rss_after_mb"] / b["rss_after_mb"], 4),
            "rss_loaded_diff_mb": round(a["rss_loaded_mb"] - b["rss_loaded_mb"], 2),
            "peak_rss_diff_mb": round(a["peak_rss_mb"] - b["peak_rss_mb"], 2),
            "memory_within_20mb": abs(a["rss_after_mb"] - b["rss_after_mb"]) <= MEMORY_BUDGET_MB}


def import_cost(tree: Path, unused_arg: Path, rounds: int) -> dict[str, Any]:
    runs = []
    for _ in range(rounds):
        run = in_tree(IMPORT_SCRIPT, tree, unused_arg, timeout=300)
        if run.returncode:
            raise RuntimeError(f"import cost in {tree} failed:\n{run.stderr[-3000:]}")
        runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
    return {"import_ms_median": round(statistics.median(r["import_ms"] for r in runs), 2),
            "rss_added_mb_median": round(statistics.median(r["rss_added_mb"] for r in runs), 2),
            "modules_added": runs[0]["modules_added"],
            "modules_added_outside_maskpatrol": runs[0]["modules_added_outside_maskpatrol"],
            "third_party_modules_added": runs[0]["third_party_modules_added"],
            "rounds": rounds}


# --------------------------------------------------------------------------- report


def table(report: dict[str, Any]) -> str:
    tr, sv, cmp_ = report["tracking"], report["serving"], report["comparison"]
    lines = [f"load average {report['load_average']['start']} -> {report['load_average']['end']}",
             f"pipeline analyze      {tr['pipeline_analyze_ms']['median']:8.3f} ms/frame",
             f"People.update         {tr['people_update_ms']['median']:8.3f} ms/frame "
             f"(x{tr['ratio_people_update_to_pipeline']} of the pipeline)",
             f"  + People.counts     {tr['people_update_and_counts_ms']['median']:8.3f} ms/frame "
             f"(x{tr['ratio_people_update_and_counts_to_pipeline']})",
             f"callback: tracking adds {tr['tracking_adds_to_callback_ms']['median']:.3f} ms/frame "
             f"(x{tr['ratio_tracking_adds_to_callback_to_pipeline']}; budget {TRACKING_BUDGET_MS} ms) to drawing's "
             f"{tr['callback_draw_only_ms']['median']:.3f} ms",
             f"  after {tr['long_stream_people_judged_before']:4d} people "
             f"{tr['long_stream_people_update_and_counts_ms']['median']:8.3f} ms/frame "
             f"(x{tr['ratio_long_stream_people_update_and_counts_to_pipeline']})",
             f"Tracker.update        {tr['tracker_update_ms']['median']:8.3f} ms/frame "
             f"(x{tr['ratio_tracker_update_to_pipeline']})"]
    for label in report["arms"]:
        s = sv[label]
        lines.append(f"{label:24s} {s['fps']:7.2f} fps, {s['cpu_ms_per_frame']:.1f} CPU ms/frame, "
                     f"RSS {s['rss_loaded_mb']:.1f} MB loaded, "
                     f"{s['rss_after_mb']:.1f} MB after {s['frames_per_run']} frames")
    for c in cmp_.values():
        lines.append(f"{c['of']} / {c['to']}: FPS x{c['fps_ratio']} ({c['fps_change_pct']:+.2f}%; "
                     f"paired by round x{c['fps_ratio_paired_median']}), CPU per frame x{c['cpu_ms_per_frame_ratio']}, "
                     f"RSS after {c['rss_after_diff_mb']:+.2f} MB (x{c['rss_after_ratio']})")
    imp = report["import"]
    lines.append(f"import maskpatrol.tracking: {imp['import_ms_median']} ms, {imp['rss_added_mb_median']} MB, "
                 f"outside modules {imp['modules_added_outside_maskpatrol']}, "
                 f"third-party {imp['third_party_modules_added']}")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(p)
    p.add_argument("--baseline", default="HEAD", help="git revision without tracking, measured beside this tree")
    p.add_argument("--out", type=Path, default=RESULTS,
                   help=f"JSON written here (default: {RESULTS.relative_to(ROOT)})")
    p.add_argument("--quick", action="store_true", help="a few frames, once (a smoke run, not a measurement)")
    return require_data(p, p.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    n_frames, passes, reps, long_loops, rounds, import_rounds = \
        (8, 1, 2, 2, 1, 1) if args.quick else (100, 2, 200, 100, 6, 5)
    load_start = load_average()
    faces = select_faces(args.data, len(FACE_SIDES))
    frames, _ = moving_frames(faces, n_frames)
    rev = subprocess.run(["git", "rev-parse", "--short", args.baseline], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    now, off, base = "this tree", "this tree, tracking off", f"baseline {rev}"
    with tempfile.TemporaryDirectory(prefix="bench-people-") as tmp:
        work = Path(tmp)
        np.save(work / "frames.npy", np.stack(frames))
        configs = {}
        for name, tracking_off in (("on", False), ("off", True)):
            configs[name] = work / f"serve_{name}.json"
            configs[name].write_text(json.dumps({"frames": str(work / "frames.npy"), "passes": passes,
                                                 "tracking_off": tracking_off}))
        arms = {now: (ROOT, configs["on"]), off: (ROOT, configs["off"]),
                base: (archive(rev, work / "baseline"), configs["on"])}
        tracking = tracking_cost(frames, passes, reps, long_loops)
        serve = serving(arms, rounds)
        imports = import_cost(ROOT, configs["on"], import_rounds)
    report = {"command": "python -m benchmarks.bench_people" + (" --quick" if args.quick else "")
              + f" --baseline {args.baseline}",
              "quick": args.quick, "arms": [now, off, base],
              "scene": {"width": WIDTH, "height": HEIGHT, "fps": FPS, "frames": n_frames,
                        "faces_per_frame": len(FACE_SIDES), "face_sides": list(FACE_SIDES),
                        "face_images": [f.name for f in faces]},
              "tracking": tracking, "serving": serve, "comparison": {"this_to_baseline": compare(serve, now, base),
                                                                   "tracking_on_to_off": compare(serve, now, off)},
              "import": imports,
              "load_average": {"start": load_start, "end": load_average()},
              "cores": len(os.sched_getaffinity(0))}
    write_report(report, args, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
