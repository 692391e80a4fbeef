"""Why several dynos need Heroku's session affinity (docs/scaling.md), checked on two servers.

Two ``streamlit run app.py`` on loopback stand for two dynos. A visitor's browser works with
server A; its photo upload is then sent again, byte for byte (same session, cookie and XSRF
token), to server B, as Heroku's router does without affinity, which picks a dyno per
request. B refuses it, because the session lives only in A's memory, and A accepts the same
request (the file is sent again as the page sends it, since the browser's request body is
not readable here): so a second dyno helps only if the router keeps each browser on one dyno.
"""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import pytest

from support.images import png_bytes
from support.server import streamlit_server

pytestmark = pytest.mark.browser

RESULT_TIMEOUT_MS = 120_000


def _multipart(name: str, data: bytes) -> tuple[str, bytes]:
    """(Content-Type, body) of a one-file form, as the page sends it."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


def _put(url: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body, headers=headers, method="PUT")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_an_upload_is_refused_by_a_server_without_the_session(browser, astronaut_rgb, tmp_path_factory):
    with streamlit_server(tmp_path_factory.mktemp("dyno_a")) as a, \
            streamlit_server(tmp_path_factory.mktemp("dyno_b")) as b:
        context = browser.new_context()
        page = context.new_page()
        uploads = []
        page.on("request", lambda r: uploads.append(r) if r.method == "PUT" and "/_stcore/upload_file/" in r.url
                else None)
        try:
            page.goto(a.url, wait_until="domcontentloaded", timeout=60_000)
            page.get_by_test_id("stSidebarNav").get_by_text("Photos", exact=True).click(timeout=60_000)
            uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
            uploader.wait_for(state="attached", timeout=60_000)
            uploader.set_input_files([{"name": "astronaut.png", "mimeType": "image/png",
                                       "buffer": png_bytes(astronaut_rgb)}])
            page.get_by_text("1 face: 0 mask, 1 no mask", exact=True).first.wait_for(timeout=RESULT_TIMEOUT_MS)
            [upload] = uploads
            # The browser's session id (in the URL), cookie and XSRF token; the file again.
            headers = {k: v for k, v in upload.all_headers().items() if k.lower() in ("cookie", "x-xsrftoken")}
            headers["Content-Type"], body = _multipart("astronaut.png", png_bytes(astronaut_rgb))
            assert upload.url.startswith(a.url)

            status_b, text_b = _put(b.url + upload.url[len(a.url):], headers, body)
            assert status_b == 400 and "session affinity" in text_b, (status_b, text_b)
            status_a, text_a = _put(upload.url, headers, body)
            assert status_a in (200, 204), (status_a, text_a)
        finally:
            context.close()
