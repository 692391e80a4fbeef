"""The Live webcam page's panel (AppTest; no camera): which counts it shows with a binary
and with a 3-class model, and how it words the alert. The counts come from the page's own
:class:`maskpatrol.live.LivePanel`, filled here with frame results as a stream would.

The page runs in its browser mode (AppTest cannot run streamlit-webrtc's server mode); both
modes draw the same panel. That mode needs static file serving, which the app's
``.streamlit/config.toml`` switches on and AppTest does not read, so it is set here."""

from __future__ import annotations

from typing import Iterator

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from support.paths import ROOT
from maskpatrol.live import FrameResult, LiveSession
from maskpatrol.pipeline import Counts

PAGE = str(ROOT / "pages" / "webcam.py")
TIMEOUT = 120


@pytest.fixture(autouse=True)
def static_serving() -> Iterator[None]:
    before = config.get_option("server.enableStaticServing")
    config.set_option("server.enableStaticServing", True)
    yield
    config.set_option("server.enableStaticServing", before)


def browser_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def show_stream(at: AppTest, faces: int, masked: int, incorrect: int, later_s: float = 0.0) -> None:
    """A second of frames in the panel (``later_s`` after now), as after a stream that just stopped."""
    live: LiveSession = at.session_state["webcam_live"]
    now = live.panel.clock() + later_s
    counts = Counts(masked, faces - masked - incorrect, incorrect)
    live.panel.update([FrameResult(now - 1.0 + i * 0.04, counts, 20.0, 25.0) for i in range(25)], now)
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def metric_labels(at: AppTest) -> list[str]:
    return [m.label for m in at.metric]


def test_a_binary_model_shows_two_counts_and_the_alert_as_before(monkeypatch):
    from support.three_class import fake_binary

    fake_binary(monkeypatch)  # whatever model ships
    at = browser_page()
    assert metric_labels(at) == ["Faces", "FPS", "Masked", "No mask", "People since Start", "Not properly masked"]
    assert not any("below the nose" in c.value for c in at.caption)
    show_stream(at, faces=2, masked=1, incorrect=0)
    assert [m.value for m in at.metric if m.label in ("Masked", "No mask")] == ["1", "1"]
    assert [e.value for e in at.error] == ["1 person without a mask in view"]


def test_a_three_class_model_counts_masks_below_the_nose_as_not_properly_masked(monkeypatch):
    from support.three_class import fake_three_class

    fake_three_class(monkeypatch)
    at = browser_page()
    assert metric_labels(at) == ["Faces", "FPS", "Masked", "Mask below nose", "No mask", "People since Start",
                                 "Not properly masked"]
    assert any("A mask below the nose counts as **not properly masked**" in c.value for c in at.caption)
    show_stream(at, faces=3, masked=1, incorrect=1)
    counts = {m.label: m.value for m in at.metric}
    assert (counts["Faces"], counts["Masked"], counts["Mask below nose"], counts["No mask"]) == ("3", "1", "1", "1")
    assert [e.value for e in at.error] == ["Not properly masked: 1 person without a mask, 1 with a mask below the nose"]
    show_stream(at, faces=1, masked=1, incorrect=0, later_s=5.0)  # later: the masked person alone
    assert not at.error and [s.value for s in at.success] == ["Every face found wears a mask over the nose"]


def test_people_since_start_and_their_csv_after_stop():
    """The browser's reports carry the people it follows: the panel counts them once each,
    and once the camera stopped the page offers them as a CSV."""
    at = browser_page()
    feed = at.session_state["webcam_feed"]
    live: LiveSession = at.session_state["webcam_live"]
    assert not [b for b in at.get("download_button") if b.label == "People seen (CSV)"]  # nothing seen yet
    show_stream(at, faces=2, masked=1, incorrect=0)  # a stream played, and stopped
    records = [[1, 0.4, 3.2, 60, "no_mask", 0.93, 0.01], [2, 1.0, 4.0, 70, "mask", 0.02, 0.0]]
    report = {"frames": [], "error": None, "people": {"counts": [2, 1, 1, 0], "alerts": 1, "records": records}}
    for item in feed.results(report, live.panel.clock()):
        live.results.put(item)
    at.run()
    values = {m.label: m.value for m in at.metric}
    assert (values["People since Start"], values["Not properly masked"]) == ("2", "1")
    assert live.panel.alerts == 1
    assert [b.label for b in at.get("download_button")] == ["People seen (CSV)"]
    assert [(r.number, r.label, r.frames) for r in feed.people_records()] == [(1, "no_mask", 60), (2, "mask", 70)]


def test_a_detector_picked_in_the_sidebar_reaches_the_stream():
    """What the stream's callback reads (``LiveSession.options``) follows the sidebar: Haar
    picked by hand is the detector that analyses the next frame (tests/unit/test_live_webrtc.py
    shows it counts the faces of a stream)."""
    at = browser_page()
    live: LiveSession = at.session_state["webcam_live"]
    assert live.options.get().settings.detector.name != "haar"
    at.radio(key="webcam_detector").set_value("haar").run()
    assert not at.exception, [e.value for e in at.exception]
    assert live.options.get().settings.detector.name == "haar"
    assert live.options.get().settings.detector.min_face_px == 80  # the page's webcam default
