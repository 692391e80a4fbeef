"""The server mode's frame callback follows people: the astronaut (one unmasked face) walking
across ten frames is one person, judged once, one alert; the panel counts people since Start,
and Stop judges whoever is still in view and offers their records."""

from __future__ import annotations

from maskpatrol.live import LiveSession
from maskpatrol.pipeline import Counts
from support import video_clip as vc


def test_one_person_one_alert_and_the_records_after_stop(patrol, astronaut_rgb):
    clock = [100.0]
    session = LiveSession(patrol, clock=lambda: clock[0])
    session.on_playing(True)
    frames = vc.astronaut_frames(astronaut_rgb, 10)
    results = []
    for i, rgb in enumerate(frames):
        clock[0] += 0.1
        _, result = session.processor.process_rgb(rgb, captured_s=5.0 + i * 0.1)
        results.append(result)
    assert [r.alerts for r in results].count(1) == 1 and sum(r.alerts for r in results) == 1
    assert results[-1].people == Counts(no_mask=1)
    session.refresh()
    assert session.panel.people == Counts(no_mask=1) and session.panel.alerts == 1
    session.on_playing(False)  # Stop
    [record] = session.processor.people_records()
    assert (record.number, record.label, record.frames) == (1, "no_mask", 10)
    assert record.first_seen_s == 0.0 and abs(record.last_seen_s - 0.9) < 1e-9  # seconds since the stream began
    session.on_playing(True)  # a new stream counts afresh
    assert session.panel.people == Counts() and session.processor.people_records() == []


def test_a_one_frame_stream_is_judged_at_stop(patrol, astronaut_rgb):
    session = LiveSession(patrol)
    session.on_playing(True)
    session.processor.process_rgb(vc.astronaut_frames(astronaut_rgb, 1)[0])
    assert session.processor.people_counts() == Counts()  # seen once: not judged yet
    session.on_playing(False)
    assert session.panel.people == Counts(no_mask=1)
