"""History page: the event log ``python -m maskpatrol watch`` writes, with filters, a chart of
events over time per camera, the event table and a CSV download.

Layout only: who may see it, the queries, rows and CSV come from ``maskpatrol.history``.
``app.py`` lists the page only where that module's rule allows it; the page asks again, so
it never shows the log where it should not.
"""

from datetime import datetime, timedelta, timezone

import streamlit as st

from maskpatrol import history
from maskpatrol.html_table import html_table
from maskpatrol.pipeline import DISPLAY_NAMES

UNLOCKED = "history_unlocked"
PAGE_NUMBER = "history_page_number"
SHOWN_FILTERS = "history_shown_filters"


@st.cache_resource(show_spinner="Opening the event log ...")
def event_store(url: str):
    # One store per log and process, shared by every session (it is thread-safe); a log that
    # cannot be opened raises, and is not cached, so the next visit tries again.
    return history.open_store(url)


def say_error(exc: Exception) -> None:
    message = history.read_error(exc)
    if message is None:
        raise exc
    st.error(message, icon=":material/error:")
    st.stop()


st.title(":material/history: History")
st.caption("People found not properly masked by `python -m maskpatrol watch`: one event per person.")

access = history.access(None, st.get_option("server.address"))
if not access.listed:
    st.info(access.hidden_because, icon=":material/lock:")
    st.stop()

if access.needs_token and not st.session_state.get(UNLOCKED):
    with st.form("history_token", border=False):
        given = st.text_input("API token", type="password",
                              help="The event log is shown to holders of this server's API token "
                                   f"({history.TOKEN}).")
        if st.form_submit_button("Show the log", icon=":material/lock_open:"):
            if access.admits(given):
                st.session_state[UNLOCKED] = True
                st.rerun()
            st.error(history.WRONG_TOKEN, icon=":material/key_off:")
    st.stop()

try:
    store = event_store(access.url)
    log = history.overview(store)
except Exception as exc:  # noqa: BLE001 - read_error decides what is shown and what is raised
    say_error(exc)

if log.total == 0:
    st.info(history.EMPTY_LOG, icon=":material/info:")
    st.stop()

# -- filters -------------------------------------------------------------------------------
zone = history.viewer_zone(st.context.timezone)
now = datetime.now(timezone.utc)
with st.container(horizontal=True, vertical_alignment="bottom"):
    choice = st.segmented_control("Time", history.RANGES, format_func=history.RANGE_NAMES.get,
                                  default=history.LAST_24_HOURS, required=True, key="history_range",
                                  persist_state="session")
    days = ()
    if choice == history.CUSTOM:
        today = now.astimezone(zone).date()
        days = st.date_input("Dates", value=(today - timedelta(days=6), today), max_value=today,
                             key="history_days", width=240) or (today,)
    cameras = st.multiselect("Cameras", log.cameras, placeholder="Every camera", key="history_cameras",
                             width=320)
    labels = st.segmented_control("Label", history.EVENT_LABELS, format_func=DISPLAY_NAMES.get,
                                  selection_mode="multi", default=history.EVENT_LABELS, key="history_labels",
                                  help="Either, when none is chosen.")
since, until = history.time_window(choice, now, zone, days)
# Every camera chosen is the same as none: one query, not one per camera.
filters = history.Filters(since, until, () if set(cameras) == set(log.cameras) else tuple(cameras), tuple(labels))

try:
    n = history.total(store, filters)
    per_label = {label: history.total(store, filters, label) for label in (labels or history.EVENT_LABELS)}
    buckets = history.hourly_counts(store, filters)
except Exception as exc:  # noqa: BLE001
    say_error(exc)

# -- totals and chart ----------------------------------------------------------------------
with st.container(horizontal=True):
    st.metric("Events", f"{n:,}", border=True)
    for label, count in per_label.items():
        st.metric(DISPLAY_NAMES[label], f"{count:,}", border=True)
    st.metric("Cameras", len({b.camera for b in buckets}), border=True)

if n == 0:
    st.info("No events match these filters. Choose a longer time range, or other cameras or labels.",
            icon=":material/filter_alt_off:")
    st.stop()

units, first_unit = history.units_for(since, until)
unit = st.segmented_control("Bars", units, format_func=history.UNIT_NAMES.get, default=first_unit, required=True,
                            key=f"history_unit_{choice}", label_visibility="collapsed")
chart = history.chart_data(buckets, unit, since, until, zone)
st.vega_lite_chart(chart, history.chart_spec(unit, zone))

# -- table ---------------------------------------------------------------------------------
# A new choice of filters starts at page 1.
shown = (choice, tuple(days), filters.cameras, filters.labels)
if st.session_state.get(SHOWN_FILTERS) != shown:
    st.session_state[SHOWN_FILTERS] = shown
    st.session_state[PAGE_NUMBER] = 1
pages = history.page_count(n)
number = 1
if pages > 1:
    number = st.number_input("Page", 1, pages, key=PAGE_NUMBER, width=160)
offset = history.page_offset(number, n)
try:
    page = history.events(store, filters, history.PAGE_SIZE, offset)
except Exception as exc:  # noqa: BLE001
    say_error(exc)
st.caption(f"{history.page_text(offset, len(page), n)}. Times in {history.zone_name(zone)}; "
           "a face is shown where the watcher kept one (`--keep-faces`).")
st.html(html_table(history.table_rows(page, zone), images=(history.FACE,), formats=history.TABLE_FORMATS))

st.download_button("Download CSV", lambda: history.csv_export(store, filters), file_name=history.csv_file_name(filters),
                   mime="text/csv", key="history_csv", icon=":material/download:", on_click="ignore",
                   help="Columns: " + ", ".join(history.RECORD_FIELDS) + ".")
st.caption(history.csv_note(n))
