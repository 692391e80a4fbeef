"""The Python side of the Live webcam page's browser mode: which mode a visitor gets, and
how the browser's once-a-second reports become the panel's readings."""

from __future__ import annotations

import pytest

from maskpatrol.detectors import DetectorSettings
from maskpatrol.live import LiveOptions, LivePanel
from maskpatrol.pipeline import Counts, Settings
from maskpatrol.tracking.settings import PeopleSettings
from maskpatrol.web.component import browser_settings, pipeline_config
from maskpatrol.web.mode import BROWSER, SERVER, default_mode
from maskpatrol.web.readings import MAX_ROWS, BrowserFeed

TURN = {"MASKPATROL_TURN_URL": "turn:relay.example:3478", "MASKPATROL_TURN_USERNAME": "u",
        "MASKPATROL_TURN_CREDENTIAL": "p"}


# --- default mode ----------------------------------------------------------------------

def test_a_heroku_dyno_without_turn_analyses_in_the_browser():
    mode = default_mode(env={"DYNO": "web.1"}, secrets={}, server_address="0.0.0.0")
    assert mode.option == BROWSER and "no TURN relay" in mode.reason


def test_a_deployment_with_turn_keeps_the_server():
    mode = default_mode(env={"DYNO": "web.1", **TURN}, secrets={}, server_address="0.0.0.0")
    assert mode.option == SERVER and "TURN relay" in mode.reason


def test_turn_from_streamlit_secrets_counts_too():
    assert default_mode(env={"DYNO": "web.1"}, secrets=TURN, server_address="0.0.0.0").option == SERVER


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_a_local_run_uses_the_server(address):
    mode = default_mode(env={}, secrets={}, server_address=address)
    assert mode.option == SERVER and "this computer" in mode.reason


def test_any_other_host_without_turn_analyses_in_the_browser():
    assert default_mode(env={}, secrets={}, server_address="0.0.0.0").option == BROWSER
    assert default_mode(env={}, secrets={}, server_address=None).option == BROWSER


@pytest.mark.parametrize("value, option", [("browser", BROWSER), ("server", SERVER), (" Server ", SERVER)])
def test_the_deployer_can_fix_the_default(value, option):
    mode = default_mode(env={"MASKPATROL_ANALYSE_IN": value, "DYNO": "web.1", **TURN}, secrets={},
                        server_address="127.0.0.1")
    assert mode.option == option and "MASKPATROL_ANALYSE_IN" in mode.reason


def test_an_unknown_value_is_ignored():
    assert default_mode(env={"MASKPATROL_ANALYSE_IN": "gpu", "DYNO": "web.1"}, secrets={},
                        server_address="0.0.0.0").option == BROWSER


def test_without_static_serving_the_browser_mode_is_not_offered_as_default():
    mode = default_mode(env={"DYNO": "web.1", "MASKPATROL_ANALYSE_IN": "browser"}, secrets={},
                        server_address="0.0.0.0", static_serving=False)
    assert mode.option == SERVER and "static" in mode.reason


# --- readings ----------------------------------------------------------------------------

def test_a_report_becomes_results_on_our_clock_oldest_first():
    feed = BrowserFeed()
    results = feed.results({"frames": [[900, 2, 1, 1, 0, 30.0], [500, 2, 1, 1, 0, 28.0], [100, 2, 2, 0, 0, 29.0]],
                            "error": None}, now=100.0)
    assert [round(r.time, 3) for r in results] == [99.1, 99.5, 99.9]
    assert [(r.counts.total, r.counts.mask, r.counts.no_mask) for r in results] == [(2, 1, 1), (2, 1, 1), (2, 2, 0)]
    assert feed.stats() == (3, pytest.approx(29.0))


def test_the_fps_is_the_browsers_own_rate():
    """25 frames in one second of browser time read as ~25 fps, whenever the report arrives."""
    feed = BrowserFeed()
    frames = [[1000 - 40 * i, 1, 1, 0, 0, 20.0] for i in range(25)]
    results = feed.results({"frames": frames}, now=50.0)
    results += feed.results({"frames": frames}, now=51.0)
    assert results[-1].fps == pytest.approx(25.0, rel=0.05)


