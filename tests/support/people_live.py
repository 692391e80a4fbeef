"""One pass of the people clip through the Live webcam page, in both modes, as a visitor
sees it: headless Chromium's fake camera plays the clip, the page's panel is read once the
pass is over and the camera stopped.

Run by ``tests/e2e/test_people_live.py`` as ``unshare -n python -m support.people_live ...``
(root, ``tests/`` on ``PYTHONPATH``): the server and Chromium share a private network
namespace with loopback only (WebRTC's server mode needs no STUN there). Prints one line
``PEOPLE_RESULT {json}`` with each mode's people counts and how many frames it analysed,
and each mode's trace: every frame its people saw (time, frame size, faces, track and person
numbers), from ``People.update`` in the page and on the server, to replay a wrong count.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

from maskpatrol.web.component import BUNDLE, STATIC_URL
from support.browser import download_csv
from support.streamlit_logged import PEOPLE_TRACE_ENV
from support.webcam_runner import (CHROMIUM_ARGS, HOST, IFRAME, METRICS_JS, FRAMES_JS, WEBRTC_LOG, log,
                                   set_slider, setup_loopback, start_server, stop_process, to_number, wait_for)

#: The sidebar's "Smallest face" for the run: the video command's default, so the two read
#: the same faces (the page starts at 80 px, for faces close to a webcam).
MIN_FACE = 60
MODES = {"browser": "This browser", "server": "Server (WebRTC)"}

# Counts the beeps the page plays (the browser mode's Web Audio tones, two per beep; the
# server mode's <audio> elements) and keeps the camera constraints the page asks for.
SPY_JS = """(() => {
  window.__tones = 0; window.__plays = 0; window.__constraints = [];
  const Ctx = window.AudioContext;
  if (Ctx) { const make = Ctx.prototype.createOscillator;
    Ctx.prototype.createOscillator = function () { window.__tones++; return make.call(this); }; }
  window.__played = [];
  document.addEventListener('play', (e) => { if (e.target.tagName === 'AUDIO') {
    window.__plays++; window.__played.push(e.target.currentSrc); } }, true);
  const md = navigator.mediaDevices;
  if (md) { const gum = md.getUserMedia.bind(md);
    md.getUserMedia = (c) => { window.__constraints.push(JSON.stringify(c)); return gum(c); }; }
})()"""


# Keeps every frame the browser mode's people see (People.update of the page's own bundle,
# the module instance the component imported), as the server's trace does.
BROWSER_TRACE_JS = """async (url) => {
  const m = await import(url);
  window.__peopleTrace = [];
  const update = m.People.prototype.update;
  m.People.prototype.update = function (faces, t, frameSize) {
    const out = update.call(this, faces, t, frameSize);
    window.__peopleTrace.push({ t, size: frameSize, faces: faces.map((f) => [f.box, f.p_no_mask, f.p_incorrect || 0]),
      tracks: out.tracks, persons: out.faces.map((f) => f.person ?? null) });
    return out;
  };
}"""
SERVER_TRACE = "people_trace_server.jsonl"


def server_trace(path: Path) -> list[dict]:
    """The server's trace of its last stream (the one the pass ran)."""
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    last = rows[-1]["stream"] if rows else None
    return [r for r in rows if r["stream"] == last]


def people_metrics(page) -> dict[str, float | None]:
    return {k: to_number(v) for k, v in page.evaluate(METRICS_JS).items()}


