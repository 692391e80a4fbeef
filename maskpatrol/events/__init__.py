"""The event log: a person found not properly masked, once per person, kept in a database.

``model`` holds the :class:`~maskpatrol.events.model.Event` value and its face thumbnail;
``store`` writes and reads events (SQLite in a file by default, PostgreSQL by
``MASKPATROL_DB_URL``) and keeps them in memory while the database is unreachable;
``migrate`` creates and upgrades the schema with Alembic (``migrations/``).
"""
