"""A small copy of the training-data folder, for runs of the training code that show it works
rather than how well.

``python -m maskpatrol.train --limit`` caps the images a network trains on, but composing the
served model scores the whole validation split (about 7,000 faces, two views each: minutes),
and evaluation the whole test split. A folder with the same layout, sources and class folders,
holding every n-th file of each, runs every step the same way in seconds. The files are
symbolic links to the data folder's own: nothing is copied, and the split of a file (kaggle12k's
own folders, a hash of the name for the others) is the one it has in the full folder.
"""

from __future__ import annotations

from pathlib import Path


def small_data_folder(data_dir: Path, dest: Path, per_folder: int = 60) -> Path:
    """``dest`` with ``faces/`` laid out as ``data_dir``'s, each class folder holding at most
    ``per_folder`` of its files, spread evenly over the sorted names. Returns ``dest``."""
    data_dir = Path(data_dir).resolve()  # the links must hold wherever the copy is read from
    faces = data_dir / "faces"
    for folder in sorted(p for p in faces.rglob("*") if p.is_dir()):
        files = sorted(f for f in folder.iterdir() if f.is_file())
        if not files:
            continue
        target = dest / folder.relative_to(data_dir)
        target.mkdir(parents=True, exist_ok=True)
        step = max(1, len(files) // per_folder)
        for f in files[::step][:per_folder]:
            (target / f.name).symlink_to(f)
    return dest
