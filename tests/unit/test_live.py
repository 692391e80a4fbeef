"""The webcam callback and its counters, without Streamlit or a browser."""

from __future__ import annotations

import threading

import av
import cv2
import numpy as np
import pytest

from maskpatrol.annotate import NO_MASK_RGB
from maskpatrol.detectors import DetectorSettings
from maskpatrol.live import (FpsMeter, FrameResult, LiveOptions, LivePanel, LiveProcessor, LiveSession,
                             OptionsBox, ResultQueue, Snapshot, alert_text, summarize_window)
from maskpatrol.pipeline import INCORRECT, MASK, NO_MASK, Counts, Face, Settings


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def result(t: float, faces: int = 1, masked: int = 1, fps: float = 25.0, error: str | None = None,
           incorrect: int = 0) -> FrameResult:
    """One frame's counts; faces neither masked nor below the nose are unmasked."""
    return FrameResult(t, Counts(masked, faces - masked - incorrect, incorrect), 10.0, fps, error)


@pytest.fixture(scope="module")
def frame_640(astronaut_rgb) -> np.ndarray:
    """A 640x480 webcam-like frame with the astronaut's (unmasked) face left of centre."""
    frame = np.full((480, 640, 3), 120, np.uint8)
    frame[:, 64:576] = cv2.resize(astronaut_rgb, (512, 480), interpolation=cv2.INTER_AREA)
    return frame


# --- FPS meter -------------------------------------------------------------------------

def test_fps_meter_reads_the_frame_rate():
    meter = FpsMeter(window_s=2.0)
    t = 0.0
    for _ in range(100):  # 4 s at 25 fps
        fps = meter.tick(t)
        t += 0.04
    assert fps == pytest.approx(25.0, abs=0.6)


def test_fps_meter_is_right_from_the_first_frames_and_decays_when_frames_stop():
    meter = FpsMeter(window_s=2.0)
    for i in range(6):  # the first 0.2 s of a 25 fps stream
        fps = meter.tick(i * 0.04)
    assert fps == pytest.approx(25.0, rel=0.05)
    assert meter.fps(0.2 + 1.0) == pytest.approx(25.0, rel=0.05)  # still within the young window
    assert meter.fps(0.2 + 3.0) == 0.0  # nothing in the last 2 s
    meter.reset()
    assert meter.fps(10.0) == 0.0


def test_fps_meter_memory_is_bounded():
    meter = FpsMeter(window_s=1e9, max_events=50)
    for i in range(1000):
        meter.tick(i * 0.001)
    assert len(meter._times) == 50


# --- queue and options ------------------------------------------------------------------

def test_result_queue_drops_the_oldest_when_nobody_reads():
    q = ResultQueue(maxlen=10)
    for i in range(25):
        q.put(result(float(i)))
    assert len(q) == 10 and q.dropped == 15
    items = q.drain()
    assert [r.time for r in items] == [float(i) for i in range(15, 25)]
    assert len(q) == 0 and q.drain() == []


def test_result_queue_under_concurrent_writers_loses_nothing_it_keeps():
    q = ResultQueue(maxlen=100_000)
    drained: list[FrameResult] = []

    def writer(k: int) -> None:
        for i in range(2000):
            q.put(result(k * 10_000 + i))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for th in threads:
        th.start()
    while any(th.is_alive() for th in threads):
        drained.extend(q.drain())
    drained.extend(q.drain())
    assert len(drained) == 8000 and len({r.time for r in drained}) == 8000


def test_options_box_hands_out_the_latest_options():
    box = OptionsBox()
    assert box.get().mirror is False
    new = LiveOptions(Settings(threshold=0.9), show_probability=False, mirror=True)
    box.set(new)
    assert box.get() is new


# --- the callback ----------------------------------------------------------------------

def test_processor_annotates_the_frame_and_queues_counts(patrol, frame_640):
    q = ResultQueue()
    proc = LiveProcessor(patrol, OptionsBox(), q)
    out, res = proc.process_rgb(frame_640.copy())
    assert (res.counts.total, res.counts.mask, res.counts.no_mask) == (1, 0, 1)
    assert out.shape == frame_640.shape and not np.array_equal(out, frame_640)
    # The thick red "No mask" box is drawn on the returned frame.
    red = np.all(out == np.array(NO_MASK_RGB, np.uint8), axis=-1)
    assert red.sum() > 200
    assert q.drain() == [res]
    assert proc.stats()[0] == 1


