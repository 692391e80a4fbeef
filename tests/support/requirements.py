"""The project's requirements files, read as pip reads them.

The ``requirements*.in`` files name the direct dependencies; ``make lock`` compiles each into
its ``.txt`` lock, where every requirement spans several lines (``name==version \\`` then one
``--hash=sha256:...`` per file) and is followed by pip-compile's ``# via`` notes, which say
what asked for it. A ``-r FILE`` line includes another file; ``-c FILE`` only constrains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: pip starts a comment at a '#' that begins a line or follows whitespace.
_COMMENT = re.compile(r"(^|\s)#.*$")


@dataclass(frozen=True)
class Entry:
    """One requirement line: the requirement, the hashes it carries and the file it is in."""

    requirement: Requirement
    hashes: tuple[str, ...]
    path: Path

    @property
    def name(self) -> str:
        return canonicalize_name(self.requirement.name)

    @property
    def pinned_version(self) -> str | None:
        """The version of an exact ``==`` pin, else None."""
        specs = list(self.requirement.specifier)
        if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
            return specs[0].version
        return None


def logical_lines(path: Path) -> list[str]:
    """The lines pip acts on: backslash continuations joined, comments and blanks dropped."""
    joined, lines = "", []
    for raw in path.read_text().splitlines():
        line = _COMMENT.sub("", raw)
        if line.rstrip().endswith("\\"):
            joined += line.rstrip()[:-1] + " "
            continue
        line = (joined + line).strip()
        joined = ""
        if line:
            lines.append(line)
    if joined.strip():
        lines.append(joined.strip())
    return lines


def read(path: Path, follow_includes: bool = True) -> list[Entry]:
    """Every requirement of ``path``, and of the files its ``-r`` lines include (unless
    ``follow_includes`` is false); ``-c`` files and other options are not requirements."""
    entries: list[Entry] = []
    for line in logical_lines(path):
        tokens = line.split()
        if tokens[0] in ("-r", "--requirement"):
            if follow_includes:
                entries.extend(read(path.parent / tokens[1]))
            continue
        if tokens[0].startswith("-"):
            continue
        hashes = tuple(t.split("=", 1)[1] for t in tokens[1:] if t.startswith("--hash="))
        requirement = " ".join(t for t in tokens if not t.startswith("--hash="))
        entries.append(Entry(Requirement(requirement), hashes, path))
    return entries


def pins(path: Path) -> dict[str, str]:
    """Package name -> pinned version, for a lock file (every requirement an ``==`` pin)."""
    return {e.name: e.pinned_version for e in read(path) if e.pinned_version is not None}


def direct_sources(lock: Path) -> dict[str, set[str]]:
    """Package name -> the files a lock says asked for it by name (its ``# via -r FILE``
    notes): the input files' requirements as they were when the lock was compiled."""
    sources: dict[str, set[str]] = {}
    current = None
    for raw in lock.read_text().splitlines():
        head = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==", raw)
        if head:
            current = canonicalize_name(head.group(1))
            sources.setdefault(current, set())
            continue
        note = re.match(r"^\s+#\s+(?:via\s+)?-r\s+(\S+)\s*$", raw)
        if note and current is not None:
            sources[current].add(note.group(1))
    return sources
