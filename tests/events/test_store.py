"""The event log: the same claims on SQLite and PostgreSQL (``db_url`` runs each twice),
then what only SQLite shows (WAL, a killed writer, the default path, the memory buffer)
and the face thumbnails."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import create_engine, inspect

from maskpatrol.events import migrate
from maskpatrol.events.location import default_db_path, resolve_url
from maskpatrol.events.model import END, NEW, RECORD_FIELDS, Event, blur_face, thumbnail_jpeg
from maskpatrol.events.store import EventStore, metadata

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def event(camera="door", person=1, label="no_mask", at=T0, thumbnail=None) -> Event:
    return Event.new(camera, person, label, 0.9, 0.05, at, at + timedelta(seconds=2), thumbnail)


@pytest.fixture
def store(db_url):
    s = EventStore.open(db_url)
    yield s
    s.close()


def test_a_new_database_is_created_at_head_and_reopening_it_changes_nothing(db_url):
    with EventStore.open(db_url) as s:
        s.upsert(event())
        assert migrate.current(s.engine) == migrate.head()
    with EventStore.open(db_url) as s:
        assert migrate.current(s.engine) == migrate.head()
        assert s.total() == 1
    engine = create_engine(db_url)
    names = {ix["name"] for ix in inspect(engine).get_indexes("events")}
    engine.dispose()
    assert {"ix_events_first_seen", "ix_events_camera_first_seen", "ix_events_last_seen"} <= names


def test_the_migrated_schema_is_the_one_the_store_writes(store):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(ctx, metadata) if "alembic_version" not in str(d)]
    assert diffs == []


def test_an_end_updates_the_row_its_new_made(store):
    new = event(thumbnail=b"face-at-first")
    assert store.upsert(new)
    (row,) = store.query()
    assert row == new and row.state == NEW

    end = new.ended(T0 + timedelta(seconds=30), label="incorrect", p_no_mask=0.2, p_incorrect=0.7,
                    thumbnail=b"best-face")
    assert store.upsert(end)
    (row,) = store.query()
    assert (row.id, row.state, row.label, row.last_seen, row.thumbnail) == (
        new.id, END, "incorrect", T0 + timedelta(seconds=30), b"best-face")
    assert row.first_seen == T0

    # An end without a face keeps the one already stored.
    other = event(person=2, thumbnail=b"kept")
    store.upsert(other)
    store.upsert(Event(**{**other.__dict__, "state": END, "thumbnail": None}))
    assert store.get(other.id).thumbnail == b"kept"
    assert store.total() == 2


def test_query_filters_by_time_camera_and_label_and_pages_newest_first(store):
    made = []
    for i in range(10):
        cam = "door" if i % 2 == 0 else "lobby"
        label = "no_mask" if i % 3 else "incorrect"
        made.append(event(cam, i + 1, label, T0 + timedelta(minutes=i), thumbnail=b"t%d" % i))
        store.upsert(made[-1])
    newest_first = [e.id for e in reversed(made)]

    assert [e.id for e in store.query()] == newest_first
    assert [e.id for e in store.query(limit=3)] == newest_first[:3]
    assert [e.id for e in store.query(limit=3, offset=3)] == newest_first[3:6]
    assert store.query(limit=5, offset=10) == []

    window = store.query(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=5))
    assert [e.person for e in window] == [5, 4, 3]  # until is exclusive
    assert {e.camera for e in store.query(camera="lobby")} == {"lobby"}
    assert len(store.query(camera="lobby")) == 5
    assert {e.label for e in store.query(label="incorrect")} == {"incorrect"}
    assert len(store.query(label=["incorrect", "no_mask"])) == 10
    assert store.total(camera="door", label="incorrect") == len(
        [e for e in made if e.camera == "door" and e.label == "incorrect"])
    assert all(e.thumbnail is None for e in store.query(thumbnails=False))
    assert store.query(limit=1)[0].thumbnail == b"t9"
    # Times come back as aware UTC whatever the database keeps.
    assert store.query(limit=1)[0].first_seen.tzinfo == timezone.utc


def test_counts_per_hour_and_per_day_per_camera(store):
    at = [T0, T0 + timedelta(minutes=59), T0 + timedelta(hours=1, minutes=1), T0 + timedelta(days=1)]
    for i, t in enumerate(at):
        store.upsert(event("door", i, at=t))
    store.upsert(event("lobby", 9, at=T0 + timedelta(minutes=5)))

    hours = [(c.start, c.camera, c.count) for c in store.counts("hour")]
    assert hours == [(T0, "door", 2), (T0, "lobby", 1), (T0 + timedelta(hours=1), "door", 1),
                     (T0 + timedelta(days=1), "door", 1)]
    day0 = T0.replace(hour=0)
    days = [(c.start, c.camera, c.count) for c in store.counts("day")]
    assert days == [(day0, "door", 3), (day0, "lobby", 1), (day0 + timedelta(days=1), "door", 1)]
    assert [(c.camera, c.count) for c in store.counts("day", camera="lobby")] == [("lobby", 1)]
    assert sum(c.count for c in store.counts("hour", since=T0 + timedelta(hours=1))) == 2
    with pytest.raises(ValueError):
        store.counts("week")


def test_retention_deletes_older_events_with_their_thumbnails(store):
    now = T0 + timedelta(days=40)
    old = event(person=1, at=now - timedelta(days=31), thumbnail=b"OLD-FACE-" * 20)
    recent = event(person=2, at=now - timedelta(days=29), thumbnail=b"NEW-FACE-" * 20)
    store.upsert(old)
    store.upsert(recent)
    assert store.delete_older_than(30, now=now) == 1
    assert [e.id for e in store.query()] == [recent.id]
    assert store.get(old.id) is None
    assert store.delete_older_than(30, now=now) == 0


def test_a_second_process_sees_the_rows(store, db_url):
    made = [event(person=i, at=T0 + timedelta(seconds=i)) for i in range(3)]
    for e in made:
        store.upsert(e)
    code = textwrap.dedent(f"""
        from maskpatrol.events.store import EventStore
        with EventStore.open({db_url!r}) as s:
            print(" ".join(e.id for e in s.query()))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [e.id for e in reversed(made)]


