"""The real validation set of how masks are worn, labelled by eye (``labels/real_wear.csv``).

Real photos of the data folder's masked faces, each labelled ``incorrect_nose`` (mask worn,
mouth covered, nose uncovered), ``incorrect_chin`` (mask on the chin or neck: nose and mouth
uncovered), ``mask`` (worn properly) or ``unclear``; the rule is in ``labels/README.md``.
Drawn masks may teach; this set judges.

``python -m maskpatrol.training.real_set --data DIR`` runs the served model on it twice: on
the photos as face crops (their centre square, as ``python -m maskpatrol classify`` sees
them) and end to end (detector, crop, classifier, as the Photos page sees them), beside the
held-out unmasked photos (the test splits of kaggle12k and chandrikadeb7). It prints, by face
size, the share of incorrectly worn masks flagged, of proper masks kept as "Mask" and of
unmasked faces flagged, and writes ``reports/real_set_baseline.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..paths import DATA_ENV_VAR, REPORTS_DIR, data_dir_from_env, default_model_dir
from ..pipeline import INCORRECT, MASK, MaskPatrol
from ..preprocess import center_square
from . import data

CSV_PATH = Path(__file__).resolve().parent / "labels" / "real_wear.csv"
COLUMNS = ("source", "file", "label", "note")
INCORRECT_NOSE, INCORRECT_CHIN, PROPER, UNCLEAR = "incorrect_nose", "incorrect_chin", "mask", "unclear"
LABELS = (INCORRECT_NOSE, INCORRECT_CHIN, PROPER, UNCLEAR)
INCORRECT_LABELS = (INCORRECT_NOSE, INCORRECT_CHIN)
#: Why a face is ``unclear``, when there is one reason: several faces or none; a hand on the
#: mask or face; a drawing, render, mannequin or pasted mask; not a face mask at all (a flag,
#: a banana, a face shield alone); too small to judge. Empty: cannot tell how it is worn.
NOTES = ("", "several", "hand", "not_real", "not_mask", "tiny")
SOURCES = {"chandrikadeb7": "faces/chandrikadeb7/", "kaggle12k": "faces/kaggle12k/"}
#: Face size buckets in pixels (the issue's): the detected box width end to end, the
#: photo's shorter side for crops.
BUCKETS = (("<48", 0, 48), ("48-96", 48, 96), (">96", 96, 10 ** 9))
REPORT_NAME = "real_set_baseline.json"


class RealSetError(Exception):
    """The labels file or the data folder does not fit; the message says what to fix."""


@dataclass(frozen=True)
class Entry:
    source: str
    file: str  # relative to the data folder
    label: str
    note: str = ""

    @property
    def incorrect(self) -> bool:
        return self.label in INCORRECT_LABELS


def read_entries(csv_path: Path = CSV_PATH) -> list[Entry]:
    """Every row of the labels file, checked: the columns, a known label and note, the file
    under its source's folder, each file once."""
    try:
        text = Path(csv_path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RealSetError(f"the labels file {csv_path} does not exist") from None
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise RealSetError(f"{csv_path}: the header must be {','.join(COLUMNS)}, not {reader.fieldnames}")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(reader, start=2):
        entry = Entry(row["source"], row["file"], row["label"], row["note"] or "")
        where = f"{csv_path}, line {line}"
        if entry.label not in LABELS:
            raise RealSetError(f"{where}: label {entry.label!r} is not one of {', '.join(LABELS)}")
        if entry.note not in NOTES or (entry.note and entry.label != UNCLEAR):
            raise RealSetError(f"{where}: note {entry.note!r} is not one of {NOTES[1:]} on an 'unclear' row")
        prefix = SOURCES.get(entry.source)
        if prefix is None:
            raise RealSetError(f"{where}: source {entry.source!r} is not one of {', '.join(SOURCES)}")
        if not entry.file.startswith(prefix) or "/with_mask/" not in entry.file or ".." in entry.file:
            raise RealSetError(f"{where}: {entry.file!r} is not a with_mask photo under {prefix}")
        if entry.file in seen:
            raise RealSetError(f"{where}: {entry.file} is listed again (first on line {seen[entry.file]})")
        seen[entry.file] = line
        entries.append(entry)
    return entries


def resolve(data_dir: Path | None, entries: Iterable[Entry]) -> list[tuple[Entry, Path]]:
    """Each entry with its photo in ``data_dir``; every photo must be there."""
    if data_dir is None or not (Path(data_dir) / "faces").is_dir():
        raise RealSetError(f"give the data folder holding faces/ with --data DIR or {DATA_ENV_VAR} (got {data_dir})")
    pairs = [(e, Path(data_dir) / e.file) for e in entries]
    missing = [e.file for e, p in pairs if not p.is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise RealSetError(f"{len(missing)} labelled photos are missing from {data_dir}: {shown}")
    return pairs


def load(data_dir: Path | None = None, csv_path: Path = CSV_PATH) -> list[tuple[Entry, Path]]:
    """The labelled real set against a data folder (default: ``$MASKPATROL_DATA_DIR``)."""
    return resolve(data_dir if data_dir is not None else data_dir_from_env(), read_entries(csv_path))


def held_out_files(csv_path: Path = CSV_PATH) -> frozenset[str]:
    """Paths (relative to the data folder) that no training run may use."""
    return frozenset(e.file for e in read_entries(csv_path))


def incorrect_files(csv_path: Path = CSV_PATH) -> frozenset[str]:
    """The ``incorrect_*`` photos: the judges of "Mask below nose", held out of every training
    run together with their near copies (``near_copies``, ``data.held_out``)."""
    return frozenset(e.file for e in read_entries(csv_path) if e.incorrect)


def bucket(size: int) -> str:
    return next(name for name, lo, hi in BUCKETS if lo <= size < hi)


@dataclass(frozen=True)
class Seen:
    """One photo's outcome: the face size and label, or None when no face was found."""

    group: str  # a label of the set, or "unmasked"
    source: str
    size: int | None
    label: str | None
    #: In a test split: the served model never trained or tuned on it.
    held_out: bool = True


def in_test_split(data_dir: Path, path: Path) -> bool:
    """Whether a photo lies in its source's test split (``data.discover``'s split)."""
    rel = Path(path).relative_to(data_dir).parts  # faces/<source>/...
    if rel[1] == "kaggle12k":
        return rel[2] == "test"
    return data._hashed_split(f"{rel[-2]}/{rel[-1]}") == "test"


#: What is measured: (group, source, photo, in a test split).
Item = tuple[str, str, Path, bool]


def _crops(patrol: MaskPatrol, items: list[Item], batch: int = 128) -> list[Seen]:
    out: list[Seen] = []
    for start in range(0, len(items), batch):
        chunk = items[start:start + batch]
        rgbs = [data.read_rgb(item[2]) for item in chunk]
        faces = patrol.classify_faces([center_square(rgb) for rgb in rgbs])
        out += [Seen(g, s, min(rgb.shape[:2]), f.label, test) for (g, s, _, test), rgb, f in zip(chunk, rgbs, faces)]
    return out


def _end_to_end(patrol: MaskPatrol, items: list[Item]) -> list[Seen]:
    """The largest face the default detector finds in each photo (these photos hold one)."""
    out: list[Seen] = []
    for group, source, path, test in items:
        faces = patrol.analyze(data.read_rgb(path))
        if not faces:
            out.append(Seen(group, source, None, None, test))
            continue
        face = max(faces, key=lambda f: f.box[2] * f.box[3])
        out.append(Seen(group, source, int(face.box[2]), face.label, test))
    return out


def _shares(seen: list[Seen]) -> dict:
    found = [s for s in seen if s.label is not None]
    n = len(found)
    row: dict[str, float | int | None] = {"n": n}
    if len(found) != len(seen):
        row["no_face"] = len(seen) - n
    row["flagged"] = sum(s.label != MASK for s in found) / n if n else None
    row["kept"] = 1.0 - row["flagged"] if n else None
    row["called_incorrect"] = sum(s.label == INCORRECT for s in found) / n if n else None
    return row


def summarise(seen: list[Seen]) -> dict:
    """For each group: the shares over all its photos, by face size and by source."""
    out: dict[str, dict] = {}
    for group in ("incorrect", "incorrect_nose", "incorrect_chin", "mask", "unmasked"):
        rows = [s for s in seen if s.group == group or (group == "incorrect" and s.group in INCORRECT_LABELS)]
        if not rows:
            continue
        found = [s for s in rows if s.size is not None]
        out[group] = {"all": _shares(rows),
                      "by_size": {name: _shares([s for s in found if bucket(s.size) == name]) for name, _, _ in BUCKETS},
                      "by_source": {src: _shares([s for s in rows if s.source == src])
                                    for src in sorted({s.source for s in rows})},
                      # The served model trained or tuned on the photos outside the test
                      # splits (as "mask"): their figures flatter it.
                      "by_split": {"test": _shares([s for s in rows if s.held_out]),
                                   "train_or_validation": _shares([s for s in rows if not s.held_out])}}
    return out


def unmasked_held_out(data_dir: Path) -> list[data.Sample]:
    """The unmasked photos no network of the served model trained or tuned on."""
    return [s for s in data.select(data.discover(data_dir), "test", data.SOURCES) if s.label == data.NO_MASK]


def evaluate(data_dir: Path, model_dir: Path, out: Path = REPORTS_DIR, csv_path: Path = CSV_PATH) -> dict:
    pairs = resolve(data_dir, read_entries(csv_path))
    patrol = MaskPatrol.load(model_dir, num_threads=2)
    items: list[Item] = [(e.label, e.source, p, in_test_split(data_dir, p))
                         for e, p in pairs if e.label != UNCLEAR]
    items += [("unmasked", s.source, s.path, True) for s in unmasked_held_out(data_dir)]
    print(f"Classifying {len(items)} photos as crops, then end to end with {patrol.detector.name} ...", flush=True)
    result = {"model": str(model_dir / patrol.card.tflite_file), "labels": str(csv_path.name),
              "threshold": patrol.card.threshold, "incorrect_threshold": patrol.card.incorrect_threshold,
              "detector": patrol.detector.name,
              "counts": {label: sum(e.label == label for e, _ in pairs) for label in LABELS},
              "crop": summarise(_crops(patrol, items)),
              "end_to_end": summarise(_end_to_end(patrol, items))}
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_NAME).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"Wrote {out / REPORT_NAME}")
    return result


