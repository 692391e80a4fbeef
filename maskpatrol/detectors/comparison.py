"""Measured figures comparing the face detectors, shown on the Model page and in the sidebar.

They come from ``comparison.json`` beside this file, which ``python -m benchmarks.bench_detectors
--write-figures`` writes (command below) from a full run on the data folder described in
``../shared/data/README.md``: the app can show them without the data, and nobody types them
in. Re-run the command when a detector changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

COMMAND = ".venv/bin/python -m benchmarks.bench_detectors --data ../shared/data --write-figures"
FIGURES_PATH = Path(__file__).with_name("comparison.json")

#: How the figures were measured, in words for the Model page.
METHOD = (
    "All {n_mask} masked and {n_nomask} unmasked photos of `chandrikadeb7`, each pasted in the middle of a "
    "grey canvas twice its size; a face counts as found when a box has its centre on the photo. "
    "Agreement: the share of photos where both detectors found a face whose classifier crops overlap "
    "Haar's by IoU >= 0.5. Caught: the share of all unmasked photos whose face was found and called No mask "
    "or Mask below nose (both raise the alert), a missed face counting as not caught; in brackets, called "
    "No mask. Speed: median milliseconds per 640x480 frame with 3 photos, one thread, default "
    "settings, on the 2-core development machine ({load}). False boxes: {n_faceless} of "
    "scikit-image's sample photos without a face (cat, coffee, rocket, textures ...)."
)


def figures_from_report(report: dict[str, Any]) -> dict[str, Any]:
    """The app's figures out of a full ``bench_detectors.py`` report."""
    crops, frames, false = report["crops"], report["frames"], report["false_boxes"]
    out: dict[str, Any] = {"images": crops["images"], "load_average": report["load_average"], "detectors": {}}
    for name, rates in crops["found_rate"].items():
        agree = crops["agreement"].get(name)
        real = false[name]["real_photos"]
        out["detectors"][name] = {
            "found_mask": round(rates["mask"], 4), "found_no_mask": round(rates["no_mask"], 4),
            "agree": None if agree is None else round(agree["iou_ge_0_5"], 4),
            "no_mask_recall_all": round(crops["classifier"][name]["all_photos"]["no_mask_recall"], 4),
            "flagged_all": round(crops["classifier"][name]["all_photos"]["flagged"], 4),
            "ms": round(frames[name]["ms_median"], 2),
            "false_real": f"{real['images_with_boxes']} of {real['images']}",
        }
    return out


def _load() -> dict[str, Any]:
    try:
        return json.loads(FIGURES_PATH.read_text())
    except (OSError, ValueError):
        return {"detectors": {}, "images": {}, "load_average": []}


_REPORT = _load()
#: name -> figures (empty when the file is missing: the page then shows no table).
FIGURES: dict[str, dict[str, Any]] = _REPORT["detectors"]
N_IMAGES: dict[str, int] = _REPORT["images"]


def method() -> str:
    load = _REPORT.get("load_average") or []
    return METHOD.format(n_mask=N_IMAGES.get("mask", "?"), n_nomask=N_IMAGES.get("no_mask", "?"),
                         load="load average " + ", ".join(f"{v:g}" for v in load) if load else "load not recorded",
                         n_faceless=next(iter(FIGURES.values()), {}).get("false_real", "?").split(" of ")[-1])


def rows() -> list[dict[str, Any]]:
    """One table row per detector, for ``st.dataframe``."""
    from . import DETECTOR_LABELS

    out = []
    for name, f in FIGURES.items():
        out.append({
            "Detector": DETECTOR_LABELS.get(name, name),
            "Masked faces found": f"{f['found_mask']:.1%}",
            "Unmasked faces found": f"{f['found_no_mask']:.1%}",
            "Boxes agree with Haar": "-" if f.get("agree") is None else f"{f['agree']:.1%}",
            "Unmasked people caught": caught(f),
            "ms per 640x480 frame": f"{f['ms']:.1f}",
            "Faceless photos with a box": f"{f['false_real']}",
        })
    return out


def caught(f: dict[str, Any]) -> str:
    """Unmasked people flagged end to end and, in brackets, those called No mask."""
    return f"{f['flagged_all']:.1%} ({f['no_mask_recall_all']:.1%})"


def percent(name: str, key: str) -> str:
    """One figure as a rounded percentage, for help texts."""
    return f"{FIGURES[name][key]:.0%}" if name in FIGURES else "?"
