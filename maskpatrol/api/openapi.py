"""The machine-readable description served at ``/api/v1/openapi.json`` (OpenAPI 3.1).

Built from the same constants the handlers use (detector names, limits, parameter
names), so it cannot promise a parameter or a limit the server does not have.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..detectors import DETECTOR_NAMES, DetectorSettings
from ..images import SUPPORTED_FORMATS
from ..pipeline import LABELS
from ..events.model import RECORD_FIELDS
from .config import MAX_BODY_MB, MAX_FILES, PREFIX, ApiConfig
from .events import DEFAULT_LIMIT, EVENT_LABELS, MAX_LIMIT
from .params import CLASSIFY_PARAMS, DEFAULT_NAME, DETECT_PARAMS, MAX_MIN_FACE

_ERROR = {"type": "object", "required": ["error", "status"],
          "properties": {"error": {"type": "string", "description": "what went wrong, for a person"},
                         "status": {"type": "integer"}}}
_LABEL_HELP = ('"incorrect": a mask worn below the nose or on the chin, not properly masked; only a '
               "3-class model gives it (see /health's incorrect_threshold)")
_P_INCORRECT = {"type": "number", "minimum": 0, "maximum": 1,
                "description": "probability of a mask below the nose; always 0 with a binary model"}
_FACE = {"type": "object", "required": ["box", "label", "p_no_mask", "p_incorrect"],
         "properties": {"box": {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4,
                                "description": "x, y, width, height in pixels of the upright image"},
                        "label": {"enum": list(LABELS), "description": _LABEL_HELP},
                        "p_no_mask": {"type": "number", "minimum": 0, "maximum": 1},
                        "p_incorrect": _P_INCORRECT}}
_DETECT_RECORD = {"type": "object", "required": ["path", "width", "height", "faces", "error"],
                  "description": "One image, exactly as a line of `python -m maskpatrol detect --json`.",
                  "properties": {"path": {"type": "string"}, "width": {"type": ["integer", "null"]},
                                 "height": {"type": ["integer", "null"]},
                                 "faces": {"type": "array", "items": {"$ref": "#/components/schemas/Face"}},
                                 "error": {"type": ["string", "null"]}}}
_CLASSIFY_RECORD = {"type": "object", "required": ["path", "label", "p_no_mask", "p_incorrect", "error"],
                    "description": "One face crop, exactly as a line of `python -m maskpatrol classify --json`.",
                    "properties": {"path": {"type": "string"},
                                   "label": {"enum": [*LABELS, None], "description": _LABEL_HELP},
                                   "p_no_mask": {"type": ["number", "null"]},
                                   "p_incorrect": {**_P_INCORRECT, "type": ["number", "null"]},
                                   "error": {"type": ["string", "null"]}}}

_EVENT = {"type": "object", "required": list(RECORD_FIELDS),
          "description": "A person found not properly masked by `python -m maskpatrol watch`, once per person.",
          "properties": {"id": {"type": "string", "description": "one id per person, as in the webhooks"},
                         "camera": {"type": "string"},
                         "person": {"type": "integer", "description": "the person's number on that camera"},
                         "label": {"enum": list(EVENT_LABELS), "description": _LABEL_HELP},
                         "p_no_mask": {"type": "number", "minimum": 0, "maximum": 1},
                         "p_incorrect": _P_INCORRECT,
                         "first_seen": {"type": "string", "format": "date-time"},
                         "last_seen": {"type": "string", "format": "date-time"},
                         "state": {"enum": ["new", "end"],
                                   "description": "new: decided, still in view; end: left (final label)"},
                         "has_thumbnail": {"type": "boolean",
                                           "description": "a face was kept (watch --keep-faces): "
                                                          "GET /events/{id}/thumbnail"}}}
_EVENT_PAGE = {"type": "object", "required": ["total", "offset", "limit", "next_offset", "events"],
               "properties": {"total": {"type": "integer", "description": "events matching the filters"},
                              "offset": {"type": "integer"}, "limit": {"type": "integer"},
                              "next_offset": {"type": ["integer", "null"],
                                              "description": "the next page's offset; null on the last page"},
                              "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}}
_TIME = {"type": "string", "format": "date-time"}
_EVENT_PARAMS = [
    {"name": "since", "in": "query", "required": False, "schema": _TIME,
     "description": "events first seen at or after this time (ISO 8601; without a zone: UTC)"},
    {"name": "until", "in": "query", "required": False, "schema": _TIME,
     "description": "events first seen before this time"},
    {"name": "camera", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "one camera's events"},
    {"name": "label", "in": "query", "required": False, "schema": {"enum": list(EVENT_LABELS)}},
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
    {"name": "offset", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0, "default": 0}},
]

_PARAMS = {
    "detector": {"name": "detector", "in": "query", "required": False,
                 "schema": {"enum": list(DETECTOR_NAMES), "default": DetectorSettings().name}},
    "threshold": {"name": "threshold", "in": "query", "required": False,
                  "description": "p(no mask) at or above which a face counts as unmasked (default: the model card's)",
                  "schema": {"type": "number", "minimum": 0, "maximum": 1}},
    "min_face": {"name": "min_face", "in": "query", "required": False,
                 "description": "smallest face to find, in pixels",
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_MIN_FACE,
                            "default": DetectorSettings().min_face_px}},
    "name": {"name": "name", "in": "query", "required": False,
             "description": "the path reported for a raw-body image (multipart files keep their file names)",
             "schema": {"type": "string", "default": DEFAULT_NAME}},
}

_IMAGE_BODY = {"required": True, "description": (
    f"One image as the raw body, or multipart/form-data with up to {MAX_FILES} image files. "
    f"The whole body may be at most {MAX_BODY_MB} MB. Readable formats: {', '.join(SUPPORTED_FORMATS)}."),
    "content": {"image/*": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {
                    "type": "string", "format": "binary"}}}}}


def _errors(*codes: int) -> dict[str, Any]:
    why = {400: "the image cannot be decoded (the CLI's message; body: the image's record plus status)",
           404: "no event log on this server (MASKPATROL_DB_URL unset), or no such event or face",
           401: "token missing or wrong (only when the server sets MASKPATROL_API_TOKEN)",
           413: f"body over {MAX_BODY_MB} MB or more than {MAX_FILES} files",
           415: "not an image/* or multipart/form-data body", 422: "a bad or unknown query parameter",
           429: "this client's request rate is over the server's limit; see Retry-After",
           503: "all analysis slots are busy (see Retry-After), the model could not be loaded, "
                "or the event database cannot be reached"}
    return {str(c): {"description": why[c], "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for c in codes}


def _analysis(summary: str, params: tuple[str, ...], record: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{record}"}
    return {"post": {
        "summary": summary, "parameters": [_PARAMS[p] for p in params], "requestBody": _IMAGE_BODY,
        "security": [{}, {"bearer": []}],
        "responses": {"200": {"description": "one record for a raw body, a list (in upload order) for multipart",
                              "content": {"application/json": {"schema": {"oneOf": [
                                  ref, {"type": "array", "items": ref}]}}}},
                      **_errors(400, 401, 413, 415, 422, 429, 503)}}}


def openapi_document(config: ApiConfig) -> dict[str, Any]:
    """The OpenAPI description of this server's API, as configured."""
    access = ("Analysis needs `Authorization: Bearer <token>` on this server."
              if config.token else "This server's API is open (no token).")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mask Patrol HTTP API", "version": __version__,
                 "description": "Find faces in photos and say whether each wears a face mask: the answers of "
                                "`python -m maskpatrol detect --json` and `classify --json`, over HTTP. " + access},
        "servers": [{"url": PREFIX}],
        "paths": {
            "/detect": _analysis("Find every face in each image and label it mask / no_mask / incorrect",
                                 DETECT_PARAMS, "DetectRecord"),
            "/classify": _analysis("Classify images that are already face crops", CLASSIFY_PARAMS,
                                   "ClassifyRecord"),
            "/events": {"get": {
                "summary": "The event log of `python -m maskpatrol watch`, newest first, a page at a time",
                "parameters": _EVENT_PARAMS, "security": [{}, {"bearer": []}],
                "responses": {"200": {"description": "one page", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/EventPage"}}}}, **_errors(401, 404, 422, 503)}}},
            "/events/{event_id}/thumbnail": {"get": {
                "summary": "An event's face (blurred unless the watcher ran with --no-blur)",
                "parameters": [{"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "security": [{}, {"bearer": []}],
                "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {
                    "type": "string", "format": "binary"}}}}, **_errors(401, 404, 503)}}},
            "/health": {"get": {"summary": "Is the model loaded; its name, date and threshold; the detectors",
                                "responses": {"200": {"description": "ready", "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/Health"}}}},
                                              **_errors(503)}}},
            "/openapi.json": {"get": {"summary": "This description",
                                      "responses": {"200": {"description": "OpenAPI 3.1 JSON"}}}},
        },
        "components": {
            "schemas": {"Error": _ERROR, "Face": _FACE, "DetectRecord": _DETECT_RECORD,
                        "ClassifyRecord": _CLASSIFY_RECORD, "Event": _EVENT, "EventPage": _EVENT_PAGE,
                        "Health": {"type": "object", "required": ["ok", "model", "threshold", "detectors"],
                                   "properties": {"ok": {"type": "boolean"}, "model": {"type": "object"},
                                                  "threshold": {"type": "number"},
                                                  "incorrect_threshold": {
                                                      "type": ["number", "null"],
                                                      "description": "p(incorrect) at or above which a face is "
                                                                     "labelled incorrect; null: a binary model"},
                                                  "labels": {"type": "array", "items": {"enum": list(LABELS)},
                                                             "description": "the labels this model gives"},
                                                  "detectors": {"type": "array", "items": {"type": "string"}},
                                                  "default_detector": {"type": "string"},
                                                  "auth": {"enum": ["open", "token"]},
                                                  "limits": {"type": "object"}}}},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
