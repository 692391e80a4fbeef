"""Every page has its own address that works as a bookmark or a shared link.

People who screen an entrance keep the webcam page open from a bookmark, and links to the
Photos page get passed around; each such address, opened in a fresh browser session, must
show that page straight away (no "Page not found" notice, no detour via Home). An address
that matches no page lands on Home with Streamlit's own notice.
"""

from __future__ import annotations

import pytest

from support.server import streamlit_server

pytestmark = pytest.mark.browser

#: URL path -> the page's title, as app.py's st.Page entries derive them from the file names.
PAGES = {"": "Mask Patrol", "photos": "Photos", "webcam": "Live webcam", "video": "Video", "model": "Model"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with streamlit_server(tmp_path_factory.mktemp("streamlit")) as srv:
        yield srv.url


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_opens_from_its_own_address(path, server, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    try:
        page.goto(f"{server}/{path}", wait_until="domcontentloaded", timeout=60_000)
        page.locator("h1").filter(has_text=PAGES[path]).wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # a "Page not found" notice would have appeared by now
        assert page.get_by_text("Page not found").count() == 0
        assert page.url.rstrip("/") == f"{server}/{path}".rstrip("/")
        # The sidebar marks the page being shown.
        active = page.get_by_test_id("stSidebarNav").locator('a[aria-current="page"]')
        assert active.inner_text().strip().endswith(PAGES[path] if path else "Home")
    finally:
        page.close()


def test_an_unknown_address_lands_on_home_with_a_notice(server, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    try:
        page.goto(f"{server}/no-such-page", wait_until="domcontentloaded", timeout=60_000)
        page.get_by_text("Page not found").wait_for(timeout=60_000)
        page.locator("h1").filter(has_text="Mask Patrol").wait_for(timeout=60_000)
    finally:
        page.close()


def test_a_bookmark_is_the_first_visit_to_a_fresh_server(browser, tmp_path):
    """After a restart (a dyno's daily one), the first visitor may come from a bookmark to
    /webcam. Streamlit's legacy mode would then run that page alone, with the pages/ folder's
    file names as the menu; the app's own menu and titles must show instead."""
    with streamlit_server(tmp_path) as srv:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        try:
            page.goto(f"{srv.url}/webcam", wait_until="domcontentloaded", timeout=60_000)
            page.locator("h1").filter(has_text="Live webcam").wait_for(timeout=60_000)
            nav = page.get_by_test_id("stSidebarNav")
            nav.get_by_text("Photos", exact=True).wait_for(timeout=30_000)
            # The legacy menu lists the entry file as "app" and each page by its file name.
            assert nav.get_by_text("app", exact=True).count() == 0, nav.inner_text()
            assert nav.get_by_text("Home", exact=True).count() == 1, nav.inner_text()
            assert nav.locator('a[aria-current="page"]').inner_text().strip().endswith("Live webcam")
        finally:
            page.close()
