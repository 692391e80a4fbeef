"""HTTP API benchmark: throughput and latency of ``POST /api/v1/detect`` at 1, 4 and 8 clients.

Run from the project root, with ``tests/`` on the import path as pytest puts it there (the
server is started by the tests' own helper, ``tests/support/server.py``)::

    PYTHONPATH=tests .venv/bin/python -m benchmarks.bench_api --data ../shared/data          # table
    PYTHONPATH=tests .venv/bin/python -m benchmarks.bench_api --data ../shared/data --json   # for diffs
    PYTHONPATH=tests .venv/bin/python -m benchmarks.bench_api --data ../shared/data --out benchmarks/results/bench_api.json

The server is the real one: ``streamlit run app.py`` on 127.0.0.1, configured by setup.sh as
on a dyno, once per worker count asked for. The photos are 640x480 frames with three real
faces pasted on a smooth background (:mod:`benchmarks.scenes`), sent as JPEG. The baseline,
measured in the same run, is the CLI's own time per image: the median of the CLI's per-image step (read the file, decode, analyse,
build the record, as ``run_detect`` does), measured in this process right before each level,
so a shared machine's changing load touches baseline and figure alike. For information the
report also gives ``python -m maskpatrol detect --json`` as a process: its time over many
images minus over one, per image (start-up and model load not counted). Each figure is
reported beside its ratio to the baseline, which is what compares across machines and runs. The rate limit is off and the queue long enough that no request is
turned away (a 503 would be counted and shown).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Sequence

import cv2
import requests

from benchmarks.bench_args import add_data_arguments, require_data
from benchmarks.scenes import FrameType, build_frames, load_average, select_faces
from maskpatrol.detectors import DetectorSettings
from maskpatrol.images import load_image
from maskpatrol.pipeline import MaskPatrol, Settings, image_record

ROOT = Path(__file__).resolve().parent.parent

DETECT_URL = "/api/v1/detect"


def make_photos(data: Path, folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` 640x480 JPEGs with three faces each, written to ``folder``."""
    faces = select_faces(data, 12)
    frames = build_frames(FrameType("640x480 3 faces", 640, 480, 3, count, 1), faces, seed)
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"photo{i:02d}.jpg"
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        path.write_bytes(jpeg.tobytes())
        paths.append(path)
    return paths


