"""The tracker and the per-person judgement on boxes and probabilities whose truth is known
(no model): numbers that hold through an occlusion, one judgement and one alert per
person, people counts, and the edge cases at the end of a video."""

from __future__ import annotations

import io

from maskpatrol.pipeline import INCORRECT, MASK, NO_MASK, Counts, Face
from maskpatrol.tracking.people import People, PersonRecord, people_csv_text, write_people_csv
from maskpatrol.tracking.settings import PeopleSettings
from maskpatrol.tracking.tracker import Tracker, iou, match_score

FPS = 25.0


def face(x: float, y: float = 100, side: float = 80, p_no: float = 0.02, p_inc: float = 0.01) -> Face:
    label = NO_MASK if p_no >= 0.5 else (INCORRECT if p_inc >= 0.5 else MASK)
    return Face((int(round(x)), int(y), int(side), int(side)), p_no, label, p_inc)


def test_iou_and_score():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    assert abs(iou((0, 0, 10, 10), (5, 0, 10, 10)) - 50 / 150) < 1e-12
    # No overlap but within a face width at the same size: a weaker match than any overlap.
    near = match_score((0, 0, 10, 10), (8, 0, 10, 10), 0.2)
    assert 0 < near < 0.2
    assert match_score((0, 0, 10, 10), (25, 0, 10, 10), 0.2) == 0.0  # too far
    assert match_score((0, 0, 10, 10), (2, 0, 30, 30), 0.2) == 0.0  # near, but three times the size


def test_numbers_hold_through_an_occlusion():
    """A walks right, B walks left in front of A: A is hidden for 8 frames and comes out on
    the other side, still A."""
    tracker = Tracker(PeopleSettings())
    seen: dict[str, set[int]] = {"A": set(), "B": set()}
    for i in range(60):
        t = i / FPS
        a, b = 50 + 8 * i, 560 - 8 * i
        boxes, who = [], []
        if not (abs(a - b) < 60):  # B in front hides A while they overlap
            boxes.append((a, 100, 80, 80)); who.append("A")
        boxes.append((b, 110, 90, 90)); who.append("B")
        ids, _ = tracker.update(boxes, t)
        for name, n in zip(who, ids):
            seen[name].add(n)
    assert seen == {"A": {1}, "B": {2}}


def test_a_lost_track_ends_after_keep_lost_s():
    tracker = Tracker(PeopleSettings(keep_lost_s=0.5))
    tracker.update([(0, 0, 50, 50)], 0.0)
    _, ended = tracker.update([], 0.4)
    assert ended == [] and tracker.active() == [1]
    _, ended = tracker.update([], 0.6)
    assert ended == [1] and tracker.active() == []
    ids, _ = tracker.update([(0, 0, 50, 50)], 0.7)
    assert ids == [2]  # a new person


def test_skipped_frames_track_by_time():
    """Half the frames skipped (the live pages keep up this way): same numbers."""
    tracker = Tracker(PeopleSettings())
    for i in range(0, 40, 3):
        ids, _ = tracker.update([(20 + 12 * i, 50, 70, 70)], i / FPS)
        assert ids == [1]


def test_one_judgement_and_one_alert_per_person():
    people = People(0.5, 0.5, PeopleSettings(decide_after_frames=3))
    alerts = []
    for i in range(30):
        update = people.update([face(10 + 4 * i, p_no=0.97), face(400, p_no=0.01)], i / FPS)
        alerts += update.alerts
        if i < 2:
            assert [f.person for f in update.faces] == [None, None]  # not judged yet
        else:
            assert [f.person for f in update.faces] == [1, 2]
            assert update.faces[0].label == NO_MASK and update.faces[1].label == MASK
    assert [a.number for a in alerts] == [1]
    people.finish()
    assert people.counts == Counts(mask=1, no_mask=1)
    assert people.counts.people_summary == "2 people: 1 masked, 1 no mask, 0 mask below nose"


def test_label_from_the_largest_faces():
    """Far away and small the model says "mask"; close and large it says "no mask": the
    largest faces decide."""
    people = People(0.5, None, PeopleSettings(decide_after_frames=3, evidence_faces=4, revise_margin=1.0))
    for i in range(12):
        side = 40 + 10 * i
        people.update([face(100, side=side, p_no=0.2 if side < 100 else 0.99)], i / FPS)
    people.finish()
    (record,) = people.records()
    assert record.label == NO_MASK


