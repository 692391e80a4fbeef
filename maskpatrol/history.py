"""The History page's rules and data, without Streamlit: who may see the event log, the
filters as store queries, the chart's and the table's rows, paging and the CSV.

The page (``pages/history.py``) holds the layout only. The event log is the one
:func:`maskpatrol.events.location.configured_url` names, written by
``python -m maskpatrol watch`` (one event per person found not properly masked).

**Who sees the page** follows the HTTP API's settings (:mod:`maskpatrol.api.config`), so a
server guards its event log and its API alike (:func:`access`):

- no event log configured: no page;
- ``MASKPATROL_API_TOKEN`` set: the page is listed and asks for the token first;
- the API off (other machines can reach the server and there is no token, or
  ``MASKPATROL_API=off``), or API settings that cannot work: no page;
- otherwise (only this machine can reach the server, or ``MASKPATROL_API_OPEN=1``): the
  page, without a token.

The database layer (SQLAlchemy) is imported only when a log is opened, so ``app.py`` can
ask whether to list the page without loading it.
"""

from __future__ import annotations

import csv
import io
import math
import os
from base64 import b64encode
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from itertools import islice
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .api.access import token_matches
from .api.config import TOKEN, ApiConfigError, load_config
from .events.location import URL_ENV_VAR, configured_url
from .events.model import RECORD_FIELDS, Event
from .pipeline import DISPLAY_NAMES, INCORRECT, NO_MASK

if TYPE_CHECKING:  # the store imports SQLAlchemy; only opening a log needs it
    from .events.store import BucketCount, EventStore

#: The labels an event can have: a person is an event only when not properly masked.
EVENT_LABELS = (NO_MASK, INCORRECT)
#: Events per page of the table.
PAGE_SIZE = 50
#: Most events one CSV holds (the newest); about 150 bytes each, so at most ~1.5 MB.
MAX_CSV_ROWS = 10_000
#: Events read from the log at a time while the CSV is written.
CSV_CHUNK = 500
#: Hourly bars are offered up to this span (168 bars); longer spans are shown per day.
MAX_HOURLY_SPAN = timedelta(days=7)

LAST_24_HOURS, LAST_7_DAYS, LAST_30_DAYS, CUSTOM = "24h", "7d", "30d", "custom"
RANGES = (LAST_24_HOURS, LAST_7_DAYS, LAST_30_DAYS, CUSTOM)
RANGE_NAMES = {LAST_24_HOURS: "Last 24 hours", LAST_7_DAYS: "Last 7 days", LAST_30_DAYS: "Last 30 days",
               CUSTOM: "Dates"}
RANGE_SPANS = {LAST_24_HOURS: timedelta(hours=24), LAST_7_DAYS: timedelta(days=7), LAST_30_DAYS: timedelta(days=30)}
HOUR, DAY = "hour", "day"
UNIT_NAMES = {HOUR: "Per hour", DAY: "Per day"}

#: How the table and the chart show a time, in the viewer's zone: unambiguous in every locale.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
#: The chart's and the table's column names.
TIME, CAMERA, EVENTS = "Time", "Camera", "Events"
FACE, P_NO_MASK, P_INCORRECT = "Face", "p(no mask)", "p(mask below nose)"

NO_LOG = (f"There is no event log here: set {URL_ENV_VAR} to the database that "
          "`python -m maskpatrol watch` writes, or run a watch on this machine.")
EMPTY_LOG = ("The event log is empty. It fills while `python -m maskpatrol watch SOURCE...` watches one or "
             "more cameras or videos: one event per person found without a mask or with the mask below the "
             "nose, with their face when it runs with `--keep-faces`. See `docs/watch.md`.")
WRONG_TOKEN = "That is not this server's token. Ask the server's operator for the value of " + TOKEN + "."


# -- who sees the page ---------------------------------------------------------------------

