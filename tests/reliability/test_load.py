"""Load: 8 visitors at once on ONE real server, each must get exactly their own results.

Eight headless Chromium contexts (eight Streamlit sessions, one browser process) open the
Photos page of one ``streamlit run app.py`` on 127.0.0.1. They start together and each
adds three photos in turn (Streamlit's multi-file uploader keeps the earlier ones); user k's photos hold k faces (some masked) on a background
no other user has, so every result on a page can only be that user's. After each upload a
user must see their own file name, face count, mask count and size, and nothing of anyone
else's; after the last one the JSON export must equal the pipeline's answer for their own
bytes, box for box. Latency is upload-to-result as the user sees it; it is a figure, not a
verdict (a user who never gets a result fails on the wait's bound, 180 s): written to
tests/artifacts/load_test.json beside the baseline, one lone visitor's upload to the same
server just before the crowd arrives, and the ratio of the two.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from support.corpus import encode, face_grid
from support.figures import ratio, write_report
from support.browser import CHROMIUM_ARGS, PHOTOS_SETTLED_JS, open_photos_page
from support.server import server_errors, streamlit_server
from maskpatrol.images import load_image
from maskpatrol.pipeline import summarize

pytestmark = [pytest.mark.browser, pytest.mark.slow]

USERS = 8
ROUNDS = 3
TEST_TIMEOUT_S = 600
RESULT_TIMEOUT_MS = 180_000


def _user_photo(patrol, k: int, r: int) -> tuple[str, bytes, dict]:
    """User k's r-th photo: k faces, as many masked as the detector reliably finds, on a
    grey shade unique to (k, r). Returns name, PNG bytes and the pipeline's own record."""
    background = 120 + 10 * k + 3 * r
    for masked in range(k // 2, -1, -1):
        rgb = face_grid(k, masked=masked, background=background)
        faces = patrol.analyze(rgb)
        if len(faces) == k and sum(f.masked for f in faces) == masked:
            break
    else:
        raise AssertionError(f"no grid with {k} detectable faces")
    name = f"user{k}_photo{r + 1}.png"
    data = encode(rgb, "PNG")
    decoded = load_image(data)
    truth = {"name": name, "width": int(decoded.shape[1]), "height": int(decoded.shape[0]),
             "faces": [f.to_dict() for f in patrol.analyze(decoded)], "summary": summarize(faces)}
    return name, data, truth


async def _user(browser, url: str, k: int, photos, start: asyncio.Event, ready: list, log: list,
                shots: Path) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = await context.new_page()
    try:
        await open_photos_page(page, url)
        ready.append(k)
        await start.wait()
        main = page.get_by_test_id("stMain")
        for r, (name, data, truth) in enumerate(photos):
            t0 = time.monotonic()
            await page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
                [{"name": name, "mimeType": "image/png", "buffer": data}])
            caption = f"{truth['summary']} · {truth['width']}x{truth['height']} px"
            # Rounds of one user share a caption; the file name heading is what is new.
            await page.get_by_role("heading", name=name).wait_for(timeout=RESULT_TIMEOUT_MS)
            # Then the rerun has finished: nothing stale (greyed) left from the previous photo.
            await page.wait_for_function(PHOTOS_SETTLED_JS, arg=r + 1, timeout=RESULT_TIMEOUT_MS, polling=100)
            await page.get_by_text(caption, exact=True).last.wait_for(timeout=RESULT_TIMEOUT_MS)
            await page.get_by_role("button", name="Annotated image (PNG)").nth(r).wait_for(timeout=RESULT_TIMEOUT_MS)
            t1 = time.monotonic()
            text = await main.inner_text()
            assert all(p[0] in text for p in photos[: r + 1])  # this photo and the earlier ones
            for _, _, seen in photos[: r + 1]:  # each of them with this user's result
                assert f"{seen['summary']} · {seen['width']}x{seen['height']} px" in text
            others = [f"user{j}_" for j in range(1, USERS + 1) if j != k]
            assert not any(o in text for o in others), (k, text[:500])
            log.append({"user": k, "round": r + 1, "start": t0, "end": t1, "latency_s": t1 - t0,
                        "faces": len(truth["faces"])})
        # The export holds exactly this user's photos, face for face.
        async with page.expect_download(timeout=60_000) as dl:
            await page.get_by_role("button", name="Results (JSON)").click()
        exported = json.loads(Path(await (await dl.value).path()).read_text())
        assert [e["path"] for e in exported] == [name for name, _, _ in photos]
        for record, (_, _, truth) in zip(exported, photos):
            assert (record["width"], record["height"], record["error"]) == (truth["width"], truth["height"], None)
            assert [f["box"] for f in record["faces"]] == [f["box"] for f in truth["faces"]]
            assert [f["label"] for f in record["faces"]] == [f["label"] for f in truth["faces"]]
            assert np.allclose([f["p_no_mask"] for f in record["faces"]],
                               [f["p_no_mask"] for f in truth["faces"]], atol=1e-4)
        if k == USERS:
            await page.screenshot(path=str(shots / "load_user8.png"))
    finally:
        await context.close()


