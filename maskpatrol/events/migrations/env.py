"""Alembic environment of the event log.

Run by ``maskpatrol.events.migrate.upgrade``, which passes an open connection in
``config.attributes["connection"]``. From the ``alembic`` command line (making a new
revision), the database comes from ``-x url=...`` or ``MASKPATROL_DB_URL``.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from maskpatrol.events.migrate import VERSION_TABLE
from maskpatrol.events.store import metadata


def _configure(**kwargs) -> None:
    # Batch mode lets later revisions alter columns on SQLite (it copies the table).
    context.configure(target_metadata=metadata, version_table=VERSION_TABLE, render_as_batch=True, **kwargs)


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("MASKPATROL_DB_URL")
    if not url:
        raise SystemExit("say which database: alembic -x url=... or MASKPATROL_DB_URL=...")
    return url


if context.is_offline_mode():
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
    else:
        engine = create_engine(_url())
        try:
            with engine.connect() as connection:
                _configure(connection=connection)
                with context.begin_transaction():
                    context.run_migrations()
        finally:
            engine.dispose()
