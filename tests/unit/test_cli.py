"""The CLI contract: JSON lines, clear per-file errors, exit codes, no tracebacks.

The commands are called in this process (``support.cli.run_cli``), all but the first test:
the real ``python -m maskpatrol`` and the installed ``maskpatrol`` command are run once."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import maskpatrol
from support.cli import run_cli
from support.paths import ROOT
from support.required import skip_or_fail


def test_the_real_command_and_the_installed_one_run(astronaut_png):
    """One smoke test of the command as people run it, in a process of its own: the module
    entry (``python -m maskpatrol``) analyses a photo, and the console script ``pip install``
    made (``maskpatrol``, next to this Python) answers with the package's version."""
    out = subprocess.run([sys.executable, "-m", "maskpatrol", "detect", "--json", str(astronaut_png)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    [face] = json.loads(out.stdout)["faces"]
    assert face["label"] == "no_mask"
    script = Path(sys.executable).with_name("maskpatrol")
    if not script.is_file():
        skip_or_fail(f"the maskpatrol command is not installed next to {sys.executable} "
                     "(make test installs it: pip install -e .)")
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout == f"maskpatrol {maskpatrol.__version__}\n", version


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
    assert set(face) == {"box", "label", "p_no_mask", "p_incorrect"} and 0.0 <= face["p_incorrect"] <= 1.0
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


def test_text_lines_of_a_binary_model_are_unchanged():
    from maskpatrol import cli
    from maskpatrol.pipeline import Face, image_record

    row = {**image_record("a.jpg", [Face((1, 2, 3, 4), 0.9871, "no_mask")], 640, 480), "summary": "1 face"}
    assert cli._detect_row(row).splitlines()[1] == "  face 1: no_mask  p_no_mask=0.987  box x=1 y=2 w=3 h=4"
    assert cli._classify_row({"path": "f.jpg", "label": "mask", "p_no_mask": 0.01, "p_incorrect": 0.0,
                              "error": None}) == "f.jpg: mask     p_no_mask=0.010"


def test_text_lines_of_a_three_class_model_say_mask_below_nose():
    from maskpatrol import cli
    from maskpatrol.pipeline import Face, image_record, summarize

    faces = [Face((1, 2, 3, 4), 0.1, "incorrect", 0.81), Face((5, 6, 7, 8), 0.9, "no_mask", 0.05)]
    row = {**image_record("a.jpg", faces, 640, 480), "summary": summarize(faces)}
    lines = cli._detect_row(row, three_class=True).splitlines()
    assert lines[0] == "a.jpg (640x480): 2 faces: 0 mask, 1 mask below nose, 1 no mask"
    assert lines[1] == ("  face 1: incorrect p_no_mask=0.100 p_incorrect=0.810  box x=1 y=2 w=3 h=4"
                        "  (mask below nose: not properly masked)")
    assert lines[2] == "  face 2: no_mask   p_no_mask=0.900 p_incorrect=0.050  box x=5 y=6 w=7 h=8"
    assert cli._classify_row({"path": "f.jpg", "label": "incorrect", "p_no_mask": 0.1, "p_incorrect": 0.8,
                              "error": None}, three_class=True) == (
        "f.jpg: incorrect p_no_mask=0.100 p_incorrect=0.800  (mask below nose: not properly masked)")


def test_detect_and_classify_with_a_three_class_model(monkeypatch, capsys, tmp_path, patrol, astronaut_rgb):
    """The real pipeline with a 3-class output (see tests/support/three_class.py): the masked astronaut
    is written as a mask below the nose in text and JSON."""
    from PIL import Image

    from support.images import paint_mask
    from maskpatrol import cli
    from maskpatrol.preprocess import square_crop
    from support.three_class import fake_three_class

    box = patrol.analyze(astronaut_rgb)[0].box
    masked = paint_mask(astronaut_rgb, box, 1.0)
    photo, crop = tmp_path / "chin.png", tmp_path / "crop.png"
    Image.fromarray(masked).save(photo)
    Image.fromarray(square_crop(masked, box)).save(crop)
    fake_three_class(monkeypatch)
    assert cli.main(["detect", str(photo)]) == 0
    out = capsys.readouterr().out
    assert "1 face: 0 mask, 1 mask below nose, 0 no mask" in out and "(mask below nose: not properly masked)" in out
    assert cli.main(["detect", "--json", str(photo)]) == 0
    [face] = json.loads(capsys.readouterr().out)["faces"]
    assert face["label"] == "incorrect" and face["p_incorrect"] > 0.5
    assert cli.main(["classify", str(crop)]) == 0
    assert "incorrect p_no_mask=" in capsys.readouterr().out


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
    assert set(good) == {"path", "label", "p_no_mask", "p_incorrect", "error"} and 0 <= good["p_incorrect"] <= 1
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


# --------------------------------------------------------------------------- folders


@pytest.fixture(scope="module")
def one_face_png(tmp_path_factory, astronaut_rgb):
    """The astronaut shrunk onto a plain 640x480 canvas: exactly one (unmasked) face."""
    from support import video_clip as vc

    from support.images import png_bytes

    path = tmp_path_factory.mktemp("one") / "one_face.png"
    path.write_bytes(png_bytes(vc.astronaut_frames(astronaut_rgb, 1)[0]))
    return path


@pytest.fixture
def photo_folder(tmp_path, one_face_png):
    """A folder as people have them: photos in mixed case, a subfolder, non-images, hidden files."""
    root = tmp_path / "photos"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".thumbs").mkdir()
    data = one_face_png.read_bytes()
    for rel in ("b.png", "A.PNG", "sub/c.png", "sub/deeper/d.png", ".hidden.png", ".thumbs/e.png"):
        (root / rel).write_bytes(data)
    (root / "notes.txt").write_text("not a photo\n")
    (root / "sub" / "clip.mp4").write_bytes(b"\x00" * 100)
    return root


def test_detect_walks_a_folder_in_sorted_order(photo_folder):
    out = run_cli("detect", "--json", str(photo_folder))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [r["path"] for r in rows] == [str(photo_folder / "A.PNG"), str(photo_folder / "b.png")]
    for r in rows:
        assert set(r) == {"path", "width", "height", "faces", "error"}
        assert r["error"] is None and [f["label"] for f in r["faces"]] == ["no_mask"]


def test_detect_recursive_folder_keeps_order_and_annotation_paths(photo_folder, one_face_png, tmp_path):
    ann = tmp_path / "ann"
    out = run_cli("detect", "--json", "--recursive", str(one_face_png), str(photo_folder),
                  "--annotate-dir", str(ann))
    assert out.returncode == 0, out.stderr
    paths = [json.loads(line)["path"] for line in out.stdout.strip().splitlines()]
    assert paths == [str(one_face_png)] + [str(photo_folder / p) for p in
                                           ("A.PNG", "b.png", "sub/c.png", "sub/deeper/d.png")]
    written = sorted(str(p.relative_to(ann)) for p in ann.rglob("*.png"))
    assert written == ["A.annotated.png", "b.annotated.png", "one_face.annotated.png",
                       "sub/c.annotated.png", "sub/deeper/d.annotated.png"]


def test_detect_empty_folder_is_an_error_line(tmp_path, one_face_png):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    out = run_cli("detect", "--json", str(empty), str(one_face_png))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    first, second = (json.loads(x) for x in out.stdout.strip().splitlines())
    assert first["path"] == str(empty) and first["faces"] == [] and "No supported images" in first["error"]
    assert "--recursive" in first["error"]
    assert second["error"] is None and len(second["faces"]) == 1


# --------------------------------------------------------------------------- video


@pytest.fixture(scope="module")
def astro_clip(tmp_path_factory, astronaut_rgb):
    from support import video_clip as vc

    path = tmp_path_factory.mktemp("clip") / "astro.mp4"
    vc.astronaut_clip(path, astronaut_rgb, n_frames=15, fps=10)
    return path


def test_video_writes_playable_mp4_and_csv(astro_clip, tmp_path):
    import av

    out, counts = tmp_path / "out" / "annotated.mp4", tmp_path / "counts.csv"
    res = run_cli("video", str(astro_clip), "--out", str(out), "--csv", str(counts), "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout.strip())
    assert summary["error"] is None and summary["frames"] == 15 == summary["analyzed_frames"]
    assert (summary["width"], summary["height"], summary["fps"]) == (640, 480, 10.0)
    assert summary["max_faces"] == 1 and summary["frames_with_no_mask"] == 15 and summary["speed"] > 0
    assert summary["frames_with_incorrect"] == 0
    assert summary["audio"] == "none"  # the clip is silent
    assert "Frame 15 of 15" in res.stderr  # progress on stderr, never mixed into stdout
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in c.decode(stream)) == 15
    rows = list(csv.DictReader(counts.open()))
    assert len(rows) == 15 and all((r["faces"], r["no_mask"], r["mask"]) == ("1", "1", "0") for r in rows)
    assert list(rows[0])[-1] == "incorrect" and {r["incorrect"] for r in rows} == {"0"}


def test_video_every_and_table_output(astro_clip, tmp_path):
    counts = tmp_path / "c.csv"
    res = run_cli("video", str(astro_clip), "-o", str(tmp_path / "o.mp4"), "--every", "5", "--csv", str(counts),
                  "--quiet")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"{astro_clip} -> {tmp_path / 'o.mp4'}: 15 frames, 640x480 at 10 fps")
    assert "3 analysed (1 in 5" in res.stdout and "Frame" not in res.stderr
    assert [r["analyzed"] for r in csv.DictReader(counts.open())] == ["1", "0", "0", "0", "0"] * 3


