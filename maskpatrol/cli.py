"""``python -m maskpatrol``: the command-line contract other tools call.

Output is one line per input, in input order, so a caller can stream it; a bad input is
reported on its own line and the run goes on. Exit status: 0 all inputs processed,
1 some input failed, 2 the command itself could not run (bad arguments, no model).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from .annotate import annotate
from .detectors import DETECTOR_NAMES, DetectorSettings
from .images import ImageError, encode_png, load_image
from .model_card import ModelNotFoundError
from .paths import default_model_dir
from .pipeline import MaskPatrol, Settings, image_record, summarize
from .preprocess import center_square

DESCRIPTION = """Find faces and tell whether each wears a face mask.

commands:
  detect    find every face in photos and label each "mask" or "no_mask"
  classify  run the mask classifier alone on images that are already face crops

Run `python -m maskpatrol COMMAND --help` for the options of each."""

DETECT_EPILOG = """JSON output (--json), one line per image:
  {"path": ..., "width": W, "height": H,
   "faces": [{"box": [x, y, w, h], "label": "mask"|"no_mask", "p_no_mask": 0.0-1.0}],
   "error": null}
An unreadable image gives "error": "<message>" (width/height null, faces []) and the run
continues. Exit status: 0 all images processed, 1 any image failed, 2 usage or model error."""

CLASSIFY_EPILOG = """JSON output (--json), one line per image:
  {"path": ..., "label": "mask"|"no_mask", "p_no_mask": 0.0-1.0, "error": null}
The whole image is taken as the face (its centre square is used). Same exit status as detect."""


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print one JSON object per line instead of a table")
    p.add_argument("--model-dir", type=Path, default=None,
                   help="folder with model_card.json and the .tflite model (default: models/)")
    p.add_argument("--threshold", type=float, default=None,
                   help="p(no mask) at or above which a face counts as unmasked (default: the model card's)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m maskpatrol", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("detect", help="find faces in photos and label each mask / no_mask",
                       description="Find every face in each IMAGE and say whether it wears a mask.",
                       epilog=DETECT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    d.add_argument("images", nargs="+", metavar="IMAGE", help="JPEG, PNG, WEBP, BMP, GIF or TIFF files")
    _common(d)
    d.add_argument("--detector", choices=DETECTOR_NAMES, default="haar", help="face detector (default: haar)")
    defaults = DetectorSettings()
    d.add_argument("--scale-factor", type=float, default=defaults.scale_factor,
                   help=f"Haar scale step; smaller finds more faces, slower (default: {defaults.scale_factor})")
    d.add_argument("--min-neighbors", type=int, default=defaults.min_neighbors,
                   help=f"Haar neighbours needed; lower finds more faces and more false ones (default: {defaults.min_neighbors})")
    d.add_argument("--min-face", type=int, default=defaults.min_face_px,
                   help=f"smallest face to find, in pixels (default: {defaults.min_face_px})")
    d.add_argument("--annotate-dir", type=Path, default=None,
                   help="also write each annotated image as PNG into this folder")

    c = sub.add_parser("classify", help="classify face crops (no detection)",
                       description="Run the mask classifier on each FACE_IMAGE, taken as one face.",
                       epilog=CLASSIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("images", nargs="+", metavar="FACE_IMAGE", help="face crops (any supported format)")
    _common(c)
    return parser


def _emit(row: dict[str, Any], as_json: bool, table_row: Callable[[dict[str, Any]], str]) -> None:
    print(json.dumps(row) if as_json else table_row(row), flush=True)


def _detect_row(row: dict[str, Any]) -> str:
    if row["error"]:
        return f"{row['path']}: ERROR {row['error']}"
    lines = [f"{row['path']} ({row['width']}x{row['height']}): {row['summary']}"]
    for i, f in enumerate(row["faces"], 1):
        x, y, w, h = f["box"]
        lines.append(f"  face {i}: {f['label']:<8} p_no_mask={f['p_no_mask']:.3f}  box x={x} y={y} w={w} h={h}")
    return "\n".join(lines)


def _classify_row(row: dict[str, Any]) -> str:
    if row["error"]:
        return f"{row['path']}: ERROR {row['error']}"
    return f"{row['path']}: {row['label']:<8} p_no_mask={row['p_no_mask']:.3f}"


def run_detect(args: argparse.Namespace, patrol: MaskPatrol) -> int:
    settings = Settings(DetectorSettings(args.scale_factor, args.min_neighbors, args.min_face, args.detector),
                        args.threshold)
    failed = False
    if args.annotate_dir:
        args.annotate_dir.mkdir(parents=True, exist_ok=True)
    for path in args.images:
        row = image_record(path)
        try:
            rgb = load_image(path)
            faces = patrol.analyze(rgb, settings)
            row = image_record(path, faces, int(rgb.shape[1]), int(rgb.shape[0]))
            if args.annotate_dir:
                out = args.annotate_dir / (Path(path).stem + ".annotated.png")
                out.write_bytes(encode_png(annotate(rgb, faces)))
            if not args.json:
                row["summary"] = summarize(faces)
        except ImageError as exc:
            row["error"], failed = str(exc), True
        except Exception as exc:  # never a traceback: report and go on
            row["error"], failed = f"could not process {path}: {exc}", True
        _emit(row, args.json, _detect_row)
    return 1 if failed else 0


def run_classify(args: argparse.Namespace, patrol: MaskPatrol) -> int:
    failed = False
    for path in args.images:
        row: dict[str, Any] = {"path": path, "label": None, "p_no_mask": None, "error": None}
        try:
            face = center_square(load_image(path))
            [(label, p)] = patrol.classify_faces([face], args.threshold)
            row.update(label=label, p_no_mask=round(p, 6))
        except ImageError as exc:
            row["error"], failed = str(exc), True
        except Exception as exc:
            row["error"], failed = f"could not process {path}: {exc}", True
        _emit(row, args.json, _classify_row)
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        parser.error("--threshold must be between 0 and 1")
    try:
        patrol = MaskPatrol.load(args.model_dir or default_model_dir(),
                                 detector=getattr(args, "detector", "haar"))
    except (ModelNotFoundError, FileNotFoundError, RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run_detect(args, patrol) if args.command == "detect" else run_classify(args, patrol)
