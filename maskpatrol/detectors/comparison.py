"""Measured figures comparing the face detectors, shown on the Model page and in the sidebar.

They are the output of ``benchmarks/bench_detectors.py`` (command below) on the data folder
described in ``../shared/data/README.md``, copied here by hand so that the app can show
them without the data. Re-run the benchmark and update them when a detector changes.
"""

from __future__ import annotations

from typing import Any

COMMAND = ".venv/bin/python benchmarks/bench_detectors.py --data ../shared/data"

#: How the figures were measured, in words for the Model page.
METHOD = (
    "All {n_mask} masked and {n_nomask} unmasked photos of `chandrikadeb7`, each pasted in the middle of a "
    "grey canvas twice its size; a face counts as found when a box has its centre on the photo. "
    "Agreement: the share of photos where both detectors found a face whose classifier crops "
    "overlap by IoU >= 0.5 (best-matching pair; median IoU 0.82 short range, 0.86 full range). Classifier: accuracy / no-mask recall on all photos, a missed face counting as wrong. "
    "Speed: median milliseconds per 640x480 frame with 3 photos, one thread, on the 2-core "
    "development machine while other jobs shared it (Haar's time varies most with load: 28-62 ms "
    "over our runs, BlazeFace 2.0-2.3 / 5.1-5.5 ms). False boxes: 19 of scikit-image's sample "
    "photos without a face (cat, coffee, rocket, textures ...); the short-range model's default "
    "confidence (0.3, below MediaPipe's 0.5, to find masked faces) costs some false boxes: raise "
    "**Detector confidence** in the sidebar if walls or patterns get boxes."
)

#: name -> figures, from one full run (2026-11-22, load average 4-7 from other jobs).
#: ``agree`` is ``None`` for Haar (agreement is measured against it).
FIGURES: dict[str, dict[str, Any]] = {
    "haar": {"found_mask": 0.289, "found_no_mask": 0.783, "agree": None, "no_mask_recall_all": 0.772,
             "ms": 33.3, "false_real": "1 of 19"},
    "blazeface": {"found_mask": 0.954, "found_no_mask": 0.999, "agree": 0.933, "no_mask_recall_all": 0.966,
                  "ms": 2.0, "false_real": "7 of 19"},
    "blazeface-full": {"found_mask": 0.868, "found_no_mask": 0.987, "agree": 0.950, "no_mask_recall_all": 0.962,
                       "ms": 5.1, "false_real": "1 of 19"},
}

N_IMAGES = {"mask": 2055, "no_mask": 1877}


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
            "Unmasked people caught": f"{f['no_mask_recall_all']:.1%}",
            "ms per 640x480 frame": f"{f['ms']:.1f}",
            "Faceless photos with a box": f"{f['false_real']}",
        })
    return out


def percent(name: str, key: str) -> str:
    """One figure as a rounded percentage, for help texts."""
    return f"{FIGURES[name][key]:.0%}" if name in FIGURES else "?"
