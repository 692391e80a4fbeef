"""The Live webcam page's "This browser" mode, end to end in real headless Chromium.

The fake camera plays a clip of a masked and an unmasked face (built now from the
training-data photos, as for the server mode's test). The server is a plain
``streamlit run`` on loopback, started as a Heroku dyno is (setup.sh, plus ``DYNO`` set and
no TURN relay): no network namespace, no STUN/TURN, nothing but HTTP and the page's
WebSocket. We assert what a visitor sees: the page starts in the browser mode by itself
and says why, the canvas shows the frames with a green and a red box, the panel counts
the faces the clip shows and raises the alert, a sidebar change reaches the running
camera, Stop and leaving the page release the camera, and no picture leaves the browser
(no RTCPeerConnection, no large request or WebSocket message while the camera runs).
The browser's analysis rate and the server's CPU during 30 s go to the report, not into
assertions.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from support.browser import BROWSER_MODE_CAMERA_ARGS, CHROMIUM_ARGS
from support.server import streamlit_server
from support.webcam_clip import build_clip, pick_scene
from support.figures import median_ms, ratio, write_report
from support.webcam_clip import compose, load_face
from support.webcam_runner import FRAMES_JS, METRICS_JS, to_number, wait_for  # the server mode's page readers

pytestmark = [pytest.mark.browser, pytest.mark.data]

#: Largest message the page may send while the camera runs. A once-a-second report of
#: ~25 frames' counts, with the page's widget states, is under 2 kB; one 640x480 frame,
#: even as a small JPEG, is over 20 kB.
MAX_SENT_BYTES = 8_000
CPU_SECONDS = 30.0

# Counts RTCPeerConnection constructions and keeps the camera streams the page opens.
SPY_JS = """(() => {
  window.__pcCount = 0; window.__streams = [];
  const Orig = window.RTCPeerConnection;
  if (Orig) window.RTCPeerConnection = class extends Orig {
    constructor(...a) { super(...a); window.__pcCount++; } };
  const gum = navigator.mediaDevices && navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  if (gum) navigator.mediaDevices.getUserMedia = async (c) => { const s = await gum(c); window.__streams.push(s); return s; };
})()"""

LIVE_TRACKS_JS = "() => window.__streams.flatMap(s => s.getTracks()).filter(t => t.readyState === 'live').length"

# Green and red box pixels on the component's canvas (colours of maskpatrol.annotate).
BOX_PIXELS_JS = """canvas => { const g = canvas.getContext('2d');
    const d = g.getImageData(0, 0, canvas.width, canvas.height).data;
    let green = 0, red = 0, greenX = 0, redX = 0;
    for (let i = 0; i < d.length; i += 4) {
        const r = d[i], gr = d[i + 1], b = d[i + 2], x = (i / 4) % canvas.width;
        if (gr > 140 && r < 90 && b < 140 && gr - r > 90) { green++; greenX += x; }
        if (r > 170 && gr < 90 && b < 90 && r - gr > 110) { red++; redX += x; }
    }
    return {green, red, green_x: green ? Math.round(greenX / green) : null,
            red_x: red ? Math.round(redX / red) : null, width: canvas.width, height: canvas.height}; }"""


class Traffic:
    """Sizes of what the page sends: HTTP request bodies and WebSocket messages."""

    def __init__(self, page) -> None:
        self.recording = False
        self.requests: list[tuple[str, int]] = []
        self.ws_sent: list[int] = []
        page.on("request", self._request)
        page.on("websocket", lambda ws: ws.on("framesent", self._frame))

    def _request(self, request) -> None:
        if self.recording:
            body = request.post_data_buffer
            self.requests.append((request.url, len(body) if body else 0))

    def _frame(self, payload) -> None:
        if self.recording:
            self.ws_sent.append(len(payload))


class _YuNetView:
    """The server's pipeline as the browser mode runs it (YuNet, the page's 80 px smallest
    face), for ``pick_scene``: the clip must show exactly its faces to that pipeline."""

    def __init__(self, patrol) -> None:
        from maskpatrol.detectors import DetectorSettings
        from maskpatrol.pipeline import Settings

        self._patrol, self.card = patrol, patrol.card
        self._settings = Settings(DetectorSettings(name="yunet", min_face_px=80))

    def analyze(self, rgb, settings=None, timings=None):
        return self._patrol.analyze(rgb, self._settings, timings=timings)


@pytest.fixture(scope="module")
def browser_run(data_dir, patrol, chromium_path, artifacts, tmp_path_factory):
    """One visit in browser mode: start, read, change a setting, stop, leave. Returns
    (scene, result) with everything measured on the way."""
    from playwright.sync_api import sync_playwright

    work = tmp_path_factory.mktemp("webcam_browser")
    scene = pick_scene(data_dir, _YuNetView(patrol))
    clip = work / "clip.y4m"
    build_clip(clip, scene)
    screenshot = artifacts / "webcam_browser.png"
    screenshot.unlink(missing_ok=True)
    result: dict[str, Any] = {}
    # A dyno's environment: DYNO set, no TURN variables (dropped if the caller had any).
    env = {"DYNO": "web.1", "MASKPATROL_TURN_URL": "", "MASKPATROL_ANALYSE_IN": ""}
    with streamlit_server(work, extra_env=env) as server, sync_playwright() as pw:
        server_ps = psutil.Process(server.pid)
        browser = pw.chromium.launch(executable_path=chromium_path, timeout=60_000, args=CHROMIUM_ARGS
                                     + BROWSER_MODE_CAMERA_ARGS + [f"--use-file-for-fake-video-capture={clip}"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 950})
            page.add_init_script(SPY_JS)
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text[:300]}"))
            traffic = Traffic(page)
            try:
                _visit(page, server.url, server_ps, traffic, result, screenshot)
            except Exception:
                page.screenshot(path=str(work / "failed.png"), full_page=True)
                print("browser console:\n  " + "\n  ".join(console[-40:]))
                print(f"server log: {server.log}; screenshot: {work / 'failed.png'}")
                raise
            result["console_errors"] = [c for c in console if c.startswith("error")]
        finally:
            browser.close()
    return scene, result


def _visit(page, url: str, server_ps, traffic: Traffic, result: dict[str, Any], screenshot: Path) -> None:
    page.goto(url, timeout=60_000)
    page.get_by_role("link", name=re.compile("Live webcam")).first.click(timeout=60_000)
    page.get_by_role("heading", name="Live webcam").wait_for(timeout=60_000)
    mode = page.locator('[data-testid="stRadio"]').filter(has_text="Analyse in")
    result["mode_checked"] = mode.locator("label").filter(has=page.locator("input:checked")).inner_text().strip()
    result["mode_caption"] = page.get_by_text(re.compile(r"default here")).first.inner_text()

    def metrics() -> dict[str, float | None]:
        return {k: to_number(v) for k, v in page.evaluate(METRICS_JS).items()}

    # The server at rest with the page open: the baseline for its CPU while streaming.
    time.sleep(2.0)
    cpu0, t0 = server_ps.cpu_times(), time.monotonic()
    time.sleep(10.0)
    cpu1, t1 = server_ps.cpu_times(), time.monotonic()
    result["server_cpu_percent_idle"] = round(100 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (t1 - t0), 1)

    traffic.recording = True
    # The component's own buttons: while a rerun is slow, Streamlit's header shows a "Stop"
    # button of its own (seen once in CI), which a page-wide lookup would also match.
    camera = page.get_by_test_id("stBidiComponentIsolated")
    start = camera.get_by_role("button", name="Start", exact=True)
    started = time.monotonic()
    start.click(timeout=30_000)
    wait_for(lambda: (metrics().get("Faces") or 0) >= 1, 120, "the Faces metric to reach 1")
    result["first_reading_s"] = round(time.monotonic() - started, 1)
    time.sleep(3.0)  # let the FPS window fill

    cpu0, t0 = server_ps.cpu_times(), time.monotonic()
    samples = []
    while time.monotonic() < t0 + CPU_SECONDS:
        samples.append(metrics())
        time.sleep(1.0)
    cpu1, t1 = server_ps.cpu_times(), time.monotonic()
    result["samples"] = samples
    result["server_cpu_percent_streaming"] = round(
        100 * ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / (t1 - t0), 1)
    result["browser_fps_median"] = statistics.median(s["FPS"] or 0 for s in samples)
    result["browser_frames_and_ms"] = page.evaluate(FRAMES_JS)
    canvas = page.locator("canvas.mp-view")
    result["box_pixels"] = canvas.evaluate(BOX_PIXELS_JS)
    result["alert_text"] = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
    page.screenshot(path=str(screenshot), full_page=True)

    # Mirror view is on by default, so the clip's right-hand (unmasked, red) face shows on
    # the left; switching it off must move the red box right in the same camera session.
    def red_right_of_green() -> bool | None:
        px = canvas.evaluate(BOX_PIXELS_JS)
        return None if not (px["red_x"] and px["green_x"]) else px["red_x"] > px["green_x"]

    live: dict[str, Any] = {"red_right_before": red_right_of_green()}
    toggle = page.locator('[data-testid="stSidebar"]').get_by_text("Mirror view", exact=True)
    toggle.click()
    try:
        wait_for(lambda: red_right_of_green() is True, 30, "the red box to move right after turning mirror off")
        live["mirror_clicks_lost"] = 0
    except TimeoutError:
        # Streamlit sometimes flushes a sidebar widget's change with the panel fragment's
        # periodic rerun, under the fragment's id, and the page never reruns with it
        # ("Multiple different fragmentIds detected in a single batch", seen in CI's browser
        # console): the toggle shows off while the stream keeps the old value. A visitor
        # clicks again; so does this test, once (on, then off), and the figure says so.
        live["mirror_clicks_lost"] = 1
        toggle.click()
        page.wait_for_timeout(1500)
        toggle.click()
        wait_for(lambda: red_right_of_green() is True, 30, "the red box to move right after turning mirror off")
    live["red_right_after"] = True
    live["camera_streams_opened"] = page.evaluate("() => window.__streams.length")
    result["live_settings"] = live

    result["peer_connections"] = page.evaluate("() => window.__pcCount")
    result["largest_ws_message_bytes"] = max(traffic.ws_sent, default=0)
    result["ws_messages"] = len(traffic.ws_sent)
    result["largest_request_body"] = max(traffic.requests, key=lambda r: r[1], default=("", 0))

    camera.get_by_role("button", name="Stop", exact=True).click(timeout=30_000)
    wait_for(lambda: page.evaluate(LIVE_TRACKS_JS) == 0, 30, "the camera to be released after Stop")
    wait_for(lambda: page.get_by_text("Stopped: the last reading").count(), 30, "the panel to say it stopped")
    result["after_stop"] = metrics()
    traffic.recording = False

    # Start again and switch to the server mode: the camera is released; back in this
    # browser's mode the page offers Start again (no stale "playing" from the first camera).
    start.click(timeout=30_000)
    wait_for(lambda: page.evaluate(LIVE_TRACKS_JS) >= 1, 60, "the camera to run again")
    mode.get_by_text("Server (WebRTC)", exact=True).click()
    wait_for(lambda: page.evaluate(LIVE_TRACKS_JS) == 0, 30, "the camera to be released on switching to the server")
    mode.get_by_text("This browser", exact=True).click()
    start.wait_for(timeout=60_000)
    wait_for(lambda: page.get_by_text("Start the camera to see live counts.").count()
             or page.get_by_text("Stopped: the last reading").count(), 30, "the panel to show no running camera")
    result["switching_modes"] = {"released": True, "waiting_text": page.get_by_text("Waiting for video").count()}

    # Start again, then leave for another page: the camera must be released.
    start.click(timeout=30_000)
    wait_for(lambda: page.evaluate(LIVE_TRACKS_JS) >= 1, 60, "the camera to run again")
    page.get_by_test_id("stSidebarNav").get_by_text("Home", exact=True).click()
    wait_for(lambda: page.evaluate(LIVE_TRACKS_JS) == 0, 30, "the camera to be released on leaving the page")
    result["camera_released_on_leaving"] = True


def test_a_deployment_without_turn_starts_in_this_browser_and_says_why(browser_run):
    _, result = browser_run
    assert result["mode_checked"] == "This browser"
    assert "no TURN relay" in result["mode_caption"], result["mode_caption"]


def test_live_counts_match_the_clip(browser_run):
    scene, result = browser_run
    samples = result["samples"]
    assert len(samples) >= 20
    assert [(s["Faces"], s["Masked"], s["No mask"]) for s in samples] == \
        [(scene.masked + scene.no_mask, scene.masked, scene.no_mask)] * len(samples)


def test_unmasked_face_raises_the_alert(browser_run):
    _, result = browser_run
    assert any("without a mask" in text for text in result["alert_text"]), result["alert_text"]


def test_frames_are_drawn_with_their_boxes(browser_run):
    _, result = browser_run
    px = result["box_pixels"]
    assert (px["width"], px["height"]) == (640, 480)
    assert px["green"] > 500 and px["red"] > 500, px


def test_the_panel_shows_the_browsers_own_analysis_rate(browser_run):
    """Reported, not a speed target: the FPS is there and moves (frames keep coming)."""
    _, result = browser_run
    assert all((s["FPS"] or 0) > 0 for s in result["samples"]), [s["FPS"] for s in result["samples"]]


def test_browser_speed_and_server_cpu_are_reported(browser_run, patrol, capsys):
    """Figures, not assertions: the browser's own analysis rate and time per frame, beside
    the server pipeline's time for the same frame in this process now (a busy machine slows
    both), and the server's CPU while the visitor streams, beside the same server at rest."""
    scene, result = browser_run
    frame = compose([load_face(p) for p in scene.photos])
    baseline = median_ms(lambda: _YuNetView(patrol).analyze(frame))
    frames, ms = result["browser_frames_and_ms"] or (None, None)
    figures = {
        "browser_fps_median": result["browser_fps_median"], "panel_fps": [s["FPS"] for s in result["samples"]],
        "browser_ms_per_frame": ms, "browser_frames": frames,
        "baseline_python_ms_per_frame": round(baseline, 1), "ratio_browser_ms_to_python_ms": ratio(ms, baseline),
        "server_cpu_percent_streaming": result["server_cpu_percent_streaming"],
        "server_cpu_percent_idle": result["server_cpu_percent_idle"],
        "ratio_server_cpu_streaming_to_idle": ratio(result["server_cpu_percent_streaming"],
                                                    result["server_cpu_percent_idle"]),
        "cpu_window_s": CPU_SECONDS, "first_reading_s": result["first_reading_s"],
        "largest_ws_message_bytes": result["largest_ws_message_bytes"], "ws_messages": result["ws_messages"],
    }
    write_report("webcam_browser", figures, capsys)
    assert frames and ms is not None, result["browser_frames_and_ms"]  # the caption the panel shows


def test_sidebar_change_reaches_the_running_camera(browser_run):
    _, result = browser_run
    live = result["live_settings"]
    assert live["red_right_before"] is False and live["red_right_after"] is True
    assert live["camera_streams_opened"] == 1  # the same camera session, not a restart


def test_no_frame_leaves_the_browser(browser_run):
    _, result = browser_run
    assert result["peer_connections"] == 0
    assert result["ws_messages"] >= 20  # the once-a-second reports were seen
    assert result["largest_ws_message_bytes"] < MAX_SENT_BYTES, result["largest_ws_message_bytes"]
    assert result["largest_request_body"][1] < MAX_SENT_BYTES, result["largest_request_body"]


def test_stop_switching_modes_and_leaving_the_page_release_the_camera(browser_run):
    _, result = browser_run
    assert result["after_stop"]["Faces"] == 2  # the last reading stays, marked as stopped
    assert result["switching_modes"] == {"released": True, "waiting_text": 0}
    assert result["camera_released_on_leaving"]