def test_callback_takes_and_returns_av_frames(patrol, frame_640):
    proc = LiveProcessor(patrol, OptionsBox(), ResultQueue())
    frame = av.VideoFrame.from_ndarray(frame_640, format="rgb24").reformat(format="yuv420p")
    frame.pts = 1234
    out = proc(frame)
    assert isinstance(out, av.VideoFrame) and (out.width, out.height) == (640, 480)
    assert proc.results.drain()[0].counts.no_mask == 1


def test_settings_changed_mid_stream_apply_to_the_next_frame(patrol, frame_640):
    """The page writes new options while frames flow; no restart needed."""
    box = OptionsBox()
    proc = LiveProcessor(patrol, box, ResultQueue())
    _, first = proc.process_rgb(frame_640)
    box.set(LiveOptions(Settings(DetectorSettings(min_face_px=400))))  # larger than any face here
    _, second = proc.process_rgb(frame_640)
    box.set(LiveOptions(Settings(threshold=0.99999)))  # almost nothing counts as unmasked
    _, third = proc.process_rgb(frame_640)
    assert first.counts.no_mask == 1 and second.counts.total == 0
    assert third.counts.total == 1 and third.counts.mask == 1


def test_mirror_view_flips_the_picture_and_the_boxes(patrol, frame_640):
    box = OptionsBox()
    proc = LiveProcessor(patrol, box, ResultQueue())
    plain, _ = proc.process_rgb(frame_640)
    box.set(LiveOptions(mirror=True))
    mirrored, _ = proc.process_rgb(frame_640)

    def red_x(img: np.ndarray) -> float:
        return float(np.nonzero(np.all(img == np.array(NO_MASK_RGB, np.uint8), axis=-1))[1].mean())

    assert red_x(plain) < 320 < red_x(mirrored)


def test_a_failing_frame_is_reported_and_passed_through(patrol, frame_640):
    class Broken:
        def analyze(self, *a, **k):
            raise RuntimeError("model exploded")

    proc = LiveProcessor(Broken(), OptionsBox(), ResultQueue())  # type: ignore[arg-type]
    frame = av.VideoFrame.from_ndarray(frame_640, format="rgb24")
    assert proc(frame) is frame
    [res] = proc.results.drain()
    assert res.error == "model exploded" and proc.errors == 1


def test_processor_is_safe_across_threads(patrol, frame_640):
    """Several sessions' callbacks share one pipeline at once."""
    q = ResultQueue(maxlen=1000)
    procs = [LiveProcessor(patrol, OptionsBox(), q) for _ in range(3)]
    errors: list[BaseException] = []

    def run(p: LiveProcessor) -> None:
        try:
            for _ in range(4):
                p.process_rgb(frame_640)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(p,)) for p in procs]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors
    assert [(r.counts.total, r.counts.no_mask) for r in q.drain()] == [(1, 1)] * 12


# --- what the panel shows --------------------------------------------------------------

def test_summary_is_what_most_frames_of_the_last_second_showed():
    rs = [result(10.0 + i * 0.04, faces=2, masked=1) for i in range(25)]
    rs[12] = result(rs[12].time, faces=1, masked=1)  # one frame where the detector blinked
    snap = summarize_window(rs, now=11.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.no_mask) == (2, 1, 1)
    assert snap.counts.alert and snap.frames == 25 and snap.fps == 25.0


def test_an_unmasked_face_seen_in_a_fifth_of_the_frames_raises_the_alert():
    """Recall first: a second face the detector finds in 6 of 25 frames, unmasked, must
    reach the panel and the alert even though most frames show only the masked person."""
    rs = [result(10.0 + i * 0.04, faces=1, masked=1) for i in range(25)]
    for i in (2, 6, 10, 14, 18, 22):
        rs[i] = result(rs[i].time, faces=2, masked=1)
    snap = summarize_window(rs, now=11.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.no_mask) == (2, 1, 1) and snap.counts.alert


def test_a_second_unmasked_person_seen_now_and_then_is_counted():
    rs = [result(10.0 + i * 0.04, faces=1, masked=0) for i in range(25)]
    for i in range(0, 25, 3):  # 9 of 25 frames also find a second unmasked face
        rs[i] = result(rs[i].time, faces=2, masked=0)
    snap = summarize_window(rs, now=11.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.no_mask) == (2, 0, 2)


