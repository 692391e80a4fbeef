"""The API of a server that other machines can reach, with no hosting platform detected: a
VM started with ``make run HOST=0.0.0.0``, say. Real HTTP against ``streamlit run app.py``
listening on every interface, with the address setup.sh writes (0.0.0.0), so the address
reaches ``load_config`` the way it does on a host: through Streamlit's own configuration.

Every interface of this machine must not serve it, so each server runs in a private network
namespace (``support.netns``, needs root) and the test calls it at 198.18.0.1 inside it.
Without a token the API is off: every request under ``/api/v1`` gets a JSON 404 saying why,
in the words of the server log's line; with a token, analysis needs it. (On a
loopback address without a token it is open: ``test_api_open.py``.)
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from support.api_client import API, api_server, assert_api_off, error_body, get, post
from support.images import png_bytes

TOKEN = "s3cret-token-for-the-public-bind-0123"


@pytest.fixture(scope="module")
def image(astronaut_rgb) -> bytes:
    return png_bytes(astronaut_rgb)


@pytest.fixture(scope="module")
def tokenless(network_namespace, tmp_path_factory):
    with api_server(tmp_path_factory.mktemp("streamlit"), {}, isolated=True) as srv:
        yield srv


@pytest.fixture(scope="module")
def with_token(network_namespace, tmp_path_factory):
    """The token comes as a root-level Streamlit secret (``~/.streamlit/secrets.toml``), the
    way Streamlit Community Cloud sets variables; a variable works the same (test_api_access.py)."""
    log_dir = tmp_path_factory.mktemp("streamlit")
    secrets = log_dir / "home" / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir(parents=True)
    secrets.write_text(f'MASKPATROL_API_TOKEN = "{TOKEN}"\n')
    with api_server(log_dir, {}, isolated=True) as srv:
        yield srv


def test_the_server_listens_on_every_interface_of_its_namespace_only(tokenless):
    """Reached at a non-loopback address inside the namespace; not at all from this machine."""
    assert get(tokenless, "/_stcore/health").text == "ok"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", urlsplit(tokenless.url).port), timeout=5).close()


def _off_lines(server) -> list[str]:
    return [line for line in server.log.read_text(errors="replace").splitlines() if "HTTP API is off" in line]


def test_without_a_token_the_api_answers_404_saying_why_and_the_pages_are_served(tokenless, image):
    message = assert_api_off(tokenless, image, "0.0.0.0", "MASKPATROL_API_TOKEN")
    # The client is told what the operator reads in the log, word for word.
    [line] = _off_lines(tokenless)
    assert line.endswith(message), (line, message)


def test_the_server_log_says_in_one_line_why_the_api_is_off(tokenless):
    lines = _off_lines(tokenless)
    assert len(lines) == 1, lines
    assert "0.0.0.0" in lines[0] and "MASKPATROL_API_TOKEN" in lines[0], lines[0]


def test_with_a_token_analysis_needs_it(with_token, image):
    refused = post(with_token, "/detect", image, "image/png")
    assert "Authorization: Bearer" in error_body(refused, 401)["error"]
    answered = post(with_token, "/detect", image, "image/png", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answered.status_code == 200, answered.text
    assert answered.json()["faces"][0]["label"] == "no_mask"
    assert get(with_token, API + "/health").json()["auth"] == "token"
