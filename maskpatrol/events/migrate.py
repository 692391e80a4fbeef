"""Create or upgrade the event log's schema with Alembic, from Python: no ``alembic.ini``.

``EventStore.open`` calls :func:`upgrade`, so a new database gets the table and an old one
the revisions it lacks; at head it only reads the version. On PostgreSQL, where several
watch processes may start together, an advisory lock lets one migrate at a time.

A new revision (developers), with no alembic.ini: ``python -c "from alembic import command;
from maskpatrol.events.migrate import config; command.revision(config(), 'what changed',
rev_id='0002')"``, then write its ``upgrade``/``downgrade`` by hand (or compare against a
database with ``autogenerate=True`` and ``-x url=...`` through the ``alembic`` command).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text

SCRIPT_LOCATION = Path(__file__).with_name("migrations")
#: Our own name, so the log can share a database with other Alembic-managed schemas.
VERSION_TABLE = "maskpatrol_alembic_version"
#: Key of the PostgreSQL advisory lock held while migrating (any constant; "MPEV").
ADVISORY_LOCK_KEY = 0x4D504556


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head()


def current(engine: Engine) -> str | None:
    """The revision the database is at (None before the first)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the database at ``url_or_engine`` to ``revision`` (the newest by default)."""
    engine = create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        cfg = config()
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()