def test_video_errors_and_usage(tmp_path, astro_clip):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 50)
    res = run_cli("video", str(bad), "--out", str(tmp_path / "o.mp4"), "--json")
    assert res.returncode == 1 and "Traceback" not in res.stderr + res.stdout
    row = json.loads(res.stdout)
    assert "not a video we can read" in row["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mp4"]  # no partial output
    for args in (["--every", "0"], ["--out", str(tmp_path / "o.avi")]):
        cmd = ["video", str(astro_clip)] + (["--out", str(tmp_path / "o.mp4")] if "--out" not in args else []) + args
        res = run_cli(*cmd)
        assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "video" in run_cli("--help").stdout
    helptext = run_cli("video", "--help").stdout
    assert "--every" in helptext and "--csv" in helptext and "frame,time_s,faces,mask,no_mask,analyzed" in helptext


def test_min_score_reaches_blazeface(astronaut_png):
    """--min-score is BlazeFace's strictness: at 0.99 nothing on the astronaut passes,
    while the default finds her face; an out-of-range value is a usage error."""
    from maskpatrol.cli import main as cli_main
    import contextlib
    import io

    def faces(*extra: str) -> int:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            assert cli_main(["detect", "--json", "--detector", "blazeface", *extra, str(astronaut_png)]) == 0
        return len(json.loads(out.getvalue())["faces"])

    assert faces() == 1
    assert faces("--min-score", "0.99") == 0
    with pytest.raises(SystemExit) as exc:
        cli_main(["detect", "--detector", "blazeface", "--min-score", "1.5", str(astronaut_png)])
    assert exc.value.code == 2
