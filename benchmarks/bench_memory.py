"""Where a photo's memory goes, and the server's memory as Heroku's check measures it,
for this tree beside another revision measured in the same run; and the speed of the same
path, so that a saving is seen not to cost time.

Three measurements, each for this tree and, with ``--baseline REV``, for that revision's
files (``git archive``, run with the same virtualenv):

* ``steps``: one fresh Python process per photo size (12, 16 and 40 MP phone-like JPEGs,
  ``support.images.phone_photo``) with Streamlit and the pipeline loaded, the RSS read
  around each step of the Photos page's path (decode, detect, classify, whole analysis,
  after it), every 2 ms, so each step's peak above the start is seen;
* ``server``: the Procfile's web command started from the tree, and the Heroku check's
  three visits (``scripts/heroku_check.py``): one small photo, one 40 MP photo, four
  visitors' 12 MP photos at once; the peak RSS of the server for each, with
  ``MASKPATROL_MEMORY_MB=512`` as on a Basic dyno;
* ``speed``: the Photos page's path on the 12 MP photo and the pipeline on a 640x480 frame
  cut from it, medians of repeated runs, the trees taking turns in fresh processes.

Run from the project root (needs Chromium for ``server``), with ``tests/`` on the import path
as pytest puts it there (the photos and the Heroku check's visits use the tests' helpers)::

    PYTHONPATH=tests .venv/bin/python -m benchmarks.bench_memory --baseline HEAD~1 [--only steps|server|speed]

Results go to ``benchmarks/results/memory.json``; ``docs/performance.md`` reads them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "memory.json"
PHOTOS = {"12mp": (4032, 3024), "16mp": (4608, 3456), "40mp": (7296, 5472)}

#: Run in a fresh process started in the tree under test, which is its PYTHONPATH too, so that
#: tree's ``maskpatrol`` is the one imported (:func:`in_tree`): prints one JSON line.
STEPS_SCRIPT = r'''
import gc, json, sys, threading, time
photo = sys.argv[1]
import psutil
proc = psutil.Process()
rss = lambda: proc.memory_info().rss / 2**20
peak = [0.0]
def sample():
    while True:
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)
threading.Thread(target=sample, daemon=True).start()
try:
    from maskpatrol.memory import tune_allocator, release_freed
    tune_allocator()
except ImportError:  # a revision before maskpatrol.memory
    release_freed = lambda: None
import numpy as np, streamlit
from maskpatrol import images, results
from maskpatrol.pipeline import MaskPatrol, Settings
patrol = MaskPatrol.load()
patrol.analyze(np.zeros((480, 640, 3), np.uint8))
data = open(photo, "rb").read()
gc.collect()
out = {"loaded_mb": round(rss(), 1)}
def step(name, fn):
    time.sleep(0.02)
    start = peak[0] = rss()
    value = fn()
    time.sleep(0.02)
    out[name + "_peak_mb"] = round(peak[0] - start, 1)
    return value
rgb = step("decode", lambda: images.load_image(data))
boxes = step("detect", lambda: patrol.detector.detect(rgb, Settings().detector))
step("classify", lambda: patrol.classifier.predict_classes(
    [rgb[max(0, y):y + h, max(0, x):x + w] for x, y, w, h in boxes]))
del rgb, boxes
gc.collect(); release_freed()
start = rss()
result = step("photos_page_path", lambda: results.analyze_bytes(patrol, data, "photo.jpg"))
del result
gc.collect(); release_freed(); time.sleep(0.05)
out["kept_after_mb"] = round(rss() - start, 1)
print(json.dumps(out))
'''


#: Run in a fresh process in the tree under test, as STEPS_SCRIPT: median ms of the Photos
#: page's path (12 MP) and of a frame.
SPEED_SCRIPT = r'''
import json, statistics, sys, time
photo = sys.argv[1]
try:
    from maskpatrol.memory import tune_allocator
    tune_allocator()
except ImportError:
    pass
import cv2
from maskpatrol import images, results
from maskpatrol.pipeline import MaskPatrol
patrol = MaskPatrol.load()
data = open(photo, "rb").read()
frame = cv2.resize(images.load_image(data), (640, 480), interpolation=cv2.INTER_AREA)
def median_ms(fn, n):
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 2)
print(json.dumps({"photo_12mp_ms": median_ms(lambda: results.analyze_bytes(patrol, data, "p.jpg"), 5),
                  "frame_640x480_ms": median_ms(lambda: patrol.analyze(frame), 100)}))
'''


def in_tree(script: str, tree: Path, photo: Path, timeout: float) -> subprocess.CompletedProcess:
    """``script`` in a fresh interpreter whose ``maskpatrol`` is ``tree``'s: started in the
    tree (``python -c`` puts the working directory first on the path) with the tree as its
    PYTHONPATH, ahead of any installed copy."""
    return subprocess.run([sys.executable, "-c", script, str(photo)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, cwd=tree, timeout=timeout)


def speed(trees: dict[str, Path], photo: Path, rounds: int = 3) -> dict[str, dict]:
    """Each tree in turn, ``rounds`` times, in fresh processes; the median of each figure."""
    runs: dict[str, list[dict]] = {label: [] for label in trees}
    for _ in range(rounds):
        for label, tree in trees.items():
            run = in_tree(SPEED_SCRIPT, tree, photo, timeout=900)
            if run.returncode:
                raise RuntimeError(f"speed in {tree} failed:\n{run.stderr[-3000:]}")
            runs[label].append(json.loads(run.stdout.strip().splitlines()[-1]))
    return {label: {k: round(statistics.median(r[k] for r in rs), 2) for k in rs[0]} for label, rs in runs.items()}


def archive(rev: str, dest: Path) -> Path:
    """The files of ``rev`` (code, models, pages, Procfile) in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    tar = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=tar, check=True)
    return dest


