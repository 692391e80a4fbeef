"""Counts: faces per label, the "not properly masked" and alert rules, and adding counts up."""

from __future__ import annotations

import pytest

from maskpatrol.pipeline import INCORRECT, LABELS, MASK, NO_MASK, Counts, Face

BOX = (0, 0, 10, 10)


def face(label: str) -> Face:
    return Face(BOX, 0.9 if label == NO_MASK else 0.1, label, 0.8 if label == INCORRECT else 0.0)


def test_faces_are_counted_per_label():
    counts = Counts.of([face(MASK), face(NO_MASK), face(INCORRECT), face(MASK), face(INCORRECT)])
    assert (counts.mask, counts.no_mask, counts.incorrect, counts.total) == (2, 1, 2, 5)


def test_there_is_a_count_for_every_label_named_as_the_label():
    counts = Counts.of([face(label) for label in LABELS])
    assert {label: getattr(counts, label) for label in LABELS} == {label: 1 for label in LABELS}


def test_labels_from_rows_count_as_faces_do_and_a_row_without_a_face_is_skipped():
    assert Counts.of_labels([NO_MASK, None, MASK, INCORRECT, None]) == Counts.of(
        [face(NO_MASK), face(MASK), face(INCORRECT)])


@pytest.mark.parametrize("counts, not_masked, alert", [
    (Counts(mask=3), 0, False),
    (Counts(mask=3, no_mask=1), 1, True),
    (Counts(mask=3, incorrect=1), 1, True),  # a mask below the nose is not properly masked
    (Counts(mask=1, no_mask=2, incorrect=3), 5, True),
])
def test_not_masked_is_no_mask_plus_below_the_nose_and_any_of_them_raises_the_alert(counts, not_masked, alert):
    assert (counts.not_masked, counts.alert) == (not_masked, alert)


def test_counts_add_up_label_by_label():
    frames = [Counts(mask=1, no_mask=2), Counts(incorrect=1), Counts(mask=2, no_mask=1, incorrect=3)]
    assert frames[0] + frames[1] == Counts(mask=1, no_mask=2, incorrect=1)
    assert sum(frames, Counts()) == Counts(mask=3, no_mask=3, incorrect=4)


def test_counts_add_only_to_counts():
    with pytest.raises(TypeError):
        Counts(mask=1) + 1  # type: ignore[operator]


def test_no_faces_is_empty_counts_with_no_alert():
    assert Counts.of([]) == Counts() == Counts() + Counts()
    assert (Counts().total, Counts().not_masked, Counts().alert) == (0, 0, False)
    assert Counts().summary == "No faces found"


def test_equal_counts_are_one_reading():
    """The live panel takes the commonest reading of a second's frames, so equal counts must hash alike."""
    assert len({Counts(mask=1, no_mask=1), Counts.of([face(NO_MASK), face(MASK)])}) == 1


def test_the_summary_of_added_counts_is_that_of_all_their_faces():
    photos = [[face(MASK), face(NO_MASK)], [face(INCORRECT), face(MASK), face(MASK)]]
    added = Counts.of(photos[0]) + Counts.of(photos[1])
    assert added.summary == Counts.of(photos[0] + photos[1]).summary == "5 faces: 3 mask, 1 mask below nose, 1 no mask"
