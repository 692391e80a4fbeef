"""Watching a camera (issue 33): how many frames ``python -m maskpatrol watch`` analyses per
second, and how many it drops, on one 640x480 camera at 25 fps with 3 faces in view, beside
what ``python -m maskpatrol video`` sustains on the same clip, in one run.

The clip is generated, never stored: 30 s of 640x480 at 25 fps, H.264 with a key frame every
second (as a camera streams it). Three real faces from the data folder (the ones
``benchmarks.scenes.select_faces`` picks: 2 unmasked, 1 masked) stay in view the whole time,
96-128 px wide, each drifting slowly (at most ~25 px/s) round its own third of the frame, over
a smooth background with a little sensor noise (``benchmarks.scenes.background``).

Two arms, each the real command in a fresh process, taking turns for ``--rounds`` rounds (the
order swapped every round, so a drift in the machine's load falls on both):

* ``video``: every frame analysed as fast as it can (``--every 1``, its default), annotated and
  encoded to a temporary mp4. Frames per second = analysed frames / its own processing time
  (decode -> analyse -> draw -> encode; start-up and model loading excluded).
* ``watch``: the clip as a file source, which the command reads at its own 25 fps as a camera
  delivers it, dropping (and counting) the frames that arrive while one is analysed; events
  into a temporary SQLite file (``--db``), JSON status lines every 5 s. Analysed per second =
  frames analysed / the clip's 30 s. Its events are read back from the database.

Process CPU seconds of each arm are the kernel's (``wait4`` rusage of the child: every thread,
start-up and model loading included). The load average is recorded before and after each arm:
the machine may be shared, and other processes take cores from both arms.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_watch --data ../shared/data [--rounds 3] [--json]

Results: ``benchmarks/results/watch.json``, read by ``docs/performance.md`` ("Watching a camera").
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
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import av
import numpy as np

from benchmarks.bench_args import add_data_arguments, require_data, write_report
from benchmarks.child import run_measured
from benchmarks.scenes import background, load_average, scaled_face, select_faces

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "watch.json"
WIDTH, HEIGHT, FPS = 640, 480, 25
#: Face box sides (pixels), in the order ``select_faces`` gives them: unmasked, masked, unmasked.
FACE_SIDES = (96, 128, 112)
#: Each face's path: an ellipse this wide and high (pixels, half-axes) round the centre of its
#: third of the frame, run round once in PERIOD_S (at most ~25 px/s: people standing about).
SWING_PX = (40, 30)
PERIOD_S = 10.0
#: Key frame interval (frames): one a second, as cameras send for clients joining mid-stream.
GOP = FPS
NOISE_FRAMES = 8
STATUS_INTERVAL_S = 5
RUN_TIMEOUT_S = 600


# --------------------------------------------------------------------------- the clip


def make_clip(path: Path, data_dir: Path, seconds: int, seed: int = 33) -> dict[str, Any]:
    """Write the clip (frames made one at a time, never held); returns what is in it."""
    rng = np.random.default_rng(seed)
    faces = select_faces(data_dir, len(FACE_SIDES))
    base = background(WIDTH, HEIGHT, rng)
    pasted = [scaled_face(face, side) for face, side in zip(faces, FACE_SIDES)]
    noise = [rng.normal(0, 2.0, (HEIGHT, WIDTH, 3)).astype(np.float32) for _ in range(NOISE_FRAMES)]
    n_frames = seconds * FPS
    extents: list[tuple[int, int, int, int]] = []  # per face: min x, max x + w, min y, max y + h
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.gop_size = GOP
        stream.options = {"crf": "20", "preset": "veryfast"}
        for i in range(n_frames):
            frame = base.copy()
            for k, (img, _) in enumerate(pasted):
                phase = 2 * math.pi * (i / FPS / PERIOD_S + k / len(pasted))
                cx = (k + 0.5) * WIDTH / len(pasted) + SWING_PX[0] * math.cos(phase)
                cy = HEIGHT / 2 + (k - 1) * 40 + SWING_PX[1] * math.sin(phase)
                h, w = img.shape[:2]
                x0, y0 = int(round(cx - w / 2)), int(round(cy - h / 2))
                if x0 < 0 or y0 < 0 or x0 + w > WIDTH or y0 + h > HEIGHT:
                    raise RuntimeError(f"face {k} leaves the frame at frame {i}")
                frame[y0:y0 + h, x0:x0 + w] = img
                if i == 0:
                    extents.append((x0, x0 + w, y0, y0 + h))
                else:
                    e = extents[k]
                    extents[k] = (min(e[0], x0), max(e[1], x0 + w), min(e[2], y0), max(e[3], y0 + h))
            noisy = np.clip(frame + noise[i % NOISE_FRAMES], 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(noisy, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    for a in range(len(extents)):  # each face keeps to its own part of the frame
        for b in range(a + 1, len(extents)):
            ea, eb = extents[a], extents[b]
            if ea[0] < eb[1] and eb[0] < ea[1] and ea[2] < eb[3] and eb[2] < ea[3]:
                raise RuntimeError(f"faces {a} and {b} overlap")
    with av.open(str(path)) as check:
        packets = [p for p in check.demux(check.streams.video[0]) if p.size]
    return {"seconds": seconds, "fps": FPS, "frames": n_frames, "width": WIDTH, "height": HEIGHT,
            "codec": "h264 (libx264 crf 20 veryfast)", "gop_frames": GOP,
            "key_frames": sum(p.is_keyframe for p in packets), "bytes": path.stat().st_size,
            "faces": [{"image": f.name, "box_side_px": side,
                       "label": "no_mask" if f.name.startswith("without") else "mask"}
                      for f, side in zip(faces, FACE_SIDES)],
            "max_speed_px_per_s": round(2 * math.pi * max(SWING_PX) / PERIOD_S, 1)}


# --------------------------------------------------------------------------- the arms


def _run(cmd: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    """:func:`~benchmarks.child.run_measured`, its CPU time named as this report names it."""
    run = run_measured(cmd, RUN_TIMEOUT_S, env)
    run["process_cpu_s"] = run.pop("cpu_s")
    return run


def run_video(clip: Path, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """``video`` on the clip, every frame analysed."""
    out = work / "annotated.mp4"
    run = _run([sys.executable, "-m", "maskpatrol", "video", str(clip), "--out", str(out), "--json", "--quiet"], env)
    summary = json.loads(run.pop("stdout").strip().splitlines()[-1])
    out.unlink(missing_ok=True)
    return {"frames": summary["frames"], "analysed_frames": summary["analyzed_frames"],
            "processing_s": summary["elapsed_s"],
            "analysed_per_s": round(summary["analyzed_frames"] / summary["elapsed_s"], 2),
            "x_real_time": summary["speed"], "processing_cpu_s": summary["cpu_s"],
            "processing_cpu_ms_per_frame": round(summary["cpu_s"] * 1000 / summary["analyzed_frames"], 1),
            "max_faces": summary["max_faces"], "people": summary["people"], **run}


def run_watch(clip: Path, work: Path, env: dict[str, str], clip_seconds: float, label: str) -> dict[str, Any]:
    """``watch`` on the clip as a file source, paced at its frame rate, events into SQLite."""
    from maskpatrol.events.store import EventStore

    db = work / f"events_{label}.db"
    run = _run([sys.executable, "-m", "maskpatrol", "watch", f"cam={clip}", "--db", str(db), "--json",
                "--status-interval", str(STATUS_INTERVAL_S)], env)
    lines = [json.loads(line) for line in run.pop("stdout").splitlines() if line.strip().startswith("{")]
    last = lines[-1]
    with EventStore.open(db) as store:
        events = store.query(limit=1000)
    db.unlink(missing_ok=True)
    analysed_per_s = last["frames_analysed"] / clip_seconds
    return {"state": last["state"], "frames_read": last["frames_read"], "frames_analysed": last["frames_analysed"],
            "frames_dropped": last["dropped"], "analysis_errors": last["analysis_errors"],
            "analysed_per_s": round(analysed_per_s, 2),
            "dropped_share": round(last["dropped"] / max(1, last["frames_read"]), 3),
            # The status lines' own rate, each over the interval since the previous line
            # (the last one is the stretch after the final full interval).
            "analysed_per_s_status_lines": [row["fps"] for row in lines],
            "process_cpu_ms_per_analysed_frame": round(run["process_cpu_s"] * 1000
                                                       / max(1, last["frames_analysed"]), 1),
            "events_status": last["events"], "events_ended": last["ended"],
            "events_in_db": len(events), "event_labels": sorted(e.label for e in events),
            "event_states": sorted({e.state for e in events}), **run}


# --------------------------------------------------------------------------- report


def _median(rounds: list[dict], arm: str, key: str) -> float:
    return round(statistics.median(r[arm][key] for r in rounds), 2)


def summarise(rounds: list[dict]) -> dict[str, Any]:
    for r in rounds:
        r["ratios"] = {"watch_analysed_per_s_to_camera_fps": round(r["watch"]["analysed_per_s"] / FPS, 3),
                       "watch_analysed_per_s_to_video_fps": round(r["watch"]["analysed_per_s"]
                                                                  / r["video"]["analysed_per_s"], 3)}
    out = {f"video_{k}": _median(rounds, "video", k)
           for k in ("analysed_per_s", "processing_cpu_s", "process_cpu_s", "wall_s")}
    out.update({f"watch_{k}": _median(rounds, "watch", k)
                for k in ("frames_read", "frames_analysed", "frames_dropped", "analysed_per_s", "process_cpu_s",
                          "events_in_db")})
    out["watch_analysed_per_s_to_camera_fps"] = round(statistics.median(
        r["ratios"]["watch_analysed_per_s_to_camera_fps"] for r in rounds), 3)
    out["watch_analysed_per_s_to_video_fps"] = round(statistics.median(
        r["ratios"]["watch_analysed_per_s_to_video_fps"] for r in rounds), 3)
    return out


def table(report: dict[str, Any]) -> str:
    clip = report["clip"]
    lines = [f"clip: {clip['seconds']} s, {clip['width']}x{clip['height']} at {clip['fps']} fps, "
             f"{clip['frames']} frames, {clip['key_frames']} key frames, "
             f"faces {[(f['label'], f['box_side_px']) for f in clip['faces']]}; "
             f"{report['environment']['cores']} cores", "",
             "| round | arm | frames read | analysed | dropped | analysed/s | process CPU s | events "
             "| watch/25 | watch/video | load 1 min before -> after |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for i, r in enumerate(report["rounds"], 1):
        v, w, ratio = r["video"], r["watch"], r["ratios"]
        lines.append(f"| {i} | video | {v['frames']} | {v['analysed_frames']} | - | {v['analysed_per_s']:.1f} | "
                     f"{v['process_cpu_s']:.1f} | people {v['people']} | | | "
                     f"{v['load_before'][:1]} -> {v['load_after'][:1]} |")
        lines.append(f"| {i} | watch | {w['frames_read']} | {w['frames_analysed']} | {w['frames_dropped']} | "
                     f"{w['analysed_per_s']:.1f} | {w['process_cpu_s']:.1f} | {w['events_in_db']} "
                     f"{w['event_labels']} | {ratio['watch_analysed_per_s_to_camera_fps']:.2f} | "
                     f"{ratio['watch_analysed_per_s_to_video_fps']:.2f} | "
                     f"{w['load_before'][:1]} -> {w['load_after'][:1]} |")
    s = report["summary"]
    lines += ["", f"median: watch {s['watch_analysed_per_s']} analysed/s ({s['watch_frames_dropped']} of "
                  f"{s['watch_frames_read']} dropped), video {s['video_analysed_per_s']} analysed/s; "
                  f"watch/25 = {s['watch_analysed_per_s_to_camera_fps']}, "
                  f"watch/video = {s['watch_analysed_per_s_to_video_fps']}"]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(p)
    p.add_argument("--seconds", type=int, default=30, help="clip length (default 30)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of the two arms, order swapped each round")
    p.add_argument("--out", type=Path, default=RESULTS,
                   help=f"JSON written here (default: {RESULTS.relative_to(ROOT)})")
    p.add_argument("--clip", type=Path, default=None,
                   help="write the generated clip here and keep it (default: a temporary file)")
    return require_data(p, p.parse_args(argv))


def _versions() -> dict[str, str]:
    import cv2
    import onnxruntime

    import maskpatrol

    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True)
    return {"maskpatrol": maskpatrol.__version__,
            "git": rev.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else ""),
            "python": sys.version.split()[0], "pyav": av.__version__, "opencv": cv2.__version__,
            "onnxruntime": onnxruntime.__version__}


def main(argv: Sequence[str] | None = None) -> int:
    from maskpatrol.video import VIDEO_DETECTOR_DEFAULTS

    args = parse_args(argv)
    load_start = load_average()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MASKPATROL_DATA_HOME": str(work), "PYTHONUNBUFFERED": "1"}
        env.pop("MASKPATROL_DB_URL", None)
        clip_path = args.clip or work / "camera.mp4"
        clip = make_clip(clip_path, args.data, args.seconds)
        for i in range(args.rounds):
            order = ("video", "watch") if i % 2 == 0 else ("watch", "video")
            row: dict[str, Any] = {"order": list(order)}
            for arm in order:
                row[arm] = (run_video(clip_path, work, env) if arm == "video"
                            else run_watch(clip_path, work, env, clip["frames"] / clip["fps"], f"r{i}"))
            rounds.append(row)
    report = {"command": f"python -m benchmarks.bench_watch --data DIR --seconds {args.seconds} --rounds {args.rounds}",
              "clip": clip, "rounds": rounds, "summary": summarise(rounds),
              "settings": {"detector": VIDEO_DETECTOR_DEFAULTS.name, "min_face_px": VIDEO_DETECTOR_DEFAULTS.min_face_px,
                           "watch_options": "defaults (no option like video's --every exists for watch)",
                           "status_interval_s": STATUS_INTERVAL_S},
              "environment": {"cores": len(os.sched_getaffinity(0)), "cpus": os.cpu_count(), **_versions()},
              "load_average": {"start": load_start, "end": load_average()}}
    write_report(report, args, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
