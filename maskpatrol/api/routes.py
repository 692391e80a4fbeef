"""The API's routes under ``/api/v1``: one handler per route, each answering JSON (a face
thumbnail of the event log answers its JPEG).

A request goes through the cheap checks first (token, rate, parameters, content type,
declared size), then takes an analysis slot before its body is read, and the image work
runs on a worker thread (:mod:`maskpatrol.api.slots`), never on the server's event loop.

This module is imported when the server starts (``app.py``), so it imports only Starlette
and the light API modules; the pipeline's (numpy, Pillow, OpenCV, LiteRT, onnxruntime) are
imported by the handlers on the first request, so a server that nobody has used yet does
not hold them (54 MB instead of 123 MB); SQLAlchemy likewise, on the first ``/events``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from .access import RateLimiter, check_token, client_key
from .body import Upload, body_kind, check_declared_size, read_uploads
from .config import MAX_BODY_MB, MAX_FILES, PREFIX, ApiConfig
from .errors import ApiError, error_response
from .events import EventLog, events_params
from .slots import AnalysisSlots

if TYPE_CHECKING:
    from .analysis import Outcome

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]
#: Route path -> its methods; also what a wrong method or an unknown path is told.
METHODS = {"/detect": ("POST",), "/classify": ("POST",), "/events": ("GET",),
           "/events/{event_id}/thumbnail": ("GET",), "/health": ("GET",), "/openapi.json": ("GET",)}
#: What the catch-all route under the prefix answers, so no method falls through to Streamlit.
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _json_errors(handler: Handler) -> Handler:
    """Any failure of ``handler`` as a JSON error: an :class:`ApiError` as it is, anything
    else as a 500 (logged with its traceback for the operator, never sent to the client)."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except Exception:
            log.exception("API request %s %s failed", request.method, request.url.path)
            return error_response(ApiError(500, "The server failed on this request; nothing was stored. "
                                                "Try again, and tell the operator if it persists."))

    return wrapped


def _model_unavailable(exc: Exception) -> ApiError:
    return ApiError(503, f"The mask model could not be loaded on this server: {exc}")


class Api:
    """The handlers, holding the per-process state they share: settings, rate, slots."""

    def __init__(self, config: ApiConfig) -> None:
        self.config = config
        self.rate = RateLimiter(config.rate_per_min)
        self.slots = AnalysisSlots(config.workers, config.queue)
        self.log = EventLog()

    async def _analyse(self, request: Request, parse: Callable[[Any], tuple[Any, str]],
                       job: Callable[[Sequence[Upload], Any], list[Outcome]]) -> Response:
        check_token(request, self.config.token)
        self.rate.check(client_key(request, self.config.behind_proxy))
        options, raw_name = parse(request.query_params)
        kind = body_kind(request)
        check_declared_size(request)
        async with self.slots.reserve() as ticket:
            uploads = await read_uploads(request, kind, raw_name)
            try:
                outcomes = await ticket.run(job, uploads, options)
            except Exception as exc:  # the jobs report per-image failures; this is the model load
                raise _model_unavailable(exc) from None
        # Where the time went, for clients and benchmarks: queued for a worker, then analysis.
        timing = {"Server-Timing": f"queue;dur={ticket.wait_s * 1000:.1f}, analysis;dur={ticket.analysis_s * 1000:.1f}"}
        if kind == "multipart":
            return JSONResponse([o.record for o in outcomes], headers=timing)
        [outcome] = outcomes
        if outcome.status != 200:
            raise ApiError(outcome.status, outcome.record["error"], {**timing}, body=outcome.record)
        return JSONResponse(outcome.record, headers=timing)

    async def detect(self, request: Request) -> Response:
        from .analysis import detect_records
        from .params import detect_params

        return await self._analyse(request, detect_params, detect_records)

    async def classify(self, request: Request) -> Response:
        from .analysis import classify_records
        from .params import classify_params

        return await self._analyse(request, classify_params, classify_records)

    async def events(self, request: Request) -> Response:
        check_token(request, self.config.token)
        query = events_params(request.query_params)
        return JSONResponse(await asyncio.to_thread(self.log.page, query))

    async def thumbnail(self, request: Request) -> Response:
        check_token(request, self.config.token)
        jpeg = await asyncio.to_thread(self.log.thumbnail, request.path_params["event_id"])
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    async def health(self, request: Request) -> Response:
        from ..detectors import DETECTOR_NAMES, DetectorSettings
        from ..pipeline import INCORRECT, LABELS
        from ..shared import shared_patrol

        try:
            patrol = await asyncio.to_thread(shared_patrol)
        except Exception as exc:
            raise _model_unavailable(exc) from None
        raw = patrol.card.raw
        return JSONResponse({
            "ok": True,
            "model": {"name": raw.get("name"), "date": raw.get("date"), "input_size": patrol.card.input_size},
            "threshold": patrol.card.threshold,
            "incorrect_threshold": patrol.card.incorrect_threshold,
            "labels": [name for name in LABELS if name != INCORRECT or patrol.card.has_incorrect],
            "detectors": list(DETECTOR_NAMES),
            "default_detector": DetectorSettings().name,
            "auth": "token" if self.config.token else "open",
            "limits": {"max_body_mb": MAX_BODY_MB, "max_files": MAX_FILES,
                       "rate_per_min": self.config.rate_per_min,
                       "workers": self.config.workers, "queue": self.config.queue},
        })

    async def openapi(self, request: Request) -> Response:
        from .openapi import openapi_document

        return JSONResponse(openapi_document(self.config))

    async def not_found(self, request: Request) -> Response:
        """A wrong method on a known route (405 with ``Allow``), or an unknown path (404)."""
        path = request.url.path[len(PREFIX):] if request.url.path.startswith(PREFIX) else request.url.path
        if path in METHODS:
            allowed = ", ".join(METHODS[path])
            raise ApiError(405, f"{request.method} is not allowed on {PREFIX}{path}; use {allowed}.",
                           {"Allow": allowed})
        raise ApiError(404, f"No such API route: {request.url.path}. Routes: "
                            f"{', '.join(PREFIX + p for p in METHODS)}.")


def _api_off(config: ApiConfig) -> Handler:
    """Every request while the API is off: a JSON 404 that says it is off here and why
    (:attr:`ApiConfig.off_message`, the server log's line), not Streamlit's 405 or page shell."""
    error = ApiError(404, str(config.off_message))

    async def off(request: Request) -> Response:
        return error_response(error)

    return off


def build_routes(config: ApiConfig) -> list[BaseRoute]:
    """The routes to hand to ``st.App``; when the API is turned off, only a catch-all that
    answers 404 saying so."""
    if not config.enabled:
        return [Mount(PREFIX, routes=[Route("/{rest:path}", _api_off(config), methods=ANY_METHOD)])]
    api = Api(config)
    handlers = {"/detect": api.detect, "/classify": api.classify, "/events": api.events,
                "/events/{event_id}/thumbnail": api.thumbnail, "/health": api.health, "/openapi.json": api.openapi}
    routes: list[BaseRoute] = [Route(path, _json_errors(handlers[path]), methods=list(METHODS[path]))
                               for path in METHODS]
    # Last: any other path or method under the prefix gets a JSON 404/405, not plain text.
    routes.append(Route("/{rest:path}", _json_errors(api.not_found), methods=ANY_METHOD))
    middleware = []
    if config.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                                     allow_methods=["GET", "POST"], allow_headers=["Authorization", "Content-Type"],
                                     max_age=600))
    return [Mount(PREFIX, routes=routes, middleware=middleware)]