#: (group, share, what the issue asks) for each line of the table.
TARGETS = (("incorrect", "flagged", ">= 70%"), ("incorrect", "called_incorrect", ""),
           ("incorrect_nose", "flagged", ""), ("incorrect_chin", "flagged", ""),
           ("mask", "kept", ">= 97%"), ("unmasked", "flagged", ">= 99%"))


def _cell(row: dict, share: str) -> str:
    """"25.2% (143)": the share of a row of ``_shares`` and how many faces it is of."""
    if not row.get("n"):
        return "-"
    return f"{100 * row[share]:5.1f}% ({row['n']})"


def table(result: dict) -> str:
    """The figures as a text table: one line per measure and way of seeing the photos."""
    head = f"{'measure':46s} {'target':>7s} " + " ".join(f"{c:>13s}" for c in ("all", *(b for b, _, _ in BUCKETS)))
    lines = [head, "-" * len(head)]
    words = {"flagged": "flagged (not 'Mask')", "called_incorrect": "called 'Mask below nose'",
             "kept": "kept as 'Mask'"}
    for mode in ("crop", "end_to_end"):
        for group, share, target in TARGETS:
            g = result[mode].get(group)
            if g is None:
                continue
            cells = [g["all"], *(g["by_size"][b] for b, _, _ in BUCKETS)]
            name = f"{mode}: {group} {words[share]}"
            lines.append(f"{name:46s} {target:>7s} " + " ".join(f"{_cell(c, share):>13s}" for c in cells))
        for group, share in (("incorrect", "flagged"), ("mask", "kept")):
            split = result[mode][group]["by_split"]
            lines.append(f"  {mode}: {group} {share}, test splits only {_cell(split['test'], share).strip()}; "
                         f"photos the model trained or tuned on {_cell(split['train_or_validation'], share).strip()}")
        missed = {g: v["all"]["no_face"] for g, v in result[mode].items() if v["all"].get("no_face")}
        if missed:
            lines.append(f"  {mode}: photos where the detector found no face (left out): {missed}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskpatrol.training.real_set", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=data_dir_from_env(),
                    help=f"data folder holding faces/ (default: ${DATA_ENV_VAR})")
    ap.add_argument("--model", type=Path, default=default_model_dir(), help="model folder (default: models/)")
    ap.add_argument("--out", type=Path, default=REPORTS_DIR, help="report folder (default: reports/)")
    ap.add_argument("--labels", type=Path, default=CSV_PATH, help="labels file (default: the committed one)")
    args = ap.parse_args(argv)
    if data.missing_data_dir(args.data):
        return 2
    try:
        evaluate(args.data, args.model, args.out, args.labels)
    except RealSetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
