"""The photos no network may train or tune on (issue 34), read straight from the label files.

The ``incorrect_*`` photos of ``labels/real_wear.csv`` judge "Mask below nose", and
``labels/near_copies.csv`` (written by ``near_copies``) lists their near copies anywhere in the
data folder; ``data.discover`` drops both from the train and validation splits. Only the csv
module here, so that ``data`` can import it without importing ``real_set`` (which imports
``data``); ``real_set.read_entries`` is the checked reader of the same file.
"""

from __future__ import annotations

import csv
from pathlib import Path

LABELS_DIR = Path(__file__).resolve().parent / "labels"
REAL_WEAR_CSV = LABELS_DIR / "real_wear.csv"
NEAR_COPIES_CSV = LABELS_DIR / "near_copies.csv"
INCORRECT_LABELS = ("incorrect_nose", "incorrect_chin")


def incorrect_files(csv_path: Path = REAL_WEAR_CSV) -> frozenset[str]:
    with open(csv_path, encoding="utf-8") as f:
        return frozenset(r["file"] for r in csv.DictReader(f) if r["label"] in INCORRECT_LABELS)


def near_copy_rows(csv_path: Path = NEAR_COPIES_CSV) -> list[tuple[str, str, float]]:
    """(file, copy_of, similarity) rows; none when the file does not exist yet."""
    if not Path(csv_path).is_file():
        return []
    with open(csv_path, encoding="utf-8") as f:
        return [(r["file"], r["copy_of"], float(r["similarity"])) for r in csv.DictReader(f)]


def held_out() -> frozenset[str]:
    """Paths relative to the data folder: the incorrectly worn photos and their near copies."""
    return incorrect_files() | frozenset(f for f, _, _ in near_copy_rows())
