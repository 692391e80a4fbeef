"""The work one API request asks for, run on a worker thread: the CLI's records, per image.

Each function mirrors the CLI's ``detect --json`` / ``classify --json`` loop (decode with
:mod:`maskpatrol.images`, the shared pipeline, :func:`image_record`), so a file gives the
same record, error message included, whether posted here or named on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

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
            rgb = load_image(upload.data, name=upload.name)
            faces = patrol.analyze(rgb, settings)
            outcome = Outcome(image_record(upload.name, faces, int(rgb.shape[1]), int(rgb.shape[0])))
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
            face = center_square(load_image(upload.data, name=upload.name))
            [result] = patrol.classify_faces([face], threshold)
            record.update(label=result.label, p_no_mask=round(result.p_no_mask, 6),
                          p_incorrect=round(result.p_incorrect, 6))
        except ImageError as exc:
            record["error"], status = str(exc), 400
        except Exception as exc:
            record["error"], status = f"could not process {upload.name}: {exc}", 500
        records.append(Outcome(record, status))
    return records
