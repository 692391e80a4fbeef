"""The third class's data: every drawn face stays in its own split, and drawing repeats."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from maskpatrol.training import data
from maskpatrol.training.synth_data import Painter

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def samples(data_dir):
    return data.discover(data_dir, third_class=True)


def test_no_face_is_in_two_splits(samples):
    """A face drawn on for training is never judged in validation or test, and the other
    way round: every photo file has one split, whatever is drawn on it."""
    splits: dict[str, set[str]] = collections.defaultdict(set)
    for s in samples:
        splits[str(s.path)].add(s.split)
    assert all(len(v) == 1 for v in splits.values())
    synthetic = [s for s in samples if s.source == "synthetic"]
    assert {s.split for s in synthetic} == {"train", "validation", "test"}


def test_third_class_has_drawn_and_maskedfacenet_faces_in_every_split(samples):
    counts = collections.Counter((s.source, s.split) for s in samples if s.label == data.INCORRECT)
    for source in data.THIRD_CLASS_SOURCES:
        for split in data.SPLITS:
            assert counts[(source, split)] >= 50, (source, split, counts)
    styles = collections.Counter(s.style for s in samples if s.source == "synthetic")
    # Both ways of wearing it wrong, and proper masks drawn the same way (so texture alone
    # cannot tell the classes apart).
    assert min(styles["below_nose"], styles["chin"], styles["correct"]) > 500, styles


def test_binary_discovery_is_unchanged_by_the_third_class(samples, data_dir):
    binary = data.discover(data_dir)
    assert {s.source for s in binary} == set(data.SOURCES)
    assert binary == [s for s in samples if s.source in data.SOURCES]


def test_a_drawn_face_is_the_same_whatever_the_order(samples):
    synthetic = [s for s in samples if s.source == "synthetic" and s.split == "test"][:6]
    first = [Painter(1234).draw(s) for s in synthetic]
    again = Painter(1234)
    later = [again.draw(s) for s in reversed(synthetic)][::-1]
    assert all(np.array_equal(a, b) for a, b in zip(first, later))
    other_seed = Painter(99).draw(synthetic[0])
    assert not np.array_equal(first[0], other_seed)
