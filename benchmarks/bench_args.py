"""Command-line options the benchmarks share, so the same flag means the same thing in each."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Callable

from maskpatrol.detectors import DetectorSettings


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    """``--data`` (default ``$MASKPATROL_DATA_DIR``) and ``--json``; check with :func:`require_data`."""
    p.add_argument("--data", type=Path, default=os.environ.get("MASKPATROL_DATA_DIR"),
                   help="folder holding faces/ (default: $MASKPATROL_DATA_DIR)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a table")


def require_data(p: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.Namespace:
    """``args``, or a usage error when no data folder was given either way."""
    if args.data is None:
        p.error("give --data or set MASKPATROL_DATA_DIR")
    return args


def add_haar_arguments(p: argparse.ArgumentParser) -> None:
    """Haar's two knobs, defaulting to the app's, so a faster setting can be judged."""
    p.add_argument("--scale-factor", type=float, default=DetectorSettings.scale_factor,
                   help="Haar's step between searched scales (default: the app's); larger is faster "
                        "and finds fewer faces")
    p.add_argument("--min-neighbors", type=int, default=DetectorSettings.min_neighbors,
                   help="Haar's hits needed to accept a face (default: the app's)")


def write_report(report: dict[str, Any], args: argparse.Namespace, table: Callable[[dict[str, Any]], str]) -> None:
    """Print ``report`` (as JSON with ``--json``, else as ``table``) and write it to ``args.out``."""
    text = json.dumps(report, indent=2)
    print(text if args.json else table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
