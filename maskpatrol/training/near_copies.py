"""Near copies of a photo anywhere in the data folder, by a colour signature.

Both binary sources hold augmented copies of one photo (zoomed into different parts,
re-encoded, pixelated, streaked, mirrored), and kaggle12k spreads them over its splits: one
person wearing a mask below the nose is there in 14 copies, in train, validation and test.
Holding a labelled photo out of training means holding its copies out too.

A hash of the photo's layout does not find them: the copies are crops at other zooms, and
on the 64-bit difference hash (dHash, grey 9x8) every pair we looked at within 7-12 bits was
two different people with the same pose (checked by eye on a contact sheet of pairs; labels/README.md);
a 32x32 DCT hash and the correlation of 32x32 thumbnails did no better. What a zoom keeps is
the colours: the signature here is the histogram of the centre square's colours (HSV, 12 hue
x 4 saturation x 4 value bins, at 48x48), and two photos are near copies when the
intersection of their histograms is at least ``MIN_SIMILARITY``. Checked by eye: of 8 random
pairs at 0.80-0.85, 7 were the same photo; of 8 at 0.75-0.80, none. It errs towards holding
out too much (a few unmasked faces with the same colours), which costs training a few faces
and leaks nothing.

``python -m maskpatrol.training.near_copies --data DIR`` writes ``labels/near_copies.csv``:
every photo of the data folder that is a near copy of an ``incorrect_*`` photo of
``real_wear.csv``, with the photo it copies and the similarity. Training reads that file
(``data.held_out``), so it does not look at every photo on each run; a test checks that the
file is what the tool finds today.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from .hold_out import NEAR_COPIES_CSV, near_copy_rows

#: Lowest histogram intersection (0..1) of near copies; see the module doc for how it was checked.
MIN_SIMILARITY = 0.80
SIGNATURE_SIZE = 48
BINS = (12, 4, 4)
CSV_PATH = NEAR_COPIES_CSV
COLUMNS = ("file", "copy_of", "similarity")


def signature(bgr: np.ndarray) -> np.ndarray:
    """The colour histogram of a photo's centre square (sums to 1); unchanged by a mirror."""
    from ..preprocess import center_square

    small = cv2.resize(center_square(bgr), (SIGNATURE_SIZE, SIGNATURE_SIZE), interpolation=cv2.INTER_AREA)
    hist = cv2.calcHist([cv2.cvtColor(small, cv2.COLOR_BGR2HSV)], [0, 1, 2], None, list(BINS),
                        [0, 180, 0, 256, 0, 256]).flatten()
    return hist / max(float(hist.sum()), 1.0)


def photo_signature(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"could not read {path}")
    return signature(bgr)


def similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Histogram intersection: 1 for the same colours, 0 for none in common (b may be a stack)."""
    return np.minimum(a, b).sum(axis=-1)


def all_photos(data_dir: Path) -> list[Path]:
    return sorted(p for p in (Path(data_dir) / "faces").rglob("*")
                  if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def find(data_dir: Path, targets: Iterable[str], min_similarity: float = MIN_SIMILARITY,
         photos: list[Path] | None = None) -> list[tuple[str, str, float]]:
    """(file, copy_of, similarity) for every photo at least ``min_similarity`` like a target
    (paths relative to ``data_dir``); targets are not listed as copies of each other. Sorted by file."""
    data_dir = Path(data_dir)
    targets = sorted(set(targets))
    photos = all_photos(data_dir) if photos is None else photos
    rel = [p.relative_to(data_dir).as_posix() for p in photos]
    sigs = np.stack([photo_signature(p) for p in photos]) if photos else np.zeros((0, int(np.prod(BINS))))
    target_set = set(targets)
    found: dict[str, tuple[str, float]] = {}
    for t in targets:
        sim = similarity(sigs, photo_signature(data_dir / t))
        for i in np.flatnonzero(sim >= min_similarity):
            if rel[i] in target_set:
                continue
            if rel[i] not in found or sim[i] > found[rel[i]][1]:
                found[rel[i]] = (t, round(float(sim[i]), 4))
    return sorted((f, t, c) for f, (t, c) in found.items())


def read(csv_path: Path = CSV_PATH) -> list[tuple[str, str, float]]:
    return near_copy_rows(csv_path)


def write(rows: list[tuple[str, str, float]], csv_path: Path = CSV_PATH) -> None:
    with open(csv_path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    from ..paths import data_dir_from_env
    from . import data, real_set

    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.near_copies", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=data_dir_from_env())
    ap.add_argument("--min-similarity", type=float, default=MIN_SIMILARITY)
    ap.add_argument("--out", type=Path, default=CSV_PATH)
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    targets = real_set.incorrect_files()
    rows = find(args.data, targets, args.min_similarity)
    write(rows, args.out)
    print(f"{len(rows)} near copies of {len(targets)} held-out photos (similarity >= {args.min_similarity}); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