def test_a_decided_label_changes_only_on_strong_evidence():
    people = People(0.5, None, PeopleSettings(decide_after_frames=3, evidence_faces=8, revise_margin=1.0))
    for i in range(3):
        people.update([face(100, p_no=0.9)], i / FPS)
    assert people.records()[0].label == NO_MASK
    for i in range(3, 6):  # weak evidence the other way: the mean sits near the threshold
        people.update([face(100, p_no=0.3)], i / FPS)
    assert people.records()[0].label == NO_MASK
    for i in range(6, 30):  # strong evidence: revised
        people.update([face(100, p_no=0.001)], i / FPS)
    assert people.records()[0].label == MASK


def test_below_the_nose_counts_as_not_properly_masked():
    people = People(0.5, 0.5)
    alerts = []
    for i in range(5):
        alerts += people.update([face(100, p_no=0.05, p_inc=0.95)], i / FPS).alerts
    assert [a.label for a in alerts] == [INCORRECT]
    assert people.counts.not_masked == 1


def test_a_stray_detection_is_not_a_person():
    people = People(0.5, None, PeopleSettings(decide_after_frames=3, keep_lost_s=0.2))
    people.update([face(100)], 0.0)
    for i in range(1, 20):
        people.update([], i / FPS)
    people.finish()
    assert people.records() == []


def test_one_frame_clip_with_one_face_is_one_person():
    people = People(0.5, None)
    people.update([face(100, p_no=0.9)], 0.0)
    alerts = people.finish()
    assert people.counts == Counts(no_mask=1)
    assert [a.number for a in alerts] == [1]


def test_no_faces_no_people_and_a_header_only_csv():
    people = People(0.5, None)
    for i in range(10):
        people.update([], i / FPS)
    people.finish()
    assert people.counts == Counts()
    assert people_csv_text(people.records()) == ",".join(PersonRecord.CSV_HEADER) + "\n"