def run_mode(page, url: str, mode: str, stop_after_s: float, logdir: Path) -> dict[str, Any]:
    page.goto(url, timeout=60_000)
    page.get_by_role("link", name=re.compile("Live webcam")).first.click(timeout=60_000)
    page.get_by_role("heading", name="Live webcam").wait_for(timeout=60_000)
    page.locator('[data-testid="stRadio"]').filter(has_text="Analyse in").get_by_text(
        MODES[mode], exact=True).click(timeout=30_000)
    time.sleep(2.0)
    min_face = set_slider(page, "Smallest face", MIN_FACE)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Sound for each new alert", exact=True).click(timeout=30_000)
    if mode == "browser":  # a phone's rear camera: the constraint the page asks the browser for
        sidebar.get_by_text("Rear", exact=True).click(timeout=30_000)
    time.sleep(2.0)
    if mode == "browser":
        page.get_by_test_id("stBidiComponentIsolated").wait_for(timeout=60_000)
        page.evaluate(BROWSER_TRACE_JS, f"{url.rstrip('/')}/{STATIC_URL}/{BUNDLE}")
        camera = page.get_by_test_id("stBidiComponentIsolated")
        start = camera.get_by_role("button", name="Start", exact=True)
        stop = camera.get_by_role("button", name="Stop", exact=True)
    else:
        frame = page.frame_locator(IFRAME)
        start = frame.get_by_role("button", name=re.compile(r"^start$", re.I))
        stop = frame.get_by_role("button", name=re.compile(r"^stop$", re.I))
    start.click(timeout=60_000)
    clicked = time.monotonic()
    wait_for(lambda: people_metrics(page).get("Faces") is not None, 120, "the panel's first reading")
    first = time.monotonic() - clicked
    time.sleep(max(0.0, stop_after_s - (time.monotonic() - clicked)))
    frames = page.evaluate(FRAMES_JS)
    stop.click(timeout=30_000)
    start.wait_for(timeout=60_000)
    time.sleep(3.0)  # the stop's rerun, and in the browser mode its last report
    seen = wait_for(lambda: people_metrics(page).get("People since Start") is not None and people_metrics(page),
                    30, "the people counts after Stop")
    page.screenshot(path=str(logdir / f"people_{mode}.png"), full_page=True)
    csv_offered = page.get_by_role("button", name=re.compile("People seen")).count() > 0
    rows = download_csv(page, "People seen (CSV)")[1] if csv_offered else []
    # The browser mode's canvas runs in the page; the server mode's camera in streamlit-webrtc's iframe.
    constraints = page.evaluate("() => window.__constraints")
    if mode == "server":
        handle = page.locator(IFRAME).element_handle(timeout=30_000)
        constraints += handle.content_frame().evaluate("() => window.__constraints || []")
    return {"people": seen.get("People since Start"), "not_masked": seen.get("Not properly masked"),
            "min_face": min_face, "first_reading_s": round(first, 1), "frames_and_ms": frames,
            "csv_offered": csv_offered, "beeps": page.evaluate("() => window.__tones") // 2,
            "audio_plays": page.evaluate("() => window.__plays"),
            "audio_sounds": page.evaluate("() => new Set(window.__played).size"),
            "camera_constraints": constraints, "people_rows": rows,
            "trace": page.evaluate("() => window.__peopleTrace") if mode == "browser"
            else server_trace(logdir / SERVER_TRACE)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clip", type=Path, required=True, help="the people clip as .y4m")
    ap.add_argument("--stop-after", type=float, required=True, help="seconds from Start to Stop")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--port", type=int, default=8598)
    ap.add_argument("--logdir", type=Path, required=True)
    ap.add_argument("--modes", default="browser,server")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    setup_loopback()
    args.logdir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"ok": False}
    server = start_server(args.port, args.logdir / "streamlit.log", args.logdir / WEBRTC_LOG,
                          {PEOPLE_TRACE_ENV: str(args.logdir / SERVER_TRACE)})
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, timeout=60_000,
                                         args=CHROMIUM_ARGS + [f"--use-file-for-fake-video-capture={args.clip}"])
            try:
                for mode in args.modes.split(","):
                    page = browser.new_page(viewport={"width": 1400, "height": 1100})
                    page.add_init_script(SPY_JS)
                    console: list[str] = []
                    page.on("console", lambda m, c=console: c.append(f"{m.type}: {m.text[:200]}"))
                    try:
                        result[mode] = run_mode(page, f"http://{HOST}:{args.port}/", mode, args.stop_after,
                                                args.logdir)
                    except Exception:
                        page.screenshot(path=str(args.logdir / f"people_{mode}_failed.png"), full_page=True)
                        log(f"{mode} mode failed; browser console:\n  " + "\n  ".join(console[-30:]))
                        raise
                    finally:
                        page.close()
            finally:
                browser.close()
        result["ok"] = True
    except Exception as exc:  # reported to the test, which fails with this message
        result["error"] = f"{type(exc).__name__}: {exc}"
        log(result["error"])
    finally:
        stop_process(server)
        print("PEOPLE_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
