"""Headless Chromium as a visitor: its flags, and what a visitor does on our pages."""

from __future__ import annotations

import base64
import csv
import io
from pathlib import Path

#: The flags every Chromium we start gets (Debian's chromium, run as root, offline).
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Added for the webcam page's "This browser" mode: a fake camera (fed from a file with
#: ``--use-file-for-fake-video-capture=``) and no permission prompt.
BROWSER_MODE_CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
#: Added for its server mode: the same, and WebRTC over loopback.
FAKE_CAMERA_ARGS = BROWSER_MODE_CAMERA_ARGS + ["--allow-loopback-in-peer-connection"]

#: A JavaScript function giving a byte array (a canvas's pixels, say) back as one base64
#: string: Playwright passes a frame's million bytes as a JSON array in seconds, as a string in
#: milliseconds. Use it inside a page function as ``TO_BASE64(...)``, through :func:`with_base64`,
#: and read the answer with :func:`from_base64`.
TO_BASE64_JS = """(a => { const u = a instanceof Uint8Array ? a : Uint8Array.from(a); let s = "";
    for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode.apply(null, u.subarray(i, i + 0x8000));
    return btoa(s); })"""


def with_base64(page_function: str) -> str:
    """``page_function`` with ``TO_BASE64`` standing for :data:`TO_BASE64_JS`."""
    return page_function.replace("TO_BASE64", TO_BASE64_JS)


def from_base64(answer: str):
    """The bytes a page function gave back through ``TO_BASE64``, as a flat uint8 array."""
    import numpy as np

    return np.frombuffer(base64.b64decode(answer), np.uint8)


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
