"""The Photos page's downloads, in the CLI's schema: a JSON array of its ``--json`` lines, and CSV.

One schema for both front ends, so a spreadsheet or script built on one reads the other.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Sequence

from .pipeline import image_record
from .results import ImageResult

#: CSV columns: one row per face (or one per photo without faces or with an error),
#: named after the CLI's JSON fields so both exports read alike. ``label`` is "mask",
#: "no_mask" or "incorrect" (a mask below the nose); ``p_incorrect`` came with the third
#: class and is last, so a reader that takes columns by position keeps working. It is 0
#: with a binary model.
CSV_COLUMNS = ("path", "width", "height", "face", "x", "y", "w", "h", "label", "p_no_mask", "error", "p_incorrect")


def cli_record(result: ImageResult) -> dict[str, Any]:
    """One photo in the schema of ``python -m maskpatrol detect --json``."""
    return image_record(result.name, result.faces, result.width, result.height, result.error)


def to_json(results: Sequence[ImageResult]) -> str:
    """A JSON array whose items are exactly the CLI's ``--json`` lines."""
    return json.dumps([cli_record(r) for r in results], indent=2) + "\n"


def to_csv(results: Sequence[ImageResult]) -> str:
    """One row per face; a photo without faces or with an error still gets one row."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in results:
        base = {"path": r.name, "width": r.width, "height": r.height, "error": r.error}
        if not r.faces:
            writer.writerow(base)
        for i, f in enumerate(r.faces, 1):
            d = f.to_dict()
            x, y, w, h = d["box"]
            writer.writerow({**base, "face": i, "x": x, "y": y, "w": w, "h": h,
                             "label": d["label"], "p_no_mask": d["p_no_mask"], "p_incorrect": d["p_incorrect"]})
    return buf.getvalue()
