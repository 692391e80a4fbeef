"""Every file of the bad-input corpus, through the CLI and through the Photos page.

For each case the user gets either a clear message naming the file or the correct result
(exact face count and size), never a traceback; and the app keeps serving afterwards.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from support.cli import run_cli
from support.corpus import Case, bad_input_corpus, encode, face_grid
from support.paths import ROOT

PAGE = str(ROOT / "pages" / "photos.py")
APP_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def corpus() -> list[Case]:
    return bad_input_corpus()


@pytest.fixture(scope="module")
def corpus_dir(corpus, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for case in corpus:
        (folder / case.name).write_bytes(case.data)
    return folder


def test_corpus_covers_every_case_the_issue_lists(corpus):
    names = {c.name for c in corpus}
    assert names >= {"zero_bytes.jpg", "notes.jpg", "truncated.jpg", "truncated.png", "bomb.png",
                     "one_pixel.png", "png16.png", "cmyk.jpg", "animated.gif", "multipage.tif",
                     "exif_rotated.jpg", "huge_8000x6000.jpg", "no_faces.png", "thirty_faces.jpg"}
    assert all(c.ok == (c.faces is not None) for c in corpus)


def test_cli_detect_json_gives_a_message_or_the_right_faces_for_every_file(corpus, corpus_dir):
    paths = [str(corpus_dir / c.name) for c in corpus]
    out = run_cli("detect", "--json", *paths)
    assert "Traceback" not in out.stdout + out.stderr, out.stderr[-3000:]
    assert out.returncode == 1, out.stderr  # some inputs failed, the run itself did not
    rows = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert [r["path"] for r in rows] == paths  # one line per input, in order: nothing skipped
    for case, row in zip(corpus, rows):
        if case.ok:
            assert row["error"] is None, (case.name, row["error"])
            assert len(row["faces"]) == case.faces, (case.name, row["faces"])
            assert (row["width"], row["height"]) == tuple(case.size), case.name
        else:
            assert row["faces"] == [] and row["width"] is None, case.name
            assert re.search(case.error, row["error"]), (case.name, row["error"])


def test_cli_table_and_classify_never_show_a_traceback(corpus, corpus_dir):
    paths = [str(corpus_dir / c.name) for c in corpus]
    table = run_cli("detect", *paths)
    assert table.returncode == 1 and "Traceback" not in table.stdout + table.stderr
    for case in corpus:
        line = next(x for x in table.stdout.splitlines() if x.startswith(str(corpus_dir / case.name)))
        assert ("ERROR" in line) == (not case.ok), line
    classify = run_cli("classify", "--json", *paths)
    assert classify.returncode == 1 and "Traceback" not in classify.stdout + classify.stderr
    rows = [json.loads(line) for line in classify.stdout.strip().splitlines()]
    assert len(rows) == len(corpus)
    for case, row in zip(corpus, rows):
        if case.ok:
            assert row["error"] is None and row["label"] in ("mask", "no_mask", "incorrect"), (case.name, row)
        else:
            assert re.search(case.error, row["error"]), (case.name, row["error"])


def test_photos_page_shows_a_message_or_the_right_faces_for_every_file_and_keeps_serving(corpus):
    st.cache_data.clear()
    at = AppTest.from_file(PAGE, default_timeout=APP_TIMEOUT_S)
    at.run()
    at.file_uploader(key="photos_upload").set_value(
        [(c.name, c.data, "application/octet-stream") for c in corpus])
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    bad = [c for c in corpus if not c.ok]
    good = [c for c in corpus if c.ok]
    # The errors appear in upload order, each naming its file in plain words.
    errors = [e.value for e in at.error]
    assert len(errors) == len(bad), errors
    for case, message in zip(bad, errors):
        assert re.search(case.error, message), (case.name, message)
        assert "Traceback" not in message and "Error:" not in message
    # Every readable file gets its picture, with the right face count and size in the caption.
    captions = [img.captions[0] for img in at.image]
    assert len(captions) == len(good), captions
    for case, caption in zip(good, captions):
        n = case.faces
        expected = "No faces found" if n == 0 else f"{n} face{'s' if n != 1 else ''}:"
        assert caption.startswith(expected), (case.name, caption)
        assert caption.endswith(f"{case.size[0]}x{case.size[1]} px"), (case.name, caption)
    total = sum(c.faces for c in good)
    overall = f"{len(corpus)} photos, {total} faces:"
    assert any(m.value.startswith(f"**{overall}") and f"{len(bad)} photos could not be read" in m.value
               for m in at.markdown), [m.value for m in at.markdown][:5]

    # The app keeps serving: the same session then gets a normal photo's result.
    at.file_uploader(key="photos_upload").set_value([("after.png", encode(face_grid(3), "PNG"), "image/png")])
    at.run()
    assert not at.exception and not at.error
    assert [img.captions[0].split(" · ")[0] for img in at.image] == ["3 faces: 0 mask, 3 no mask"]
    st.cache_data.clear()
