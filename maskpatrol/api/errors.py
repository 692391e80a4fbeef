"""Every API failure as JSON with the status a client can act on, never a traceback.

The body is always ``{"error": "<message for a person>", "status": <code>}``; a 400 for
an image that cannot be decoded also carries the CLI's record of that image (see
:mod:`maskpatrol.api.routes`).
"""

from __future__ import annotations

from typing import Any, Mapping

from starlette.responses import JSONResponse


class ApiError(Exception):
    """A request we refuse; raised anywhere in a handler, answered by :func:`error_response`."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None,
                 body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.body = dict(body or {})


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse({**exc.body, "error": exc.message, "status": exc.status},
                        status_code=exc.status, headers=exc.headers)
