"""Reading a request's images: content type (415), size (413, before the body is read),
multipart parsing; all in memory, nothing written to disk."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect, Request

from .config import MAX_BODY_BYTES, MAX_BODY_MB, MAX_FILES
from .errors import ApiError

ACCEPTED_TYPES = "an image (Content-Type: image/jpeg, image/png, ...) or multipart/form-data with image files"


@dataclass(frozen=True)
class Upload:
    """One image of a request: the name its record reports (like the CLI's path) and its bytes."""

    name: str
    data: bytes


class _InMemoryParser(MultiPartParser):
    # Starlette spools parts over 1 MB to a temporary file; the whole body is already capped
    # at MAX_BODY_BYTES and in memory, so keep parts there too: the API stores nothing.
    spool_max_size = MAX_BODY_BYTES + 1


def body_kind(request: Request) -> str:
    """``"raw"`` or ``"multipart"``; 415 for any other content type."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type.startswith("image/"):
        return "raw"
    if content_type == "multipart/form-data":
        return "multipart"
    from ..images import SUPPORTED_FORMATS  # only on this error: keeps the server's start light

    shown = content_type or "none"
    raise ApiError(415, f"Unsupported content type {shown}: send {ACCEPTED_TYPES}. "
                        f"Readable formats: {', '.join(SUPPORTED_FORMATS)}.")


def _too_large() -> ApiError:
    return ApiError(413, f"The request body is over the {MAX_BODY_MB} MB limit. "
                         "Send a smaller image (resize or re-compress it), or fewer files per request.")


def check_declared_size(request: Request) -> None:
    """413 from the ``Content-Length`` header alone, before a byte of the body is read."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise ApiError(400, f"Content-Length is not a number: {declared!r}") from None
    if size > MAX_BODY_BYTES:
        raise _too_large()


async def read_body(request: Request) -> bytes:
    """The body, stopping with 413 as soon as it passes the limit (a chunked upload has no
    Content-Length to check first)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _too_large()
            chunks.append(chunk)
    except ClientDisconnect:
        raise ApiError(400, "The client closed the connection before the body was complete.") from None
    return b"".join(chunks)


async def read_uploads(request: Request, kind: str, raw_name: str) -> list[Upload]:
    """The images in the body: one for raw bytes (named ``raw_name``), one per file part."""
    body = await read_body(request)
    if kind == "raw":
        return [Upload(raw_name, body)]

    async def replay():
        yield body

    parser = _InMemoryParser(request.headers, replay(), max_files=MAX_FILES, max_fields=MAX_FILES)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        if "Too many files" in str(exc):
            raise ApiError(413, f"Too many files: send at most {MAX_FILES} images per request.") from None
        raise ApiError(400, f"The multipart body could not be read: {exc}") from None
    except ValueError as exc:  # python-multipart's parse errors are ValueErrors
        raise ApiError(400, f"The multipart body is malformed and could not be read ({exc}).") from None
    uploads = []
    for index, (_, value) in enumerate(form.multi_items(), 1):
        if isinstance(value, UploadFile):
            uploads.append(Upload(value.filename or f"file{index}", await value.read()))
    await form.close()
    if not uploads:
        raise ApiError(422, "The multipart body holds no file: add the images as file fields, "
                            "e.g. curl -F file=@photo.jpg.")
    return uploads
