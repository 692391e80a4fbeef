"""Where things are: every helper and test resolves paths from here, not from its own file."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Figures, screenshots and logs tests write (git-ignored).
ARTIFACTS = ROOT / "tests" / "artifacts"


def module_of(nodeid: str) -> str:
    """The test file a pytest node id names (``tests/unit/test_x.py`` of ``...::test_y[z]``)."""
    return nodeid.split("::", 1)[0]