def test_the_panel_reads_browser_results_like_server_ones():
    panel = LivePanel(clock=lambda: 10.0)
    feed = BrowserFeed()
    snap = panel.update(feed.results({"frames": [[50 * i, 2, 1, 1, 0, 20.0] for i in range(20)]}, now=10.0), now=10.0)
    assert (snap.counts.total, snap.counts.mask, snap.counts.no_mask, snap.counts.alert) == (2, 1, 1, True)


def test_a_mask_below_the_nose_from_the_browser_reaches_the_alert():
    """A 3-class model in the browser: a masked person, and one with the mask below the nose."""
    panel = LivePanel(clock=lambda: 10.0)
    feed = BrowserFeed()
    results = feed.results({"frames": [[50 * i, 2, 1, 0, 1, 20.0] for i in range(20)]}, now=10.0)
    assert {(r.counts.mask, r.counts.no_mask, r.counts.incorrect) for r in results} == {(1, 0, 1)}
    snap = panel.update(results, now=10.0)
    assert snap.counts == Counts(mask=1, incorrect=1) and snap.counts.alert
    assert panel.chart_data()["Mask below nose"] == [1]


@pytest.mark.parametrize("report", [
    None, "frames", {"frames": "many"}, {"frames": [[1, 2, 3]]}, {"frames": [["a", 1, 1, 0, 0, 1]]},
    {"frames": [[100, 1, 2, 0, 0, 1]]},          # more masked than faces
    {"frames": [[100, 2, 1, 0, 0, 1]]},          # masked + no mask + below the nose != faces
    {"frames": [[100, 2, 1, 0, 2, 1]]},          # the same, by the third count
    {"frames": [[100, 1, 2, 0, -1, 1]]},         # a negative count that makes the sum right
    {"frames": [[-5, 1, 1, 0, 0, 1]]},           # from the future
    {"frames": [[100, 10_000, 0, 10_000, 0, 1]]},  # not a webcam reading
    {"frames": [[100, 1, 1, 0, 1]]},             # a row of the bundle before the third class
])
def test_malformed_reports_are_dropped(report):
    assert BrowserFeed().results(report, now=5.0) == []


def test_a_report_is_capped_and_its_error_shown():
    feed = BrowserFeed()
    results = feed.results({"frames": [[10, 1, 1, 0, 0, 5.0]] * 5000, "error": "x" * 10_000}, now=5.0)
    assert len(results) == MAX_ROWS + 1
    assert results[-1].error and len(results[-1].error) <= 300


def test_reset_starts_a_new_stream():
    feed = BrowserFeed()
    feed.results({"frames": [[10, 1, 1, 0, 0, 5.0]]}, now=5.0)
    feed.reset()
    assert feed.stats() == (0, 0.0) and feed.meter.fps(6.0) == 0.0


def test_the_people_a_report_carries_are_checked_and_kept_by_number():
    """Counts since Start, alerts since the last report and the records of people seen: a
    bad record is dropped, the rest kept; a later record of the same person replaces it."""
    feed = BrowserFeed()
    good = [1, 0.5, 3.0, 40, "no_mask", 0.9, 0.01]
    bad = [[2, 3.0, 1.0, 5, "mask", 0.1, 0.0],      # last seen before first seen
           [3, 0.0, 1.0, 0, "mask", 0.1, 0.0],      # no frame
           [4, 0.0, 1.0, 5, "hat", 0.1, 0.0],       # no such label
           [5, 0.0, 1.0, 5, "mask", 1.5, 0.0],      # not a probability
           [6, 0.0, 1.0, 5, "mask"]]                # too short
    results = feed.results({"frames": [[10, 1, 0, 1, 0, 5.0]],
                            "people": {"counts": [1, 0, 1, 0], "alerts": 1, "records": [good, *bad]}}, now=5.0)
    assert results[-1].people == Counts(no_mask=1) and results[-1].alerts == 1
    assert [(r.number, r.label, r.frames) for r in feed.people_records()] == [(1, "no_mask", 40)]
    later = [1, 0.5, 4.0, 55, "no_mask", 0.92, 0.01]
    results = feed.results({"frames": [], "people": {"counts": [1, 0, 1, 0], "alerts": 0, "records": [later]}}, now=6.0)
    assert [r.frame for r in results] == [False]  # people only: no frame for the panel's reading
    assert [(r.number, r.frames) for r in feed.people_records()] == [(1, 55)]
    # Counts that do not add up, or alerts that are not a count, are not taken.
    results = feed.results({"frames": [[10, 1, 1, 0, 0, 5.0]], "people": {"counts": [3, 1, 1, 0], "alerts": -2}}, now=7.0)
    assert results[-1].people is None and results[-1].alerts == 0
    feed.reset()
    assert feed.people_records() == []


