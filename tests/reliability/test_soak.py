"""Soak: 350 photos through ONE real server process; its memory must level off.

The server is the deployed configuration (``support.server``). A headless Chromium visitor
opens the Photos page and uploads a batch of distinct photos (0 to 4 faces, every file
different, so the result cache never answers for the pipeline); then the page is loaded
afresh, which ends that Streamlit session and starts a new one, as visitors come and go.
The server's resident memory (RSS, from /proc via psutil) is read after every batch. The
first 200 photos are warm-up: model, detector pool, result cache (24 entries), Streamlit's
media store and the departed sessions still inside their 15 s fill up there. Over the
remaining 150 photos the test fails only on a leak: RSS rising in each of three windows
over the one before *and* a least-squares trend rise beyond 20 MB or three times this run's
own spread around the trend, whichever is larger (``tests/support/figures.py``). A plateau reached
a little after warm-up (uploads were slower or faster than usual) is a step, not steady
growth, and the saw-tooth of freed sessions is spread. Figures go to tests/artifacts/soak_test.json.

This test found that with Streamlit's default ``server.disconnectedSessionTTL`` (120 s) the
server kept every departed visitor's uploads and results for two minutes: +210 MB over
400 photos, 491 MB in all, on a 512 MB dyno. setup.sh's shorter TTL is what it measures.
That leak, about 0.5 MB a photo, raises the 150 judged photos by some 80 MB, four times the
20 MB floor and in every window: judging 300 (as until issue 36) took 40 s more and showed
nothing more.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import psutil
import pytest

from support.corpus import encode, face_grid
from support.figures import ratio, steady_growth, write_report
from support.browser import CHROMIUM_ARGS, PHOTOS_SETTLED_JS, open_photos_page
from support.server import server_errors, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IMAGES = 350
BATCH = 25
#: Memory fills until the result cache is full and the sessions of departed visitors (kept
#: 15 s, setup.sh) are freed as fast as new ones come, so the plateau comes later when
#: uploads are quick: in a clean-clone CI run at 3.6 s per batch RSS rose 286 -> 382 MB over
#: the first 200 photos and then stayed within 366-388 MB; in a slower run it levelled off at
#: 100. 200 photos of warm-up leave 150 to show a leak.
WARMUP_IMAGES = 200
#: A rise that would matter on a 512 MB dyno; the margin is 3x this run's spread when larger.
LEAK_FLOOR_MB = 20.0
#: The post-warm-up readings are judged in this many consecutive windows (2-3 batches each).
WINDOWS = 3
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


def test_350_photos_in_one_server_process_rss_levels_off(chromium_path, tmp_path, capsys):
    with streamlit_server(tmp_path) as server:
        samples = asyncio.run(asyncio.wait_for(_soak(server.url, chromium_path, server.pid), TEST_TIMEOUT_S))
        errors = server_errors(server.log)
        alive = psutil.pid_exists(server.pid)
    assert alive and not errors, errors
    assert samples[-1]["images"] == IMAGES

    # RSS saw-tooths by ~15 MB as sessions of departed visitors are freed: judge the trend
    # of all readings after warm-up, with a margin from their own spread (tests/support/figures.py).
    after = [s["rss_mb"] for s in samples if s["images"] >= WARMUP_IMAGES]
    growth = steady_growth(after, windows=WINDOWS, floor=LEAK_FLOOR_MB)
    batch_s = [b["t"] - a["t"] for a, b in zip(samples, samples[1:])]
    report = {"images": IMAGES, "batch": BATCH, "warmup_images": WARMUP_IMAGES,
              "rss_start_mb": round(samples[0]["rss_mb"], 1), "rss_after_warmup_mb": round(after[0], 1),
              "rss_end_mb": round(after[-1], 1), "rss_max_mb": round(max(s["rss_mb"] for s in samples), 1),
              "ratio_end_to_after_warmup": ratio(after[-1], after[0]),
              "growth_after_warmup": growth.as_dict(),
              "seconds": round(samples[-1]["t"] - samples[0]["t"], 1),
              # The first batch (a fresh server) is the baseline the later ones are compared to.
              "first_batch_s": round(batch_s[0], 1), "batch_s_median": round(statistics.median(batch_s), 1),
              "ratio_batch_s_median_to_first": ratio(statistics.median(batch_s), batch_s[0]),
              "rss_by_batch_mb": [round(s["rss_mb"], 1) for s in samples]}
    write_report("soak_test", report, capsys)
    assert not growth.leak, report
