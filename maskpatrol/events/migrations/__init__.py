"""Alembic's script folder for the event log (``maskpatrol.events.migrate`` runs it)."""
