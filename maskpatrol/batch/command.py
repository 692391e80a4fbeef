"""``python -m maskpatrol batch``: its options, and the run with a progress line and a summary.

Imported by :mod:`maskpatrol.cli` for every command, so Ray and pyarrow are imported only
when ``batch`` runs: without them the command says how to install them (exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from ..detectors import DETECTOR_NAMES, DetectorSettings
from ..model_card import ModelNotFoundError, load_card
from ..paths import default_model_dir
from .inputs import LIST_SUFFIXES
from .work import BatchSettings

RAY_MISSING = ("error: the batch command runs on Ray, which is not installed here. Install it with\n"
               "  pip install -r requirements-batch.txt\n"
               "(or pip install \"ray[data]==2.60.0\"); the other commands do not need it.")

EPILOG = f"""INPUT: files, folders (their images and videos, sorted; --recursive for subfolders), globs
(quoted: "cams/*/2026-11-*.mp4"), text files ({', '.join(LIST_SUFFIXES)}) listing one path or URI a line,
or URIs (s3://, gs://, file://: any file system pyarrow opens).
OUT: a folder of part-*.parquet (or .jsonl) files, one row per face:
  path, kind (image|video), frame, time_s (videos), width, height, box [x, y, w, h],
  label (mask|no_mask|incorrect), p_no_mask, p_incorrect, error
("incorrect": a mask below the nose, 3-class models only; p_incorrect is 0 with a binary model)
plus one row (box, label null) per image or analysed video frame with no face, and one per
input that failed (error set). The numbers are those of `detect --json` and `video --csv`.
Run the same command again after a crash or Ctrl-C: inputs already in OUT are skipped.
Without --address Ray runs inside this command on this machine; --address auto joins the
cluster of this node, ray://HOST:10001 a remote one (every worker must reach INPUT and OUT).
A wrong --address may keep Ray retrying for minutes; Ctrl-C stops it.
Exit status: 0 all inputs analysed, 1 some input failed or the job stopped, 2 usage, Ray or
model missing, cluster unreachable, 130 interrupted (finished parts are kept)."""


def add_parser(sub: Any) -> None:
    """The ``batch`` subcommand's options (``sub`` is the CLI's subparsers object)."""
    b = sub.add_parser("batch", help="audit many photos and videos on Ray (this machine or a cluster)",
                       description="Analyse every face in many photos and videos in parallel on Ray Data, "
                                   "writing one row per face to OUT; resumable.",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders, globs, list files or URIs")
    b.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (local or URI); "
                   "re-run with the same DIR to resume")
    b.add_argument("--format", choices=("parquet", "jsonl"), default="parquet", help="part format (default: parquet)")
    b.add_argument("--address", default=None,
                   help="Ray cluster to run on: auto, or ray://HOST:10001 (default: start Ray in this process)")
    b.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parallel workers, one CPU and one loaded model each (default: one per CPU)")
    b.add_argument("--part-size", type=int, default=None, metavar="N",
                   help="inputs per output part; a crash loses at most this many per worker (default: 16)")
    b.add_argument("--recursive", "-r", action="store_true", help="also walk the subfolders of each folder")
    b.add_argument("--every", type=int, default=1, metavar="N", help="videos: analyse every Nth frame (default: 1)")
    b.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    b.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    b.add_argument("--model-dir", type=Path, default=None,
                   help="folder with model_card.json and the .tflite model (default: models/)")
    b.add_argument("--threshold", type=float, default=None,
                   help="p(no mask) at or above which a face counts as unmasked (default: the model card's)")
    b.add_argument("--detector", choices=DETECTOR_NAMES, default=DetectorSettings().name,
                   help=f"face detector (default: {DetectorSettings().name})")
    b.add_argument("--min-face", type=int, default=None,
                   help="smallest face to find, in pixels (default: 40 for photos, 60 for video, as detect and video)")
    b.add_argument("--min-score", type=float, default=None, help="YuNet and BlazeFace: lowest face confidence (0-1)")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _not_masked(totals: Any) -> str:
    """"3 without a mask", plus ", 1 with the mask below the nose" once such a face was
    seen (a binary model's wording is unchanged)."""
    below = getattr(totals, "incorrect", 0)
    return f"{totals.no_mask} without a mask" + (f", {below} with the mask below the nose" if below else "")


def summary_text(totals: Any, out: str) -> str:
    """One paragraph a person reads at the end of a run."""
    if not totals.inputs and totals.skipped:
        return f"Nothing to do: every input ({totals.skipped}) is already in {out} from an earlier run."
    videos = f", {totals.videos} videos ({totals.frames} frames analysed)" if totals.videos else ""
    text = (f"{_plural(totals.inputs, 'input')} ({_plural(totals.images, 'photo')}{videos}): "
            f"{_plural(totals.faces, 'face')}, {_not_masked(totals)}; {_plural(totals.errors, 'error')}.")
    if totals.workers:
        text += (f" {totals.elapsed_s:.1f} s with {totals.workers} worker{'s' if totals.workers != 1 else ''}: "
                 f"{totals.analysed_per_s:.1f} photos+frames/s")
        if totals.first_part_s is not None:
            text += f" (first results after {totals.first_part_s:.1f} s: Ray start and model loading"
            text += f"; {totals.steady_per_s:.1f}/s after that)" if totals.steady_per_s else ")"
        text += "."
    if totals.skipped:
        text += f" Skipped {totals.skipped} inputs already in {out} from an earlier run."
    return text + f" Rows in {out}."


def run(args: argparse.Namespace) -> int:
    """Run ``batch``; returns the exit status (see :data:`EPILOG`)."""
    for name, value in (("--workers", args.workers), ("--part-size", args.part_size), ("--every", args.every)):
        if value is not None and value < 1:
            print(f"error: {name} must be 1 or more", file=sys.stderr)
            return 2
    try:
        import pyarrow  # noqa: F401
        import ray  # noqa: F401
    except ImportError:
        print(RAY_MISSING, file=sys.stderr)
        return 2
    from .inputs import expand_items
    from .job import DEFAULT_PART_SIZE, RayStartError, run_job
    from .store import PartStore, StoreError

    model_dir = (args.model_dir or default_model_dir()).resolve()
    try:
        card = load_card(model_dir)
        if not (model_dir / card.tflite_file).is_file():
            raise ModelNotFoundError(f"The model card names {model_dir / card.tflite_file}, which does not exist")
        store = PartStore(args.out, args.format)
    except (ModelNotFoundError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = BatchSettings(args.detector, args.threshold, args.min_face, args.min_score, args.every)
    items = expand_items(args.inputs, args.recursive)
    if not args.quiet:
        print(f"batch: {_plural(len(items), 'input')} listed; Ray starts{' at ' + args.address if args.address else ''}"
              f" unless all are in {args.out} already", file=sys.stderr, flush=True)
    last_line = [0.0]

    def progress(totals: Any) -> None:
        now = time.monotonic()
        if args.quiet or now - last_line[0] < 2.0:
            return
        last_line[0] = now
        print(f"batch: {totals.inputs + totals.skipped}/{len(items)} inputs · {_plural(totals.faces, 'face')}, "
              f"{_not_masked(totals)} · {_plural(totals.errors, 'error')} · "
              f"{totals.analysed_per_s:.1f} photos+frames/s",
              file=sys.stderr, flush=True)

    try:
        totals = run_job(items, store, settings, str(model_dir), address=args.address, workers=args.workers,
                         part_size=args.part_size or DEFAULT_PART_SIZE, on_part=progress)
    except KeyboardInterrupt:
        print(f"interrupted: finished parts are kept in {args.out}; run the same command again to resume",
              file=sys.stderr)
        return 130
    except (StoreError, RayStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a Ray failure (cluster unreachable, worker lost): a sentence, no traceback
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        print(f"error: the Ray job stopped ({exc.__class__.__name__}): {first}\n"
              f"Finished parts are kept in {args.out}; run the same command again to resume.", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"out": args.out, **totals.as_dict()}), flush=True)
    else:
        print(summary_text(totals, args.out), flush=True)
    return 1 if totals.errors else 0