def _cli_seconds(paths: Sequence[Path]) -> tuple[float, list[dict[str, Any]]]:
    """The CLI run in the photos' folder on their bare names, so its records name them as
    the API's ``name`` parameter does and the two answers compare field for field."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "maskpatrol", "detect", "--json", *(p.name for p in paths)],
                          cwd=paths[0].parent, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - t0, [json.loads(line) for line in proc.stdout.splitlines()]


def cli_per_image_ms(photos: Sequence[Path], images: int, runs: int) -> tuple[float | None, dict[str, Any]]:
    """The CLI's marginal time per image (median of ``runs``; None when that is not above
    zero), and its records per photo name."""
    many = [photos[i % len(photos)] for i in range(images)]
    per_image = []
    records: dict[str, Any] = {}
    for _ in range(runs):
        one_s, _ = _cli_seconds(many[:1])
        many_s, rows = _cli_seconds(many)
        per_image.append((many_s - one_s) / (images - 1) * 1000.0)
        records = {r["path"]: r for r in rows}
    median = statistics.median(per_image)
    # With few images, a slow start-up in the one-image run can outweigh the extra images'
    # work; such a difference measures noise, not the CLI, and is reported as None.
    return (median if median > 0 else None), records


def cli_step_ms(patrol: MaskPatrol, photos: Sequence[Path], repeats: int) -> float:
    """Median milliseconds of the CLI's per-image step (``run_detect``: read the file,
    :func:`load_image`, ``MaskPatrol.analyze``, :func:`image_record`) in this process, over
    every photo ``repeats`` times. A median of short steps, measured right before each
    level, follows the machine's load far better than a difference of two process runs."""
    settings = Settings(DetectorSettings())
    times = []
    for _ in range(repeats):
        for path in photos:
            t0 = time.perf_counter()
            rgb = load_image(path)
            image_record(path.name, patrol.analyze(rgb, settings), int(rgb.shape[1]), int(rgb.shape[0]))
            times.append((time.perf_counter() - t0) * 1000.0)
    return statistics.median(times)


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(url: str, bodies: Sequence[tuple[str, bytes]], clients: int, requests_total: int,
         keep_alive: bool = False) -> dict[str, Any]:
    """``clients`` threads posting the photos in turn until ``requests_total`` were answered,
    each request on a new connection as ``curl`` or a door controller's script makes it,
    or (``keep_alive``) each client reusing one connection."""
    latencies: list[float] = []
    server_ms: dict[str, list[float]] = {"queue": [], "analysis": []}
    statuses: list[int] = []
    answers: dict[str, Any] = {}
    lock = threading.Lock()
    next_index = [0]
    start = threading.Barrier(clients)

    def client() -> None:
        session: Any = requests.Session() if keep_alive else requests
        start.wait()
        while True:
            with lock:
                i = next_index[0]
                next_index[0] += 1
            if i >= requests_total:
                return
            name, body = bodies[i % len(bodies)]
            t0 = time.perf_counter()
            r = session.post(url + DETECT_URL, data=body, params={"name": name},
                             headers={"Content-Type": "image/jpeg"}, timeout=300)
            took = (time.perf_counter() - t0) * 1000.0
            with lock:
                statuses.append(r.status_code)
                if r.status_code == 200:
                    latencies.append(took)
                    answers[name] = r.json()
                    for part in r.headers.get("server-timing", "").split(","):
                        key, _, value = part.strip().partition(";dur=")
                        if key in server_ms:
                            server_ms[key].append(float(value))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"clients": clients, "requests": requests_total, "ok": statuses.count(200),
            "busy_503": statuses.count(503), "other": len(statuses) - statuses.count(200) - statuses.count(503),
            "wall_s": round(wall, 3), "throughput_rps": round(statuses.count(200) / wall, 2),
            "latency_ms": {"p50": round(pct(latencies, 0.5), 1), "p90": round(pct(latencies, 0.9), 1),
                           "max": round(max(latencies), 1)} if latencies else None,
            # The server's own Server-Timing: time queued for a worker, time analysing (p50).
            "server_p50_ms": {k: round(statistics.median(v), 1) for k, v in server_ms.items() if v},
            "_answers": answers}


def run(args: argparse.Namespace) -> dict[str, Any]:
    # Imported here, not at the top: ``tests/`` is on the path only as the docstring says,
    # and --help needs none of it.
    from support.server import streamlit_server

    load_before = load_average()
    with tempfile.TemporaryDirectory(prefix="bench_api_") as tmp:
        folder = Path(tmp)
        photos = make_photos(args.data, folder, args.photos, args.seed)
        bodies = [(p.name, p.read_bytes()) for p in photos]
        cli_process_ms, cli_records = cli_per_image_ms(photos, args.cli_images, args.cli_runs)
        patrol = MaskPatrol.load()
        cli_step_ms(patrol, photos, 1)  # warm-up: detector and interpreter caches
        servers = []
        for workers in args.workers:
            env = {"MASKPATROL_API_RATE": "0", "MASKPATROL_API_WORKERS": str(workers),
                   "MASKPATROL_API_QUEUE": str(max(args.clients) * 2)}
            log_dir = folder / f"server_w{workers}"
            log_dir.mkdir()
            with streamlit_server(log_dir, extra_env=env) as server:
                load(server.url, bodies, 1, args.warmup)  # model and detector loaded, caches warm
                levels = []
                for clients in args.clients:
                    # The baseline of this level, measured just before it on the same machine.
                    base_ms = cli_step_ms(patrol, photos, args.baseline_repeats)
                    level = load(server.url, bodies, clients, args.requests, args.keep_alive)
                    answers = level.pop("_answers")
                    level["matches_cli"] = all(answers[n] == cli_records[n] for n in answers)
                    level["cli_image_ms"] = round(base_ms, 1)
                    level["throughput_vs_cli"] = round(level["throughput_rps"] * base_ms / 1000.0, 2)
                    if level["latency_ms"]:
                        level["p50_latency_vs_cli"] = round(level["latency_ms"]["p50"] / base_ms, 2)
                    levels.append(level)
                servers.append({"workers": workers, "levels": levels})
    return {
        "photos": {"count": args.photos, "size": "640x480", "faces_each": 3, "format": "JPEG q90",
                   "mean_bytes": round(statistics.mean(len(b) for _, b in bodies))},
        "baseline": {
            "cli_image_ms": "per level: median of the CLI's per-image step (read, decode, analyze, record) "
                            f"over the photos x {args.baseline_repeats}, measured in this process just before the level",
            "cli_process_per_image_ms": None if cli_process_ms is None else round(cli_process_ms, 1),
            "cli_process_how": f"(time of `detect --json` on {args.cli_images} images - on 1) / "
                               f"{args.cli_images - 1}, median of {args.cli_runs} runs; start-up excluded"},
        "servers": servers,
        "environment": {"detector": DetectorSettings().name, "cpus": os.cpu_count(), "keep_alive": args.keep_alive,
                        "python": platform.python_version(), "requests_per_level": args.requests,
                        "load_before": load_before, "load_after": load_average()},
    }


