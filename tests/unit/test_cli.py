"""The CLI contract: JSON lines, clear per-file errors, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maskpatrol", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_detect_json_on_astronaut(astronaut_png):
    out = run_cli("detect", "--json", str(astronaut_png))
    assert out.returncode == 0, out.stderr
    [line] = out.stdout.strip().splitlines()
    row = json.loads(line)
    assert row["path"] == str(astronaut_png)
    assert (row["width"], row["height"]) == (512, 512)
    assert row["error"] is None
    [face] = row["faces"]
    assert face["label"] == "no_mask"
    assert 0.0 <= face["p_no_mask"] <= 1.0
    assert len(face["box"]) == 4 and all(isinstance(v, int) for v in face["box"])


@pytest.fixture
def bad_files(tmp_path, astronaut_png):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("not an image\n")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(astronaut_png.read_bytes()[:300])
    return [empty, text, corrupt, tmp_path / "missing.png"]


def test_detect_errors_do_not_stop_the_run(astronaut_png, bad_files):
    out = run_cli("detect", "--json", str(bad_files[0]), str(astronaut_png), *map(str, bad_files[1:]))
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    rows = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [r["path"] for r in rows] == [str(bad_files[0]), str(astronaut_png)] + list(map(str, bad_files[1:]))
    assert rows[1]["error"] is None and len(rows[1]["faces"]) == 1
    for r in [rows[0]] + rows[2:]:
        assert isinstance(r["error"], str) and len(r["error"]) > 10 and r["faces"] == []
    assert "empty" in rows[0]["error"]
    assert "not an image" in rows[2]["error"]
    assert "corrupt" in rows[3]["error"]
    assert "not found" in rows[4]["error"]


def test_detect_table_output(astronaut_png, tmp_path):
    out = run_cli("detect", str(astronaut_png), "--annotate-dir", str(tmp_path / "ann"))
    assert out.returncode == 0
    assert "1 face: 0 mask, 1 no mask" in out.stdout
    assert "no_mask" in out.stdout
    assert (tmp_path / "ann" / "astronaut.annotated.png").stat().st_size > 1000


def test_classify_json(astronaut_png, tmp_path, astronaut_rgb):
    from PIL import Image

    from maskpatrol.preprocess import square_crop

    face = tmp_path / "face.jpg"
    Image.fromarray(square_crop(astronaut_rgb, (177, 66, 95, 95))).save(face)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8garbage")
    out = run_cli("classify", "--json", str(face), str(bad))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    good, err = (json.loads(x) for x in out.stdout.strip().splitlines())
    assert good["label"] == "no_mask" and good["error"] is None and 0.5 < good["p_no_mask"] <= 1
    assert err["label"] is None and "bad.jpg" in err["error"]


def test_help_explains_commands():
    out = run_cli("--help")
    assert out.returncode == 0 and "detect" in out.stdout and "classify" in out.stdout
    out = run_cli("detect", "--help")
    assert out.returncode == 0 and "--json" in out.stdout and "p_no_mask" in out.stdout
    out = run_cli("classify", "--help")
    assert out.returncode == 0 and "FACE_IMAGE" in out.stdout


def test_missing_model_is_a_clear_error(astronaut_png, tmp_path):
    out = run_cli("detect", "--model-dir", str(tmp_path), str(astronaut_png))
    assert out.returncode == 2 and "Traceback" not in out.stderr and "model card" in out.stderr
