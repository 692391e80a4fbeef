"""The History page in headless Chromium against a real ``streamlit run app.py``, reading a
SQLite event log as ``python -m maskpatrol watch`` leaves it.

The server listens on loopback only, so the page is listed without a token (the token gate
and the other rules are in ``tests/app/test_history_page_app.py``). The visitor opens it from
the sidebar, sees the totals, the chart and the table with the kept (blurred) faces in their
own time zone, downloads the CSV, and the page is saved as ``tests/artifacts/history_page.png``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from support.browser import download_csv
from support.server import server_errors, streamlit_server
from maskpatrol.events.model import RECORD_FIELDS, Event, thumbnail_jpeg
from maskpatrol.events.store import EventStore

pytestmark = pytest.mark.browser

VISITOR_ZONE = "Europe/Berlin"
#: (camera, hours ago, label): a day at three entrances.
EVENTS = [("front-door", h, "no_mask") for h in (1, 1, 2, 3, 5, 5, 5, 8, 9, 12, 15, 20)] + \
         [("side-gate", h, "incorrect") for h in (2, 4, 4, 9, 14)] + \
         [("side-gate", h, "no_mask") for h in (6, 11, 21)] + \
         [("lobby", h, "no_mask") for h in (3, 7, 7, 7, 13, 18)]


def seed(path, face_rgb) -> list[Event]:
    now = datetime.now(timezone.utc)
    made = []
    for i, (camera, hours_ago, label) in enumerate(EVENTS):
        first = now - timedelta(hours=hours_ago, minutes=7 * i % 50)
        face = thumbnail_jpeg(face_rgb) if i % 5 == 0 else None  # blurred, as --keep-faces keeps them
        event = Event.new(camera, i % 9 + 1, label, 0.93 - i % 7 * 0.04 if label == "no_mask" else 0.18,
                          0.04 if label == "no_mask" else 0.71 + i % 3 * 0.05, first, thumbnail=face)
        made.append(event.ended(first + timedelta(seconds=4 + i * 3)))
    with EventStore.open(path) as store:
        for event in made:
            assert store.upsert(event)
    return sorted(made, key=lambda e: (e.first_seen, e.id), reverse=True)


def test_the_history_page_shows_the_log_and_its_csv(browser, tmp_path, artifacts, astronaut_rgb):
    log = tmp_path / "events.sqlite3"
    made = seed(log, astronaut_rgb[30:230, 150:330])
    with streamlit_server(tmp_path, extra_env={"MASKPATROL_DB_URL": f"sqlite:///{log}"}) as srv:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True,
                                      timezone_id=VISITOR_ZONE)
        page = context.new_page()
        try:
            page.goto(srv.url, wait_until="domcontentloaded", timeout=60_000)
            page.get_by_test_id("stSidebarNav").get_by_text("History", exact=True).click(timeout=60_000)
            page.locator("h1").filter(has_text="History").wait_for(timeout=60_000)
            table = page.locator("table.mp-table")
            table.wait_for(timeout=60_000)
            page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg') \
                .first.wait_for(timeout=60_000)
            page.wait_for_timeout(1000)  # let the chart finish drawing before the picture

            events_metric = page.get_by_test_id("stMetric").filter(has_text="Events").first
            assert events_metric.get_by_test_id("stMetricValue").inner_text().strip() == str(len(made))
            times = table.locator('td[data-column="Time"]').all_inner_texts()
            zone = ZoneInfo(VISITOR_ZONE)
            assert times == [e.first_seen.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") for e in made]
            faces = table.locator('td[data-column="Face"] img')
            assert faces.count() == sum(e.thumbnail is not None for e in made)
            # The faces really decode in the browser.
            assert all(w > 0 for w in faces.evaluate_all("imgs => imgs.map(i => i.naturalWidth)"))
            assert page.get_by_text(f"Times in {VISITOR_ZONE}", exact=False).count() >= 1

            # Streamlit scrolls inside its main area, so a full-page shot would stop at the
            # window: a window as tall as the page shows it all.
            height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
            page.set_viewport_size({"width": 1400, "height": max(1000, int(height) + 40)})
            page.wait_for_timeout(1000)
            page.screenshot(path=str(artifacts / "history_page.png"))

            name, rows = download_csv(page, "Download CSV")
            assert name.startswith("mask_patrol_events_") and name.endswith(".csv")
            assert tuple(rows[0]) == RECORD_FIELDS
            assert [r["id"] for r in rows] == [e.id for e in made]

            # One camera, as a visitor picks it: the totals and the table follow.
            page.get_by_test_id("stMultiSelect").click()
            page.get_by_role("option", name="lobby").click()
            page.keyboard.press("Escape")
            lobby = sum(e.camera == "lobby" for e in made)
            events_metric.get_by_test_id("stMetricValue").filter(has_text=str(lobby)).wait_for(timeout=60_000)
            page.wait_for_function("n => document.querySelectorAll('td[data-column=\"Camera\"]').length === n "
                                   "&& !document.querySelector('[data-stale=\"true\"]')", arg=lobby, timeout=60_000)
            assert set(table.locator('td[data-column="Camera"]').all_inner_texts()) == {"lobby"}
        finally:
            context.close()
        assert server_errors(srv.log) == []
