"""The History page driven by Streamlit's AppTest, on a SQLite event log filled here: who sees
it (the API's rule), the totals, the chart's data, the table, the filters, paging, the CSV,
and what it says when the log is empty, missing or unreachable.

The log holds events relative to now (10 in the last 24 hours at two cameras, one with a
face, and two older), so the page's "last 24 hours" holds the same events on every day.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
import streamlit as st
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from support.html_table import read_table
from support.paths import ROOT
from maskpatrol import history
from maskpatrol.api import config as api_config
from maskpatrol.events.location import DATA_HOME_ENV_VAR, URL_ENV_VAR
from maskpatrol.events.model import RECORD_FIELDS, Event, thumbnail_jpeg
from maskpatrol.events.store import EventStore

PAGE = str(ROOT / "pages" / "history.py")
TIMEOUT = 60
TOKEN = "history-test-token-0123456789"
NOW = datetime.now(timezone.utc)
#: The seeded hours: BASE, BASE + 1 h and BASE + 2 h, all well inside the last 24 hours.
BASE = NOW.replace(minute=0, second=0, microsecond=0) - timedelta(hours=8)

#: (camera, hours after BASE, minutes, label, with a face): 10 events in the last 24 hours...
RECENT = [("door", 0, 5, "no_mask", False), ("door", 0, 20, "no_mask", False), ("door", 0, 40, "no_mask", False),
          ("till", 1, 10, "no_mask", False), ("till", 1, 15, "no_mask", True), ("till", 1, 30, "no_mask", False),
          ("till", 1, 50, "no_mask", False), ("door", 2, 0, "incorrect", False), ("door", 2, 30, "incorrect", False),
          ("till", 2, 45, "no_mask", False)]
#: ... one 3 days ago and one 10 days ago.
OLDER = [("door", -72, 0, "no_mask", False), ("till", -240, 0, "incorrect", False)]


def make_event(camera: str, hours: int, minutes: int, label: str, face: bool, person: int) -> Event:
    first = BASE + timedelta(hours=hours, minutes=minutes)
    thumbnail = thumbnail_jpeg(np.full((40, 40, 3), 150, np.uint8)) if face else None
    event = Event.new(camera, person, label, 0.9 if label == "no_mask" else 0.2,
                      0.05 if label == "no_mask" else 0.75, first, thumbnail=thumbnail)
    return event.ended(first + timedelta(seconds=12))


def fill(path, rows) -> list[Event]:
    made = [make_event(*row, person=i + 1) for i, row in enumerate(rows)]
    with EventStore.open(path) as store:
        for event in made:
            assert store.upsert(event)
    return made


@pytest.fixture
def server_env(monkeypatch, tmp_path):
    """No API variable or host of ours leaks in; no default log; listening on loopback (as
    `make run` does), so the page is open unless a test says otherwise."""
    for name in (api_config.ENABLED, api_config.TOKEN, api_config.OPEN, api_config.BEHIND_PROXY, URL_ENV_VAR,
                 *(host.variable for host in api_config.PROXY_HOSTS)):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(DATA_HOME_ENV_VAR, str(tmp_path / "no-data-home"))
    address = st_config.get_option("server.address")
    st_config.set_option("server.address", "127.0.0.1")
    st.cache_resource.clear()
    yield monkeypatch
    st_config.set_option("server.address", address)
    st.cache_resource.clear()


@pytest.fixture
def log_path(server_env, tmp_path):
    path = tmp_path / "events.sqlite3"
    fill(path, RECENT + OLDER)
    server_env.setenv(URL_ENV_VAR, f"sqlite:///{path}")
    return path


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest) -> dict[str, list[str]]:
    [html] = [h.value for h in at.html if "mp-table" in h.value]
    return read_table(html)


def chart_columns(at: AppTest) -> dict[str, list]:
    """The bar chart's data, as the browser gets it (Arrow)."""
    import pyarrow as pa

    [chart] = [e for e in at.main.children.values() if getattr(e, "type", "") == "vega_lite_chart"]
    return pa.ipc.open_stream(chart.proto.data.data).read_all().to_pydict()


def button_group(at: AppTest, key: str):
    [group] = [g for g in at.button_group if g.key == key]
    return group


def store_at(path) -> EventStore:
    return EventStore.open(path)


# -- who sees the page ---------------------------------------------------------------------

