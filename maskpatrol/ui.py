"""The thin layer between Streamlit pages and the pipeline.

``st.cache_resource`` makes one :class:`MaskPatrol` per process, shared by every page,
every browser session and the webcam worker threads; the pipeline is immutable and
thread-safe, so sharing it is safe and keeps memory at one model.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from .detectors import DetectorSettings
from .pipeline import MaskPatrol, Settings
from .results import ImageResult, analyze_bytes


@st.cache_resource(show_spinner="Loading the mask model ...")
def get_patrol() -> MaskPatrol:
    return MaskPatrol.load()


def sidebar_settings(patrol: MaskPatrol, key_prefix: str = "",
                     defaults: DetectorSettings | None = None) -> tuple[Settings, bool]:
    """Detector sensitivity, decision threshold and probability display, from the sidebar.

    Returns the immutable :class:`Settings` for this rerun and whether to show
    probabilities. Widgets keep their values per session through their keys.
    ``defaults`` lets a page start from other detector values (the webcam page starts at
    larger faces, which halves the detector's work per frame).
    """
    defaults = defaults or DetectorSettings()
    with st.sidebar:
        st.header("Settings")
        threshold = st.slider(
            "Decision threshold (p no mask)", 0.001, 0.999, float(patrol.card.threshold), 0.001, format="%.3f",
            key=f"{key_prefix}threshold",
            help="Lower catches more unmasked people but raises more false alarms; "
                 f"the default {patrol.card.threshold:.3f} keeps no-mask recall at 99.5% on validation.")
        st.caption("Lower = fewer missed unmasked faces, more false alarms.")
        min_neighbors = st.slider("Detector strictness (min neighbours)", 1, 10, defaults.min_neighbors,
                                  key=f"{key_prefix}min_neighbors",
                                  help="Lower finds more faces, including some that are not faces.")
        scale_factor = st.slider("Detector scale step", 1.05, 1.5, defaults.scale_factor, 0.05,
                                 key=f"{key_prefix}scale_factor",
                                 help="Smaller steps find more faces but take longer.")
        min_face = st.slider("Smallest face (pixels)", 20, 200, defaults.min_face_px, 5,
                             key=f"{key_prefix}min_face",
                             help="Faces smaller than this are ignored. Lower it for crowds far away.")
        show_prob = st.toggle("Show probabilities", value=True, key=f"{key_prefix}show_prob")
    settings = Settings(DetectorSettings(float(scale_factor), int(min_neighbors), int(min_face)), float(threshold))
    return settings, show_prob


# --- Photos page -----------------------------------------------------------------------

def content_digest(data: bytes) -> str:
    """SHA-256 of an upload: the cache key, so the same photo (with the same name and
    detector settings) is analysed once, whichever session uploaded it."""
    return hashlib.sha256(data).hexdigest()


@st.cache_data(max_entries=24, ttl=3600, show_spinner=False)
def _cached_analysis(digest: str, name: str, scale_factor: float, min_neighbors: int,
                     min_face_px: int, _data: bytes) -> ImageResult:
    # ``_data`` is left out of the key (the leading underscore): ``digest`` stands for it.
    # Only detector settings are in the key; threshold and display options are applied
    # on every rerun by the page, so changing them never reruns the pipeline.
    # At most 24 entries of <= 1460 px previews (<= 6.4 MB each) bound the memory.
    detector = DetectorSettings(scale_factor, min_neighbors, min_face_px)
    return analyze_bytes(get_patrol(), _data, name, detector)


def analyze_upload(data: bytes, name: str, detector: DetectorSettings) -> ImageResult:
    """The pipeline's result for one uploaded file, cached per file content and detector
    settings (labels use the model card's threshold; apply the user's with ``relabel``)."""
    return _cached_analysis(content_digest(data), name, float(detector.scale_factor),
                            int(detector.min_neighbors), int(detector.min_face_px), data)
