"""Mask Patrol's HTTP API, served by the same Streamlit server and port as the pages.

``app.py`` hands :func:`api_routes` to ``st.App``; the routes answer under ``/api/v1`` with
the CLI's JSON records (see ``docs/api.md``). Modules, one job each:

- :mod:`.config`: settings from ``MASKPATROL_API*`` variables;
- :mod:`.routes`: the handlers and the route table;
- :mod:`.access`: bearer token and per-client rate;
- :mod:`.body`: content type, size limit, multipart, all in memory;
- :mod:`.slots`: worker threads and the bounded queue (503 when full);
- :mod:`.params`: query parameters to pipeline settings (422);
- :mod:`.analysis`: the per-image work, the CLI's records;
- :mod:`.errors`, :mod:`.openapi`: JSON errors and the OpenAPI description.
"""

from __future__ import annotations

import logging
import os

from starlette.routing import BaseRoute

from .config import ENABLED, TOKEN, ApiConfig, ApiConfigError, load_config
from .routes import build_routes


def api_routes(config: ApiConfig | None = None) -> list[BaseRoute]:
    """The API's routes for this process's settings (none when the API is off); says in
    the server log why it is off, so an operator is not left guessing."""
    config = load_config() if config is None else config
    if not config.enabled:
        why = (f"{ENABLED}=off" if os.environ.get(ENABLED) else
               f"a deployment (DYNO is set) without {TOKEN}; set the token, or {ENABLED}=on for an open API")
        logging.getLogger(__name__).warning("Mask Patrol HTTP API is off: %s.", why)
    return build_routes(config)


__all__ = ["ApiConfig", "ApiConfigError", "api_routes", "load_config"]
