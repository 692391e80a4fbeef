"""Sidebar settings a person tuned stay put for the session, across a visit to another
page (AppTest on the whole app)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from support.paths import ROOT

TIMEOUT = 120


def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_settings_survive_a_visit_to_another_page():
    at = app()
    at.switch_page("pages/photos.py").run()
    at.slider(key="photos_threshold").set_value(0.150).run()
    at.slider(key="photos_min_face").set_value(55).run()
    at.switch_page("pages/home.py").run()
    assert not at.exception and at.title[0].value.endswith("Mask Patrol")
    at.switch_page("pages/photos.py").run()
    assert at.slider(key="photos_threshold").value == 0.150
    assert at.slider(key="photos_min_face").value == 55


def test_each_page_keeps_its_own_settings():
    """The webcam starts from larger faces than the Photos page; tuning one leaves the other."""
    at = app()
    at.switch_page("pages/photos.py").run()
    at.slider(key="photos_min_face").set_value(30).run()
    at.switch_page("pages/webcam.py").run()
    assert at.slider(key="webcam_min_face").value == 80
