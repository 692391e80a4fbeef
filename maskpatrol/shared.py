"""The one :class:`MaskPatrol` of a server process, for the pages and the HTTP API alike.

The pages reach it through ``ui.get_patrol`` (``st.cache_resource``, which adds the
loading spinner); the API's route handlers run outside any Streamlit script and call
:func:`shared_patrol` directly. Both get the same object, so a server holds one model in
memory and the API's answers come from the very pipeline the pages use.
"""

from __future__ import annotations

import threading

from .pipeline import MaskPatrol

_lock = threading.Lock()
_patrol: MaskPatrol | None = None


def shared_patrol() -> MaskPatrol:
    """Load the model on first call (once, even when threads race) and return it ever after.

    A failed load (no model card, missing .tflite) raises each time it is asked for, so
    the page and the API can both show the message; nothing half-built is kept."""
    global _patrol
    if _patrol is None:
        with _lock:
            if _patrol is None:
                _patrol = MaskPatrol.load()
    return _patrol
