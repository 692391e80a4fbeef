"""Alembic revisions of the event log, oldest first (Alembic skips this file)."""
