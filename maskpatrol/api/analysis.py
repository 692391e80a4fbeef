"""The work one API request asks for, run on a worker thread: the CLI's records, per image.

Each function mirrors the CLI's ``detect --json`` / ``classify --json`` loop (decode with
:mod:`maskpatrol.images`, the shared pipeline, :func:`image_record`), so a file gives the
same record, error message included, whether posted here or named on the command line.
Each image is analysed in one of the server's photo slots, shared with the Photos page, and
a picture over :data:`~maskpatrol.budget.WORK_PIXELS` is analysed shrunk (boxes in its own
pixels), so the API keeps to the same memory budget (:mod:`maskpatrol.budget`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..analysis import analyze_source
from ..budget import WORK_PIXELS, shared_slots
from ..images import ImageError, load_image
from ..pipeline import Settings, image_record
from ..preprocess import center_square
from ..shared import shared_patrol
from .body import Upload


@dataclass(frozen=True)
class Outcome:
    """One image's record and the HTTP status it would get alone: 200, 400 (the image
    cannot be used, the CLI's message) or 500 (the server failed on a readable image)."""

    record: dict[str, Any]
    status: int = 200


def detect_records(uploads: Sequence[Upload], settings: Settings) -> list[Outcome]:
    """One ``detect --json`` record per upload; a bad image gets ``error`` and the rest go on."""
    patrol = shared_patrol()
    records = []
    for upload in uploads:
        try:
            with shared_slots().slot():
                analysis = analyze_source(patrol, upload.data, settings, name=upload.name, work_pixels=WORK_PIXELS)
            outcome = Outcome(image_record(upload.name, analysis.faces, analysis.width, analysis.height))
        except ImageError as exc:
            outcome = Outcome(image_record(upload.name, error=str(exc)), 400)
        except Exception as exc:  # never a traceback: the caller reads what went wrong
            outcome = Outcome(image_record(upload.name, error=f"could not process {upload.name}: {exc}"), 500)
        records.append(outcome)
    return records


def classify_records(uploads: Sequence[Upload], threshold: float | None) -> list[Outcome]:
    """One ``classify --json`` record per face crop (its centre square is the face)."""
    patrol = shared_patrol()
    records = []
    for upload in uploads:
        record: dict[str, Any] = {"path": upload.name, "label": None, "p_no_mask": None, "p_incorrect": None, "error": None}
        status = 200
        try:
            with shared_slots().slot():
                face = center_square(load_image(upload.data, name=upload.name, work_pixels=WORK_PIXELS))
                [result] = patrol.classify_faces([face], threshold)
            record.update(label=result.label, p_no_mask=round(result.p_no_mask, 6),
                          p_incorrect=round(result.p_incorrect, 6))
        except ImageError as exc:
            record["error"], status = str(exc), 400
        except Exception as exc:
            record["error"], status = f"could not process {upload.name}: {exc}", 500
        records.append(Outcome(record, status))
    return records