def table(report: dict[str, Any]) -> str:
    base = report["baseline"]
    lines = [f"640x480 JPEG, 3 faces each, detector {report['environment']['detector']}; "
             f"CLI process, per image after start-up: {base['cli_process_per_image_ms']} ms",
             f"{'workers':>7} {'clients':>7} {'CLI ms':>7} {'photos/s':>9} {'x CLI':>6} {'p50 ms':>8} {'x CLI':>6} "
             f"{'p90 ms':>8} {'max ms':>8} {'queue':>6} {'analysis':>8} {'503':>4} {'=CLI':>5}"]
    for server in report["servers"]:
        for lv in server["levels"]:
            lat = lv["latency_ms"] or {"p50": float("nan"), "p90": float("nan"), "max": float("nan")}
            lines.append(f"{server['workers']:>7} {lv['clients']:>7} {lv['cli_image_ms']:>7} {lv['throughput_rps']:>9} "
                         f"{lv['throughput_vs_cli']:>6} {lat['p50']:>8} {lv.get('p50_latency_vs_cli', ''):>6} "
                         f"{lat['p90']:>8} {lat['max']:>8} {lv['server_p50_ms'].get('queue', ''):>6} "
                         f"{lv['server_p50_ms'].get('analysis', ''):>8} {lv['busy_503']:>4} {str(lv['matches_cli']):>5}")
    env = report["environment"]
    lines.append(f"{env['cpus']} CPUs, load average before {env['load_before']}, after {env['load_after']}. "
                 "CLI ms: the CLI's per-image step just before the level; x CLI: photos/s x CLI ms / 1000 "
                 "(1.0 = one CLI process's pace), p50 / CLI ms; queue, analysis: the server's "
                 "Server-Timing p50 (ms).")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(p)
    p.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 8],
                   help="concurrent clients per level, comma-separated (default: 1,4,8)")
    p.add_argument("--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2],
                   help="MASKPATROL_API_WORKERS values, one server each (default: 1,2)")
    p.add_argument("--requests", type=int, default=48, help="requests per level (default: 48)")
    p.add_argument("--photos", type=int, default=8, help="different photos sent in turn (default: 8)")
    p.add_argument("--warmup", type=int, default=4, help="untimed requests per server first (default: 4)")
    p.add_argument("--cli-images", type=int, default=24, help="images in the CLI process run (default: 24)")
    p.add_argument("--cli-runs", type=int, default=3, help="CLI process runs, median taken (default: 3)")
    p.add_argument("--baseline-repeats", type=int, default=3,
                   help="passes over the photos for each level's CLI-step baseline (default: 3)")
    p.add_argument("--keep-alive", action="store_true",
                   help="each client reuses one connection (default: a new connection per request)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report to this file")
    return require_data(p, p.parse_args(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2) if args.json else table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
