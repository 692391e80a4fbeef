"""Drive the live webcam page end to end, inside an isolated network namespace.

Run by ``tests/e2e/test_webcam.py`` as ``unshare -n python -m support.webcam_runner ...`` (root,
with ``tests/`` on ``PYTHONPATH``):
the new namespace has only a loopback interface, so every packet of the test (HTTP,
websocket, WebRTC media) stays on this machine. aiortc ignores 127.0.0.1 as an ICE
candidate, so we add 127.0.0.2 to ``lo`` and serve and browse there.

Steps: start ``streamlit run app.py``; start headless Chromium whose fake camera plays
the test clip; open the webcam page; press Start; wait until the returned video plays;
read the live metrics for a few seconds; screenshot; check the returned video carries
the red/green boxes; measure server CPU per analysed frame; then stop and start the
stream 5 times, recording the server's RSS and thread count after every stop (once the
stopped stream's threads have ended). Prints one line ``WEBCAM_RESULT {json}`` for the
test to assert on. No assertions here.

Both ends of every connection are logged in ``--logdir``: the server's streamlit-webrtc
and aiortc log (``webrtc.log``), the browser's console with each peer connection's
signalling/ICE/connection states (``browser_console.log``) and Chromium's own warnings
(``chromium.log``); their last lines are printed when a start does not play.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any, Callable


from support.browser import CHROMIUM_ARGS as BROWSER_ARGS, FAKE_CAMERA_ARGS
from support.net import wait_healthy
from support.paths import ROOT

HOST = "127.0.0.2"
CHROMIUM_ARGS = BROWSER_ARGS + FAKE_CAMERA_ARGS
IFRAME = 'iframe[title*="webrtc_streamer"]'

METRICS_JS = """() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
    (m.querySelector('[data-testid="stMetricLabel"]') || m).innerText.trim().split('\\n')[0],
    (m.querySelector('[data-testid="stMetricValue"]') || m).innerText.trim()]))"""

VIDEO_STATE_JS = """() => { const v = document.querySelector('video');
    return v ? {readyState: v.readyState, paused: v.paused, width: v.videoWidth, height: v.videoHeight,
                time: v.currentTime} : null; }"""

# The panel's caption "N frames analysed in this stream, M ms each on average."
FRAMES_JS = """() => { for (const e of document.querySelectorAll('[data-testid="stCaptionContainer"]')) {
    const m = e.innerText.match(/(\\d+) frames analysed in this stream, (\\d+) ms/);
    if (m) return [parseInt(m[1]), parseInt(m[2])]; }
    return null; }"""

# Count pixels in the returned video near the annotation colours (maskpatrol.annotate:
# mask (0,200,83), no mask (230,30,30)); the clip itself has neither saturated green nor red.
BOX_PIXELS_JS = """() => { const v = document.querySelector('video');
    if (!v || !v.videoWidth) return null;
    const c = document.createElement('canvas'); c.width = v.videoWidth; c.height = v.videoHeight;
    const g = c.getContext('2d'); g.drawImage(v, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    let green = 0, red = 0, greenX = 0, redX = 0;
    for (let i = 0; i < d.length; i += 4) {
        const r = d[i], gr = d[i + 1], b = d[i + 2], x = (i / 4) % c.width;
        if (gr > 140 && r < 90 && b < 140 && gr - r > 90) { green++; greenX += x; }
        if (r > 170 && gr < 90 && b < 90 && r - gr > 110) { red++; redX += x; }
    }
    return {green, red, green_x: green ? Math.round(greenX / green) : null,
            red_x: red ? Math.round(redX / red) : null, width: c.width, height: c.height}; }"""


# Keep a handle on the component's peer connection (in its iframe) to read WebRTC stats:
# how many frames the browser really sends, and whether it throttled itself ("cpu"). It
# also logs the browser's side of every connection to the console (signalling, ICE and
# connection states, the returned track, failed setRemoteDescription calls), which the
# runner writes beside the server's aiortc log: the two ends of one connection, in order.
PC_SPY_JS = """(() => { const Orig = window.RTCPeerConnection; if (!Orig || Orig.__spied) return;
    let n = 0;
    class Spied extends Orig { constructor(...a) { super(...a); window.__pc = this; const id = ++n;
        const say = (what) => console.info(`[pc ${id}] ${what}`);
        say('created');
        this.addEventListener('signalingstatechange', () => say(`signaling ${this.signalingState}`));
        this.addEventListener('icegatheringstatechange', () => say(`ice gathering ${this.iceGatheringState}`));
        this.addEventListener('iceconnectionstatechange', () => say(`ice ${this.iceConnectionState}`));
        this.addEventListener('connectionstatechange', () => say(`connection ${this.connectionState}`));
        this.addEventListener('track', (e) => say(`track ${e.track.kind} received`));
        const setRemote = this.setRemoteDescription.bind(this);
        this.setRemoteDescription = (d) => { say(`answer ${d && d.type} received`);
            return setRemote(d).catch((err) => { say(`setRemoteDescription failed: ${err}`); throw err; }); };
    } }
    Spied.__spied = true; window.RTCPeerConnection = Spied; })()"""

PC_STATS_JS = """async () => { const pc = window.__pc; if (!pc) return null; const out = {};
    (await pc.getStats()).forEach(s => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') Object.assign(out, {
            sent_fps: s.framesPerSecond, frames_encoded: s.framesEncoded, sent_width: s.frameWidth,
            quality_limitation: s.qualityLimitationReason});
        if (s.type === 'inbound-rtp' && s.kind === 'video') Object.assign(out, {
            received_fps: s.framesPerSecond, frames_decoded: s.framesDecoded});
    }); return out; }"""


#: The server's streamlit-webrtc/aiortc log, in the run's log folder (streamlit_logged.py).
WEBRTC_LOG = "webrtc.log"
#: The browser's console, every line with its time, in the run's log folder: with the peer
#: connection spy above, the browser's end of each connection.
BROWSER_LOG = "browser_console.log"
#: Chromium's own log (warnings and errors of the browser process, WebRTC's included).
CHROMIUM_LOG = "chromium.log"
#: The browser's console (all frames, all levels), newest last: printed when a run fails.
CONSOLE: deque[str] = deque(maxlen=60)
#: Seconds the server gets to end a stopped stream's threads before they are counted.
SETTLE_S = 30.0


def log(msg: str) -> None:
    print(f"[webcam_runner {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def setup_loopback() -> None:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", f"{HOST}/8", "dev", "lo"], check=True)
    links = subprocess.run(["ip", "-o", "link"], check=True, capture_output=True, text=True).stdout
    names = [line.split(":")[1].strip() for line in links.splitlines()]
    if names != ["lo"]:  # refuse to run anywhere but an isolated namespace
        raise SystemExit(f"not in an isolated network namespace (interfaces: {names})")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def start_server(port: int, log_path: Path, webrtc_log: Path,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """``streamlit run app.py`` on ``HOST:port``, once healthy; ``env``: variables added to its
    environment (``streamlit_logged.PEOPLE_TRACE_ENV``)."""
    cmd = [sys.executable, str(Path(__file__).with_name("streamlit_logged.py")), str(webrtc_log),
           "run", "app.py", "--server.address", HOST,
           "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    out = open(log_path, "wb")
    # The deployment setting we recommend (Procfile / README): without it glibc gives each
    # short-lived WebRTC thread its own malloc arena, and RSS after a stop climbed ~29 MB
    # over the first five start/stop cycles before levelling off; with it, it stays flat.
    env = {**os.environ, "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"), **(env or {})}
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)

    def alive() -> None:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log_path}")

    wait_healthy(f"http://{HOST}:{port}", 90, alive, what="the Streamlit server")
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def to_number(text: str) -> float | None:
    m = re.search(r"-?\d+(?:\.\d+)?", text or "")
    return float(m.group()) if m else None


def set_slider(page, label: str, target: float) -> float:
    """Move a Streamlit slider with the keyboard, as a user can; returns its final value."""
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).locator('input[type="range"]')
    low, high = float(thumb.get_attribute("min")), float(thumb.get_attribute("max"))
    thumb.focus()
    for _ in range(100):
        value = float(thumb.input_value())
        if value == target:
            break
        if target >= high:
            thumb.press("End")
        elif target <= low:
            thumb.press("Home")
        else:
            thumb.press("ArrowRight" if value < target else "ArrowLeft")
        time.sleep(0.1)
    time.sleep(1.5)  # the last change reruns the script
    return float(thumb.input_value())


def detector_radio(page):
    return page.locator('[data-testid="stSidebar"] [data-testid="stRadio"]').filter(has_text="Face detector")


def checked_detector(page) -> str:
    """The 'Face detector' option checked in the sidebar, as the user reads it."""
    checked = detector_radio(page).locator("label").filter(has=page.locator("input:checked"))
    return checked.inner_text(timeout=10_000).strip()


def pick_detector(page, label: str) -> str:
    """Click a 'Face detector' option in the sidebar, as a user does; returns the option
    that is checked once the page has rerun with it."""
    detector_radio(page).get_by_text(label, exact=True).click(timeout=30_000)
    wait_for(lambda: checked_detector(page) == label, 30, f"the sidebar to show {label!r} picked")
    wait_for(lambda: page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').count(), 60,
             "the page to finish its rerun")
    time.sleep(1.0)
    return checked_detector(page)


def slider_value(page, label: str) -> float:
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).locator('input[type="range"]')
    return float(thumb.input_value(timeout=10_000))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clip", type=Path, required=True)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--port", type=int, default=8599)
    ap.add_argument("--screenshot", type=Path, required=True)
    ap.add_argument("--logdir", type=Path, required=True)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--sample-seconds", type=float, default=8.0)
    ap.add_argument("--min-face", type=int, default=None,
                    help="set the sidebar's 'Smallest face (pixels)' to this before starting")
    ap.add_argument("--detector-label", default=None,
                    help="pick this option of the sidebar's 'Face detector' before starting")
    args = ap.parse_args()

    import psutil
    from playwright.sync_api import sync_playwright

    setup_loopback()
    args.logdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"ok": False}
    server = start_server(args.port, args.logdir / "streamlit.log", args.logdir / WEBRTC_LOG)
    server_ps = psutil.Process(server.pid)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=args.chromium,
                args=CHROMIUM_ARGS + [f"--use-file-for-fake-video-capture={args.clip}",
                                      # Chromium's own warnings and errors (WebRTC's among them)
                                      "--enable-logging", "--v=0", f"--log-file={args.logdir / CHROMIUM_LOG}"],
                timeout=60_000)
            try:
                run_session(browser, args, server_ps, result)
            finally:
                browser.close()
        result["ok"] = True
    except Exception as exc:  # reported to the test, which fails with this message
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(result["error"])
        log_evidence(args.logdir)
    finally:
        stop_process(server)
        print("WEBCAM_RESULT " + json.dumps(result), flush=True)


def settle_threads(proc, steady_s: float = 2.0, limit_s: float = SETTLE_S) -> float:
    """Wait until ``proc``'s thread count has not changed for ``steady_s`` (at most
    ``limit_s``); returns the seconds waited."""
    t0 = time.monotonic()
    count, since = proc.num_threads(), t0
    while time.monotonic() - t0 < limit_s:
        time.sleep(0.25)
        now, current = time.monotonic(), proc.num_threads()
        if current != count:
            count, since = current, now
        elif now - since >= steady_s:
            break
    return time.monotonic() - t0


def log_evidence(logdir: Path) -> None:
    """The browser's console and the server's WebRTC log, last lines of each: what the two
    ends of the connection said, so that a failure in CI can be explained from its output."""
    log("browser console, last lines:\n  " + "\n  ".join(CONSOLE))
    webrtc_log = logdir / WEBRTC_LOG
    if webrtc_log.is_file():
        tail = webrtc_log.read_text(errors="replace").splitlines()[-30:]
        log("server's WebRTC log, last lines:\n  " + "\n  ".join(line[:240] for line in tail))
    chromium_log = logdir / CHROMIUM_LOG
    if chromium_log.is_file():  # D-Bus complaints are a container's normal, not evidence
        lines = [ln for ln in chromium_log.read_text(errors="replace").splitlines() if "dbus" not in ln]
        log("Chromium's log, last lines:\n  " + "\n  ".join(line[:240] for line in lines[-20:]))
    log(f"all of it: {logdir}")


def run_session(browser, args, server_ps, result: dict[str, Any]) -> None:
    from playwright.sync_api import Error as PlaywrightError  # its TimeoutError is one

    page = browser.new_page(viewport={"width": 1400, "height": 950})
    page.add_init_script(PC_SPY_JS)
    browser_log = open(Path(args.logdir) / BROWSER_LOG, "a", buffering=1)

    def on_console(message) -> None:
        line = f"{datetime.now().strftime('%H:%M:%S.%f')[:-3]} {message.type}: {message.text[:240]}"
        CONSOLE.append(line)
        browser_log.write(line + "\n")

    page.on("console", on_console)

    def open_webcam_page() -> None:
        """Through the app's navigation, as a visitor arrives (app.py sets the wide layout),
        then the sidebar settings the run asks for."""
        page.goto(f"http://{HOST}:{args.port}/", timeout=60_000)
        page.get_by_role("link", name=re.compile("Live webcam")).first.click(timeout=60_000)
        page.get_by_role("heading", name="Live webcam").wait_for(timeout=60_000)
        if args.detector_label:
            pick_detector(page, args.detector_label)
        if args.min_face:
            set_slider(page, "Smallest face", args.min_face)
        # What the stream runs with, for the test's check and its in-process baseline.
        result["detector"] = checked_detector(page)
        result["min_face"] = slider_value(page, "Smallest face")

    frame = page.frame_locator(IFRAME)
    start = frame.get_by_role("button", name=re.compile(r"^start$", re.I))
    stop = frame.get_by_role("button", name=re.compile(r"^stop$", re.I))
    iframe = page.locator(IFRAME)

    def in_iframe(js: str) -> Any:
        if not iframe.count():  # the page lost the player (None, as for "no video yet")
            return None
        handle = iframe.element_handle(timeout=30_000)
        content = handle.content_frame() if handle else None
        return content.evaluate(js) if content else None

    def video_state() -> dict | None:
        return in_iframe(VIDEO_STATE_JS)

    def playing() -> bool:
        s = video_state()
        return bool(s and s["readyState"] >= 2 and not s["paused"] and s["width"] > 0 and s["time"] > 0.5)

    def metrics() -> dict[str, float | None]:
        return {k: to_number(v) for k, v in page.evaluate(METRICS_JS).items()}

    def frames_analysed() -> int | None:
        found = page.evaluate(FRAMES_JS)
        return found[0] if found else None

    def analysis_ms() -> int | None:
        found = page.evaluate(FRAMES_JS)
        return found[1] if found else None

    def start_stream() -> float:
        t0 = time.monotonic()
        start.click(timeout=30_000)
        wait_for(playing, 60, "the returned video to play")
        return time.monotonic() - t0

    def stop_stream() -> None:
        stop.click(timeout=30_000)
        start.wait_for(timeout=30_000)

    def report_failure(what: str) -> None:
        """Log what a person would see, and the server's side of the connection, so that a
        failure in CI can be explained from its output alone."""
        tag = re.sub(r"\W+", "_", what)
        page.screenshot(path=str(Path(args.logdir) / f"{tag}_failed.png"))
        seen: dict[str, Any] = {}
        probes = {
            "video": video_state, "stats": lambda: in_iframe(PC_STATS_JS),
            "players on the page": iframe.count, "Start shown": start.is_visible, "Stop shown": stop.is_visible,
            "player text": lambda: (in_iframe("() => document.body.innerText") or "").strip()[:300],
            "page exceptions": lambda: [e[:500] for e in page.locator('[data-testid="stException"]').all_inner_texts()],
        }
        for name, probe in probes.items():
            try:
                seen[name] = probe()
            except Exception as exc:  # a probe must not hide the failure it describes
                seen[name] = f"({type(exc).__name__}: {str(exc)[:120]})"
        log(f"{what} did not play: {json.dumps(seen, default=str)}")
        log_evidence(args.logdir)

    def start_playing(what: str) -> float:
        """Press Start and wait for the returned video; if it does not come, do what a
        person does: press Stop if it is there, then Start again; if the page lost the
        player altogether, reload it first. Returns the seconds the last attempt took."""
        try:
            seconds = start_stream()
            result["start_s"].append(round(seconds, 2))
            return seconds
        except (TimeoutError, PlaywrightError):  # ours (no video) or Playwright's (no button)
            report_failure(what)
            result["retries"].append(what)
        if stop.is_visible():
            stop_stream()
        elif not start.is_visible():
            log("neither Start nor Stop is shown: reloading the page")
            open_webcam_page()
        seconds = start_stream()
        result["start_s"].append(round(seconds, 2))
        return seconds

    open_webcam_page()
    # --- first stream: correctness, fps, screenshot, CPU per frame -------------------
    # The first connection of a fresh server, or a restarted stream, now and then never
    # started playing in CI (about one run in six; never reproduced alone, cause not
    # found). A person would press Start again; so does the test, at most once per run,
    # logging what the page and the server showed, and the test asserts that bound.
    result["retries"], result["start_s"] = [], []
    result["connect_s"] = round(start_playing("first connection"), 2)
    log(f"video playing after {result['connect_s']}s")
    wait_for(lambda: (metrics().get("Faces") or 0) >= 1, 60, "the Faces metric to reach 1")
    time.sleep(3.0)  # let the codec's bitrate ramp up and the FPS window fill
    samples = []
    # The panel redraws its caption once a second; on a busy machine a read can fall between
    # two redraws, so wait for the counter rather than take a miss for "no frames".
    frames0 = wait_for(frames_analysed, 15, "the panel's frame counter")
    cpu0, t0 = server_ps.cpu_times(), time.monotonic()
    deadline = time.monotonic() + args.sample_seconds
    while time.monotonic() < deadline:
        samples.append(metrics())
        time.sleep(1.0)
    cpu1, t1 = server_ps.cpu_times(), time.monotonic()
    frames1 = wait_for(frames_analysed, 15, "the panel's frame counter")
    result["samples"] = samples
    cpu_s = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    if frames0 is not None and frames1 is not None and frames1 > frames0:
        result["cpu_ms_per_frame"] = round(cpu_s * 1000.0 / (frames1 - frames0), 1)
        result["frames_window"] = frames1 - frames0
        result["processed_fps_window"] = round((frames1 - frames0) / (t1 - t0), 2)
    result["server_cpu_percent"] = round(100.0 * cpu_s / (t1 - t0), 1)
    result["webrtc_stats"] = in_iframe(PC_STATS_JS)
    result["analysis_ms_mean"] = analysis_ms()  # wall time of analyse+draw per frame
    result["video_size"] = video_state()
    result["box_pixels"] = in_iframe(BOX_PIXELS_JS)
    page.screenshot(path=str(args.screenshot), full_page=True)
    result["alert_text"] = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()

    # --- a sidebar change reaches the running stream without a restart -----------------
    # Mirror view is on by default, so the clip's right-hand (unmasked, red) face shows on
    # the left; switching it off must move the red box to the right within seconds, in the
    # same stream (the frame counter keeps counting instead of starting again).
    def red_right_of_green() -> bool | None:
        px = in_iframe(BOX_PIXELS_JS) or {}
        if not px.get("red_x") or not px.get("green_x"):
            return None
        return px["red_x"] > px["green_x"]

    live: dict[str, Any] = {"red_right_before": red_right_of_green(), "frames_before": frames_analysed()}
    t0 = time.monotonic()
    page.locator('[data-testid="stSidebar"]').get_by_text("Mirror view", exact=True).click()
    wait_for(lambda: red_right_of_green() is True, 30, "the red box to move right after turning mirror off")
    live["seconds_to_apply"] = round(time.monotonic() - t0, 1)
    # The panel redraws once a second: wait for its next frame count.
    live["frames_after"] = wait_for(lambda: (frames_analysed() or 0) > (live["frames_before"] or 0) and frames_analysed(),
                                    30, "the frame counter to move on")
    live["still_playing"] = playing()
    live["red_right_after"] = True
    result["live_settings"] = live

    # --- start/stop cycles: nothing may keep growing on the server ---------------------
    rss, readings_mb, threads, settle_s = [], [], [], []
    for cycle in range(args.cycles):
        if cycle:
            start_playing(f"restart {cycle + 1}")
            wait_for(lambda: (metrics().get("FPS") or 0) > 0, 30, "frames being analysed")
            time.sleep(2.0)
        stop_stream()
        # The stopped stream's threads end within a second or two on a quiet machine and
        # later on a busy one: count them once the number has held still for 2 s, so a
        # slow shutdown is waited for rather than reported as a thread left behind.
        settle_s.append(round(settle_threads(server_ps), 1))
        readings = []
        for _ in range(3):  # the median of three, one second apart: RSS jitters by a few MB
            readings.append(server_ps.memory_info().rss)
            time.sleep(1.0)
        rss.append(sorted(readings)[1])
        readings_mb.append([round(r / 2**20, 1) for r in readings])
        threads.append(server_ps.num_threads())
        log(f"cycle {cycle + 1}: rss {rss[-1] / 2**20:.1f} MB, threads {threads[-1]} (settled in {settle_s[-1]} s)")
    result["rss_mb"] = [round(r / 2**20, 1) for r in rss]
    result["rss_readings_mb"] = readings_mb
    result["threads"] = threads
    result["threads_settle_s"] = settle_s
    result["panel_after_stop"] = metrics()

    # --- closing the tab: the session's worker must go away too ------------------------
    start_playing("the stream before closing the tab")
    time.sleep(2.0)
    threads_playing = server_ps.num_threads()
    page.close()
    t0 = time.monotonic()
    # aiortc notices a vanished browser by its ICE consent checks failing (~30 s); failing
    # that, Streamlit ends the departed session after its disconnectedSessionTTL (120 s by
    # default, which this runner's server keeps), and the stream with it: one CI run waited
    # the former 90 s and still saw the stream's threads. A stream runs ~8 threads; one more
    # than after the last stop may be a pool thread kept for reuse.
    try:
        wait_for(lambda: server_ps.num_threads() <= threads[-1] + 1, 180, "the closed tab's stream to stop", 1.0)
        settle_threads(server_ps)
    except TimeoutError as exc:
        log(str(exc))
    result["close_cleanup_s"] = round(time.monotonic() - t0, 1)
    result["threads_playing_before_close"] = threads_playing
    result["threads_after_close"] = server_ps.num_threads()
    result["rss_after_close_mb"] = round(server_ps.memory_info().rss / 2**20, 1)


if __name__ == "__main__":
    main()
