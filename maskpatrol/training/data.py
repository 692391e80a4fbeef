"""Finding, splitting and loading the face folders described in the data README, and
choosing the unmasked faces that get a drawn mask (drawing them is ``synth_data``'s job)."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..preprocess import center_square
from .synth import INCORRECT_STYLES

CLASS_NAMES = ("mask", "no_mask", "incorrect")
MASK, NO_MASK, INCORRECT = 0, 1, 2
#: Side at which images are kept in memory; augmentation crops and zooms from this.
PRELOAD_SIZE = 96
#: Real photos with a binary label: the binary metrics and cross-source checks use these.
SOURCES = ("kaggle12k", "chandrikadeb7")
#: Sources of the third class: MaskedFace-Net's drawn masks, and our own drawn on unmasked
#: faces of SOURCES (``synth_data``), each in the split of the face it was drawn on.
THIRD_CLASS_SOURCES = ("maskedfacenet", "synthetic")
#: chandrikadeb7 has no split of its own: this share goes to validation and to a
#: held-out test split, by a hash of the file name so the split never changes.
CHANDRIKA_VAL, CHANDRIKA_TEST = 0.10, 0.20
#: The one seed of that hash (and of which faces get drawn masks). It is not a training
#: seed: every network of a composed model, and every evaluation of it, must see the same
#: split, or a network trained with another seed learns faces that are test faces for the
#: others.
SPLIT_SEED = 1234
SPLITS = ("train", "validation", "test")
#: Share of unmasked faces drawn on with a mask worn wrongly, and with one worn properly.
INCORRECT_SHARE = 0.5
CORRECT_SHARE = 0.25


@dataclass(frozen=True)
class Sample:
    path: Path
    label: int  # 0 = mask, 1 = no_mask, 2 = incorrect
    source: str
    split: str
    #: For source "synthetic": how the drawn mask is worn (``synth.STYLES``); ``path`` is
    #: then the unmasked face it is drawn on.
    style: str | None = None


def missing_data_dir(path: Path | None) -> bool:
    """True (after telling the user how to fix it) when the data folder is unusable."""
    if path is not None and (Path(path) / "faces").is_dir():
        return False
    where = f" ({path} has no faces/ folder)" if path is not None else ""
    print(f"error: give the data folder with --data DIR or MASKPATROL_DATA_DIR{where}", file=sys.stderr)
    return True


def _folder_label(name: str) -> int | None:
    return {"with_mask": MASK, "without_mask": NO_MASK, "correct_mask": MASK, "incorrect_mask": INCORRECT}.get(name)


def _hashed_split(key: str) -> str:
    f = _stable_fraction(key, SPLIT_SEED)
    return "test" if f < CHANDRIKA_TEST else "validation" if f < CHANDRIKA_TEST + CHANDRIKA_VAL else "train"


def _stable_fraction(key: str, seed: int) -> float:
    digest = hashlib.md5(f"{seed}:{key}".encode()).hexdigest()
    return int(digest[:8], 16) / 0xFFFFFFFF


def seed_int(key: str) -> int:
    """A stable 32-bit integer for a name, to seed one sample's random drawing."""
    return int(hashlib.md5(key.encode()).hexdigest()[:8], 16)


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


def held_out() -> frozenset[str]:
    """Photos (paths relative to the data folder) no network may train or tune on: the
    ``incorrect_*`` photos of the real set, which judge "Mask below nose", and their near
    copies anywhere in the data folder (``labels/near_copies.csv``, written by ``near_copies``;
    labels/README.md)."""
    from .hold_out import held_out as files

    return files()