def test_the_rule_follows_the_api_settings(tmp_path):
    log = tmp_path / "events.sqlite3"
    EventStore.open(log).close()
    url = {URL_ENV_VAR: f"sqlite:///{log}"}
    no_default = {DATA_HOME_ENV_VAR: str(tmp_path / "nothing")}

    assert not history.access(no_default, "127.0.0.1").listed  # no log: no page
    assert history.access({DATA_HOME_ENV_VAR: str(tmp_path)}, "127.0.0.1").url == f"sqlite:///{log.resolve()}"
    opened = history.access(url, "127.0.0.1")
    assert opened.listed and not opened.needs_token and opened.admits("")
    hidden = history.access(url, "0.0.0.0")  # others can reach it, no token: the API is off, so is the page
    assert not hidden.listed and "MASKPATROL_API_TOKEN" in hidden.hidden_because and not hidden.admits("")
    assert not history.access({**url, "DYNO": "web.1"}, "127.0.0.1").listed  # Heroku's router forwards
    assert history.access({**url, api_config.OPEN: "1"}, "0.0.0.0").listed  # open on purpose
    assert not history.access({**url, api_config.ENABLED: "off"}, "127.0.0.1").listed
    guarded = history.access({**url, api_config.TOKEN: TOKEN, "DYNO": "web.1"}, "0.0.0.0")
    assert guarded.listed and guarded.needs_token and TOKEN not in repr(guarded)
    assert guarded.admits(TOKEN) and guarded.admits(f" {TOKEN}\n") and not guarded.admits(TOKEN[:-1])
    assert not guarded.admits("")
    broken = history.access({**url, api_config.TOKEN: "short"}, "127.0.0.1")  # the server would not start
    assert not broken.listed and "too short" in broken.hidden_because


def test_the_page_is_not_shown_without_a_log(server_env):
    at = run_page()
    assert at.info[0].value.startswith("There is no event log here")
    assert not at.metric and not at.html and not at.text_input


def test_the_page_is_not_shown_where_the_api_is_off(log_path, server_env):
    st_config.set_option("server.address", "0.0.0.0")
    at = run_page()
    assert "HTTP API is off" in at.info[0].value and "MASKPATROL_API_TOKEN" in at.info[0].value
    assert not at.metric and not at.html


def test_a_token_guards_the_log_and_a_right_one_opens_it_for_the_session(log_path, server_env):
    server_env.setenv(api_config.TOKEN, TOKEN)
    at = run_page()
    assert not at.metric and not at.html  # nothing of the log before the token
    [field] = at.text_input
    assert field.label == "API token"
    field.input("not-the-token-0123456789")
    at.button[0].click()
    at.run()
    assert history.WRONG_TOKEN in [e.value for e in at.error]
    assert not at.metric and not at.html

    at.text_input[0].input(TOKEN)
    at.button[0].click()
    at.run()
    assert not at.exception and not at.error
    assert metrics(at)["Events"] == "10" and len(table(at)["Time"]) == 10
    at.run()  # remembered for the session: no token asked again
    assert not at.text_input and metrics(at)["Events"] == "10"


# -- what it shows -------------------------------------------------------------------------

def test_the_last_24_hours_totals_chart_and_table(log_path):
    at = run_page()
    assert metrics(at) == {"Events": "10", "No mask": "8", "Mask below nose": "2", "Cameras": "2"}

    chart = chart_columns(at)
    per_bar = {(t, camera): n for t, camera, n in zip(chart["Time"], chart["Camera"], chart["Events"])}
    assert {(t.astimezone(timezone.utc), c): n for (t, c), n in per_bar.items() if n} == {
        (BASE, "door"): 3, (BASE + timedelta(hours=1), "till"): 4,
        (BASE + timedelta(hours=2), "door"): 2, (BASE + timedelta(hours=2), "till"): 1}
    assert len(chart["Time"]) == 2 * 25  # every hour of the range for each camera, zeros included

    rows = table(at)
    assert len(rows["Time"]) == 10
    newest = BASE + timedelta(hours=2, minutes=45)
    assert rows["Time"][0] == newest.strftime(history.TIME_FORMAT)  # AppTest's browser zone: UTC
    assert rows["Time"] == sorted(rows["Time"], reverse=True)
    assert rows["Camera"][:3] == ["till", "door", "door"] and rows["Person"][0] == "10"
    assert rows["Label"][1] == "Mask below nose" and rows["Label"][0] == "No mask"
    assert rows["p(no mask)"][0] == "90%" and rows["p(mask below nose)"][1] == "75%"
    assert rows["Seen for"][0] == "12 s"
    faces = [f for f in rows["Face"] if f]
    assert len(faces) == 1 and faces[0].startswith("data:image/jpeg;base64,/9j/")
    assert rows["Camera"][rows["Face"].index(faces[0])] == "till"
    assert not at.number_input  # one page only
    assert [d.label for d in at.get("download_button")] == ["Download CSV"]
    assert "all 10 events" in " ".join(c.value for c in at.caption)