@dataclass(frozen=True)
class Access:
    """Whether the History page is listed, and what it asks for (:func:`access`)."""

    #: The event log to open; None when there is none.
    url: str | None
    #: The token the page asks for; None when it is shown without one. (Not in ``repr``:
    #: an Access in a log or a traceback does not give it away.)
    token: str | None = field(default=None, repr=False)
    #: Why the page is not listed, in words (None while it is).
    hidden_because: str | None = None

    @property
    def listed(self) -> bool:
        return self.hidden_because is None

    @property
    def needs_token(self) -> bool:
        return self.listed and self.token is not None

    def admits(self, given: str) -> bool:
        """Whether ``given`` opens the page (compared in constant time)."""
        return self.listed and (self.token is None or token_matches(given, self.token))


def access(env: Mapping[str, str] | None, bind_address: str | None) -> Access:
    """Who may see the event log, from the variables in ``env`` (None: this process's) and
    the address Streamlit listens on (``server.address``); the rules are in this module's
    docstring."""
    env = os.environ if env is None else env
    url = configured_url(env)
    if url is None:
        return Access(None, hidden_because=NO_LOG)
    try:
        config = load_config(env, bind_address)
    except ApiConfigError as exc:
        return Access(url, hidden_because=f"The event log is not shown: the API settings cannot work ({exc}).")
    if config.token is not None:
        return Access(url, token=config.token)
    if not config.enabled:
        return Access(url, hidden_because=f"{config.off_message} The event log is kept from visitors "
                                          f"likewise; set {TOKEN} to show it to holders of the token.")
    return Access(url)


# -- filters -------------------------------------------------------------------------------

