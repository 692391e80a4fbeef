"""The work one API request asks for, run on a worker thread: the CLI's records, per image.

Each image goes through :mod:`maskpatrol.analysis`, as the CLI's do, so a file gives
the same record, error message included, whether posted here or named on the command line.
Each image is analysed in one of the server's photo slots, shared with the Photos page, and
a picture over :data:`~maskpatrol.budget.WORK_PIXELS` is analysed shrunk (boxes in its own
pixels), so the API keeps to the same memory budget (:mod:`maskpatrol.budget`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Sequence

from ..analysis import Failure, classify, classify_record, detect, detect_record
from ..budget import WORK_PIXELS, shared_slots
from ..pipeline import Settings
from ..shared import shared_patrol
from .body import Upload


@dataclass(frozen=True)
class Outcome:
    """One image's record and the HTTP status it would get alone: 200, 400 (the image
    cannot be used, the CLI's message) or 500 (the server failed on a readable image)."""

    record: dict[str, Any]
    status: int = 200


def _status(outcome: object) -> int:
    if isinstance(outcome, Failure):
        return 400 if outcome.bad_input else 500
    return 200


def _photo_slot() -> AbstractContextManager:
    return shared_slots().slot()


def detect_records(uploads: Sequence[Upload], settings: Settings) -> list[Outcome]:
    """One ``detect --json`` record per upload; a bad image gets ``error`` and the rest go on."""
    patrol = shared_patrol()
    records = []
    for upload in uploads:
        analysis = detect(patrol, upload.data, settings, name=upload.name, work_pixels=WORK_PIXELS, slot=_photo_slot)
        records.append(Outcome(detect_record(upload.name, analysis), _status(analysis)))
    return records


def classify_records(uploads: Sequence[Upload], threshold: float | None) -> list[Outcome]:
    """One ``classify --json`` record per face crop (its centre square is the face)."""
    patrol = shared_patrol()
    records = []
    for upload in uploads:
        face = classify(patrol, upload.data, threshold, name=upload.name, work_pixels=WORK_PIXELS, slot=_photo_slot)
        records.append(Outcome(classify_record(upload.name, face), _status(face)))
    return records