def test_time_range_camera_and_label_filters(log_path):
    at = run_page()
    assert button_group(at, "history_unit_24h").value == "hour"
    button_group(at, "history_range").set_value("7d").run()
    assert metrics(at)["Events"] == "11"
    # A week: per day first, per hour on demand.
    assert button_group(at, "history_unit_7d").value == "day" and len(chart_columns(at)["Time"]) == 2 * 8
    button_group(at, "history_unit_7d").set_value("hour").run()
    assert len(chart_columns(at)["Time"]) == 2 * (7 * 24 + 1) and sum(chart_columns(at)["Events"]) == 11
    # Longer than a week: bars per day only.
    button_group(at, "history_range").set_value("30d").run()
    assert metrics(at)["Events"] == "12"
    assert [g for g in at.button_group if g.key == "history_unit_30d"][0].options == ["Per day"]
    assert sum(chart_columns(at)["Events"]) == 12

    at.multiselect(key="history_cameras").select("till").run()
    assert metrics(at)["Events"] == "6" and set(table(at)["Camera"]) == {"till"}
    button_group(at, "history_labels").set_value(["incorrect"]).run()
    assert metrics(at)["Events"] == "1" and table(at)["Label"] == ["Mask below nose"]
    # Both cameras chosen, and none chosen, are every camera.
    at.multiselect(key="history_cameras").select("door").run()
    assert metrics(at)["Events"] == "3" and set(table(at)["Camera"]) == {"door", "till"}
    assert table(at)["Time"] == sorted(table(at)["Time"], reverse=True)
    button_group(at, "history_labels").set_value([]).run()
    assert metrics(at)["Events"] == "12"

    button_group(at, "history_range").set_value("custom").run()
    day = (BASE - timedelta(hours=72)).date()
    at.date_input(key="history_days").set_value((day, day)).run()
    assert metrics(at)["Events"] == "1" and table(at)["Time"][0].startswith(day.isoformat())


def test_a_filter_that_matches_nothing_says_so(log_path):
    at = run_page()
    button_group(at, "history_range").set_value("custom").run()
    at.date_input(key="history_days").set_value((date(2020, 1, 1), date(2020, 1, 2))).run()
    assert metrics(at)["Events"] == "0"
    assert any("No events match" in i.value for i in at.info) and not at.html


def test_the_csv_holds_every_page_of_the_filtered_events(log_path):
    with store_at(log_path) as store:
        since, until = history.time_window("30d", datetime.now(timezone.utc), timezone.utc)
        everything = history.Filters(since, until)
        rows = list(csv.DictReader(io.StringIO(history.csv_export(store, everything).decode())))
        assert tuple(rows[0]) == RECORD_FIELDS
        assert [r["id"] for r in rows] == [e.id for e in store.query(limit=100)]  # newest first
        assert [r["has_thumbnail"] for r in rows].count("True") == 1
        assert rows[0] == {k: str(v) for k, v in store.query(limit=1)[0].record().items()}
        # Read a chunk at a time, and merged newest first when several cameras are chosen.
        both = history.Filters(since, until, ("door", "till"))
        assert [e.id for e in history.iter_events(store, both, chunk=2)] == [r["id"] for r in rows]
        assert [e.id for e in history.events(store, both, 3, 4)] == [r["id"] for r in rows[4:7]]
        assert history.total(store, both) == 12 and history.total(store, both, "incorrect") == 3
        assert sum(b.count for b in history.hourly_counts(store, both)) == 12
        one = history.Filters(since, until, ("door",), ("incorrect",))
        assert [(r["camera"], r["label"]) for r in csv.DictReader(io.StringIO(
            history.csv_export(store, one).decode()))] == [("door", "incorrect")] * 2
        # Bounded: the newest ones, and the page says so.
        capped = list(csv.DictReader(io.StringIO(history.csv_export(store, everything, limit=5).decode())))
        assert [r["id"] for r in capped] == [r["id"] for r in rows[:5]]
    assert "newest 5 of these 12" in history.csv_note(12, limit=5)
    assert history.csv_note(12) == "The CSV holds all 12 events that match the filters, times in UTC."


