"""Headless Chromium as a visitor: its flags, and what a visitor does on our pages."""

from __future__ import annotations

import csv
import io
from pathlib import Path

#: The flags every Chromium we start gets (Debian's chromium, run as root, offline).
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Added for the webcam: a fake camera (fed from a file with
#: ``--use-file-for-fake-video-capture=``), no permission prompt, and WebRTC over loopback.
FAKE_CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                    "--allow-loopback-in-peer-connection"]

#: True once the Photos page shows n photos' results and nothing is left from an earlier
#: run: no stale element, no spinner.
PHOTOS_SETTLED_JS = """n => document.querySelectorAll('[data-testid="stImage"]').length === n
    && !document.querySelector('[data-stale="true"]')
    && !document.querySelector('[data-testid="stSpinner"]')"""


async def open_photos_page(page, url: str, timeout_ms: int = 90_000) -> None:
    """Home page first, then the sidebar link, as most visitors do (direct addresses, a
    fresh server's first visit included, are tested in tests/e2e/test_navigation.py)."""
    await page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    await page.get_by_test_id("stSidebarNav").get_by_text("Photos", exact=True).click(timeout=timeout_ms)
    await page.get_by_test_id("stFileUploaderDropzoneInput").wait_for(state="attached", timeout=timeout_ms)


def download_csv(page, button: str, timeout_ms: int = 60_000) -> tuple[str, list[dict[str, str]]]:
    """Click a page's CSV download button, as a visitor does: (suggested file name, rows)."""
    with page.expect_download(timeout=timeout_ms) as dl:
        page.get_by_role("button", name=button).click()
    download = dl.value
    return download.suggested_filename, list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
