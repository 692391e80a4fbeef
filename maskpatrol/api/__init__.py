"""Mask Patrol's HTTP API, served by the same Streamlit server and port as the pages.

``app.py`` hands :func:`api_routes` to ``st.App``; the routes answer under ``/api/v1`` with
the CLI's JSON records (see ``docs/api.md``). Modules, one job each:

- :mod:`.config`: settings from ``MASKPATROL_API*`` variables and the address
  Streamlit listens on (who may call without a token);
- :mod:`.routes`: the handlers and the route table;
- :mod:`.access`: bearer token and per-client rate;
- :mod:`.body`: content type, size limit, multipart, all in memory;
- :mod:`.slots`: worker threads and the bounded queue (503 when full);
- :mod:`.query`, :mod:`.params`: the query string, and the analysis routes' parameters as
  pipeline settings (422);
- :mod:`.events`: ``/events``, the watch command's event log, a page at a time;
- :mod:`.analysis`: the per-image work, the CLI's records;
- :mod:`.errors`, :mod:`.openapi`: JSON errors and the OpenAPI description.
"""

from __future__ import annotations

import logging

from starlette.routing import BaseRoute

from .config import ApiConfig, ApiConfigError, load_config
from .routes import build_routes


def api_routes(config: ApiConfig) -> list[BaseRoute]:
    """The API's routes for this process's settings (when the API is off, one that answers
    every request with a JSON 404 saying why); says the same in the server log, in one line,
    so an operator is not left guessing."""
    if not config.enabled:
        logging.getLogger(__name__).warning("%s", config.off_message)
    return build_routes(config)


__all__ = ["ApiConfig", "ApiConfigError", "api_routes", "load_config"]
