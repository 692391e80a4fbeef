"""Batch throughput on this machine: ``batch`` on Ray with 1 and 2 workers against plain
``detect DIR``, on the same dataset photos, in the same run.

Run from the project root (needs ``pip install -r requirements-batch.txt``)::

    .venv/bin/python -m benchmarks.bench_batch --data ../shared/data            # table
    .venv/bin/python -m benchmarks.bench_batch --data ../shared/data --out benchmarks/results/bench_batch.json
    .venv/bin/python -m benchmarks.bench_batch --data ../shared/data --long-side 1280 \
        --out benchmarks/results/bench_batch_1280.json      # camera-sized copies

The main figure is the wall time of a whole command, as a user would time it: process start,
Ray's start (batch), model loading, every photo, output written. Each command also runs on
1 photo: that run is its fixed cost (start-up). The rate once running is, for ``detect``,
(time for N - time for 1) / (N - 1); for ``batch`` it is measured inside the job, from its
first finished part to its last (``steady_per_s`` of its summary), because Ray's start-up
varies by seconds from run to run, more than the whole work on 500 small photos. From the
fixed costs and the running rates follows the input size from which Ray pays off against the
plain CLI. The baseline is
``python -m maskpatrol detect --json DIR`` measured in the same run; every rate is given
with its ratio to it. The photos are the first N of faces/chandrikadeb7 (masked and
unmasked, alternately), linked, not copied, into a temporary folder.
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
import time
from pathlib import Path
from typing import Any

from PIL import Image

from benchmarks.bench_args import add_data_arguments, require_data
from maskpatrol.batch.store import PartStore

ROOT = Path(__file__).resolve().parent.parent

#: A whole command may take this long before the benchmark gives up on it.
RUN_TIMEOUT_S = 1800


def dataset_photos(data: Path, n: int) -> list[Path]:
    """The first ``n`` photos of chandrikadeb7, masked and unmasked alternately."""
    base = data / "faces" / "chandrikadeb7"
    groups = [sorted((base / name).glob("*.jpg")) for name in ("with_mask", "without_mask")]
    mixed = [p for pair in zip(*groups) for p in pair]
    if len(mixed) < n:
        raise SystemExit(f"only {len(mixed)} photos under {base}; need {n}")
    return mixed[:n]


def linked_folder(photos: list[Path], folder: Path, long_side: int | None = None) -> Path:
    """The photos as links, or, with ``long_side``, as JPEG copies scaled so their longer
    side has that many pixels (the dataset's photos are small face crops, ~140 px; camera
    snapshots cost more per photo, which changes where Ray pays off)."""
    folder.mkdir(parents=True)
    for i, photo in enumerate(photos):
        target = folder / f"{i:05d}{photo.suffix}"
        if long_side is None:
            target.symlink_to(photo.resolve())
            continue
        with Image.open(photo) as img:
            rgb = img.convert("RGB")
            scale = long_side / max(rgb.size)
            rgb.resize((round(rgb.width * scale), round(rgb.height * scale)), Image.LANCZOS).save(target, quality=90)
    return folder


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    elapsed = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr[-2000:]}")
    return elapsed, out


def run_detect(folder: Path, env: dict[str, str]) -> tuple[float, int]:
    seconds, out = timed([sys.executable, "-m", "maskpatrol", "detect", "--json", str(folder)], env)
    faces = sum(len(json.loads(line)["faces"]) for line in out.stdout.splitlines())
    return seconds, faces


def run_batch(folder: Path, workers: int, scratch: Path, env: dict[str, str]) -> tuple[float, int, dict]:
    out_dir = Path(tempfile.mkdtemp(dir=scratch, prefix="out"))
    seconds, out = timed([sys.executable, "-m", "maskpatrol", "batch", str(folder), "--out", str(out_dir),
                          "--workers", str(workers), "--json", "--quiet"], env)
    faces = sum(r["label"] is not None for r in PartStore(str(out_dir)).read_rows())
    return seconds, faces, json.loads(out.stdout)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def measure(data: Path, n: int, rounds: int, long_side: int | None = None) -> dict[str, Any]:
    photos = dataset_photos(data, n)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    configs = ("detect", "batch_1_worker", "batch_2_workers")
    runs: dict[str, dict[str, list]] = {c: {"n_s": [], "one_s": [], "faces": []} for c in configs}
    loads = [load_average()]
    with tempfile.TemporaryDirectory(prefix="mpbench") as tmp:
        scratch = Path(tmp)
        env["RAY_TMPDIR"] = str(scratch / "ray")
        many = linked_folder(photos, scratch / "many", long_side)
        one = linked_folder(photos[:1], scratch / "one", long_side)
        for _ in range(rounds):  # configs interleaved, so a change of load touches them alike
            for config in configs:
                for folder, key in ((one, "one_s"), (many, "n_s")):
                    if config == "detect":
                        seconds, faces = run_detect(folder, env)
                    else:
                        seconds, faces, summary = run_batch(folder, 1 if config == "batch_1_worker" else 2,
                                                            scratch, env)
                        if key == "n_s":
                            runs[config].setdefault("steady", []).append(summary["steady_per_s"])
                            runs[config].setdefault("first_part_s", []).append(summary["first_part_s"])
                    runs[config][key].append(seconds)
                    if key == "n_s":
                        runs[config]["faces"].append(faces)
                loads.append(load_average())
    results: dict[str, Any] = {}
    for config in configs:
        n_s, one_s = statistics.median(runs[config]["n_s"]), statistics.median(runs[config]["one_s"])
        if config == "detect":  # None when noise hid the difference (few photos, a busy machine)
            running = round((n - 1) / (n_s - one_s), 2) if n_s > one_s else None
        else:
            steady = [v for v in runs[config]["steady"] if v]
            running = round(statistics.median(steady), 2) if steady else None
        results[config] = {"seconds_for_n": round(n_s, 2), "photos_per_s": round(n / n_s, 2),
                           "fixed_s": round(one_s, 2), "running_photos_per_s": running,
                           "faces": runs[config]["faces"][0], "all_runs_s": [round(s, 2) for s in runs[config]["n_s"]]}
        if config != "detect":
            results[config]["first_results_s"] = runs[config]["first_part_s"]
    base = results["detect"]
    for config in configs:
        r = results[config]
        r["photos_per_s_vs_detect"] = round(r["photos_per_s"] / base["photos_per_s"], 2)
        r["overhead_s_vs_detect"] = round(r["fixed_s"] - base["fixed_s"], 2)
        both = r["running_photos_per_s"] and base["running_photos_per_s"]
        r["running_rate_vs_detect"] = round(r["running_photos_per_s"] / base["running_photos_per_s"], 2) if both else None
        if config != "detect":
            gain = (1 / base["running_photos_per_s"] - 1 / r["running_photos_per_s"]) if both else 0.0
            # Photos from which the whole batch run is shorter than detect's.
            r["pays_off_from_photos"] = round(r["overhead_s_vs_detect"] / gain) if gain > 0 else None
    return {"photos": n, "long_side_px": long_side, "rounds": rounds, "cpus": os.cpu_count(), "python": platform.python_version(),
            "load_average_1min": loads, "results": results}


def _fmt(value: Any, suffix: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.2f}{suffix}" if suffix == "x" else f"{value:.1f}{suffix}"
    return f"{value}{suffix}"


def table(report: dict[str, Any]) -> str:
    size = f" scaled to {report['long_side_px']} px" if report.get("long_side_px") else " (as in the dataset)"
    lines = [f"{report['photos']} photos{size}, {report['cpus']} CPUs, "
             f"load average (1 min) {report['load_average_1min']}",
             f"{'command':<17}{'total s':>9}{'photos/s':>10}{'vs detect':>11}{'start-up s':>12}"
             f"{'running/s':>11}{'vs detect':>11}{'pays off from':>15}"]
    for name, r in report["results"].items():
        pays = "" if name == "detect" else _fmt(r.get("pays_off_from_photos"), " photos")
        lines.append(f"{name:<17}{_fmt(r['seconds_for_n']):>9}{_fmt(r['photos_per_s']):>10}"
                     f"{_fmt(r['photos_per_s_vs_detect'], 'x'):>11}{_fmt(r['fixed_s']):>12}"
                     f"{_fmt(r['running_photos_per_s']):>11}{_fmt(r['running_rate_vs_detect'], 'x'):>11}{pays:>15}")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_arguments(p)
    p.add_argument("--photos", type=int, default=500, help="photos per run (default: 500)")
    p.add_argument("--rounds", type=int, default=1, help="repeat every command; medians are reported (default: 1)")
    p.add_argument("--long-side", type=int, default=None, metavar="PX",
                   help="scale copies of the photos to this longer side first (default: use them as they are)")
    p.add_argument("--out", type=Path, default=None, help="also write the JSON report here")
    args = require_data(p, p.parse_args())
    report = measure(args.data, args.photos, args.rounds, args.long_side)
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2) if args.json else table(report))


if __name__ == "__main__":
    main()
