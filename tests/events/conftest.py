"""Fixtures of the event-log tests: a database URL per backend (SQLite in a temporary file;
PostgreSQL in a throwaway cluster of its own on a free loopback port: ``postgres_url`` in
``tests/conftest.py``, the cluster in ``tests/support/postgres.py``).
"""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """The same claims on both backends: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'events.sqlite3'}"
    return request.getfixturevalue("postgres_url")

