"""The thin layer between Streamlit pages and the pipeline.

``st.cache_resource`` makes one :class:`MaskPatrol` per process, shared by every page,
every browser session and the webcam worker threads; the pipeline is immutable and
thread-safe, so sharing it is safe and keeps memory at one model.
"""

from __future__ import annotations

import hashlib
from typing import Callable

import streamlit as st

from .budget import PhotoSlots, shared_slots
from .detectors import DEFAULT_DETECTOR, DETECTOR_LABELS, DETECTOR_NAMES, DetectorSettings, default_min_score
from .pipeline import MaskPatrol, Settings
from .tracking.settings import PeopleSettings
from .results import ImageResult, analyze_bytes, annotated_png
from .shared import shared_patrol


@st.cache_resource(show_spinner="Loading the mask model ...")
def get_patrol() -> MaskPatrol:
    # The process's one model, also used by the HTTP API (maskpatrol/api), which runs outside any script.
    return shared_patrol()


def _detector_help() -> str:
    """What the detector picker says about each choice, one line each, with the measured
    figures (:mod:`maskpatrol.detectors.comparison`)."""
    from .detectors.comparison import percent as pc

    def found(name: str) -> str:
        return f"found {pc(name, 'found_mask')} of masked / {pc(name, 'found_no_mask')} of unmasked test faces"

    return (
        f"**YuNet** (recommended): for every use; finds masked faces and small faces in crowds ({found('yunet')}).  \n"
        f"**Haar cascade**: the classic OpenCV detector; looks for eyes, nose and mouth, so it misses most "
        f"masked faces ({found('haar')}).  \n"
        f"**BlazeFace short range**: Google MediaPipe's, for one face close to the camera ({found('blazeface')}).  \n"
        f"**BlazeFace full range**: MediaPipe's for groups a few metres away ({found('blazeface-full')}).  \n"
        "Details on the Model page."
    )


def _detector_label(name: str) -> str:
    return DETECTOR_LABELS.get(name, name)


def _people_settings(key_prefix: str) -> PeopleSettings:
    """How faces become people, for the pages that see sequences (video, live)."""
    defaults = PeopleSettings()
    with st.expander("People", icon=":material/groups:"):
        decide = st.number_input("Frames before a person is judged", 1, 30, defaults.decide_after_frames, 1,
                                 key=f"{key_prefix}decide_after", persist_state="session",
                                 help="Each person is judged once, from their largest faces, after being seen in this "
                                      "many analysed frames. A face lost sooner is taken for a stray detection.")
        keep = st.number_input("Keep a person out of sight for (s)", 0.0, 10.0, float(defaults.keep_lost_s), 0.5,
                               key=f"{key_prefix}keep_lost", persist_state="session",
                               help="Someone hidden by a passer-by, or missed by the detector for a moment, keeps "
                                    "their number for this long. Longer merges people who follow closely.")
    return PeopleSettings(decide_after_frames=int(decide), keep_lost_s=float(keep))


