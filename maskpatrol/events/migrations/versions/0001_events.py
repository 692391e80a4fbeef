"""The events table: one row per person found not properly masked.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("camera", sa.String(200), nullable=False),
        sa.Column("person", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(20), nullable=False),
        sa.Column("p_no_mask", sa.Float(), nullable=False),
        sa.Column("p_incorrect", sa.Float(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=True),
    )
    # History and the API page newest first, by time, optionally for one camera;
    # retention deletes by last_seen.
    op.create_index("ix_events_first_seen", "events", ["first_seen"])
    op.create_index("ix_events_camera_first_seen", "events", ["camera", "first_seen"])
    op.create_index("ix_events_last_seen", "events", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_events_last_seen", table_name="events")
    op.drop_index("ix_events_camera_first_seen", table_name="events")
    op.drop_index("ix_events_first_seen", table_name="events")
    op.drop_table("events")
