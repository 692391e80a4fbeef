"""batch without Ray: listing the inputs, the part store behind resume, the install hint."""

from __future__ import annotations

import json
import sys

import numpy as np

import pytest

from support.required import require_module

require_module("pyarrow", "pyarrow comes with requirements-batch.txt (make test installs it)")

from support import video_clip as vc

from maskpatrol import cli  # noqa: E402
from maskpatrol.batch.inputs import IMAGE, VIDEO, expand_items  # noqa: E402
from maskpatrol.batch.rows import ROW_FIELDS, error_row  # noqa: E402
from maskpatrol.batch.store import SCHEMA, PartStore, StoreError  # noqa: E402
from maskpatrol.batch.work import BatchSettings, analyse  # noqa: E402


@pytest.fixture
def tree(tmp_path):
    """a.jpg, b.mp4, notes.txt, .hidden.jpg, sub/c.png, empty/ under tmp_path/in."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "empty").mkdir()
    for name in ("a.jpg", "b.mp4", "notes.txt", ".hidden.jpg", "sub/c.png"):
        (root / name).write_bytes(b"x")
    return root


def test_a_folder_gives_its_images_and_videos_like_detect(tree):
    items = expand_items([str(tree)])
    assert [(i.path, i.kind) for i in items] == [(str(tree / "a.jpg"), IMAGE), (str(tree / "b.mp4"), VIDEO)]
    deep = expand_items([str(tree)], recursive=True)
    assert [i.path for i in deep] == [str(tree / "a.jpg"), str(tree / "b.mp4"), str(tree / "sub" / "c.png")]


def test_globs_list_files_and_uris_expand_and_repeats_count_once(tree, tmp_path):
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"# cameras\n{tree / 'a.jpg'}\n\nfile://{tree / 'sub'}\n")
    items = expand_items([str(tree / "*.mp4"), str(listing), str(tree / "a.jpg")])
    assert [i.path for i in items] == [str(tree / "b.mp4"), str(tree / "a.jpg"), f"file://{tree / 'sub' / 'c.png'}"]
    assert all(i.error is None for i in items)


def test_inputs_that_cannot_be_listed_become_error_items(tree):
    items = expand_items([str(tree / "empty"), str(tree / "nothing-*.jpg"), str(tree / "missing.jpg")])
    assert "No images or videos in" in items[0].error and "--recursive" in items[0].error
    assert "No images or videos match" in items[1].error
    # A named file is left for the worker to open, which reports it as detect does.
    assert items[2].error is None and items[2].kind == IMAGE


def test_parquet_schema_has_the_row_fields():
    assert tuple(SCHEMA.names) == ROW_FIELDS


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_parts_are_whole_and_a_rewritten_part_replaces_itself(tmp_path, fmt):
    store = PartStore(str(tmp_path / "out"), fmt)
    store.prepare()
    rows = [error_row("x.jpg", IMAGE, "broken"), error_row("y.jpg", IMAGE, "broken too")]
    first = store.write(["x.jpg", "y.jpg"], rows)
    # A retried batch (same inputs) lands on the same name: no second copy of its rows.
    assert store.write(["y.jpg", "x.jpg"], rows) == first
    store.write(["z.jpg"], [error_row("z.jpg", IMAGE, "again")])
    (tmp_path / "out" / ".tmp-part-left-by-a-crash").write_bytes(b"half a part")
    resumed = PartStore(str(tmp_path / "out"), fmt)
    resumed.prepare()
    assert not list((tmp_path / "out").glob(".tmp-*"))
    assert resumed.done_paths() == {"x.jpg", "y.jpg", "z.jpg"}
    assert sorted(r["error"] for r in resumed.read_rows()) == ["again", "broken", "broken too"]
    with pytest.raises(StoreError, match=f"--format {fmt}"):
        PartStore(str(tmp_path / "out"), "jsonl" if fmt == "parquet" else "parquet").prepare()


def test_without_ray_the_command_says_how_to_install_it(monkeypatch, capsys, astronaut_png, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails as if not installed
    status = cli.main(["batch", str(astronaut_png), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "pip install -r requirements-batch.txt" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_listing_errors_are_rows_and_need_no_ray(monkeypatch, capsys, tmp_path):
    """Nothing to analyse: the listing errors are written without starting Ray."""
    (tmp_path / "empty").mkdir()
    status = cli.main(["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "out"), "--json", "-q"])
    summary = json.loads(capsys.readouterr().out)
    assert status == 1 and summary["errors"] == 1 and summary["workers"] == 0
    assert (summary["inputs"], summary["images"], summary["videos"]) == (1, 0, 0)
    [row] = PartStore(str(tmp_path / "out")).read_rows()
    assert row["path"] == str(tmp_path / "empty") and "No images or videos" in row["error"]
    assert row["kind"] is None
    # Run again: the listing error is already in --out, nothing is left to do.
    assert cli.main(["batch", str(tmp_path / "empty"), "--out", str(tmp_path / "out")]) == 0
    assert "Nothing to do: every input (1) is already in" in capsys.readouterr().out


def test_a_uri_gives_the_rows_of_the_same_local_file(patrol, astronaut_png, astronaut_rgb, tmp_path):
    """URIs are read through pyarrow (as s3:// would be); file:// exercises that path here."""
    clip = tmp_path / "clip.mp4"
    vc.astronaut_clip(clip, astronaut_rgb, n_frames=4)
    for path, kind in ((str(astronaut_png), IMAGE), (str(clip), VIDEO)):
        local = analyse(patrol, path, kind, BatchSettings())
        remote = analyse(patrol, f"file://{path}", kind, BatchSettings())
        assert [dict(r, path=None) for r in remote] == [dict(r, path=None) for r in local]
        assert all(r["error"] is None and r["label"] == "no_mask" for r in remote)
        [missing] = analyse(patrol, f"file://{tmp_path}/gone.{path.rsplit('.', 1)[1]}", kind, BatchSettings())
        assert missing["error"] == f"File not found: file://{tmp_path}/gone.{path.rsplit('.', 1)[1]}"


def test_video_rows_cover_every_nth_frame_with_its_time(patrol, astronaut_rgb, tmp_path):
    clip = tmp_path / "clip.mp4"
    vc.astronaut_clip(clip, astronaut_rgb, n_frames=7, fps=10)
    rows = analyse(patrol, str(clip), VIDEO, BatchSettings(every=3))
    assert [(r["frame"], r["time_s"]) for r in rows] == [(0, 0.0), (3, 0.3), (6, 0.6)]
    wall = tmp_path / "wall.mp4"
    vc.write_clip(wall, [np.full((120, 160, 3), 90, np.uint8)] * 2)
    assert [(r["frame"], r["box"], r["label"]) for r in analyse(patrol, str(wall), VIDEO, BatchSettings())] == \
        [(0, None, None), (1, None, None)]


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_rows_carry_the_third_label_and_p_incorrect_through_a_part(tmp_path, fmt):
    """A 3-class model's faces (built directly): label "incorrect" and p_incorrect reach the
    part and come back, the faceless row has nulls, and the counts name them."""
    from maskpatrol.batch.command import summary_text
    from maskpatrol.batch.job import Totals, part_counts
    from maskpatrol.batch.rows import face_rows
    from maskpatrol.pipeline import Face

    faces = [Face((1, 2, 3, 4), 0.1, "incorrect", 0.8123456789), Face((5, 6, 7, 8), 0.9, "no_mask", 0.05),
             Face((9, 9, 9, 9), 0.02, "mask", 0.01)]
    rows = face_rows("a.jpg", IMAGE, faces, 640, 480) + face_rows("b.jpg", IMAGE, [], 64, 48)
    assert all(tuple(r) == ROW_FIELDS for r in rows)
    store = PartStore(str(tmp_path / "out"), fmt)
    store.prepare()
    store.write(["a.jpg", "b.jpg"], rows)
    back = store.read_rows()
    assert [(r["label"], r["p_no_mask"], r["p_incorrect"]) for r in back] == [
        ("incorrect", 0.1, 0.812346), ("no_mask", 0.9, 0.05), ("mask", 0.02, 0.01), (None, None, None)]
    counts = part_counts(["a.jpg", "b.jpg"], [IMAGE, IMAGE], back)
    assert (counts["faces"], counts["no_mask"], counts["incorrect"]) == (3, 1, 1)
    totals = Totals()
    totals.add(counts)
    assert totals.as_dict()["incorrect"] == 1
    assert "3 faces, 1 without a mask, 1 with the mask below the nose; 0 errors." in summary_text(totals, "out")
    binary = Totals()
    binary.add({**counts, "incorrect": 0})
    assert "3 faces, 1 without a mask; 0 errors." in summary_text(binary, "out")
