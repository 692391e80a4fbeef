"""Soak: 500 photos through ONE real server process; its memory must level off.

The server is the deployed configuration (``live_server``). A headless Chromium visitor
opens the Photos page and uploads a batch of distinct photos (0 to 4 faces, every file
different, so the result cache never answers for the pipeline); then the page is loaded
afresh, which ends that Streamlit session and starts a new one, as visitors come and go.
The server's resident memory (RSS, from /proc via psutil) is read after every batch. The
first 200 photos are warm-up: model, detector pool, result cache (24 entries), Streamlit's
media store and the departed sessions still inside their 15 s fill up there. After warm-up
RSS may grow by less than 20 MB over the remaining 300 photos. Figures go to tests/artifacts/soak_test.json.

This test found that with Streamlit's default ``server.disconnectedSessionTTL`` (120 s) the
server kept every departed visitor's uploads and results for two minutes: +210 MB over
400 photos, 491 MB in all, on a 512 MB dyno. setup.sh's shorter TTL is what it measures.
"""

from __future__ import annotations

import asyncio
import json
import time

import psutil
import pytest

from corpus import encode, face_grid
from live_server import CHROMIUM_ARGS, PHOTOS_SETTLED_JS, open_photos_page, server_errors, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IMAGES = 500
BATCH = 25
#: Memory fills until the result cache is full and the sessions of departed visitors (kept
#: 15 s, setup.sh) are freed as fast as new ones come, so the plateau comes later when
#: uploads are quick: in a clean-clone CI run at 3.6 s per batch RSS rose 286 -> 382 MB over
#: the first 200 photos and then stayed within 366-388 MB; in a slower run it levelled off at
#: 100. 200 photos of warm-up leave 300 to show a leak.
WARMUP_IMAGES = 200
MAX_GROWTH_MB = 20.0
TEST_TIMEOUT_S = 900
BATCH_TIMEOUT_MS = 180_000


def _photo(i: int) -> tuple[str, bytes, int]:
    """The i-th soak photo: i % 5 faces on a grey unique to i (so bytes never repeat)."""
    faces = i % 5
    return f"soak_{i:03d}.png", encode(face_grid(faces, background=40 + (i // 5) % 200), "PNG"), faces


def _rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


async def _soak(url: str, chromium: str, pid: int) -> list[dict]:
    from playwright.async_api import async_playwright

    samples = [{"images": 0, "rss_mb": _rss_mb(pid), "t": time.monotonic()}]
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            page = await context.new_page()
            for start in range(0, IMAGES, BATCH):
                batch = [_photo(i) for i in range(start, start + BATCH)]
                await open_photos_page(page, url)  # a fresh session per batch
                await page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
                    [{"name": n, "mimeType": "image/png", "buffer": d} for n, d, _ in batch])
                await page.wait_for_function(PHOTOS_SETTLED_JS, arg=BATCH, timeout=BATCH_TIMEOUT_MS, polling=200)
                total = sum(f for _, _, f in batch)
                summary = page.get_by_text(f"{BATCH} photos, {total} faces: 0 mask, {total} no mask")
                await summary.wait_for(timeout=BATCH_TIMEOUT_MS)
                samples.append({"images": start + BATCH, "rss_mb": _rss_mb(pid), "t": time.monotonic()})
        finally:
            await browser.close()
    return samples


def test_500_photos_in_one_server_process_rss_levels_off(chromium_path, artifacts, tmp_path):
    with streamlit_server(tmp_path) as server:
        samples = asyncio.run(asyncio.wait_for(_soak(server.url, chromium_path, server.pid), TEST_TIMEOUT_S))
        errors = server_errors(server.log)
        alive = psutil.pid_exists(server.pid)
    assert alive and not errors, errors
    assert samples[-1]["images"] == IMAGES

    # RSS saw-tooths by ~15 MB as sessions of departed visitors are freed, so compare peak
    # with peak: the highest reading of the three batches after warm-up against the highest
    # of the last three. A leak raises the later peaks; a saw-tooth does not.
    rss = {s["images"]: s["rss_mb"] for s in samples}
    after_warmup = max(rss[WARMUP_IMAGES + i * BATCH] for i in range(3))
    end = max(rss[IMAGES - i * BATCH] for i in range(3))
    growth = end - after_warmup
    report = {"images": IMAGES, "batch": BATCH, "warmup_images": WARMUP_IMAGES,
              "rss_start_mb": round(samples[0]["rss_mb"], 1), "rss_after_warmup_mb": round(after_warmup, 1),
              "rss_end_mb": round(end, 1), "rss_max_mb": round(max(rss.values()), 1),
              "growth_after_warmup_mb": round(growth, 1),
              "seconds": round(samples[-1]["t"] - samples[0]["t"], 1),
              "rss_by_batch_mb": [round(s["rss_mb"], 1) for s in samples]}
    (artifacts / "soak_test.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\nsoak test:", json.dumps(report))
    assert growth < MAX_GROWTH_MB, report