def test_a_face_whose_label_flickers_counts_once_as_unmasked():
    rs = [result(10.0 + i * 0.04, faces=1, masked=1 if i % 3 else 0) for i in range(25)]
    snap = summarize_window(rs, now=11.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.no_mask) == (1, 0, 1) and snap.counts.alert


@pytest.mark.parametrize("fps", [25, 4])
def test_one_frame_with_an_unmasked_face_is_a_blink_not_an_alert(fps):
    """Also at a low frame rate, where one frame is a fifth of the window."""
    rs = [result(10.0 + i / fps, faces=1, masked=1) for i in range(fps)]
    rs[fps // 2] = result(rs[fps // 2].time, faces=1, masked=0)
    snap = summarize_window(rs, now=10.0 + 1.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.no_mask) == (1, 1, 0) and not snap.counts.alert


def test_a_mask_below_the_nose_seen_in_a_fifth_of_the_frames_raises_the_alert():
    """A mask below the nose is not properly masked: the classifier calling it so in 5 of 25
    frames (the rest "mask") is enough, as for an unmasked face."""
    rs = [result(10.0 + i * 0.04, faces=1, masked=1) for i in range(25)]
    for i in (1, 6, 11, 16, 21):
        rs[i] = result(rs[i].time, faces=1, masked=0, incorrect=1)
    snap = summarize_window(rs, now=11.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.incorrect, snap.counts.no_mask) == (1, 0, 1, 0)
    assert snap.counts.alert and snap.counts.not_masked == 1


@pytest.mark.parametrize("fps", [25, 4])
def test_one_frame_with_a_mask_below_the_nose_is_a_blink_not_an_alert(fps):
    rs = [result(10.0 + i / fps, faces=1, masked=1) for i in range(fps)]
    rs[fps // 2] = result(rs[fps // 2].time, faces=1, masked=0, incorrect=1)
    snap = summarize_window(rs, now=10.0 + 1.0)
    assert snap.counts == Counts(mask=1) and not snap.counts.alert


def test_a_face_between_no_mask_and_below_the_nose_counts_once_as_no_mask():
    """Both readings are not properly masked; the worse one wins, as in label_for."""
    rs = [result(10.0 + i * 0.04, faces=1, masked=0, incorrect=0 if i % 3 == 0 else 1) for i in range(25)]
    snap = summarize_window(rs, now=11.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.incorrect, snap.counts.no_mask) == (1, 0, 0, 1)


def test_three_people_three_labels_with_the_third_seen_now_and_then():
    """A masked and an unmasked person in every frame; a third, with a mask below the nose,
    found in 6 of 25 frames."""
    rs = [result(10.0 + i * 0.04, faces=2, masked=1) for i in range(25)]
    for i in (0, 4, 8, 12, 16, 20):
        rs[i] = result(rs[i].time, faces=3, masked=1, incorrect=1)
    snap = summarize_window(rs, now=11.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.incorrect, snap.counts.no_mask) == (3, 1, 1, 1)


def test_the_alert_says_a_mask_below_the_nose_is_not_properly_masked():
    def snap(masked: int, no_mask: int, incorrect: int = 0) -> Snapshot:
        return Snapshot(Counts(masked, no_mask, incorrect), 25.0, 10.0, 25)

    # A binary model's wording is unchanged.
    assert alert_text(snap(1, 1)) == "1 person without a mask in view"
    assert alert_text(snap(0, 2)) == "2 people without a mask in view"
    assert alert_text(snap(1, 0, 1)) == "Not properly masked: 1 person with a mask below the nose"
    assert alert_text(snap(0, 1, 1)) == ("Not properly masked: 1 person without a mask, "
                                         "1 with a mask below the nose")
    assert alert_text(snap(3, 0)) == ""


def test_frame_counts_split_the_three_labels():
    box = (10, 10, 50, 50)
    faces = [Face(box, 0.05, MASK), Face(box, 0.9, NO_MASK), Face(box, 0.1, INCORRECT, 0.85),
             Face(box, 0.2, INCORRECT, 0.7)]
    res = FrameResult.from_faces(faces, when=1.0, analysis_ms=5.0, fps=25.0)
    assert res.counts == Counts(mask=1, no_mask=1, incorrect=2) and res.counts.not_masked == 3


def test_processor_draws_a_mask_below_the_nose_and_counts_it(frame_640):
    """The server's callback with a model that sees a mask below the nose (its pipeline
    stubbed: the shipped model may be binary): the dashed amber box, and the count."""
    from maskpatrol.annotate import INCORRECT_RGB

    class ThreeClass:
        def analyze(self, rgb, settings=None, timings=None):
            return [Face((200, 120, 160, 160), 0.1, INCORRECT, 0.8)]

        def threshold(self, settings):
            return 0.5

        def incorrect_threshold(self, settings):
            return 0.5

    proc = LiveProcessor(ThreeClass(), OptionsBox(), ResultQueue())  # type: ignore[arg-type]
    out, res = proc.process_rgb(frame_640)
    assert res.counts == Counts(incorrect=1)
    amber = np.all(out == np.array(INCORRECT_RGB, np.uint8), axis=-1)
    assert amber.sum() > 200
    # Dashed: along the box's left edge, some rows are amber and some are not.
    edge = amber[125:275, 199:202].any(axis=1)
    assert 0.3 < edge.mean() < 0.9


def test_summary_follows_a_change_and_goes_blank_when_frames_stop():
    rs = [result(10.0 + i * 0.04, faces=1, masked=1) for i in range(25)]
    rs += [result(11.0 + i * 0.04, faces=1, masked=0) for i in range(25)]
    snap = summarize_window(rs, now=12.0)
    assert (snap.counts.mask, snap.counts.no_mask) == (0, 1)
    assert summarize_window(rs, now=20.0) is None


def test_summary_reports_errors():
    snap = summarize_window([result(10.0, error="boom")], now=10.1)
    assert snap is not None and snap.error == "boom" and snap.counts.total == 0


def test_panel_keeps_one_minute_of_history():
    clock = FakeClock(0.0)
    panel = LivePanel(clock=clock)
    for second in range(150):
        clock.t = float(second)
        masked = 1 if second < 100 else 0
        panel.update([result(second - 0.5 + i * 0.04, faces=1, masked=masked) for i in range(12)])
    data = panel.chart_data()
    assert len(data["seconds"]) == 61  # now and the 60 seconds before
    assert data["seconds"][0] == -60.0 and data["seconds"][-1] == 0.0
    # second 90 (oldest kept) was masked, the last 50 seconds were not
    assert data["Masked"][0] == 1 and data["Masked"][-1] == 0 and data["No mask"][-1] == 1
    assert sum(data["No mask"]) == 50
    assert set(data) == {"seconds", "Faces", "Masked", "Mask below nose", "No mask"}
    assert sum(data["Mask below nose"]) == 0


def test_the_chart_carries_masks_below_the_nose():
    clock = FakeClock(0.0)
    panel = LivePanel(clock=clock)
    for second in range(10):
        clock.t = float(second)
        below = 1 if second >= 5 else 0
        panel.update([result(second - 0.5 + i * 0.04, faces=2, masked=1 - below, incorrect=below)
                      for i in range(12)])
    data = panel.chart_data()
    assert data["Mask below nose"] == [0] * 5 + [1] * 5
    assert data["Masked"] == [1] * 5 + [0] * 5 and data["No mask"] == [1] * 10
    assert all(m + b + n == f for m, b, n, f in zip(data["Masked"], data["Mask below nose"], data["No mask"],
                                                       data["Faces"]))


def test_session_resets_on_a_new_stream_and_stays_bounded(patrol, frame_640):
    clock = FakeClock(0.0)
    session = LiveSession(patrol, clock=clock, queue_size=8)
    assert session.on_playing(True) is True
    for _ in range(20):  # nobody reads: the queue stays at its bound
        session.processor.process_rgb(frame_640)
    assert len(session.results) == 8
    snap = session.refresh()
    assert snap is not None and snap.counts.no_mask == 1
    assert session.on_playing(True) is False  # still the same stream
    session.on_playing(False)
    assert session.on_playing(True) is True  # a new stream starts from zero
    assert session.processor.stats() == (0, 0.0) and len(session.results) == 0
    assert session.panel.last is None and not session.panel.history