def viewer_zone(name: str | None) -> tzinfo:
    """The browser's time zone (``st.context.timezone``, an IANA name); UTC when unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return timezone.utc


def zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or "UTC"


def time_window(choice: str, now: datetime, zone: tzinfo,
                days: Sequence[date] = ()) -> tuple[datetime, datetime]:
    """``[since, until)`` in UTC: the last 24 hours, 7 or 30 days up to ``now``, or the whole
    days ``days`` (first and last, or one) in the viewer's ``zone``."""
    now = now.astimezone(timezone.utc)
    if choice in RANGE_SPANS:
        return now - RANGE_SPANS[choice], now
    if choice != CUSTOM:
        raise ValueError(f"time range must be one of {RANGES}, not {choice!r}")
    if not days:
        raise ValueError("a custom time range needs at least one day")
    first, last = min(days), max(days)
    return _midnight(first, zone), _midnight(last + timedelta(days=1), zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(timezone.utc)


@dataclass(frozen=True)
class Filters:
    """Events that began in ``[since, until)``, at ``cameras`` (empty: every camera) with
    ``labels`` (empty: either)."""

    since: datetime
    until: datetime
    cameras: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    @property
    def label_arg(self) -> list[str] | None:
        """The store's ``label`` argument: None for every label."""
        return list(self.labels) if self.labels else None

    @property
    def camera_arg(self) -> list[str] | None:
        """The store's ``camera`` argument: None for every camera."""
        return list(self.cameras) if self.cameras else None


def units_for(since: datetime, until: datetime) -> tuple[tuple[str, ...], str]:
    """The bar widths that suit a span, and the one shown first: hours up to
    :data:`MAX_HOURLY_SPAN` (first up to two days), days always."""
    span = until - since
    return ((HOUR, DAY) if span <= MAX_HOURLY_SPAN else (DAY,)), (HOUR if span <= timedelta(days=2) else DAY)


# -- reading the log -----------------------------------------------------------------------

def open_store(url: str) -> "EventStore":
    """The log at ``url``; :class:`~maskpatrol.events.store.EventStoreError` says why not."""
    from .events.store import EventStore

    return EventStore.open(url)


def read_error(exc: BaseException) -> str | None:
    """What to tell the viewer when reading the log failed; None for a failure that is a bug
    (it is raised on)."""
    from .events.store import reading_failure

    return reading_failure(exc)


@dataclass(frozen=True)
class Overview:
    """The whole log at a glance: how many events, at which cameras (for the filter)."""

    total: int
    cameras: tuple[str, ...]


def overview(store: "EventStore") -> Overview:
    """One query over the whole log: its size and its cameras, by name."""
    buckets = store.counts(DAY)
    return Overview(sum(b.count for b in buckets), tuple(sorted({b.camera for b in buckets})))


def total(store: "EventStore", f: Filters, label: str | None = None) -> int:
    """How many events match ``f`` (only ``label``'s, when given)."""
    labels = [label] if label is not None else f.label_arg
    return store.total(f.since, f.until, f.camera_arg, labels)


def hourly_counts(store: "EventStore", f: Filters) -> list["BucketCount"]:
    """Events per camera per UTC hour that match ``f``."""
    return store.counts(HOUR, f.since, f.until, f.camera_arg, f.label_arg)


def events(store: "EventStore", f: Filters, limit: int, offset: int = 0, thumbnails: bool = True) -> list[Event]:
    """Events that match ``f``, newest first, ``limit`` from ``offset``."""
    return store.query(f.since, f.until, f.camera_arg, f.label_arg, limit, offset, thumbnails)


# -- the chart -----------------------------------------------------------------------------

def _bucket_start(t: datetime, unit: str, zone: tzinfo) -> datetime:
    """The start (UTC) of the hour, or of the viewer's day, that ``t`` falls in."""
    if unit == HOUR:
        return t.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    return _midnight(t.astimezone(zone).date(), zone)


def _bucket_starts(since: datetime, until: datetime, unit: str, zone: tzinfo) -> list[datetime]:
    if unit == HOUR:
        start, starts = _bucket_start(since, HOUR, zone), []
        while start < until:
            starts.append(start)
            start += timedelta(hours=1)
        return starts
    first, last = since.astimezone(zone).date(), (until - timedelta(microseconds=1)).astimezone(zone).date()
    return [_midnight(first + timedelta(days=i), zone) for i in range((last - first).days + 1)]


def chart_data(buckets: Iterable["BucketCount"], unit: str, since: datetime, until: datetime,
               zone: tzinfo) -> dict[str, list]:
    """The chart's columns, one row per bar and camera: ``Time`` (the bar's start, an aware
    UTC datetime the browser shows in its own zone), ``Camera``, ``Events``.

    ``buckets`` are the store's hourly counts; days are the viewer's (``zone``), so a bar
    per day counts from the viewer's midnight. Every hour or day from ``since`` to ``until``
    has a row per camera, zeros included, so the axis spans the whole range asked for.
    Zones that are not a whole number of hours from UTC place an hour's events in the day
    the hour began."""
    if unit not in UNIT_NAMES:
        raise ValueError(f"unit must be one of {tuple(UNIT_NAMES)}, not {unit!r}")
    counts: dict[tuple[datetime, str], int] = {}
    for b in buckets:
        key = (_bucket_start(b.start, unit, zone), b.camera)
        counts[key] = counts.get(key, 0) + b.count
    cameras = sorted({camera for _, camera in counts})
    columns: dict[str, list] = {TIME: [], CAMERA: [], EVENTS: []}
    for start in _bucket_starts(since, until, unit, zone):
        for camera in cameras:
            columns[TIME].append(start)
            columns[CAMERA].append(camera)
            columns[EVENTS].append(counts.get((start, camera), 0))
    return columns


#: Cameras' colours: no red or green, which the other pages keep for "No mask" and "Mask".
CAMERA_COLOURS = ["#1f6fb4", "#8c6bb1", "#17a2b8", "#8c564b", "#7f7f7f", "#6baed6", "#bcbd22", "#e377c2",
                  "#3f4a8a", "#9edae5"]


def chart_spec(unit: str, zone: tzinfo) -> dict[str, Any]:
    """The Vega-Lite chart of :func:`chart_data`: a bar per hour or day, as wide as it is
    long, stacked by camera, the times in the browser's zone (``zone`` names it)."""
    time_unit, axis, tip = (("yearmonthdatehours", "%a %H:%M", "%a %d %b %H:%M") if unit == HOUR else
                            ("yearmonthdate", "%a %d %b", "%a %d %b %Y"))
    return {
        "mark": {"type": "bar"},
        "height": 260,
        "encoding": {
            "x": {"field": TIME, "type": "temporal", "timeUnit": time_unit,
                  "title": f"Events began ({zone_name(zone)})", "axis": {"grid": False, "format": axis}},
            "y": {"field": EVENTS, "type": "quantitative", "stack": "zero", "title": "Events",
                  "axis": {"tickMinStep": 1}},
            "color": {"field": CAMERA, "type": "nominal", "scale": {"range": CAMERA_COLOURS},
                      "legend": {"orient": "bottom", "title": "Camera"}},
            "tooltip": [{"field": TIME, "type": "temporal", "timeUnit": time_unit, "format": tip,
                         "title": "From"},
                        {"field": CAMERA, "type": "nominal"}, {"field": EVENTS, "type": "quantitative"}],
        },
    }


# -- the table -----------------------------------------------------------------------------

def shown_time(t: datetime, zone: tzinfo) -> str:
    return t.astimezone(zone).strftime(TIME_FORMAT)


def duration_text(seconds: float) -> str:
    """``12 s``, ``3 min 5 s``, ``2 h 4 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s" if s % 60 else f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"


def jpeg_data_url(jpeg: bytes) -> str:
    """A data URL the page's table shows inline (nothing is stored on a server)."""
    return "data:image/jpeg;base64," + b64encode(jpeg).decode("ascii")


def table_rows(page: Sequence[Event], zone: tzinfo) -> list[dict[str, Any]]:
    """The event table: time (first seen, viewer's zone), camera, person number, face (when
    any event shown kept one), label in words, probabilities, how long the person was seen."""
    faces = any(e.thumbnail is not None for e in page)
    rows = []
    for e in page:
        row: dict[str, Any] = {TIME: shown_time(e.first_seen, zone), CAMERA: e.camera, "Person": e.person}
        if faces:
            row[FACE] = jpeg_data_url(e.thumbnail) if e.thumbnail is not None else None
        row["Label"] = DISPLAY_NAMES.get(e.label, e.label)
        row[P_NO_MASK] = e.p_no_mask
        row[P_INCORRECT] = e.p_incorrect
        row["Seen for"] = duration_text((e.last_seen - e.first_seen).total_seconds())
        rows.append(row)
    return rows


#: The table's number formats (``html_table``'s ``formats``).
TABLE_FORMATS = {P_NO_MASK: ".0%", P_INCORRECT: ".0%"}


def page_count(n: int, size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(n / size))


def page_offset(number: int, n: int, size: int = PAGE_SIZE) -> int:
    """Where page ``number`` (from 1, clamped to the pages there are) starts."""
    return (min(max(1, number), page_count(n, size)) - 1) * size


def page_text(offset: int, shown: int, n: int) -> str:
    """``Events 51-100 of 123, newest first``."""
    if n == 0:
        return "No events"
    return f"Events {offset + 1}–{offset + shown} of {n:,}, newest first"


# -- the CSV -------------------------------------------------------------------------------

def csv_bytes(found: Iterable[Event]) -> bytes:
    """The events as CSV: the columns are :data:`~maskpatrol.events.model.RECORD_FIELDS`
    (times in ISO 8601 UTC), as the API lists them."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=RECORD_FIELDS, lineterminator="\n")
    writer.writeheader()
    for event in found:
        writer.writerow(event.record())
    return out.getvalue().encode("utf-8")


def iter_events(store: "EventStore", f: Filters, chunk: int = CSV_CHUNK) -> Iterator[Event]:
    """Every event that matches ``f``, newest first, read ``chunk`` at a time. With their faces:
    the store tells whether an event has one only with the bytes, and a chunk's faces (a few
    KB each) are let go before the next is read."""
    offset = 0
    while True:
        found = events(store, f, chunk, offset)
        yield from found
        if len(found) < chunk:
            return
        offset += chunk


def csv_export(store: "EventStore", f: Filters, limit: int = MAX_CSV_ROWS) -> bytes:
    """Every event that matches ``f`` (all pages), the newest ``limit``, as :func:`csv_bytes`."""
    return csv_bytes(islice(iter_events(store, f), limit))


def csv_note(n: int, limit: int = MAX_CSV_ROWS) -> str:
    """What the download holds."""
    if n > limit:
        return (f"The CSV holds the newest {limit:,} of these {n:,} events; choose a shorter time range "
                "for the rest.")
    return f"The CSV holds all {n:,} event{'s' if n != 1 else ''} that match the filters, times in UTC."


def csv_file_name(f: Filters) -> str:
    return f"mask_patrol_events_{f.since:%Y%m%dT%H%M}Z-{f.until:%Y%m%dT%H%M}Z.csv"