# -- SQLite only -------------------------------------------------------------------------------

def test_sqlite_runs_in_wal_mode_and_a_path_needs_no_url(tmp_path):
    path = tmp_path / "sub" / "log.sqlite3"
    with EventStore.open(path) as s:  # parent folders are made
        s.upsert(event())
        with s.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert resolve_url(path) == f"sqlite:///{path.resolve()}"
    assert sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_an_empty_file_is_migrated_to_the_newest_schema(tmp_path):
    path = tmp_path / "empty.sqlite3"
    path.touch()
    with EventStore.open(path) as s:
        assert migrate.current(s.engine) == migrate.head()
        assert s.upsert(event()) and s.total() == 1


def test_a_deleted_thumbnail_leaves_no_bytes_in_the_sqlite_file(tmp_path):
    path = tmp_path / "log.sqlite3"
    face = b"\xff\xd8FACE-THAT-MUST-GO" * 50
    with EventStore.open(path) as s:
        s.upsert(event(at=T0, thumbnail=face))
        s.delete_older_than(30, now=T0 + timedelta(days=31))
    raw = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                               if path.with_name(path.name + "-wal").exists() else b"")
    assert b"FACE-THAT-MUST-GO" not in raw


def test_the_default_path_follows_the_data_home_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("MASKPATROL_DATA_HOME", str(tmp_path / "mp"))
    assert default_db_path() == tmp_path / "mp" / "events.sqlite3"
    monkeypatch.delenv("MASKPATROL_DATA_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "maskpatrol" / "events.sqlite3"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_db_path() == Path.home() / ".local" / "share" / "maskpatrol" / "events.sqlite3"
    monkeypatch.setenv("MASKPATROL_DB_URL", f"sqlite:///{tmp_path / 'u.db'}")
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'u.db'}"


def _unreachable_store(tmp_path, max_buffer):
    """A store whose SQLite file cannot be opened until its folder exists."""
    path = tmp_path / "not-yet" / "log.sqlite3"
    return EventStore(create_engine(f"sqlite:///{path}"), max_buffer=max_buffer), path


