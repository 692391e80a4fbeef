"""``GET /api/v1/events``: the event log that ``watch`` writes, a page at a time.

An event is one person found not properly masked (:mod:`maskpatrol.events`). The log is the
one this server's environment names (``MASKPATROL_DB_URL``, else the default SQLite file if
a watch process on this machine made it); without one the route answers 404 saying how to
get one. The database work is synchronous (SQLAlchemy); the routes run it on a thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

from starlette.datastructures import QueryParams

from ..events.location import URL_ENV_VAR, configured_url
from .errors import ApiError
from .query import single_values

EVENTS_PARAMS = ("since", "until", "camera", "label", "limit", "offset")
#: The labels an event can have: a person is an event only when not properly masked.
EVENT_LABELS = ("no_mask", "incorrect")
DEFAULT_LIMIT = 100
#: A page holds the faces too (for has_thumbnail): at most a few KB each.
MAX_LIMIT = 500
NO_LOG = (f"No event log on this server: set {URL_ENV_VAR} to the database that "
          "`python -m maskpatrol watch` writes (see docs/watch.md).")


@dataclass(frozen=True)
class EventQuery:
    """One page of the log: events that began in ``[since, until)``, newest first."""

    since: datetime | None = None
    until: datetime | None = None
    camera: str | None = None
    label: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _time(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(422, f"{name} must be an ISO 8601 time such as 2026-12-07T09:00:00Z, got {value!r}.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _whole(name: str, value: str | None, default: int, low: int, high: int | None) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        number = low - 1
    if number < low or (high is not None and number > high):
        span = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ApiError(422, f"{name} must be a whole number {span}, got {value!r}.")
    return number


def events_params(query: QueryParams) -> EventQuery:
    """The page asked for; 422 naming a bad parameter."""
    values = single_values(query, EVENTS_PARAMS)
    since, until = _time("since", values.get("since")), _time("until", values.get("until"))
    if since is not None and until is not None and until <= since:
        raise ApiError(422, "until must be later than since.")
    label = values.get("label")
    if label is not None and label not in EVENT_LABELS:
        raise ApiError(422, f"label must be one of {', '.join(EVENT_LABELS)}, got {label!r}.")
    camera = values.get("camera")
    return EventQuery(since, until, camera if camera else None, label,
                      _whole("limit", values.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT),
                      _whole("offset", values.get("offset"), 0, 0, None))


class EventLog:
    """The configured log, opened on first use and kept for the server's life."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = env
        self._lock = threading.Lock()
        self._store = None

    def _open(self):
        url = configured_url(self._env)
        if url is None:
            raise ApiError(404, NO_LOG)
        from ..events.store import EventStore, EventStoreError, reading_failure

        with self._lock:
            if self._store is None:
                try:
                    self._store = EventStore.open(url)
                except EventStoreError as exc:
                    raise ApiError(503, reading_failure(exc)) from None
        return self._store

    def _read(self, work):
        from sqlalchemy.exc import DBAPIError

        from ..events.store import reading_failure

        store = self._open()
        try:
            return work(store)
        except DBAPIError as exc:
            raise ApiError(503, reading_failure(exc)) from None

    def page(self, q: EventQuery) -> dict[str, Any]:
        """The page as JSON values: the events' records, the total that matches, and where
        the next page starts (None on the last page)."""
        def work(store):
            filters = {"since": q.since, "until": q.until, "camera": q.camera, "label": q.label}
            found = store.query(**filters, limit=q.limit, offset=q.offset)
            return store.total(**filters), found

        total, found = self._read(work)
        after = q.offset + len(found)
        return {"total": total, "offset": q.offset, "limit": q.limit,
                "next_offset": after if after < total else None,
                "events": [event.record() for event in found]}

    def thumbnail(self, event_id: str) -> bytes:
        """The event's face JPEG; 404 when there is no such event or no face was kept."""
        event = self._read(lambda store: store.get(event_id))
        if event is None:
            raise ApiError(404, f"No event {event_id!r} in the log.")
        if event.thumbnail is None:
            raise ApiError(404, f"Event {event_id} has no face: the watcher kept none (it needs --keep-faces).")
        return event.thumbnail

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
