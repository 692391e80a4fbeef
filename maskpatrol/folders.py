"""A folder argument to its files, walked one way for ``detect`` and ``batch``.

Both commands report a folder's files in the same order, so their outputs can be joined on
the path: sorted by the path relative to the folder (repeatable on any file system), hidden
files and folders (``.git``, macOS ``._photo.jpg``) skipped. Each command keeps the files it
can analyse.
"""

from __future__ import annotations

import os
from pathlib import Path


def files_in(item: str, recursive: bool) -> tuple[list[Path], str | None]:
    """The files in the folder ``item`` (and its subfolders when ``recursive``), or, when it
    cannot be listed, no files and the reason."""
    folder = Path(item)
    found: list[Path] = []
    try:
        if recursive:
            for root, dirs, files in os.walk(folder):
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                found.extend(Path(root) / f for f in files)
        else:
            found = [p for p in folder.iterdir() if p.is_file()]
    except OSError as exc:
        return [], f"Could not list the folder {item}: {exc.strerror or exc}"
    visible = (p for p in found if not p.name.startswith("."))
    return sorted(visible, key=lambda p: p.relative_to(folder).parts), None


def subfolder_hint(recursive: bool) -> str:
    """Said after "no images in FOLDER" when the subfolders were not looked in."""
    return "" if recursive else " (add --recursive to look in subfolders)"