async def _lone_upload(browser, url: str, photo) -> float:
    """Seconds from upload to result for one visitor alone on the server: the baseline."""
    name, data, truth = photo
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    try:
        await open_photos_page(page, url)
        t0 = time.monotonic()
        await page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
            [{"name": name, "mimeType": "image/png", "buffer": data}])
        await page.get_by_role("heading", name=name).wait_for(timeout=RESULT_TIMEOUT_MS)
        await page.wait_for_function(PHOTOS_SETTLED_JS, arg=1, timeout=RESULT_TIMEOUT_MS, polling=100)
        await page.get_by_text(f"{truth['summary']} · {truth['width']}x{truth['height']} px",
                               exact=True).wait_for(timeout=RESULT_TIMEOUT_MS)
        return time.monotonic() - t0
    finally:
        await context.close()


async def _run(url: str, chromium: str, photos: dict, baseline_photo, shots: Path) -> tuple[list[dict], float]:
    from playwright.async_api import async_playwright

    log: list[dict] = []
    ready: list[int] = []
    start = asyncio.Event()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            baseline_s = await _lone_upload(browser, url, baseline_photo)
            users = [asyncio.create_task(_user(browser, url, k, photos[k], start, ready, log, shots))
                     for k in range(1, USERS + 1)]
            deadline = time.monotonic() + 240
            while len(ready) < USERS and time.monotonic() < deadline and not any(u.done() for u in users):
                await asyncio.sleep(0.2)
            start.set()  # everyone uploads at the same moment
            await asyncio.gather(*users)
        finally:
            await browser.close()
    return log, baseline_s


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def test_eight_users_at_once_each_get_exactly_their_own_results(patrol, chromium_path, artifacts,
                                                                  tmp_path, capsys):
    photos = {k: [_user_photo(patrol, k, r) for r in range(ROUNDS)] for k in range(1, USERS + 1)}
    # Three faces on a shade no user has: like a crowd upload, but never in the result cache.
    _, data, truth = _user_photo(patrol, 3, ROUNDS)
    baseline_photo = ("lone_visitor.png", data, {**truth, "name": "lone_visitor.png"})
    # Every user's answer differs from every other's, so a mix-up cannot go unnoticed.
    assert len({len(p[0][2]["faces"]) for p in photos.values()}) == USERS
    with streamlit_server(tmp_path) as server:
        t0 = time.monotonic()
        log, baseline_s = asyncio.run(asyncio.wait_for(
            _run(server.url, chromium_path, photos, baseline_photo, artifacts), TEST_TIMEOUT_S))
        total = time.monotonic() - t0
        errors = server_errors(server.log)
    assert not errors, errors
    assert len(log) == USERS * ROUNDS

    latencies = [e["latency_s"] for e in log]
    # Uploads really overlapped: at the first round's peak, several were in flight at once.
    first = [e for e in log if e["round"] == 1]
    peak = max(sum(1 for o in first if o["start"] <= e["start"] < o["end"]) for e in first)
    mine = {k: [e["latency_s"] for e in log if e["user"] == k] for k in range(1, USERS + 1)}
    per_user = {k: {"p50_s": round(statistics.median(v), 2), "p95_s": round(_percentile(v, 95), 2),
                    "max_s": round(max(v), 2)} for k, v in mine.items()}
    p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
    report = {"users": USERS, "rounds": ROUNDS, "uploads": len(log), "total_s": round(total, 1),
              "p50_s": round(p50, 2), "p95_s": round(p95, 2), "max_s": round(max(latencies), 2),
              "baseline_lone_upload_s": round(baseline_s, 2), "ratio_p50_to_baseline": ratio(p50, baseline_s),
              "ratio_p95_to_baseline": ratio(p95, baseline_s),
              "first_round_peak_concurrency": peak, "per_user": per_user}
    write_report("load_test", report, capsys)
    assert peak >= USERS // 2, report
