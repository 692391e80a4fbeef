"""The event log on PostgreSQL, beyond the claims ``test_store.py`` runs on both backends:
the database stopped for 10 s mid-run, and watch processes starting together.

The cluster is our own (``conftest.py``), so stopping it disturbs nothing else.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event as sa_event

from maskpatrol.events import migrate
from maskpatrol.events.model import END, Event
from maskpatrol.events.store import EventStore, EventStoreError

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
OUTAGE_S = 10


def test_events_written_while_postgresql_is_stopped_for_10_s_arrive_after_it_returns_in_order_once(
        postgres_cluster, postgres_url):
    store = EventStore.open(postgres_url)
    written: list[str] = []  # ids in the order they reached the server
    sa_event.listen(store.engine, "before_cursor_execute",
                    lambda conn, cur, stmt, params, *_: written.append(params["id"]) if "INSERT" in stmt else None)
    made: list[Event] = []

    def write(n: int) -> list[bool]:
        results = []
        for _ in range(n):
            made.append(Event.new("door", len(made) + 1, "no_mask", 0.9, 0.05, T0 + timedelta(seconds=len(made))))
            results.append(store.upsert(made[-1]))
        return results

    assert all(write(10))
    postgres_cluster.stop()
    try:
        stopped_at = time.monotonic()
        during: list[bool] = []
        while time.monotonic() - stopped_at < OUTAGE_S:
            during += write(1)
            if len(made) % 5 == 0:  # some people leave during the outage
                assert store.upsert(made[-3].ended(T0 + timedelta(hours=1), thumbnail=b"best")) is False
            time.sleep(0.2)
        assert not any(during) and store.pending == len(during)
    finally:
        postgres_cluster.start()
    time.sleep(store.retry_interval_s)  # writes right after a failure only wait in memory
    written_before = len(written)
    assert all(write(5))  # the first write after the return flushes the waiting ones first
    assert store.pending == 0
    store.close()

    ids = [e.id for e in made]
    # After the return, the waiting ones reached the server first, in the order made, each once.
    assert written[written_before:] == ids[10:]
    with EventStore.open(postgres_url) as check:
        rows = check.query(limit=10_000)
        assert sorted(e.id for e in rows) == sorted(ids) and len(rows) == len(ids)
        ended = [e for e in rows if e.state == END]
        assert ended and all(e.thumbnail == b"best" and e.last_seen == T0 + timedelta(hours=1) for e in ended)


def test_watch_processes_starting_together_migrate_once_and_all_open(postgres_url):
    code = textwrap.dedent(f"""
        from maskpatrol.events.store import EventStore, EventStoreError
        with EventStore.open({postgres_url!r}) as s:
            print(s.total())
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outs]
    assert [out.strip() for out, _ in outs] == ["0"] * 4
    with EventStore.open(postgres_url) as s:
        assert migrate.current(s.engine) == migrate.head()


def test_opening_a_stopped_server_says_which_database_and_what_to_check(postgres_cluster, postgres_url):
    postgres_cluster.stop()
    try:
        with pytest.raises(EventStoreError, match=r"127\.0\.0\.1.*running and reachable.*MASKPATROL_DB_URL"):
            EventStore.open(postgres_url)
    finally:
        postgres_cluster.start()