def test_people_csv_rows():
    people = People(0.5, None)
    for i in range(4):
        people.update([face(100, p_no=0.8 if i % 2 else 0.6)], i * 0.5)
    people.finish()
    out = io.StringIO()
    write_people_csv(people.records(), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "person,first_seen_s,last_seen_s,frames,label,mean_p_no_mask,mean_p_incorrect"
    assert lines[1] == "1,0.0,1.5,4,no_mask,0.7,0.01"


def test_face_record_names_the_person_only_where_followed():
    plain = face(10)
    assert "person" not in plain.to_dict()
    from dataclasses import replace

    assert replace(plain, person=3).to_dict()["person"] == 3


def test_a_face_clearly_of_the_other_class_is_not_the_same_person():
    """Where a masked face passes in front of an unmasked one, it does not take over the
    unmasked person's number (and evidence): a clear class disagreement vetoes a match."""
    tracker = Tracker(PeopleSettings())
    for i in range(4):
        ids, _ = tracker.update([(100, 100, 80, 80)], i / FPS, classes=[5.0])
        assert ids == [1]
    ids, _ = tracker.update([(102, 100, 80, 80)], 4 / FPS, classes=[-5.0])
    assert ids == [2]
    ids, _ = tracker.update([(104, 100, 80, 80)], 5 / FPS, classes=[1.0])  # unsure: no veto
    assert ids[0] in (1, 2)


def test_numbers_hold_when_the_stream_changes_resolution():
    """WebRTC halves a stream's resolution when the sender cannot keep up: same people."""
    tracker = Tracker(PeopleSettings())
    for i in range(10):
        ids, _ = tracker.update([(100 + 8 * i, 100, 80, 80), (400 - 6 * i, 200, 90, 90)], i / FPS, (640, 480))
    assert ids == [1, 2]
    for i in range(10, 20):
        boxes = [((100 + 8 * i) // 2, 50, 40, 40), ((400 - 6 * i) // 2, 100, 45, 45)]
        ids, _ = tracker.update(boxes, i / FPS, (320, 240))
        assert ids == [1, 2]


def test_numbers_hold_across_a_stall_of_the_stream():
    """The server mode on a loaded machine: frames come, then none for 1.2 s, then frames
    again (the times are those of a run of tests/e2e/test_people_live.py). Meanwhile A walks
    on hidden behind B, who overtakes her in front, and C walks the other way. The stall is
    nobody's time out of sight and everyone kept walking through it: each keeps their number,
    where a stall counted as time lost split all three into new people."""
    times = [0.0, 0.04, 0.08, 0.2, 0.33, 0.41, 0.5, 0.75, 1.94, 2.18, 2.34, 2.55, 2.59, 2.63, 2.67]
    tracker = Tracker(PeopleSettings())
    seen: dict[str, set[int]] = {"A": set(), "B": set(), "C": set()}
    for t in times:
        # (who, class log-odds, x, y, side): A and B unmasked, both walking right; C masked.
        a, b = ("A", 5.0, 60 + 150 * t, 210, 110), ("B", 5.0, -100 + 260 * t, 150, 120)
        c = ("C", -5.0, 560 - 280 * t, 148, 95)
        shown = [w for w in (a, b, c) if -w[4] < w[2] < 640 and not (w is a and abs(a[2] - b[2]) < 0.8 * a[4])]
        ids, _ = tracker.update([(round(x), y, side, side) for _, _, x, y, side in shown], t, (640, 480),
                                [cls for _, cls, *_ in shown])
        for w, n in zip(shown, ids):
            seen[w[0]].add(n)
    assert seen == {"A": {1}, "B": {2}, "C": {3}}


def test_a_long_stall_still_ends_tracks():
    """Only keep_lost_s of a stall is forgiven: after a page was in the background for a
    while, a face where someone stood is a new person."""
    tracker = Tracker(PeopleSettings(keep_lost_s=1.5))
    for i in range(5):
        tracker.update([(300, 200, 80, 80)], i / FPS)
    ids, ended = tracker.update([(300, 200, 80, 80)], 4 / FPS + 4.0)
    assert ended == [1] and ids == [2]


def test_a_new_track_reaches_as_far_as_a_walker_gets():
    """A track seen once has no heading yet: a face 1.5 widths away in the next frame of a
    steady stream is someone else, half a second later it is the same person walking on."""
    for t, expected in ((1 / FPS, [2]), (0.5, [1])):
        tracker = Tracker(PeopleSettings())
        tracker.update([(100, 100, 80, 80)], 0.0)
        ids, _ = tracker.update([(220, 100, 80, 80)], t)
        assert ids == expected, t
    # Once its heading is known (standing still), a track reaches one face width.
    tracker = Tracker(PeopleSettings())
    tracker.update([(100, 100, 80, 80)], 0.0)
    tracker.update([(100, 100, 80, 80)], 0.04)
    ids, _ = tracker.update([(220, 100, 80, 80)], 0.5)
    assert ids == [2]


def test_two_people_crossing_at_two_frames_a_second_are_both_counted():
    """A slow phone analyses two frames a second (the times jittered as a loaded browser's):
    between frames each walker moves more than a face width. A and B cross, passing less
    than a face width apart; each keeps one number and both are counted, where a new track
    reaching one face width lost each at once and neither was seen in the three frames it
    takes to be counted."""
    times = [0.1, 0.62, 1.08, 1.6, 2.07, 2.55, 3.1, 3.58, 4.1, 4.6, 5.1, 5.6]
    people = People(0.5, 0.5, PeopleSettings())
    seen: dict[str, set[int]] = {"A": set(), "B": set()}
    for t in times:
        a, b = ("A", -100 + 260 * t, 120, 100, 0.02), ("B", 640 - 250 * t, 210, 110, 0.95)
        shown = [w for w in (a, b) if -w[3] < w[1] < 640]
        update = people.update([face(x, y, side, p_no=p) for _, x, y, side, p in shown], t, (640, 480))
        for w, n in zip(shown, update.tracks):
            seen[w[0]].add(n)
    people.finish()
    assert seen == {"A": {1}, "B": {2}}
    assert people.counts.total == 2


def test_two_frames_a_millisecond_apart_give_no_speed():
    """A live stream sometimes delivers two frames 1 ms apart while the face has moved a few
    pixels: taken as a speed, that is thousands of pixels a second, the next prediction lands
    far away and the person splits. Such a pair moves the track, not its heading."""
    tracker = Tracker(PeopleSettings())
    times = [0.0, 0.1, 0.2, 0.3, 0.301, 0.4, 0.5, 0.6, 0.7, 0.8]
    seen = set()
    for t in times:
        ids, _ = tracker.update([(round(100 + 100 * t + (10 if t == 0.301 else 0)), 200, 80, 80)], t, (640, 480))
        seen.update(ids)
    assert seen == {1}
    [track] = tracker.tracks
    assert abs(track.vx - 100) < 60, track.vx
