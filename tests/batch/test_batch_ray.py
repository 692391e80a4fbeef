"""batch on an embedded Ray (2 CPUs, 2 workers): same rows as detect/video, resume after a
crash, no Ray process left behind. Every batch run is a subprocess with a timeout (Ray's
processes, a signal, what outlives the command); the detect and video runs it is compared
with are called in this process (``support.cli``)."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from support.required import require_module

require_module("ray", "Ray comes with requirements-batch.txt (make test installs it)")

pytestmark = pytest.mark.slow

from support import video_clip as vc
from support.cli import run_cli as run_in_process
from support.images import paint_mask, png_bytes  # noqa: E402
from support.paths import ROOT  # noqa: E402
from maskpatrol.batch.store import PartStore  # noqa: E402

#: Bound on one batch run: Ray's start alone took 10-20 s on the shared 2-core machine.
RUN_TIMEOUT_S = 300
#: The environment variable that marks every process a test's run starts (Ray's included).
TAG_VAR = "MASKPATROL_BATCH_TEST_TAG"


#: Ray's helper processes may outlive a killed command by up to a minute before they notice
#: (seen: its dashboard and runtime-env agents, on the loaded 2-core machine), then end.
GONE_WITHIN_S = 120


@pytest.fixture
def ray_env():
    """Environment for one run: a private Ray temp folder (short: Ray's socket paths must
    stay under 108 bytes) and a tag, so that every process the run started can be found."""
    folder = tempfile.mkdtemp(prefix="mpray")
    env = {**os.environ, "RAY_TMPDIR": folder, TAG_VAR: uuid.uuid4().hex, "PYTHONPATH": str(ROOT)}
    yield env
    try:
        assert _wait_for_no_processes(env) == [], "Ray processes outlived the command"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run_processes(env: dict) -> list[str]:
    """Processes of the run: the tag in their environment, or a file open in its Ray
    folder (logs, sockets). Both, because Ray's processes rename themselves
    ("ray::MapWorker"), which also blanks the start of their environment block, where
    psutil stops reading; the raw block keeps the rest."""
    tag, folder = env[TAG_VAR].encode(), env["RAY_TMPDIR"] + "/"
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            hit = tag in Path(f"/proc/{pid}/environ").read_bytes()
            for fd in ([] if hit else os.listdir(f"/proc/{pid}/fd")):
                with contextlib.suppress(OSError):
                    hit = hit or os.readlink(f"/proc/{pid}/fd/{fd}").startswith(folder)
            if hit:
                found.append(f"{pid} {Path(f'/proc/{pid}/comm').read_text().strip()}")
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return found


def _wait_for_no_processes(env: dict, within_s: float = GONE_WITHIN_S) -> list[str]:
    deadline = time.monotonic() + within_s
    while (left := _run_processes(env)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def run_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maskpatrol", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


@pytest.fixture
def mixed_folder(tmp_path, astronaut_rgb, patrol):
    """Photos with and without a mask and without a face, a video, and broken files."""
    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "astronaut.png").write_bytes(png_bytes(astronaut_rgb))
    [face] = patrol.analyze(astronaut_rgb)
    (folder / "masked.png").write_bytes(png_bytes(paint_mask(astronaut_rgb, face.box)))
    (folder / "wall.png").write_bytes(png_bytes(np.full((240, 320, 3), 90, np.uint8)))
    vc.astronaut_clip(folder / "clip.mp4", astronaut_rgb, n_frames=12)
    (folder / "cut.jpg").write_bytes(png_bytes(astronaut_rgb)[:400])
    (folder / "empty.png").write_bytes(b"")
    (folder / "broken.mp4").write_bytes(os.urandom(3000))
    return folder


def _detect_records(rows: list[dict]) -> dict[str, dict]:
    """Batch rows of photos, regrouped into detect --json records."""
    out: dict[str, dict] = {}
    for r in rows:
        rec = out.setdefault(r["path"], {"path": r["path"], "width": r["width"], "height": r["height"],
                                         "faces": [], "error": r["error"]})
        if r["label"] is not None:
            rec["faces"].append({"box": r["box"], "label": r["label"], "p_no_mask": r["p_no_mask"],
                                 "p_incorrect": r["p_incorrect"]})
    return out


def test_batch_rows_equal_detect_and_video_output(mixed_folder, tmp_path, ray_env):
    out = tmp_path / "out"
    run = run_cli(ray_env, "batch", str(mixed_folder), "--out", str(out), "--workers", "2",
                  "--part-size", "2", "--format", "jsonl", "--json", "--quiet")
    assert "Traceback" not in run.stdout + run.stderr
    assert run.returncode == 1, run.stderr  # the broken files are reported, the run finishes
    summary = json.loads(run.stdout)
    assert (summary["inputs"], summary["images"], summary["videos"], summary["workers"]) == (7, 5, 2, 2)
    assert summary["errors"] == 3 and summary["frames"] == 12

    rows = PartStore(str(out), "jsonl").read_rows()
    photos = _detect_records([r for r in rows if r["kind"] == "image"])
    detect = run_in_process("detect", "--json", str(mixed_folder))
    expected = {rec["path"]: rec for rec in map(json.loads, detect.stdout.splitlines())}
    assert photos == expected
    assert [f["label"] for f in photos[str(mixed_folder / "astronaut.png")]["faces"]] == ["no_mask"]
    assert [f["label"] for f in photos[str(mixed_folder / "masked.png")]["faces"]] == ["mask"]
    assert photos[str(mixed_folder / "wall.png")]["faces"] == []

    clip = str(mixed_folder / "clip.mp4")
    counts = run_in_process("video", clip, "--out", str(tmp_path / "clip.out.mp4"), "--csv",
                            str(tmp_path / "clip.csv"), "--quiet")
    assert counts.returncode == 0, counts.stderr
    per_frame: dict[int, list] = defaultdict(lambda: [None, 0, 0, 0, 0])
    column = {"mask": 2, "no_mask": 3, "incorrect": 4}
    for r in (r for r in rows if r["path"] == clip):
        entry = per_frame[r["frame"]]
        entry[0] = r["time_s"]
        if r["label"] is not None:
            entry[1] += 1
            entry[column[r["label"]]] += 1
    batch_csv = [[str(f), str(t), str(n), str(m), str(u), "1", str(b)]
                 for f, (t, n, m, u, b) in sorted(per_frame.items())]
    video_csv = list(csv.reader(io.StringIO((tmp_path / "clip.csv").read_text())))[1:]
    assert [row[:1] + [str(float(row[1]))] + row[2:] for row in video_csv] == batch_csv
    assert all(row[4] == "1" for row in video_csv)  # the astronaut, unmasked, in every frame

    broken = run_in_process("video", str(mixed_folder / "broken.mp4"), "--out", str(tmp_path / "b.mp4"),
                            "--json", "--quiet")
    [batch_error] = [r["error"] for r in rows if r["path"].endswith("broken.mp4")]
    assert batch_error == json.loads(broken.stdout)["error"]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_an_interrupted_run_resumes_without_loss_or_duplicates(tmp_path, astronaut_png, ray_env, stop):
    folder = tmp_path / "photos"
    folder.mkdir()
    inputs = {str(folder / f"p{i:02d}.png") for i in range(40)}
    for path in inputs:
        shutil.copyfile(astronaut_png, path)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "maskpatrol", "batch", str(folder), "--out", str(out),
            "--workers", "1", "--part-size", "1", "--quiet"]
    proc = subprocess.Popen(args, cwd=ROOT, env=ray_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not list(out.glob("part-*.parquet")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is not None:
            pytest.fail(f"the run ended (exit {proc.returncode}) before its first part: {proc.stderr.read()[-2000:]}")
        running = _run_processes(ray_env)
        assert any("raylet" in p for p in running), running  # the check below can see Ray's processes
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    if stop == signal.SIGINT:
        assert proc.returncode == 130 and "run the same command again to resume" in err
        assert "Traceback" not in err
    assert _wait_for_no_processes(ray_env) == []
    before = PartStore(str(out)).done_paths()
    assert 0 < len(before) < len(inputs), "the run was not stopped half-way; nothing to resume"

    again = run_cli(ray_env, *args[3:], "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["skipped"] == len(before)
    rows = PartStore(str(out)).read_rows()
    assert sorted(r["path"] for r in rows) == sorted(inputs)  # each photo's one face, once
    assert not list(out.glob(".tmp-*"))
