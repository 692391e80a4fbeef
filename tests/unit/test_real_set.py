"""The real set of how masks are worn (``maskpatrol/training/labels/real_wear.csv``): its
format, the counts its README states, clear errors, and (with the data folder) that every
listed photo exists."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from maskpatrol.training import real_set
from maskpatrol.training.real_set import CSV_PATH, LABELS, RealSetError, read_entries

HEADER = "source,file,label,note\n"
ROW = "chandrikadeb7,faces/chandrikadeb7/with_mask/00001.jpg,mask,\n"


def test_the_committed_labels_file_reads_with_every_label_and_each_photo_once():
    entries = read_entries()
    counts = Counter(e.label for e in entries)
    assert set(counts) == set(LABELS)
    assert len({e.file for e in entries}) == len(entries)
    assert {e.source for e in entries} == set(real_set.SOURCES)
    assert all(e.file.startswith(real_set.SOURCES[e.source]) for e in entries)


def test_the_readme_states_the_counts_the_file_holds():
    readme = (CSV_PATH.parent / "README.md").read_text()
    counts = Counter((e.source, e.label) for e in read_entries())
    for (source, label), n in counts.items():
        row = re.search(rf"^\| {label} \|(.*)$", readme, re.MULTILINE)
        assert row, f"README has no row for {label}"
        cells = [c.strip() for c in row.group(1).split("|") if c.strip()]
        column = {"chandrikadeb7": 0, "kaggle12k": 1}[source]
        assert int(cells[column]) == n, f"README says {cells[column]} {label} for {source}; the file has {n}"


@pytest.mark.parametrize(("row", "says"), [
    ("chandrikadeb7,faces/chandrikadeb7/with_mask/00002.jpg,below_nose,\n", "label 'below_nose'"),
    ("chandrikadeb7,faces/chandrikadeb7/with_mask/00002.jpg,mask,hand\n", "note 'hand'"),
    ("chandrikadeb7,faces/chandrikadeb7/without_mask/00002.jpg,mask,\n", "not a with_mask photo"),
    ("kaggle12k,faces/chandrikadeb7/with_mask/00002.jpg,mask,\n", "not a with_mask photo"),
    ("celeba,faces/celeba/with_mask/00002.jpg,mask,\n", "source 'celeba'"),
    (ROW, "listed again (first on line 2)"),
])
def test_a_bad_row_is_refused_naming_its_line(tmp_path, row, says):
    path = tmp_path / "labels.csv"
    path.write_text(HEADER + ROW + row)
    with pytest.raises(RealSetError, match="line 3") as caught:
        read_entries(path)
    assert says in str(caught.value)


def test_a_wrong_header_or_a_missing_file_is_refused(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("source,file,label\n")
    with pytest.raises(RealSetError, match="header must be source,file,label,note"):
        read_entries(path)
    with pytest.raises(RealSetError, match="does not exist"):
        read_entries(tmp_path / "nowhere.csv")


def test_photos_missing_from_the_data_folder_are_counted_and_named(tmp_path):
    (tmp_path / "faces").mkdir()
    with pytest.raises(RealSetError, match=r"1 labelled photos are missing .*with_mask/00001\.jpg"):
        real_set.resolve(tmp_path, read_entries_from(tmp_path, ROW))
    with pytest.raises(RealSetError, match="MASKPATROL_DATA_DIR"):
        real_set.resolve(tmp_path / "elsewhere", [])


def test_face_sizes_fall_in_the_issues_buckets():
    assert [real_set.bucket(s) for s in (1, 47, 48, 95, 96, 400)] == ["<48", "<48", "48-96", "48-96", ">96", ">96"]


@pytest.mark.data
def test_every_listed_photo_is_in_the_data_folder(data_dir):
    pairs = real_set.load(data_dir)
    assert len(pairs) == len(read_entries())


def read_entries_from(tmp_path, *rows):
    path = tmp_path / "labels.csv"
    path.write_text(HEADER + "".join(rows))
    return read_entries(path)
