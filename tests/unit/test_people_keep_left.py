"""A watcher that runs for months keeps only the latest people who left, and its counts stay
whole (``People(keep_left=...)``, used by ``maskpatrol.watch``)."""

from __future__ import annotations

from maskpatrol.pipeline import MASK, NO_MASK, Counts, Face
from maskpatrol.tracking.people import People
from maskpatrol.tracking.settings import PeopleSettings

FPS = 10.0


def seven_people_one_after_another(people: People) -> People:
    """Seven people pass one at a time, the 2nd, 4th and 6th unmasked."""
    t = 0.0
    for n in range(7):
        p_no = 0.97 if n % 2 else 0.02
        for _ in range(4):
            people.update([Face((200, 100, 80, 80), p_no, NO_MASK if p_no > 0.5 else MASK, 0.01)], t, (640, 480))
            t += 1 / FPS
        t += 2.0  # gone longer than keep_lost_s: the next face is someone else
        people.update([], t, (640, 480))
    return people


def test_only_the_latest_people_who_left_are_kept_and_the_counts_stay_whole():
    settings = PeopleSettings(decide_after_frames=2, keep_lost_s=0.5)
    kept = seven_people_one_after_another(People(0.5, 0.5, settings, keep_left=3))
    assert [p.number for p in kept.people()] == [5, 6, 7]
    assert kept.counts == Counts(mask=4, no_mask=3)
    # Without a bound (videos, webcam sessions: their people CSV) everyone is kept.
    everyone = seven_people_one_after_another(People(0.5, 0.5, settings))
    assert [p.number for p in everyone.people()] == [1, 2, 3, 4, 5, 6, 7]
    assert everyone.counts == kept.counts
