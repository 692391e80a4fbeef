"""The real set's incorrectly worn photos judge "Mask below nose": neither they nor their near
copies may reach any network's training or validation data (issue 34)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from maskpatrol.training import data, near_copies, real_set, wear


def _photo(seed: int) -> np.ndarray:
    """A colourful 120x120 'photo': blobs of random colours on a random background."""
    rng = np.random.default_rng(seed)
    img = np.full((120, 120, 3), rng.integers(0, 255, 3), np.uint8)
    for _ in range(12):
        centre = tuple(int(v) for v in rng.integers(0, 120, 2))
        cv2.circle(img, centre, int(rng.integers(8, 30)), tuple(int(v) for v in rng.integers(0, 255, 3)), -1)
    return img


def test_a_zoomed_mirrored_reencoded_copy_is_near_and_another_photo_is_not():
    img = _photo(1)
    zoomed = cv2.resize(img[4:116, 4:116], (140, 140))[:, ::-1]
    ok, buf = cv2.imencode(".jpg", zoomed, [cv2.IMWRITE_JPEG_QUALITY, 60])
    copy = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    sig = near_copies.signature(img)
    assert near_copies.similarity(near_copies.signature(copy), sig) >= near_copies.MIN_SIMILARITY
    assert near_copies.similarity(near_copies.signature(_photo(2)), sig) < near_copies.MIN_SIMILARITY


def test_find_lists_copies_of_targets_but_not_the_targets_themselves(tmp_path):
    folder = tmp_path / "faces" / "src" / "with_mask"
    folder.mkdir(parents=True)
    for name, img in (("a.jpg", _photo(1)), ("a_copy.jpg", _photo(1)[:, ::-1]), ("b.jpg", _photo(2)),
                      ("b2.jpg", _photo(2))):
        cv2.imwrite(str(folder / name), img)
    rows = near_copies.find(tmp_path, ["faces/src/with_mask/a.jpg", "faces/src/with_mask/b.jpg"])
    assert {(f, t) for f, t, _ in rows} == {("faces/src/with_mask/a_copy.jpg", "faces/src/with_mask/a.jpg"),
                                            ("faces/src/with_mask/b2.jpg", "faces/src/with_mask/b.jpg")}


def test_held_out_photos_leave_train_and_validation_but_stay_in_test(tmp_path):
    samples = [data.Sample(tmp_path / "faces" / f"{split}.jpg", data.MASK, "kaggle12k", split)
               for split in data.SPLITS]
    kept = data.drop_held_out(samples, tmp_path, frozenset(f"faces/{s}.jpg" for s in data.SPLITS))
    assert [s.split for s in kept] == ["test"]


def test_the_held_out_list_holds_every_incorrect_photo_and_the_listed_near_copies():
    held = data.held_out()
    assert real_set.incorrect_files() <= held
    assert {f for f, _, _ in near_copies.read()} <= held
    assert len(real_set.incorrect_files()) == 143


@pytest.mark.data
def test_no_held_out_photo_reaches_a_training_or_validation_set(data_dir):
    held = data.held_out()
    root = Path(data_dir)

    def rel(s):
        return Path(s.path).relative_to(root).as_posix()

    for third_class in (False, True):
        samples = data.discover(data_dir, third_class=third_class)
        for split in ("train", "validation"):
            assert not {rel(s) for s in data.select(samples, split)} & held
        assert {rel(s) for s in data.select(samples, "test")} & held  # test figures stay comparable
    samples = data.discover(data_dir)
    for split in ("train", "validation"):
        assert not {rel(s) for s in wear.training_samples(samples, split, drawn=True)} & held


@pytest.mark.data
@pytest.mark.slow
def test_the_near_copies_file_is_what_the_tool_finds_today(data_dir):
    assert near_copies.find(data_dir, real_set.incorrect_files()) == near_copies.read()
