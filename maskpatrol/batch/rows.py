"""The batch output: one flat row per face, and one per faceless image or frame or error.

Flat rows, not ``detect``'s nested records, because a table of a million inputs is queried
with SQL or pandas (``WHERE label IN ('no_mask', 'incorrect')`` finds everyone not properly
masked), and Parquet needs one schema for every part. Each face's values come from :func:`~maskpatrol.pipeline.image_record`, the helper
behind ``detect --json``, so the two commands cannot disagree on a number or a rounding.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..pipeline import Face, image_record

#: Column order of every part (Parquet and JSON Lines).
#: path: the input as listed; kind: "image" or "video" (null for an INPUT that could not
#: be listed, such as an empty folder); frame, time_s: video frames only
#: (time_s rounded to ms, as ``video --csv``); box [x, y, w, h], label ("mask", "no_mask"
#: or "incorrect": a mask below the nose, 3-class models only), p_no_mask, p_incorrect
#: (0 with a binary model): one face, or null on a row that stands for an image or frame
#: without faces; error: why the input (or the rest of a video) could not be analysed,
#: else null; person: in a video, the number of the person the face belongs to (as on the
#: ``video`` command's boxes and people CSV), null for photos and for a stray detection
#: never judged a person. Parts written before p_incorrect or person existed lack those
#: columns; readers that unify parts by name (pyarrow, pandas) fill them with null.
ROW_FIELDS = ("path", "kind", "frame", "time_s", "width", "height", "box", "label", "p_no_mask", "p_incorrect",
              "error", "person")

Row = dict[str, Any]


def _row(path: str, kind: str | None, frame: int | None = None, time_s: float | None = None,
         width: int | None = None, height: int | None = None, face: dict[str, Any] | None = None,
         error: str | None = None) -> Row:
    face = face or {}
    return {"path": path, "kind": kind, "frame": frame, "time_s": time_s, "width": width, "height": height,
            "box": face.get("box"), "label": face.get("label"), "p_no_mask": face.get("p_no_mask"),
            "p_incorrect": face.get("p_incorrect"), "error": error, "person": face.get("person")}


def face_rows(path: str, kind: str, faces: Sequence[Face], width: int, height: int,
              frame: int | None = None, time_s: float | None = None) -> list[Row]:
    """A row per face, or a single faceless row, so that every analysed image or frame
    shows up in the output (an audit must tell "no one there" from "not looked at")."""
    record = image_record(path, faces, width, height)
    return ([_row(path, kind, frame, time_s, width, height, face) for face in record["faces"]]
            or [_row(path, kind, frame, time_s, width, height)])


def error_row(path: str, kind: str | None, error: str, frame: int | None = None) -> Row:
    return _row(path, kind, frame=frame, error=error)
