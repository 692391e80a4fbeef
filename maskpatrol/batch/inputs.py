"""What to analyse: INPUT arguments (folders, globs, list files, URIs) expanded to files.

Listing happens once, on the machine that starts the job, so a resumed run sees the same
inputs in the same order. Local paths are reported exactly as ``detect`` reports them
(a folder's images as ``FOLDER/name``), so the rows of the two commands can be joined on
``path``. Anything with a scheme (``s3://``, ``gs://``, ``file://``) goes through pyarrow's
file systems, which Ray Data uses too.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from ..folders import files_in, subfolder_hint
from ..images import SUPPORTED_EXTENSIONS
from ..video import VIDEO_EXTENSIONS

IMAGE = "image"
VIDEO = "video"
#: An INPUT with one of these suffixes is a list of paths or URIs, one per line.
LIST_SUFFIXES = (".txt", ".lst")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputItem:
    """One file to analyse (``error`` is None), or an INPUT that could not be listed
    (``error`` says why; ``kind`` is None, as it is neither a photo nor a video)."""

    path: str
    kind: str | None  # IMAGE or VIDEO
    error: str | None = None


def is_uri(text: str) -> bool:
    """``s3://bucket/key``, ``file:///tmp/x``; not a Windows drive or a plain path."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").isalnum()


def kind_of(name: str) -> str | None:
    """IMAGE or VIDEO by file extension; None for anything else."""
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in SUPPORTED_EXTENSIONS:
        return IMAGE
    if suffix in VIDEO_EXTENSIONS:
        return VIDEO
    return None


def _media(names: Iterable[str]) -> list[InputItem]:
    out = []
    for name in names:
        kind = kind_of(name)
        if kind is not None and not Path(name).name.startswith("."):
            out.append(InputItem(name, kind))
    return out


def _uri(uri: str, recursive: bool) -> list[InputItem]:
    from pyarrow import fs as pafs  # ships with ray[data]; only needed for URIs

    filesystem, path = pafs.FileSystem.from_uri(uri)
    scheme = uri.split("://", 1)[0]
    info = filesystem.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        return [InputItem(uri, None, f"Not found: {uri}")]
    if info.type != pafs.FileType.Directory:
        return [InputItem(uri, kind_of(uri) or IMAGE)]
    listed = filesystem.get_file_info(pafs.FileSelector(path, recursive=recursive))
    names = sorted(f"{scheme}://{f.path}" for f in listed if f.type == pafs.FileType.File
                   and not any(part.startswith(".") for part in f.path[len(path):].split("/")))
    return _media(names) or [InputItem(uri, None, _empty(uri, recursive))]


def _empty(item: str, recursive: bool) -> str:
    return f"No images or videos in {item}{subfolder_hint(recursive)}"


def _list_file(path: Path, recursive: bool, seen: set[Path]) -> list[InputItem]:
    if path in seen:
        return [InputItem(str(path), None, f"{path} lists itself")]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [InputItem(str(path), None, f"Could not read the list {path}: {exc}")]
    entries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return _expand(entries, recursive, seen | {path})


def _expand(items: Sequence[str], recursive: bool, seen: set[Path]) -> list[InputItem]:
    out: list[InputItem] = []
    for item in items:
        if is_uri(item):
            try:
                out.extend(_uri(item, recursive))
            except (OSError, ValueError) as exc:
                out.append(InputItem(item, None, f"Could not list {item}: {exc}"))
            continue
        path = Path(item)
        if path.is_dir():
            files, listing_error = files_in(item, recursive)
            found = [InputItem(item, None, listing_error)] if listing_error else _media(map(str, files))
            out.extend(found or [InputItem(item, None, _empty(item, recursive))])
        elif path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            out.extend(_list_file(path.resolve(), recursive, seen))
        elif not path.exists() and _GLOB_CHARS & set(item):
            matches = sorted(glob.glob(item, recursive=True))
            out.extend(_media(m for m in matches if Path(m).is_file())
                       or [InputItem(item, None, f"No images or videos match {item}")])
        else:
            # A file named on the command line is tried whatever its extension, as detect
            # does; a missing one becomes an error row when a worker opens it.
            out.append(InputItem(item, kind_of(item) or IMAGE))
    return out


def expand_items(items: Sequence[str], recursive: bool = False) -> list[InputItem]:
    """Every input in order, each path once (the first mention wins)."""
    unique: dict[str, InputItem] = {}
    for entry in _expand(items, recursive, set()):
        unique.setdefault(entry.path, entry)
    return list(unique.values())