def test_writes_wait_in_memory_while_the_database_is_away_then_go_in_order(tmp_path):
    s, path = _unreachable_store(tmp_path, max_buffer=100)
    made = [event(person=i, at=T0 + timedelta(seconds=i)) for i in range(5)]
    for e in made:
        assert s.upsert(e) is False
    assert s.upsert(made[1].ended(T0 + timedelta(minutes=1), thumbnail=b"best")) is False
    assert s.pending == 5  # the end replaced its new in place

    path.parent.mkdir()
    migrate.upgrade(f"sqlite:///{path}")
    written = []
    from sqlalchemy import event as sa_event

    sa_event.listen(s.engine, "before_cursor_execute",
                    lambda conn, cur, stmt, params, *_: written.append(params[0]) if "INSERT" in stmt else None)
    assert s.flush() is True and s.pending == 0
    assert written == [e.id for e in made]
    assert s.get(made[1].id).state == END and s.get(made[1].id).thumbnail == b"best"
    s.close()


def test_a_full_buffer_drops_the_oldest_and_says_so(tmp_path, caplog):
    s, _ = _unreachable_store(tmp_path, max_buffer=3)
    made = [event(person=i) for i in range(5)]
    with caplog.at_level(logging.ERROR, logger="maskpatrol.events.store"):
        for e in made:
            s.upsert(e)
    assert s.pending == 3 and s.dropped == 2
    dropped_logs = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(dropped_logs) == 2
    assert made[0].id in dropped_logs[0] and made[1].id in dropped_logs[1]
    s.engine.dispose()


def test_events_written_before_a_sigterm_are_in_the_database(tmp_path):
    path = tmp_path / "log.sqlite3"
    code = textwrap.dedent(f"""
        import sys, time
        from datetime import datetime, timezone
        from maskpatrol.events.model import Event
        from maskpatrol.events.store import EventStore
        s = EventStore.open({str(path)!r})
        for i in range(100000):
            e = Event.new("door", i, "no_mask", 0.9, 0.05, datetime.now(timezone.utc))
            s.upsert(e)
            print(e.id, flush=True)
            time.sleep(0.01)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    ids = []
    try:
        while len(ids) < 30:
            line = proc.stdout.readline()
            assert line, "the writer stopped early"
            ids.append(line.strip())
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGTERM
    ids += rest.split()
    stored = {row[0] for row in sqlite3.connect(path).execute("SELECT id FROM events")}
    assert set(ids) <= stored


# -- thumbnails ---------------------------------------------------------------------------------

def _face(h=120, w=100) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_a_thumbnail_is_a_small_jpeg_blurred_unless_asked_otherwise():
    import cv2

    crop = _face(300, 200)
    sharp = thumbnail_jpeg(crop, blur=False)
    blurred = thumbnail_jpeg(crop)
    assert sharp[:2] == blurred[:2] == b"\xff\xd8"
    img = cv2.imdecode(np.frombuffer(blurred, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (96, 64)
    detail = lambda b: cv2.Laplacian(cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_GRAYSCALE),
                                      cv2.CV_64F).var()
    assert detail(blurred) < detail(sharp) / 10
    small = thumbnail_jpeg(_face(40, 30), blur=False, max_side=96)
    assert cv2.imdecode(np.frombuffer(small, np.uint8), cv2.IMREAD_COLOR).shape[:2] == (40, 30)


def test_blur_face_keeps_the_shape_and_refuses_what_is_not_an_rgb_crop():
    out = blur_face(_face())
    assert out.shape == (120, 100, 3) and out.dtype == np.uint8
    for bad in (np.zeros((0, 5, 3), np.uint8), np.zeros((5, 5), np.uint8), np.zeros((5, 5, 3), np.float32)):
        with pytest.raises(ValueError):
            thumbnail_jpeg(bad)


def test_an_events_record_is_plain_json_values_in_the_column_order():
    e = event(thumbnail=b"x")
    record = e.record()
    assert list(record) == list(RECORD_FIELDS) and record["id"] == e.id and record["has_thumbnail"] is True
    assert record["state"] == "new" and record["first_seen"] == T0.isoformat()
    json.dumps(record)
    ended = e.ended(T0 + timedelta(minutes=1)).record()
    assert ended["state"] == "end" and ended["has_thumbnail"] is True
