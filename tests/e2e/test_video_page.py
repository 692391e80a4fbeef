"""The Video page in headless Chromium against a real ``streamlit run app.py``.

Uploads a clip generated at test time, waits for the annotated video and checks that the
browser really decodes it (``readyState >= 2``: the current frame is available), then
downloads the CSV. A second test cancels a longer run and checks that nothing is offered
and the server's temporary folder is empty again. A third plays a result whose sound was
re-encoded and checks that the browser decodes that sound.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from support import video_clip as vc
from support.browser import download_csv, from_base64, with_base64
from support.server import streamlit_server

pytestmark = pytest.mark.browser

RESULT_TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def server_tmp(tmp_path_factory) -> Path:
    """The server's TMPDIR, so the test can see every temporary file the page makes."""
    return tmp_path_factory.mktemp("server_tmp")


@pytest.fixture(scope="module")
def server(tmp_path_factory, server_tmp):
    """The app as deployed (``support.server``) on a free loopback port, with its own TMPDIR;
    always stopped."""
    with streamlit_server(tmp_path_factory.mktemp("streamlit"), extra_env={"TMPDIR": str(server_tmp)}) as srv:
        yield srv.url


def open_video_page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    # Start at home and use the sidebar, as a visitor does (see test_image_page.py).
    page.goto(server, wait_until="domcontentloaded", timeout=60_000)
    page.get_by_test_id("stSidebarNav").get_by_text("Video", exact=True).click(timeout=60_000)
    page.get_by_text("Up to 25 MB per video").wait_for(timeout=60_000)
    return context, page


def upload(page, name: str, data: bytes) -> None:
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.wait_for(state="attached", timeout=60_000)
    uploader.set_input_files([{"name": name, "mimeType": "video/mp4", "buffer": data}])
    page.get_by_role("button", name="Annotate video").click(timeout=60_000)


def assert_nothing_kept(page, server_tmp: Path) -> None:
    """A stopped run offers no video and leaves the server's temporary folder empty."""
    assert page.locator("video").count() == 0
    assert page.get_by_role("button", name="Annotated video (MP4)").count() == 0
    # The stopped run deletes its files as it ends, at once on a quiet machine: the bound
    # only ends a wait for a file that is never deleted, it is not a speed target.
    deadline = time.monotonic() + 60
    while any(server_tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(server_tmp.iterdir()) == []


def result_video(page):
    """The annotated video, once the browser has decoded a frame of our H.264
    (readyState 2 = HAVE_CURRENT_DATA)."""
    video = page.locator("video").first
    video.wait_for(timeout=RESULT_TIMEOUT_MS)
    page.wait_for_function("v => v.readyState >= 2 && v.videoWidth > 0", arg=video.element_handle(),
                           timeout=60_000)
    return video


def test_upload_clip_plays_annotated_video_and_downloads_csv(server, browser, astronaut_rgb, artifacts, tmp_path):
    clip = tmp_path / "walk.mp4"
    vc.astronaut_clip(clip, astronaut_rgb, n_frames=30, fps=10)
    context, page = open_video_page(browser, server)
    try:
        upload(page, "walk.mp4", clip.read_bytes())
        video = result_video(page)
        info = video.evaluate("v => ({w: v.videoWidth, h: v.videoHeight, d: v.duration, e: v.error})")
        assert (info["w"], info["h"]) == (640, 480) and info["e"] is None
        assert abs(info["d"] - 3.0) < 0.2
        # Seek into the clip and check the browser decodes a later frame too.
        video.evaluate("v => { v.currentTime = 2.0; }")
        page.wait_for_function("v => !v.seeking && v.readyState >= 2 && Math.abs(v.currentTime - 2.0) < 0.2",
                               arg=video.element_handle(), timeout=30_000)
        assert page.get_by_text("30 frames, 640x480 at 10 fps").count() >= 1
        page.get_by_text("Timeline", exact=True).scroll_into_view_if_needed()
        page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first.wait_for(
            timeout=30_000)

        filename, rows = download_csv(page, "Per-frame counts (CSV)")
        assert filename == "walk.counts.csv"
        assert len(rows) == 30 and all((r["faces"], r["no_mask"]) == ("1", "1") for r in rows)
        assert all(r["incorrect"] == "0" for r in rows)  # the new column, last; the astronaut wears none

        video.evaluate("v => { v.currentTime = 1.0; }")
        page.wait_for_function("v => !v.seeking && v.readyState >= 2", arg=video.element_handle(), timeout=30_000)
        page.set_viewport_size({"width": 1400, "height": 2000})  # Streamlit scrolls inside: show it all
        page.evaluate("() => document.querySelector('[data-testid=stMain]')?.scrollTo(0, 0)")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / "video_page.png"))
    finally:
        context.close()


