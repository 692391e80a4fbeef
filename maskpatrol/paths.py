"""Locations of the files the app ships with, resolved from the repository root.

Resolving from this file (not the working directory) lets the CLI, the tests and
``streamlit run`` work whatever folder they are started from.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CASCADE_PATH = REPO_ROOT / "haarcascade_frontalface_default.xml"
MODELS_DIR = REPO_ROOT / "models"
REPORTS_DIR = REPO_ROOT / "reports"
MODEL_BASENAME = "mask_classifier"
DATA_ENV_VAR = "MASKPATROL_DATA_DIR"


def default_model_dir() -> Path:
    """The shipped model folder, overridable so a freshly trained model can be tried."""
    return Path(os.environ.get("MASKPATROL_MODEL_DIR", MODELS_DIR))


def data_dir_from_env() -> Path | None:
    """The training-data folder named by ``MASKPATROL_DATA_DIR``, if it exists."""
    value = os.environ.get(DATA_ENV_VAR)
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None
