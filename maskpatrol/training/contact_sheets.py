"""Contact sheets of face photos, for labelling them by eye.

``python -m maskpatrol.training.contact_sheets --data DIR --out /tmp/sheets FOLDER...`` runs
the served model over the photos of each FOLDER (relative to the data folder, e.g.
``faces/chandrikadeb7/with_mask``), sorts them by p(incorrect), most likely "below nose"
first, and writes numbered sheets: ``sheet_000.png``, ... (a grid of thumbnails, each tile
showing the whole photo with its number on the sheet) and ``index.csv``, which maps every
tile to its file and the model's probabilities. Tiles carry no model figures, so that the
eye is not led by them.

The sheets show training-data photos: the output folder must lie outside the repository.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..classifier import MaskClassifier
from ..model_card import load_card
from ..paths import REPO_ROOT, data_dir_from_env, default_model_dir
from ..pipeline import label_for
from . import data
from .evaluate import predict_sample_classes

#: Grid of a sheet and side of a tile in pixels: 48 faces a sheet, large enough to see a nose.
COLUMNS, ROWS, TILE = 8, 6, 144
#: Height of the strip under each tile that holds its number.
CAPTION = 18


@dataclass(frozen=True)
class Ranked:
    """One photo with the served model's view of it."""

    file: str  # relative to the data folder
    p_mask: float
    p_no_mask: float
    p_incorrect: float
    label: str


def photos(data_dir: Path, folder: str) -> list[str]:
    """Photos of ``folder`` (relative to the data folder) as paths relative to the data folder."""
    where = data_dir / folder
    if not where.is_dir():
        raise FileNotFoundError(f"{where} is not a folder")
    return [p.relative_to(data_dir).as_posix() for p in data._images(where)]


def rank(data_dir: Path, files: list[str], model_dir: Path) -> list[Ranked]:
    """The served model's probabilities for each photo (its centre square, as ``classify``
    sees a face crop), sorted by p(incorrect) then p(no mask), highest first."""
    card = load_card(model_dir)
    classifier = MaskClassifier(model_dir / card.tflite_file, card.input_size, num_threads=2)
    samples = [data.Sample(data_dir / f, data.MASK, "", "") for f in files]
    probs = predict_sample_classes(classifier, samples)
    rows = [Ranked(f, float(p[0]), float(p[1]), float(p[2]),
                   label_for(float(p[1]), card.threshold, float(p[2]), card.incorrect_threshold))
            for f, p in zip(files, probs)]
    return sorted(rows, key=lambda r: (-r.p_incorrect, -r.p_no_mask))


def tile(rgb: np.ndarray, number: int, side: int = TILE) -> np.ndarray:
    """The whole photo fitted into a ``side`` square on grey, its number written below."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    out = np.full((side + CAPTION, side, 3), 90, np.uint8)
    x0, y0 = (side - nw) // 2, (side - nh) // 2
    out[y0:y0 + nh, x0:x0 + nw] = cv2.resize(rgb, (nw, nh), interpolation=interp)
    out[side:] = 255
    cv2.putText(out, f"{number}  {w}x{h}", (4, side + CAPTION - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    return out


def write_sheets(data_dir: Path, files: list[str], out: Path, columns: int = COLUMNS, rows: int = ROWS,
                 side: int = TILE, first_sheet: int = 0) -> list[tuple[int, int, str]]:
    """Sheets ``sheet_NNN.png`` of ``files`` in order; returns (sheet, tile, file) for each."""
    out.mkdir(parents=True, exist_ok=True)
    per_sheet = columns * rows
    placed: list[tuple[int, int, str]] = []
    for start in range(0, len(files), per_sheet):
        sheet_no = first_sheet + start // per_sheet
        sheet = np.full((rows * (side + CAPTION), columns * side, 3), 255, np.uint8)
        for i, f in enumerate(files[start:start + per_sheet]):
            r, c = divmod(i, columns)
            t = tile(data.read_rgb(data_dir / f), i, side)
            t[:, -1] = t[-1, :] = 0  # a thin line between tiles
            sheet[r * (side + CAPTION):(r + 1) * (side + CAPTION), c * side:(c + 1) * side] = t
            placed.append((sheet_no, i, f))
        cv2.imwrite(str(out / f"sheet_{sheet_no:03d}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return placed


def outside_repo(path: Path) -> bool:
    resolved = path.resolve()
    return resolved != REPO_ROOT and REPO_ROOT not in resolved.parents


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.contact_sheets", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folders", nargs="+", help="photo folders relative to the data folder, "
                                               "e.g. faces/chandrikadeb7/with_mask")
    ap.add_argument("--data", type=Path, default=data_dir_from_env(),
                    help="data folder holding faces/ (default: $MASKPATROL_DATA_DIR)")
    ap.add_argument("--out", type=Path, required=True, help="folder for the sheets, outside the repository")
    ap.add_argument("--model", type=Path, default=default_model_dir(), help="model folder (default: models/)")
    ap.add_argument("--top", type=int, default=None,
                    help="keep only the N photos ranked first, plus every one the model does not call 'mask'")
    ap.add_argument("--first-sheet", type=int, default=0, help="number of the first sheet (to add to a folder)")
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    if not outside_repo(args.out):
        print(f"error: {args.out} lies inside the repository; training photos must not go there", file=sys.stderr)
        return 2
    files = [f for folder in args.folders for f in photos(args.data, folder)]
    print(f"Ranking {len(files)} photos with the served model ...", flush=True)
    ranked = rank(args.data, files, args.model)
    if args.top is not None:
        ranked = [r for i, r in enumerate(ranked) if i < args.top or r.label != "mask"]
    placed = write_sheets(args.data, [r.file for r in ranked], args.out, first_sheet=args.first_sheet)
    by_file = {r.file: r for r in ranked}
    index = args.out / "index.csv"
    new = not index.exists()
    with index.open("a", newline="") as fh:
        w = csv.writer(fh)
        if new:
            w.writerow(["sheet", "tile", "file", "p_mask", "p_no_mask", "p_incorrect", "model_label"])
        for sheet, i, f in placed:
            r = by_file[f]
            w.writerow([sheet, i, f, f"{r.p_mask:.4f}", f"{r.p_no_mask:.4f}", f"{r.p_incorrect:.4f}", r.label])
    sheets = sorted({s for s, _, _ in placed})
    print(f"Wrote {len(sheets)} sheets ({sheets[0]:03d}-{sheets[-1]:03d}) of {len(placed)} photos to {args.out}; "
          f"tile -> file in {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