def steps(tree: Path, photos: dict[str, Path]) -> dict[str, dict]:
    out = {}
    for name, path in photos.items():
        run = in_tree(STEPS_SCRIPT, tree, path, timeout=600)
        if run.returncode:
            raise RuntimeError(f"steps for {name} in {tree} failed:\n{run.stderr[-3000:]}")
        out[name] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def server(tree: Path, workdir: Path, chromium: str) -> dict[str, float]:
    """The Heroku check's three visits against the Procfile's web command run from ``tree``."""
    from scripts import heroku_check as hc  # imports the tests' helpers: see the module docstring

    home = workdir / f"home-{tree.name}"
    home.mkdir()
    env = hc.dyno_env(Path(sys.prefix), home, hc.free_port())
    web = hc.start_web(tree, env, home / "web.log")
    try:
        with hc.PeakRss(web.proc.pid, interval=0.02) as rss:
            hc.wait_healthy(web, timeout=120)
            with hc.chromium_page(chromium) as page:
                hc.drive_photo(page, web.port, hc.write_astronaut_png(workdir / "astronaut.png"))
                after_photo = rss.peak_mb
                rss.restart_peak()
                hc.upload_photo(page, web.port, hc.write_phone_photo(workdir / "40mp.jpg", hc.PHOTO_40MP))
                peak_40mp = rss.peak_mb
            rss.restart_peak()
            started = time.monotonic()
            photos = [hc.write_phone_photo(workdir / f"12mp_{i}.jpg", hc.PHOTO_12MP, seed=i)
                      for i in range(hc.VISITORS)]
            verdicts = hc.visitors_at_once(chromium, web.port, photos)
            four_s = time.monotonic() - started
            peak_four = rss.peak_mb
    finally:
        web.stop()
    return {"rss_after_photo_mb": round(after_photo, 1), "peak_rss_40mp_mb": round(peak_40mp, 1),
            "peak_rss_four_visitors_mb": round(peak_four, 1), "four_visitors_s": round(four_s, 1),
            "visitors_with_verdict": sum(bool(v and hc.PHONE_PHOTO_VERDICT.fullmatch(v)) for v in verdicts)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline", help="a git revision measured beside this tree (e.g. HEAD~1)")
    p.add_argument("--only", choices=("steps", "server", "speed"), help="one of the three measurements")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args(argv)
    from scripts import heroku_check as hc  # imports the tests' helpers: see the module docstring

    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        trees = {"this tree": ROOT}
        if args.baseline:
            trees[f"baseline {args.baseline}"] = archive(args.baseline, work / "baseline")
        photos = {}
        for name, size in PHOTOS.items():
            photos[name] = hc.write_phone_photo(work / f"{name}.jpg", size, seed=1)
        load = os.getloadavg()[0]
        for label, tree in trees.items():
            entry: dict[str, dict] = {}
            if args.only in (None, "steps"):
                entry["steps"] = steps(tree, photos)
            if args.only in (None, "server"):
                entry["server"] = server(tree, work, args.chromium)
            report[label] = entry
        if args.only in (None, "speed"):
            for label, figures in speed(trees, photos["12mp"]).items():
                report[label]["speed"] = figures
        report["load_average_1min"] = {"start": load, "end": os.getloadavg()[0]}
    base = next((k for k in report if k.startswith("baseline")), None)
    if base:
        ratios = {}
        for part in ("server", "speed"):
            now, before = report["this tree"].get(part, {}), report[base].get(part, {})
            ratios.update({k: round(now[k] / before[k], 3) for k in now if k.endswith(("_mb", "_ms")) and before.get(k)})
        report["ratios_this_to_baseline"] = ratios
    text = json.dumps(report, indent=2)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
