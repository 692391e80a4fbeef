"""A small event log with known contents, as `python -m maskpatrol watch` would leave it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from maskpatrol.events.model import Event, thumbnail_jpeg
from maskpatrol.events.store import EventStore

#: Where the seeded events start: every event begins a known number of minutes after it.
START = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)


def seed_log(path: Path) -> list[Event]:
    """Writes 7 events to a SQLite log at ``path``: 4 at camera ``door``, 3 at ``till``, over
    three hours, unmasked and below the nose, ended or still in view, the third with a face.
    Returns them newest first, as the log lists them."""
    face = np.full((48, 40, 3), 120, np.uint8)
    face[28:, :] = (40, 90, 200)
    made = []
    for i, (camera, minutes, label) in enumerate([("door", 0, "no_mask"), ("till", 20, "incorrect"),
                                                  ("door", 50, "no_mask"), ("door", 65, "incorrect"),
                                                  ("till", 90, "no_mask"), ("door", 140, "no_mask"),
                                                  ("till", 150, "no_mask")]):
        first = START + timedelta(minutes=minutes)
        event = Event.new(camera, i + 1, label, 0.9 if label == "no_mask" else 0.2,
                          0.05 if label == "no_mask" else 0.7, first,
                          thumbnail=thumbnail_jpeg(face) if i == 2 else None)
        made.append(event.ended(first + timedelta(seconds=12)) if i % 2 == 0 else event)
    with EventStore.open(path) as store:
        for event in made:
            assert store.upsert(event)
    return sorted(made, key=lambda e: (e.first_seen, e.id), reverse=True)