def sidebar_settings(patrol: MaskPatrol, key_prefix: str = "",
                     defaults: DetectorSettings | None = None, people: bool = False) -> tuple[Settings, bool]:
    """Detector choice and sensitivity, decision threshold and probability display, from the sidebar.

    Returns the immutable :class:`Settings` for this rerun and whether to show
    probabilities. Widgets keep their values for the whole session through their keys
    (``persist_state="session"``), also while hidden: a visit to another page, or a look at
    BlazeFace and back, does not reset the Haar knobs a person had tuned. Each page keeps
    its own values (the webcam starts from larger faces than the Photos page).
    ``defaults`` lets a page start from other detector values (the webcam page starts at
    larger faces, which halves the detector's work per frame). Only the knobs of the
    chosen detector are shown: Haar's scale step and strictness mean nothing to
    YuNet or BlazeFace, whose knob is their confidence. ``people`` adds the settings of
    following people (pages that see videos or streams).
    """
    defaults = defaults or DetectorSettings()
    names = list(DETECTOR_NAMES)
    with st.sidebar:
        st.header("Settings")
        name = st.radio("Face detector", names, index=names.index(defaults.name) if defaults.name in names else 0,
                        format_func=_detector_label, key=f"{key_prefix}detector", persist_state="session", help=_detector_help())
        threshold = st.slider(
            "Decision threshold (p no mask)", 0.001, 0.999, float(patrol.card.threshold), 0.001, format="%.3f",
            key=f"{key_prefix}threshold", persist_state="session",
            help="Lower catches more unmasked people but raises more false alarms; "
                 f"the default {patrol.card.threshold:.3f} keeps no-mask recall at 99.5% on validation"
                 + (f" (counting faces called Mask below nose as caught). That label has its own threshold, "
                    f"{patrol.card.incorrect_threshold:.2f} on p(mask below nose), fixed by the model card."
                    if patrol.card.has_incorrect else "."))
        st.caption("Lower = fewer missed unmasked faces, more false alarms.")
        min_neighbors, scale_factor, min_score = defaults.min_neighbors, defaults.scale_factor, None
        if name == "haar":
            min_neighbors = st.slider("Detector strictness (min neighbours)", 1, 10, defaults.min_neighbors,
                                      key=f"{key_prefix}min_neighbors", persist_state="session",
                                      help="Haar only. Lower finds more faces, including some that are not faces.")
            scale_factor = st.slider("Detector scale step", 1.05, 1.5, defaults.scale_factor, 0.05,
                                     key=f"{key_prefix}scale_factor", persist_state="session",
                                     help="Haar only. Smaller steps find more faces but take longer.")
        else:
            default_score = default_min_score(name) if defaults.min_score is None else defaults.min_score
            # One key per model: each has its own measured default.
            min_score = st.slider("Detector confidence", 0.1, 0.9, float(default_score), 0.05,
                                  key=f"{key_prefix}min_score_{name}", persist_state="session",
                                  help="Lower finds more faces (masked faces score lower) and more things "
                                       "that are not faces; higher the reverse.")
        min_face = st.slider("Smallest face (pixels)", 20, 200, defaults.min_face_px, 5,
                             key=f"{key_prefix}min_face", persist_state="session",
                             help="Faces smaller than this are ignored (with every detector). "
                                  "Lower it for crowds far away.")
        show_prob = st.toggle("Show probabilities", value=True, key=f"{key_prefix}show_prob", persist_state="session")
        followed = _people_settings(key_prefix) if people else PeopleSettings()
    detector = DetectorSettings(float(scale_factor), int(min_neighbors), int(min_face), name,
                                None if min_score is None else float(min_score))
    return Settings(detector, float(threshold), people=followed), show_prob


# --- Photos page -----------------------------------------------------------------------

def content_digest(data: bytes) -> str:
    """SHA-256 of an upload: the cache key, so the same photo (with the same name and
    detector settings) is analysed once, whichever session uploaded it."""
    return hashlib.sha256(data).hexdigest()


@st.cache_data(max_entries=24, ttl=3600, show_spinner=False)
def _cached_analysis(digest: str, name: str, scale_factor: float, min_neighbors: int,
                     min_face_px: int, _data: bytes, detector_name: str = DEFAULT_DETECTOR,
                     min_score: float | None = None) -> ImageResult:
    # ``_data`` is left out of the key (the leading underscore): ``digest`` stands for it.
    # Only detector settings are in the key (including which detector runs); threshold and
    # display options are applied on every rerun by the page, so changing them never
    # reruns the pipeline.
    # At most 24 entries, each a JPEG preview and the face thumbnails, bound the memory.
    detector = DetectorSettings(scale_factor, min_neighbors, min_face_px, detector_name, min_score)
    return analyze_bytes(get_patrol(), _data, name, detector)


def analyze_upload(data: bytes, name: str, detector: DetectorSettings,
                   on_wait: Callable[[PhotoSlots], None] | None = None) -> ImageResult:
    """The pipeline's result for one uploaded file, cached per file content and detector
    settings (labels use the model card's threshold; apply the user's with ``relabel``).

    Runs in one of the server's photo slots (:mod:`maskpatrol.budget`); ``on_wait`` is
    called when all are taken, before this visitor waits for one."""
    with shared_slots().slot(on_wait):
        return _cached_analysis(content_digest(data), name, float(detector.scale_factor),
                                int(detector.min_neighbors), int(detector.min_face_px), data,
                                detector_name=str(detector.name),
                                min_score=None if detector.min_score is None else float(detector.min_score))


def annotated_download(data: bytes, result: ImageResult, show_probability: bool) -> bytes:
    """The annotated PNG a visitor downloads, made in a photo slot like an analysis."""
    with shared_slots().slot():
        return annotated_png(data, result, show_probability)


def slots_busy_text(slots: PhotoSlots) -> str:
    """What a visitor reads while their photo waits for a slot."""
    photos = "photo" if slots.slots == 1 else f"{slots.slots} photos"
    return (f"This server analyses {photos} at a time, to stay within its memory, and other visitors' "
            "photos are being analysed now. Yours starts as soon as one is done.")
