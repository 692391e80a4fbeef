"""Where things are: every helper and test resolves paths from here, not from its own file."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Figures, screenshots and logs tests write (git-ignored).
ARTIFACTS = ROOT / "tests" / "artifacts"
