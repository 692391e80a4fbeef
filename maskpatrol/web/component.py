"""The Streamlit component that runs the live analysis in the visitor's browser.

Streamlit 1.67's custom components v2 (``st.components.v2.component``) mount our code in
the page itself (no iframe). Components that are not pip-installed packages cannot ship
asset files, so the component's own JavaScript is a few lines that import the built
bundle from the app's static folder (``static/live/``, served at ``app/static/live/`` by
``server.enableStaticServing``, switched on in ``.streamlit/config.toml``). The bundle
loads the ONNX runtime and both models from the same folder: nothing comes from a CDN.

Python sends the component everything the pipeline needs in ``data``: the model URLs,
the preprocessing constants (from :mod:`maskpatrol.preprocess`, the model card and the
YuNet detector's module, so both languages use one set of numbers) and the sidebar's
current settings. The component sends back ``playing`` (state), ``problem`` (state) and
``reading`` (a trigger, once a second: counts only, see :mod:`.readings`).
"""

from __future__ import annotations

from dataclasses import asdict

from pathlib import Path
from typing import Any, Callable

from ..annotate import STYLES, dash_pattern
from ..detectors import MIN_SIZE_SLACK, DetectorSettings, yunet
from ..live import LiveOptions
from ..model_card import ModelCard
from ..paths import REPO_ROOT
from ..pipeline import DISPLAY_NAMES
from ..preprocess import CROP_SCALE, CROP_SHIFT_DOWN, PIXEL_OFFSET, PIXEL_SCALE

#: Where the built bundle lives on disk, and its URL relative to the app's root.
STATIC_DIR = REPO_ROOT / "static" / "live"
STATIC_URL = "app/static/live"
BUNDLE = "live.js"
WASM = "ort-wasm-simd-threaded.wasm.gz"
CLASSIFIER_ONNX = "models/mask_classifier.onnx"
DETECTOR_ONNX = f"models/{yunet.MODEL_FILE.as_posix()}"

# The component's JavaScript: import the bundle by URL (relative to the page, so a
# server.baseUrlPath works too) and hand it the component. The import is asynchronous;
# an unmount that comes first is passed on once the bundle is there.
_LOADER_JS = """
export default function (component) {
  const url = new URL(component.data.bundle_url, document.baseURI).href;
  let cleanup = null, gone = false;
  import(url).then((m) => { cleanup = m.mount(component); if (gone) cleanup(); })
    .catch((err) => {
      component.parentElement.textContent = "The in-browser analysis could not load: " + err;
      component.setStateValue("problem", "The in-browser analysis could not load: " + err);
    });
  return () => { gone = true; if (cleanup) cleanup(); };
}
"""


def bundle_present(static_dir: Path = STATIC_DIR) -> bool:
    """True when the built bundle and both models are on disk."""
    return all((static_dir / name).is_file() for name in (BUNDLE, WASM, CLASSIFIER_ONNX, DETECTOR_ONNX))


def pipeline_config(card: ModelCard) -> dict[str, Any]:
    """What the browser pipeline needs besides the user's settings; the same for everyone."""
    return {
        "wasm_url": f"{STATIC_URL}/{WASM}",
        "detector": {"url": f"{STATIC_URL}/{DETECTOR_ONNX}", **detector_config()},
        "classifier": {
            "url": f"{STATIC_URL}/{CLASSIFIER_ONNX}",
            "input_size": card.input_size,
            "crop_scale": CROP_SCALE,
            "crop_shift_down": CROP_SHIFT_DOWN,
            "pixel_scale": PIXEL_SCALE,
            "pixel_offset": PIXEL_OFFSET,
        },
        "styles": box_styles(),
    }


def box_styles() -> dict[str, dict[str, Any]]:
    """How each label is drawn, from :mod:`maskpatrol.annotate` (``src/draw.js`` reads
    them from here): name, colours, line weight at 640 px, and the dash pattern per line
    thickness for the dashed "Mask below nose" box."""
    dash, gap = dash_pattern(1)
    return {label: {"name": DISPLAY_NAMES[label], "colour": list(style.colour),
                    "text_colour": list(style.text_colour), "weight": style.weight, "dashed": style.dashed,
                    "dash_per_px": dash, "gap_per_px": gap}
            for label, style in STYLES.items()}


def detector_config() -> dict[str, Any]:
    """YuNet's search plan, thresholds and box transform, from its module: the browser
    port (``src/yunet.js``) reads every number from here, so the two cannot drift."""
    t = yunet.TO_HAAR
    return {
        "strides": list(yunet.STRIDES), "default_min_score": yunet.DEFAULT_MIN_SCORE, "nms_iou": yunet.NMS_IOU,
        "max_inside": yunet.MAX_INSIDE,
        "target_min_face_px": yunet.TARGET_MIN_FACE_PX, "max_upscale": yunet.MAX_UPSCALE,
        "max_face_px": yunet.MAX_FACE_PX, "pyramid_step": yunet.PYRAMID_STEP,
        "coarse_short_side": yunet.COARSE_SHORT_SIDE,
        "max_tile_side": yunet.MAX_TILE_SIDE, "tile_overlap": yunet.TILE_OVERLAP,
        "tile_edge_margin": yunet.TILE_EDGE_MARGIN,
        "min_size_slack": MIN_SIZE_SLACK, "haar_size": yunet.HAAR_SIZE, "to_haar": {"scale": t.scale, "dx": t.dx, "dy": t.dy},
    }


def browser_settings(options: LiveOptions, threshold: float,
                     incorrect_threshold: float | None = None) -> dict[str, Any]:
    """The sidebar's settings as the browser pipeline reads them (every rerun, so a change
    reaches the running camera at once). The browser always runs YuNet: the detector's
    own knobs apply only when YuNet is the chosen detector. ``incorrect_threshold`` is
    ``MaskPatrol.incorrect_threshold``: None for a binary model, which never says
    "Mask below nose"."""
    detector: DetectorSettings = options.settings.detector
    min_score = detector.min_score if detector.name == yunet.YuNetDetector.name else None
    return {
        "threshold": float(threshold),
        "incorrect_threshold": None if incorrect_threshold is None else float(incorrect_threshold),
        "min_face_px": int(detector.min_face_px),
        "min_score": None if min_score is None else float(min_score),
        "mirror": bool(options.mirror),
        "show_probability": bool(options.show_probability),
        "people": asdict(options.settings.people),
        "sound": bool(options.sound),
        "camera": str(options.camera),
    }


_component: Callable[..., Any] | None = None


def _mount_fn() -> Callable[..., Any]:
    global _component
    if _component is None:
        import streamlit as st

        _component = st.components.v2.component("maskpatrol_live", js=_LOADER_JS, isolate_styles=True)
    return _component


def _ignore() -> None:
    """State and trigger callbacks: the page reads the values from the result instead."""


def live_component(key: str, config: dict[str, Any], settings: dict[str, Any]) -> Any:
    """Mount the component; returns Streamlit's result (``.playing``, ``.reading``, ``.problem``)."""
    return _mount_fn()(
        key=key,
        data={"bundle_url": f"{STATIC_URL}/{BUNDLE}", "pipeline": config, "settings": settings},
        default={"playing": False, "problem": None},
        on_playing_change=_ignore, on_reading_change=_ignore, on_problem_change=_ignore,
    )
