"""The Photos page in headless Chromium against a real ``streamlit run app.py``.

Uploads a face photo and a corrupt file together, waits for the results, checks what a
user reads (summary, error), downloads the CSV and saves a full-page screenshot.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from support.images import png_bytes
from maskpatrol.detectors import DETECTOR_LABELS
from support.browser import PHOTOS_SETTLED_JS, download_csv
from support.server import streamlit_server

pytestmark = pytest.mark.browser

RESULT_TIMEOUT_MS = 120_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app as deployed (``support.server``) on a free loopback port; always stopped."""
    with streamlit_server(tmp_path_factory.mktemp("streamlit")) as srv:
        yield srv.url


def test_upload_face_and_corrupt_file_then_download_csv(server, browser, astronaut_rgb, artifacts: Path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    try:
        # Start at the home page and use the sidebar, as a first-time visitor does (direct
        # addresses are tested in test_navigation.py).
        page.goto(server, wait_until="domcontentloaded", timeout=60_000)
        page.get_by_test_id("stSidebarNav").get_by_text("Photos", exact=True).click(timeout=60_000)
        uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
        uploader.wait_for(state="attached", timeout=60_000)
        uploader.set_input_files([
            {"name": "astronaut.png", "mimeType": "image/png", "buffer": png_bytes(astronaut_rgb)},
            {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"this is not a photo at all"},
        ])

        summary = page.get_by_text("2 photos, 1 face: 0 mask, 1 no mask; 1 photo could not be read")
        summary.wait_for(timeout=RESULT_TIMEOUT_MS)
        error = page.get_by_test_id("stAlertContentError")
        error.wait_for(timeout=RESULT_TIMEOUT_MS)
        assert "broken.jpg is not an image we can read" in error.inner_text()
        assert page.get_by_text("1 face: 0 mask, 1 no mask", exact=True).count() >= 1
        assert "not wearing a mask" in page.get_by_test_id("stAlertContentWarning").first.inner_text()
        # The annotated picture is really rendered (decoded by the browser), not just present.
        picture = page.get_by_test_id("stImage").locator("img").first
        picture.wait_for(timeout=RESULT_TIMEOUT_MS)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle(),
                               timeout=30_000)

        filename, rows = download_csv(page, "Results (CSV)")
        assert filename == "mask_patrol_results.csv"
        assert [r["path"] for r in rows] == ["astronaut.png", "broken.jpg"]
        assert rows[0]["label"] == "no_mask" and float(rows[0]["p_no_mask"]) > 0.5
        assert list(rows[0])[-1] == "p_incorrect" and 0.0 <= float(rows[0]["p_incorrect"]) <= 1.0
        assert (rows[0]["width"], rows[0]["height"], rows[0]["face"]) == ("512", "512", "1")
        x, y, w, h = (int(rows[0][k]) for k in "xywh")
        assert 150 < x + w / 2 < 300 and 60 < y + h / 2 < 180  # the astronaut's face
        assert "not an image" in rows[1]["error"] and rows[1]["label"] == ""

        # The annotated PNG is built only on click (deferred download): full size, boxes drawn.
        with page.expect_download(timeout=60_000) as dl:
            page.get_by_role("button", name="Annotated image (PNG)").click()
        assert dl.value.suggested_filename == "astronaut.annotated.png"
        annotated = np.asarray(Image.open(dl.value.path()).convert("RGB"))
        assert annotated.shape == astronaut_rgb.shape
        assert not np.array_equal(annotated[y:y + h, x], astronaut_rgb[y:y + h, x])  # left box edge drawn

        # Streamlit scrolls inside its main container, so "full page" needs a viewport as
        # tall as that content; move the mouse away so no tooltip covers it.
        page.mouse.move(5, 5)
        height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        page.set_viewport_size({"width": 1400, "height": min(6000, max(1000, int(height) + 40))})
        page.wait_for_timeout(1000)  # let the images and tables repaint at the new size
        page.screenshot(path=str(artifacts / "photos_page.png"), full_page=True)
    finally:
        context.close()


def upload_to_photos_page(page, server: str, name: str, rgb: np.ndarray) -> None:
    """Open the Photos page at its address and upload one picture, as a bookmarked visitor does."""
    page.goto(server.rstrip("/") + "/photos", wait_until="domcontentloaded", timeout=60_000)
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.wait_for(state="attached", timeout=60_000)
    uploader.set_input_files([{"name": name, "mimeType": "image/png", "buffer": png_bytes(rgb)}])


def test_a_masked_portrait_is_found_with_the_default_detector(server, browser, patrol, astronaut_rgb, artifacts: Path):
    """The issue's first-visit failure: a frontal, well-lit portrait in a blue surgical mask
    gave "No faces found" with Haar. With the default detector the page finds and labels it."""
    from support.images import paint_mask

    masked = paint_mask(astronaut_rgb, patrol.detector_for("haar").detect(astronaut_rgb)[0])
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        upload_to_photos_page(page, server, "masked.png", masked)
        page.get_by_text("1 face: 1 mask, 0 no mask", exact=True).first.wait_for(timeout=RESULT_TIMEOUT_MS)
        assert page.get_by_text("No faces found").count() == 0
        # The sidebar says which detector ran: the recommended one, picked by default.
        yunet = page.get_by_test_id("stSidebar").get_by_role("radio", name=DETECTOR_LABELS["yunet"])
        assert yunet.is_checked()
        page.mouse.move(5, 5)
        page.screenshot(path=str(artifacts / "photos_masked.png"))
    finally:
        context.close()


def test_a_mask_below_the_nose_is_named_so_on_the_page(server, browser, patrol, astronaut_rgb, artifacts: Path):
    """A visitor uploads a portrait whose mask is pulled under the nose: the page says so in
    words, in the summary, the legend and the downloaded results, not only by the box's colour."""
    from support.images import paint_mask

    below = paint_mask(astronaut_rgb, patrol.analyze(astronaut_rgb)[0].box, worn="below_nose")
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    try:
        upload_to_photos_page(page, server, "below.png", below)
        page.get_by_text("1 face: 0 mask, 1 mask below nose, 0 no mask", exact=True).first.wait_for(
            timeout=RESULT_TIMEOUT_MS)
        page.wait_for_function(PHOTOS_SETTLED_JS, arg=1, timeout=RESULT_TIMEOUT_MS)
        page.get_by_test_id("stImage").locator("img").first.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
        page.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)",
                               timeout=RESULT_TIMEOUT_MS)
        # Named in words beside the summary (the legend), and in the download as the label.
        assert "Mask below nose:" in page.locator("body").inner_text()
        _, rows = download_csv(page, "Results (CSV)")
        assert [(r["label"], float(r["p_incorrect"]) > 0.5) for r in rows] == [("incorrect", True)], rows
        page.mouse.move(5, 5)
        page.screenshot(path=str(artifacts / "photos_below_nose.png"), full_page=True)
    finally:
        context.close()
