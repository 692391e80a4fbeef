"""The event log in a database: SQLite in a file by default, PostgreSQL by URL.

Where it lives:

- ``EventStore.open(None)`` reads ``MASKPATROL_DB_URL`` (any SQLAlchemy URL, e.g.
  ``postgresql+psycopg://user:pass@host/db``); without it, :func:`default_db_path`:
  ``$MASKPATROL_DATA_HOME/events.sqlite3``, else ``$XDG_DATA_HOME/maskpatrol/events.sqlite3``,
  else ``~/.local/share/maskpatrol/events.sqlite3``.
- A path (``--db PATH``) opens SQLite in that file, in WAL mode, so the web app reads while a
  watch process writes.

Opening creates or upgrades the schema (``migrate.upgrade``, Alembic).

Writes are synchronous: when :meth:`EventStore.upsert` returns True the event is committed,
so a watch process killed with SIGTERM loses none it had written. When the database is
unreachable (PostgreSQL stopped, the network down, SQLite locked past the busy timeout)
the event is kept in memory, up to ``max_buffer`` people, and written, oldest first, on the
next successful write or :meth:`EventStore.flush`. A person's ``end`` arriving while their
``new`` waits replaces it in place. Past ``max_buffer`` the oldest waiting event is dropped
and logged at ERROR with its id: never silently.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Optional, Sequence

from sqlalchemy import (Column, DateTime, Engine, Float, Index, Integer, LargeBinary, MetaData, String, Table,
                        create_engine, delete, event, func, select)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator

from . import migrate
from .location import URL_ENV_VAR, resolve_url
from .model import Event, utc

log = logging.getLogger(__name__)

#: People kept in memory while the database is unreachable (a few MB without thumbnails).
MAX_BUFFER = 10_000
#: Retention default of ``--keep-days``.
KEEP_DAYS = 30
#: SQLite waits this long for another process's write lock before the write is buffered.
SQLITE_BUSY_TIMEOUT_MS = 5_000
#: PostgreSQL: how long to try to connect before the write is buffered.
CONNECT_TIMEOUT_S = 5
#: After a failed write, later writes only wait in memory for this long before trying again,
#: so a host that drops packets does not cost every event a connect timeout.
RETRY_INTERVAL_S = 1.0
UNITS = ("hour", "day")


class EventStoreError(RuntimeError):
    """The event database cannot be opened; the message says which one and what to check."""


def reading_failure(exc: BaseException) -> str | None:
    """What a reader of the log (the History page, the API) tells a person when opening or
    reading it failed; None for any other failure, which is a bug and is raised on."""
    if isinstance(exc, EventStoreError):
        return f"The event log cannot be opened: {exc}."
    if isinstance(exc, sa_exc.DBAPIError):
        detail = " ".join(str(exc.orig).split())
        return f"The event log cannot be read just now: {detail}. Try again in a moment."
    return None


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, whatever the database keeps (SQLite: text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else utc(value)

    def process_result_value(self, value, dialect):
        return None if value is None else utc(value)


metadata = MetaData()

#: Must match ``migrations/versions`` (``tests/events/test_store.py`` compares them).
events = Table(
    "events", metadata,
    Column("id", String(32), primary_key=True),
    Column("camera", String(200), nullable=False),
    Column("person", Integer, nullable=False),
    Column("label", String(20), nullable=False),
    Column("p_no_mask", Float, nullable=False),
    Column("p_incorrect", Float, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("state", String(8), nullable=False),
    Column("thumbnail", LargeBinary, nullable=True),
    Index("ix_events_first_seen", "first_seen"),
    Index("ix_events_camera_first_seen", "camera", "first_seen"),
    Index("ix_events_last_seen", "last_seen"),
)


@dataclass(frozen=True)
class BucketCount:
    """Events of one camera that began in one hour or day (``start``, UTC)."""

    start: datetime
    camera: str
    count: int


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable at each checkpoint; safe in WAL mode
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Deleted faces are overwritten, not left in free pages (retention, privacy).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def _unreachable(error: BaseException) -> bool:
    """A failure of the database being there, not of the data: worth buffering and retrying."""
    if isinstance(error, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return True
    return isinstance(error, sa_exc.DBAPIError) and bool(error.connection_invalidated)


def _row(event_: Event) -> dict:
    return {"id": event_.id, "camera": event_.camera, "person": event_.person, "label": event_.label,
            "p_no_mask": event_.p_no_mask, "p_incorrect": event_.p_incorrect, "first_seen": event_.first_seen,
            "last_seen": event_.last_seen, "state": event_.state, "thumbnail": event_.thumbnail}


def _merge(old: Event, new: Event) -> Event:
    """What the row holds after ``old`` then ``new`` for the same person."""
    if new.thumbnail is None and old.thumbnail is not None:
        new = replace(new, thumbnail=old.thumbnail)
    return new


class EventStore:
    """One event log; safe to share between threads of one process."""

    def __init__(self, engine: Engine, max_buffer: int = MAX_BUFFER,
                 retry_interval_s: float = RETRY_INTERVAL_S) -> None:
        self.engine = engine
        self.max_buffer = max_buffer
        self.retry_interval_s = retry_interval_s
        self._next_try = 0.0
        self._pending: OrderedDict[str, Event] = OrderedDict()
        self._lock = threading.RLock()
        self._outage = False
        #: Events dropped because the buffer was full (each logged at ERROR).
        self.dropped = 0
        if engine.dialect.name == "sqlite":
            self._upsert_stmt = self._upsert_for(sqlite_insert)
        elif engine.dialect.name == "postgresql":
            self._upsert_stmt = self._upsert_for(pg_insert)
        else:
            raise EventStoreError(f"the event log supports SQLite and PostgreSQL, not {engine.dialect.name}")

    @staticmethod
    def _upsert_for(insert):
        stmt = insert(events)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(index_elements=[events.c.id], set_={
            "camera": excluded.camera, "person": excluded.person, "label": excluded.label,
            "p_no_mask": excluded.p_no_mask, "p_incorrect": excluded.p_incorrect,
            "last_seen": excluded.last_seen, "state": excluded.state,
            # An end without a face keeps the face the new event had.
            "thumbnail": func.coalesce(excluded.thumbnail, events.c.thumbnail),
        })

    @classmethod
    def open(cls, url_or_path: str | os.PathLike | None = None, max_buffer: int = MAX_BUFFER) -> "EventStore":
        """Open (creating or migrating) the log at a SQLAlchemy URL or a SQLite file path;
        None: ``MASKPATROL_DB_URL``, else :func:`default_db_path`."""
        url = resolve_url(url_or_path)
        shown = make_url(url).render_as_string(hide_password=True)
        kwargs: dict = {"pool_pre_ping": True}
        if url.startswith("postgresql"):
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
        try:
            engine = create_engine(url, **kwargs)
        except (sa_exc.ArgumentError, ImportError) as e:
            raise EventStoreError(f"cannot use the event database {shown}: {e}") from e
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            migrate.upgrade(engine)
        except sa_exc.DBAPIError as e:
            engine.dispose()
            detail = " ".join(str(e.orig).split())
            raise EventStoreError(
                f"cannot open the event database {shown}: {detail} (check that it is running and reachable; "
                f"it is chosen by --db PATH or {URL_ENV_VAR})") from e
        return cls(engine, max_buffer)

    # -- writing ---------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Events waiting in memory for the database."""
        return len(self._pending)

    def upsert(self, event_: Event) -> bool:
        """Write ``event_`` (a ``new``, or the ``end`` that updates the same id), after any
        waiting ones. True when everything is written; False when it waits in memory (the
        database failed, or failed less than ``retry_interval_s`` ago)."""
        with self._lock:
            if event_.id in self._pending:
                self._pending[event_.id] = _merge(self._pending[event_.id], event_)
            else:
                self._pending[event_.id] = event_
                while len(self._pending) > self.max_buffer:
                    lost_id, lost = self._pending.popitem(last=False)
                    self.dropped += 1
                    log.error("event buffer full (%d people waiting for the database): dropped event %s "
                              "(camera %s, person %d, first seen %s)", self.max_buffer, lost_id, lost.camera,
                              lost.person, lost.first_seen.isoformat())
            if self._outage and time.monotonic() < self._next_try:
                return False
            return self.flush()

    def flush(self) -> bool:
        """Write the waiting events, oldest first. True when none is left waiting.

        An error that is not the database being away (a bad value) drops the event that
        caused it, logged, and is raised."""
        with self._lock:
            while self._pending:
                batch = list(self._pending.values())[:500]
                done = 0
                try:
                    with self.engine.begin() as conn:
                        for ev in batch:
                            conn.execute(self._upsert_stmt, _row(ev))
                            done += 1
                except sa_exc.DBAPIError as e:
                    if _unreachable(e):
                        if not self._outage:
                            log.warning("event database unreachable; keeping events in memory (%d waiting): %s",
                                        len(self._pending), e.orig)
                        self._outage = True
                        self._next_try = time.monotonic() + self.retry_interval_s
                        return False
                    bad = batch[done]
                    del self._pending[bad.id]
                    log.error("event %s could not be written and is dropped: %s", bad.id, e)
                    raise
                for ev in batch:
                    # An end that arrived during the write replaced the entry: keep that one.
                    if self._pending.get(ev.id) is ev:
                        del self._pending[ev.id]
                if self._outage:
                    log.warning("event database back; events written")
                    self._outage = False
            return True

    def delete_older_than(self, days: float = KEEP_DAYS, now: datetime | None = None) -> int:
        """Delete the events (and their thumbnails) last seen more than ``days`` ago; how many."""
        cutoff = utc(now or datetime.now(timezone.utc)) - timedelta(days=days)
        with self.engine.begin() as conn:
            return conn.execute(delete(events).where(events.c.last_seen < cutoff)).rowcount

    def close(self) -> None:
        """Write what waits (as far as the database lets), then release the connections."""
        with self._lock:
            try:
                if not self.flush():
                    log.error("closing the event log with %d events not written (database unreachable): %s",
                              len(self._pending), ", ".join(self._pending))
            finally:
                if self.engine.dialect.name == "sqlite":
                    try:
                        with self.engine.connect() as conn:
                            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                    except sa_exc.DBAPIError:  # another process holds it; it checkpoints later
                        pass
                self.engine.dispose()

    def __enter__(self) -> "EventStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    @staticmethod
    def _where(stmt, since, until, camera, label):
        if since is not None:
            stmt = stmt.where(events.c.first_seen >= utc(since))
        if until is not None:
            stmt = stmt.where(events.c.first_seen < utc(until))
        if camera is not None:
            cameras = [camera] if isinstance(camera, str) else list(camera)
            stmt = stmt.where(events.c.camera.in_(cameras))
        if label is not None:
            labels = [label] if isinstance(label, str) else list(label)
            stmt = stmt.where(events.c.label.in_(labels))
        return stmt

    def query(self, since: datetime | None = None, until: datetime | None = None, camera: str | Sequence[str] | None = None,
              label: str | Sequence[str] | None = None, limit: int = 100, offset: int = 0,
              thumbnails: bool = True) -> list[Event]:
        """Events that began in ``[since, until)``, newest first, a page of ``limit`` from
        ``offset``; optionally one or several cameras and labels. ``thumbnails=False``
        leaves the JPEG bytes out (lists)."""
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must not be negative")
        cols = [c for c in events.c if thumbnails or c.name != "thumbnail"]
        stmt = self._where(select(*cols), since, until, camera, label)
        stmt = stmt.order_by(events.c.first_seen.desc(), events.c.id.desc()).limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [Event(**{"thumbnail": None, **row._mapping}) for row in conn.execute(stmt)]

    def total(self, since: datetime | None = None, until: datetime | None = None, camera: str | Sequence[str] | None = None,
              label: str | Sequence[str] | None = None) -> int:
        """How many events :meth:`query` would page through."""
        stmt = self._where(select(func.count()).select_from(events), since, until, camera, label)
        with self.engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())

    def get(self, event_id: str) -> Optional[Event]:
        with self.engine.connect() as conn:
            row = conn.execute(select(events).where(events.c.id == event_id)).first()
        return None if row is None else Event(**row._mapping)

    def counts(self, unit: str = "hour", since: datetime | None = None, until: datetime | None = None,
               camera: str | Sequence[str] | None = None, label: str | Sequence[str] | None = None) -> list[BucketCount]:
        """Events per camera per UTC hour or day (by first seen), oldest bucket first; only
        buckets that have events."""
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, not {unit!r}")
        if self.engine.dialect.name == "postgresql":
            bucket = func.date_trunc(unit, func.timezone("UTC", events.c.first_seen))
        else:  # SQLite keeps UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'
            bucket = func.strftime("%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00",
                                   events.c.first_seen)
        bucket = bucket.label("bucket")
        stmt = self._where(select(bucket, events.c.camera, func.count().label("n")), since, until, camera, label)
        stmt = stmt.group_by(bucket, events.c.camera).order_by(bucket, events.c.camera)
        out = []
        with self.engine.connect() as conn:
            for start, cam, n in conn.execute(stmt):
                if isinstance(start, str):
                    start = datetime.fromisoformat(start)
                out.append(BucketCount(utc(start), cam, int(n)))
        return out