# --- what the browser is sent -------------------------------------------------------------

def test_sidebar_settings_reach_the_browser():
    people = PeopleSettings(decide_after_frames=5, keep_lost_s=2.0)
    options = LiveOptions(Settings(DetectorSettings(min_face_px=120, name="yunet", min_score=0.7), 0.4, people=people),
                          show_probability=False, mirror=True, sound=True, camera="environment")
    assert browser_settings(options, 0.4) == {
        "threshold": 0.4, "incorrect_threshold": None, "min_face_px": 120, "min_score": 0.7, "mirror": True,
        "show_probability": False, "sound": True, "camera": "environment",
        "people": {"decide_after_frames": 5, "keep_lost_s": 2.0, "min_iou": 0.2, "evidence_faces": 8,
                   "revise_margin": 1.0}}


def test_a_three_class_models_incorrect_threshold_reaches_the_browser(patrol):
    """None for a binary model (the browser then never says "incorrect"), the card's or
    the user's threshold for a 3-class one, as MaskPatrol.incorrect_threshold gives it."""
    options = LiveOptions(Settings())
    assert browser_settings(options, 0.5, 0.35)["incorrect_threshold"] == 0.35
    expected = patrol.incorrect_threshold(options.settings)
    assert browser_settings(options, 0.5, expected)["incorrect_threshold"] == expected
    assert (expected is None) == (not patrol.card.has_incorrect)


def test_the_browser_draws_each_label_in_the_servers_style(patrol):
    from maskpatrol.annotate import STYLES, dash_pattern
    from maskpatrol.pipeline import DISPLAY_NAMES

    styles = pipeline_config(patrol.card)["styles"]
    assert set(styles) == {"mask", "no_mask", "incorrect"}
    for label, style in STYLES.items():
        sent = styles[label]
        assert (tuple(sent["colour"]), tuple(sent["text_colour"]), sent["weight"], sent["dashed"]) == \
            (style.colour, style.text_colour, style.weight, style.dashed)
        assert sent["name"] == DISPLAY_NAMES[label]
        for thickness in (2, 3, 5):
            assert (sent["dash_per_px"] * thickness, sent["gap_per_px"] * thickness) == dash_pattern(thickness)
    assert styles["incorrect"]["dashed"] and not styles["mask"]["dashed"] and not styles["no_mask"]["dashed"]


def test_another_detectors_confidence_is_not_passed_to_yunet():
    options = LiveOptions(Settings(DetectorSettings(name="blazeface", min_score=0.3)))
    assert browser_settings(options, 0.5)["min_score"] is None


def test_the_browser_gets_the_servers_constants(patrol):
    from maskpatrol.detectors import yunet
    from maskpatrol.preprocess import CROP_SCALE, CROP_SHIFT_DOWN

    config = pipeline_config(patrol.card)
    assert config["classifier"]["input_size"] == patrol.card.input_size
    assert (config["classifier"]["crop_scale"], config["classifier"]["crop_shift_down"]) == (CROP_SCALE, CROP_SHIFT_DOWN)
    assert config["detector"]["default_min_score"] == yunet.DEFAULT_MIN_SCORE
    assert config["detector"]["to_haar"] == {"scale": yunet.TO_HAAR.scale, "dx": yunet.TO_HAAR.dx, "dy": yunet.TO_HAAR.dy}
    assert all(not url.startswith(("http:", "https:", "/")) for url in
               (config["wasm_url"], config["detector"]["url"], config["classifier"]["url"]))  # no CDN, base-path safe
