"""Video benchmark: how fast ``python -m maskpatrol video`` annotates a clip, and its peak memory.

Run from the project root::

    .venv/bin/python -m benchmarks.bench_video --data ../shared/data           # table
    .venv/bin/python -m benchmarks.bench_video --data ../shared/data --json    # for diffs

The clip is generated, never stored in the repo: by default 60 s of 640x480 at 30 fps,
three real faces from the data folder (Haar-detectable ones, chosen by
``benchmarks.scenes.select_faces``) pasted onto a smooth background at new places every two
seconds, drifting a few pixels a frame, with a little sensor noise (as a camera gives,
so the codecs work as hard as on real footage). It is encoded as H.264 first.

Each run is the real command in a fresh process, so "peak RSS" is what a user's process
reaches (interpreter, model, decoder, encoder and frames in flight), taken from the
kernel's own maximum (``wait4`` rusage), not sampled. "x real time" uses the command's
own processing time (decode -> analyse -> draw -> encode); "wall" adds start-up and model
loading. The load average is recorded, as other processes change these figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import av
import cv2
import numpy as np

from benchmarks.bench_args import add_data_arguments, require_data
from benchmarks.child import run_measured
from benchmarks.scenes import compose, select_faces


#: Face widths (pixels) in the clip: all above the video default smallest face (60 px).
FACE_SIZES = (72, 96, 120)
SEGMENT_S = 2
DRIFT_PX = 4
NOISE_FRAMES = 8
RUN_TIMEOUT_S = 1800


def make_clip(path: Path, data_dir: Path, seconds: int = 60, fps: int = 30,
              size: tuple[int, int] = (640, 480), seed: int = 11) -> dict[str, Any]:
    """Write the benchmark clip; returns what was placed (faces per frame, frame count)."""
    width, height = size
    rng = np.random.default_rng(seed)
    faces = select_faces(data_dir, len(FACE_SIZES))
    noise = [rng.normal(0, 2.0, (height, width, 3)).astype(np.float32) for _ in range(NOISE_FRAMES)]
    n_frames = seconds * fps
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        base = None
        for i in range(n_frames):
            if i % (SEGMENT_S * fps) == 0:
                base = compose(width, height, faces, FACE_SIZES, rng).rgb
            dx = DRIFT_PX * np.sin(2 * np.pi * i / (SEGMENT_S * fps))
            shift = np.float32([[1, 0, dx], [0, 1, 0]])
            frame = cv2.warpAffine(base, shift, (width, height), borderMode=cv2.BORDER_REFLECT)
            frame = np.clip(frame + noise[i % NOISE_FRAMES], 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return {"frames": n_frames, "seconds": seconds, "fps": fps, "width": width, "height": height,
            "faces_per_frame": len(FACE_SIZES), "face_sizes": list(FACE_SIZES),
            "face_images": [f.name for f in faces], "bytes": path.stat().st_size}


def run_cli(clip: Path, workdir: Path, every: int, extra: Sequence[str] = ()) -> dict[str, Any]:
    """One ``python -m maskpatrol video`` run in a child process; its kernel-reported peak RSS."""
    out, counts = workdir / f"out_every{every}.mp4", workdir / f"counts_every{every}.csv"
    cmd = [sys.executable, "-m", "maskpatrol", "video", str(clip), "--out", str(out), "--csv", str(counts),
           "--every", str(every), "--json", "--quiet", *extra]
    run = run_measured(cmd, RUN_TIMEOUT_S)
    summary = json.loads(run["stdout"].strip().splitlines()[-1])
    with counts.open() as f:
        rows = list(csv.DictReader(f))
    analysed = [int(r["faces"]) for r in rows if r["analyzed"] == "1"]
    check = av.open(str(out))
    try:
        vs = check.streams.video[0]
        out_frames = sum(1 for _ in check.decode(vs))
        out_codec, out_size = vs.codec_context.name, (vs.codec_context.width, vs.codec_context.height)
        out_pix = vs.codec_context.pix_fmt
    finally:
        check.close()
    return {
        "every": every, "frames": summary["frames"], "analyzed_frames": summary["analyzed_frames"],
        "processing_s": summary["elapsed_s"], "x_real_time": round(summary["frames"] / summary["fps"]
                                                                    / summary["elapsed_s"], 2),
        "wall_s": run["wall_s"], "peak_rss_mb": run["peak_rss_mb"], "cpu_s": round(run["cpu_s"], 1),
        "processing_cpu_s": summary["cpu_s"],
        # The speed the same work reaches with 2 cores to itself (the target): video seconds
        # x 2 / processing CPU seconds. Hardly affected by other processes, so comparable
        # between busy and quiet machines; an upper bound (it assumes perfect overlap).
        "x_real_time_cpu_bound": round(summary["frames"] / summary["fps"] * 2 / summary["cpu_s"], 2),
        "mean_faces_found": round(sum(analysed) / max(1, len(analysed)), 3),
        "output": {"frames": out_frames, "codec": out_codec, "pix_fmt": out_pix, "size": list(out_size),
                   "bytes": out.stat().st_size},
        "load_before": run["load_before"], "load_after": run["load_after"],
    }


def table(report: dict[str, Any]) -> str:
    clip = report["clip"]
    rows = ["| every | frames analysed | processing s | x real time | wall s | peak RSS MB | CPU s "
            "| processing CPU s | x real time if 2 cores free | faces found per analysed frame | output frames / codec "
            "| load avg before -> after |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["runs"]:
        o = r["output"]
        rows.append(f"| {r['every']} | {r['analyzed_frames']}/{r['frames']} | {r['processing_s']:.1f} | "
                    f"{r['x_real_time']:.2f}x | {r['wall_s']:.1f} | {r['peak_rss_mb']:.0f} | {r['cpu_s']:.0f} | "
                    f"{r['processing_cpu_s']:.0f} | {r['x_real_time_cpu_bound']:.2f}x | "
                    f"{r['mean_faces_found']:.2f} of {clip['faces_per_frame']} | "
                    f"{o['frames']} {o['codec']} {o['pix_fmt']} | {r['load_before'][:1]} -> {r['load_after'][:1]} |")
    return "\n".join([
        f"Clip: {clip['seconds']} s, {clip['width']}x{clip['height']} at {clip['fps']} fps "
        f"({clip['frames']} frames, {clip['bytes'] / 1e6:.1f} MB H.264), {clip['faces_per_frame']} faces "
        f"of {clip['face_sizes']} px per frame", "", *rows, "",
        f"{report['environment']['cpus']} CPUs; detector defaults of `maskpatrol video` "
        f"({report['environment']['detector']}, smallest face {report['environment']['min_face_px']} px). 'x real time' is measured; "
        "'if 2 cores free' = video seconds x 2 / processing CPU seconds (all threads, start-up "
        "excluded): the speed the same work reaches when no other process competes for the two cores."])


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(p)
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--size", default="640x480", help="WIDTHxHEIGHT (default 640x480)")
    p.add_argument("--every", type=int, nargs="+", default=[1, 3], help="runs with these --every values")
    p.add_argument("--clip", type=Path, default=None,
                   help="write the generated clip here and keep it (default: a temporary file)")
    return require_data(p, p.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    from maskpatrol.video import VIDEO_DETECTOR_DEFAULTS

    args = parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        work = Path(tmp)
        clip_path = args.clip or work / "clip.mp4"
        clip = make_clip(clip_path, args.data, args.seconds, args.fps, (width, height))
        runs = [run_cli(clip_path, work, every) for every in args.every]
    report = {"clip": clip, "runs": runs,
              "environment": {"cpus": os.cpu_count(), "detector": VIDEO_DETECTOR_DEFAULTS.name,
                              "min_face_px": VIDEO_DETECTOR_DEFAULTS.min_face_px,
                              "python": sys.version.split()[0], "pyav": av.__version__}}
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