def test_pages_of_fifty_newest_first_and_a_new_filter_starts_at_page_one(server_env, tmp_path):
    path = tmp_path / "events.sqlite3"
    # 120 events over the 12 hours before BASE + 1 h: 80 at the door, 40 at the till.
    fill(path, [("door" if i % 3 else "till", -(i // 10), i % 10 * 5, "no_mask", False) for i in range(120)])
    server_env.setenv(URL_ENV_VAR, f"sqlite:///{path}")
    at = run_page()
    assert metrics(at)["Events"] == "120" and len(table(at)["Time"]) == 50
    pager = at.number_input(key="history_page_number")
    assert (pager.value, pager.max) == (1, 3)
    first_page = table(at)["Time"]
    pager.set_value(3).run()
    last_page = table(at)["Time"]
    assert len(last_page) == 20 and last_page[0] < first_page[-1]
    assert any("Events 101–120 of 120" in c.value for c in at.caption)
    at.multiselect(key="history_cameras").select("door").run()
    pager = at.number_input(key="history_page_number")
    assert (pager.value, pager.max) == (1, 2) and metrics(at)["Events"] == "80"
    assert len(table(at)["Time"]) == 50 and set(table(at)["Camera"]) == {"door"}


# -- when there is nothing to show ---------------------------------------------------------

def test_an_empty_log_says_what_fills_it(server_env, tmp_path):
    path = tmp_path / "events.sqlite3"
    EventStore.open(path).close()
    server_env.setenv(URL_ENV_VAR, f"sqlite:///{path}")
    at = run_page()
    [note] = [i.value for i in at.info]
    assert "python -m maskpatrol watch" in note and "docs/watch.md" in note
    assert not at.metric and not at.html


def test_a_log_that_cannot_be_opened_is_an_error_in_words(server_env, tmp_path):
    server_env.setenv(URL_ENV_VAR, f"sqlite:///{tmp_path / 'no-such-folder' / 'events.sqlite3'}")
    at = run_page()
    [message] = [e.value for e in at.error]
    assert message.startswith("The event log cannot be opened") and "unable to open database file" in message
    assert not at.metric and not at.html


# -- the viewer's time zone ----------------------------------------------------------------

def test_days_and_times_are_the_viewers(tmp_path):
    from maskpatrol.events.store import BucketCount
    from zoneinfo import ZoneInfo

    berlin = history.viewer_zone("Europe/Berlin")
    assert history.viewer_zone("Not/AZone") == history.viewer_zone(None) == timezone.utc
    since, until = history.time_window("custom", NOW, berlin, (date(2026, 12, 6), date(2026, 12, 7)))
    assert (since, until) == (datetime(2026, 12, 5, 23, tzinfo=timezone.utc),
                              datetime(2026, 12, 7, 23, tzinfo=timezone.utc))
    at = lambda d, h: datetime(2026, 12, d, h, tzinfo=timezone.utc)  # noqa: E731
    buckets = [BucketCount(at(6, 22), "door", 1), BucketCount(at(6, 23), "door", 2), BucketCount(at(7, 0), "till", 4)]
    days = history.chart_data(buckets, history.DAY, since, until, berlin)
    # 22:00 UTC is 23:00 in Berlin, on the 6th; 23:00 UTC is midnight, the 7th.
    assert list(zip(days["Time"], days["Camera"], days["Events"])) == [
        (at(5, 23), "door", 1), (at(5, 23), "till", 0), (at(6, 23), "door", 2), (at(6, 23), "till", 4)]
    hours = history.chart_data(buckets, history.HOUR, at(6, 22), at(7, 1), berlin)
    assert hours["Time"] == [at(6, 22)] * 2 + [at(6, 23)] * 2 + [at(7, 0)] * 2 and sum(hours["Events"]) == 7
    assert history.shown_time(at(6, 23), berlin) == "2026-12-07 00:00:00"
    assert history.shown_time(at(6, 23), ZoneInfo("America/New_York")) == "2026-12-06 18:00:00"
    assert [history.duration_text(s) for s in (0.4, 12, 185, 3600, 7440)] == ["0 s", "12 s", "3 min 5 s", "1 h 0 min",
                                                                              "2 h 4 min"]
