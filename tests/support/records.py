"""What each front end writes for one fixed set of inputs: the records a refactoring must keep.

The inputs are made by code (skimage's astronaut, with and without a mask drawn by
:func:`support.images.paint_mask`; a truncated PNG, an empty file, a text file, a missing
file; folders of images) in a scratch folder, and every front end is run on them in this
process: ``detect`` and ``classify`` (JSON and text, with their exit status), the Photos
page's CSV and JSON downloads, the HTTP API's answers and the batch rows. Paths are relative
to the scratch folder, so the outputs do not depend on where it is.

``tests/unit/test_records_unchanged.py`` compares them with the files in ``tests/data/records/``.
To record them again (only when a change of output is meant)::

    PYTHONPATH=.:tests .venv/bin/python -m support.records
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from support.images import paint_mask, png_bytes
from support.paths import ROOT

RECORDS = ROOT / "tests" / "data" / "records"

#: Photos and other files for ``detect`` and the Photos page (``missing.png`` is never written).
PHOTOS = ("astronaut.png", "masked.png", "corrupt.png", "empty.jpg", "notes.png", "missing.png")
#: Face crops (and the photos' bad files) for ``classify``.
CROPS = ("astronaut_face.png", "masked_face.png", "astronaut.png", "corrupt.png", "empty.jpg", "notes.png",
         "missing.png")
#: ``two``: two images, plus a hidden one, a text file and a subfolder; ``none``: no image.
FOLDERS = ("two", "none")


def write_inputs(folder: Path, patrol) -> None:
    """The inputs under ``folder/inputs``, the same bytes on every run."""
    from skimage import data

    from maskpatrol.preprocess import square_crop

    astronaut = np.ascontiguousarray(data.astronaut())
    box = patrol.analyze(astronaut)[0].box
    masked = paint_mask(astronaut, box, 1.0)
    files = {
        "astronaut.png": png_bytes(astronaut),
        "masked.png": png_bytes(masked),
        "corrupt.png": png_bytes(astronaut)[:300],
        "empty.jpg": b"",
        "notes.png": b"not an image\n",
        "astronaut_face.png": png_bytes(square_crop(astronaut, box)),
        "masked_face.png": png_bytes(square_crop(masked, box)),
        "two/a.png": png_bytes(astronaut),
        "two/b.PNG": png_bytes(masked),
        "two/.hidden.png": png_bytes(astronaut),
        "two/notes.txt": b"not a photo\n",
        "two/sub/c.png": png_bytes(masked),
        "none/notes.txt": b"not a photo\n",
    }
    for name, content in files.items():
        path = folder / "inputs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _cli(argv: list[str]) -> str:
    """``python -m maskpatrol ARGV`` in this process: its stdout, then its exit status."""
    from maskpatrol import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = cli.main(argv)
    return out.getvalue() + f"exit {status}\n"


def _photos_page(patrol) -> dict[str, str]:
    from maskpatrol import export, results

    found = [name for name in PHOTOS if Path("inputs", name).exists()]
    analysed = [results.analyze_bytes(patrol, Path("inputs", name).read_bytes(), name) for name in found]
    return {"photos.csv": export.to_csv(analysed), "photos.json": export.to_json(analysed)}


def _api() -> dict[str, str]:
    from starlette.datastructures import QueryParams
    from starlette.responses import JSONResponse

    from maskpatrol.api.analysis import classify_records, detect_records
    from maskpatrol.api.body import Upload
    from maskpatrol.api.params import classify_params, detect_params

    def answers(job: Callable, options, names: tuple[str, ...]) -> str:
        uploads = [Upload(name, Path("inputs", name).read_bytes()) for name in names if Path("inputs", name).exists()]
        return "".join(f"{o.status} {JSONResponse(o.record).body.decode()}\n" for o in job(uploads, options))

    detect_settings, _ = detect_params(QueryParams(""))
    threshold, _ = classify_params(QueryParams(""))
    return {"api_detect.txt": answers(detect_records, detect_settings, PHOTOS),
            "api_classify.txt": answers(classify_records, threshold, CROPS)}


def _batch(patrol) -> str:
    from maskpatrol.batch.inputs import expand_items
    from maskpatrol.batch.work import BatchSettings, analyse

    inputs = [str(Path("inputs", name)) for name in PHOTOS + FOLDERS]
    lines = [json.dumps({"listed": item.path, "kind": item.kind, "error": item.error})
             for item in expand_items(inputs)]
    for item in expand_items(inputs, recursive=True):
        rows = ([{"path": item.path, "error": item.error}] if item.error
                else analyse(patrol, item.path, item.kind, BatchSettings()))
        lines.extend(json.dumps(row) for row in rows)
    return "\n".join(lines) + "\n"


def outputs(patrol) -> dict[str, str]:
    """File name -> what a front end wrote, each run in a fresh scratch folder."""
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            write_inputs(Path(scratch), patrol)
            photos = [str(Path("inputs", name)) for name in PHOTOS + FOLDERS]
            crops = [str(Path("inputs", name)) for name in CROPS]
            return {
                "detect.jsonl": _cli(["detect", "--json", *photos]),
                "detect_recursive.jsonl": _cli(["detect", "--json", "--recursive", "inputs/two", "inputs/none"]),
                "detect.txt": _cli(["detect", *photos]),
                "classify.jsonl": _cli(["classify", "--json", *crops]),
                "classify.txt": _cli(["classify", *crops]),
                **_photos_page(patrol),
                **_api(),
                "batch.jsonl": _batch(patrol),
            }
        finally:
            os.chdir(cwd)


def main() -> int:
    from maskpatrol.pipeline import MaskPatrol

    RECORDS.mkdir(parents=True, exist_ok=True)
    for name, text in outputs(MaskPatrol.load()).items():
        (RECORDS / name).write_text(text)
        print(f"wrote {RECORDS / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