def discover(data_dir: str | Path, third_class: bool = False, hold_out: bool = True) -> list[Sample]:
    """All samples with their split, the same whatever a network's training seed
    (``SPLIT_SEED``). kaggle12k keeps its own split (its test split is never trained or tuned
    on); chandrikadeb7 and maskedfacenet get 70/10/20 by a hash of the file name.
    ``third_class`` adds maskedfacenet and the synthetic samples; without it only the two
    binary sources come back, as every binary figure expects. With ``hold_out`` (always, for
    training) the ``held_out()`` photos leave the train and validation splits; the test splits
    keep them, so test figures stay comparable with earlier models."""
    root = Path(data_dir) / "faces"
    if not root.is_dir():
        raise FileNotFoundError(f"{data_dir} has no faces/ folder; see the data README")
    samples: list[Sample] = []
    for split in SPLITS:
        for cls_dir in sorted((root / "kaggle12k" / split).glob("*")):
            label = _folder_label(cls_dir.name)
            if label is not None:
                samples += [Sample(p, label, "kaggle12k", split) for p in _images(cls_dir)]
    for cls_dir in sorted((root / "chandrikadeb7").glob("*")):
        label = _folder_label(cls_dir.name)
        if label is None:
            continue
        for p in _images(cls_dir):
            samples.append(Sample(p, label, "chandrikadeb7", _hashed_split(f"{cls_dir.name}/{p.name}")))
    if not samples:
        raise FileNotFoundError(f"no face images found under {root}")
    if hold_out:
        samples = drop_held_out(samples, Path(data_dir), held_out())
    if third_class:
        mfn = root / "maskedfacenet"
        for cls_dir in sorted(mfn.glob("*")) if mfn.is_dir() else []:
            label = _folder_label(cls_dir.name)
            if label is not None:
                samples += [Sample(p, label, "maskedfacenet", _hashed_split(f"mfn/{p.name}"))
                            for p in _images(cls_dir)]
        samples += synthetic_samples(samples, SPLIT_SEED)
    return samples


def drop_held_out(samples: list[Sample], data_dir: Path, files: frozenset[str]) -> list[Sample]:
    """``samples`` without those of ``files`` (relative to ``data_dir``) outside the test split."""
    def rel(p: Path) -> str:
        try:
            return Path(p).relative_to(data_dir).as_posix()
        except ValueError:
            return Path(p).as_posix()

    return [s for s in samples if s.split == "test" or rel(s.path) not in files]


def synthetic_samples(samples: list[Sample], seed: int) -> list[Sample]:
    """Synthetic samples for the unmasked real faces in ``samples``, chosen by a hash of the
    file name (stable whatever else is in the folder). Every one is drawn on an unmasked face
    of the two real sources and stays in that face's split, so no face is drawn on in
    training and then judged in evaluation."""
    out: list[Sample] = []
    for s in samples:
        if s.label != NO_MASK or s.source not in SOURCES:
            continue
        key = f"{s.source}/{s.path.name}"
        if _stable_fraction(f"incorrect:{key}", seed) < INCORRECT_SHARE:
            style = INCORRECT_STYLES[int(_stable_fraction(f"style:{key}", seed) * 1e6) % len(INCORRECT_STYLES)]
            out.append(Sample(s.path, INCORRECT, "synthetic", s.split, style))
        if _stable_fraction(f"correct:{key}", seed) < CORRECT_SHARE:
            out.append(Sample(s.path, MASK, "synthetic", s.split, "correct"))
    return out


def select(samples: list[Sample], split: str | None = None, sources: tuple[str, ...] | None = None) -> list[Sample]:
    return [s for s in samples if (split is None or s.split == split)
            and (sources is None or s.source in sources)]


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"could not read {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_square(path: Path, size: int) -> np.ndarray:
    face = center_square(read_rgb(path))
    interp = cv2.INTER_AREA if face.shape[0] > size else cv2.INTER_LINEAR
    return cv2.resize(face, (size, size), interpolation=interp)


def counts(samples: list[Sample]) -> dict[str, dict[str, int]]:
    """{"kaggle12k/train": {"mask": n, "no_mask": m}, ...} for the model card."""
    table: dict[str, dict[str, int]] = {}
    for s in samples:
        row = table.setdefault(f"{s.source}/{s.split}", {name: 0 for name in CLASS_NAMES})
        row[CLASS_NAMES[s.label]] += 1
    return dict(sorted(table.items()))