def test_cancel_offers_nothing_and_leaves_no_temporary_files(server, server_tmp, browser, astronaut_rgb,
                                                             tmp_path, artifacts):
    clip = tmp_path / "long.mp4"
    vc.astronaut_clip(clip, astronaut_rgb, n_frames=900, fps=30)  # 30 s: long enough to cancel
    context, page = open_video_page(browser, server)
    try:
        upload(page, "long.mp4", clip.read_bytes())
        page.get_by_text(re.compile(r"Frame \d+ of 900")).first.wait_for(timeout=RESULT_TIMEOUT_MS)
        assert any(p.name.startswith("maskpatrol-video-") for p in server_tmp.iterdir())  # work in progress
        page.screenshot(path=str(artifacts / "video_page_progress.png"))
        page.get_by_role("button", name="Cancel").click(timeout=30_000)
        page.get_by_text("Cancelled: nothing was kept").wait_for(timeout=60_000)
        assert_nothing_kept(page, server_tmp)
    finally:
        context.close()


def test_changing_a_setting_mid_run_says_the_run_stopped(server, server_tmp, browser, astronaut_rgb, tmp_path):
    """Streamlit stops a running script when any widget changes. A person who nudges a
    setting while a video is being annotated must be told the work stopped, not find
    the progress bar silently gone."""
    clip = tmp_path / "long.mp4"
    vc.astronaut_clip(clip, astronaut_rgb, n_frames=900, fps=30)
    context, page = open_video_page(browser, server)
    try:
        upload(page, "queue.mp4", clip.read_bytes())
        page.get_by_text(re.compile(r"Frame \d+ of 900")).first.wait_for(timeout=RESULT_TIMEOUT_MS)
        # "Analyse every Nth frame" 1 -> 2 (the page's own input, not the sidebar's people settings)
        page.get_by_test_id("stMainBlockContainer").get_by_test_id("stNumberInputStepUp").click(timeout=30_000)
        page.get_by_text("Annotating queue.mp4 stopped before it finished").wait_for(
            timeout=60_000)
        assert_nothing_kept(page, server_tmp)
    finally:
        context.close()


def test_annotated_video_plays_with_its_sound(server, browser, astronaut_rgb, tmp_path):
    """A camera's .mov with PCM sound: the result is re-encoded to AAC, and the browser
    decodes that sound while the annotated video plays (muted, as autoplay rules allow)."""
    clip = tmp_path / "camera.mov"
    vc.write_clip_with_sound(clip, vc.astronaut_frames(astronaut_rgb, 30), 10, "pcm_s16le",
                             tones=[(3.0, 440.0)])
    context, page = open_video_page(browser, server)
    try:
        upload(page, "camera.mov", clip.read_bytes())
        video = result_video(page)
        assert page.get_by_text("Sound: re-encoded to AAC (from pcm_s16le)").count() >= 1
        handle = video.element_handle()
        video.evaluate("v => { v.muted = true; return v.play(); }")
        page.wait_for_function("v => v.currentTime > 1.0 && v.webkitAudioDecodedByteCount > 0", arg=handle,
                               timeout=60_000)
        info = video.evaluate("v => ({audio: v.webkitAudioDecodedByteCount, video: v.webkitVideoDecodedByteCount,"
                              " e: v.error})")
        assert info["e"] is None and info["audio"] > 0 and info["video"] > 0, info
    finally:
        context.close()


#: Colours of the video as the browser paints it, drawn onto a canvas (the page and the
#: video share an origin, so the canvas can be read).
SHOWN_RGB_JS = with_base64("""v => { const c = document.createElement('canvas'); c.width = v.videoWidth;
    c.height = v.videoHeight; const g = c.getContext('2d'); g.drawImage(v, 0, 0);
    return TO_BASE64(g.getImageData(0, 0, c.width, c.height).data); }""")


def test_hd_phone_clip_keeps_its_colours_in_the_browser(server, browser, tmp_path):
    """A 1280x720 BT.709 clip, as phones record: the annotated video the browser shows has
    the colours of the clip. (Before our output was tagged, Chromium took HD output for
    BT.709 and showed this red 15 levels off; before BT.709 input was read as such,
    another 14.)"""
    clip = tmp_path / "phone.mp4"
    vc.patches_clip(clip, 1280, 720, matrix="itu709")
    context, page = open_video_page(browser, server)
    try:
        upload(page, "phone.mp4", clip.read_bytes())
        video = result_video(page)
        assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [1280, 720]
        shown = from_base64(video.evaluate(SHOWN_RGB_JS)).reshape(720, 1280, 4)[..., :3]
        errors = vc.patch_errors(shown)
        assert max(errors) <= 6, dict(zip(vc.PATCH_COLOURS, errors))
    finally:
        context.close()
