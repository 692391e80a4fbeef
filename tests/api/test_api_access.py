"""Access to the API on a deployment: the bearer token, CORS for listed origins, the
per-client rate, ``MASKPATROL_API=off``, an open API refused at start behind a host's proxy,
and a server whose model is missing (503). Real HTTP against ``streamlit run app.py``.

The token server also sits "behind a proxy" (``MASKPATROL_API_BEHIND_PROXY=1``, as on
Heroku), so each test can speak as its own client through ``X-Forwarded-For`` and the
rate limit of one test never spends another's allowance.
"""

from __future__ import annotations

import pytest
import requests

from support.api_client import API, api_server, assert_api_off, error_body, post
from support.images import png_bytes

TOKEN = "s3cret-token-for-the-tests-0123456789"
ORIGIN = "https://kiosk.example.org"
RATE = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"MASKPATROL_API_TOKEN": TOKEN, "MASKPATROL_API_CORS_ORIGINS": f"{ORIGIN}, https://door.example.org",
           "MASKPATROL_API_RATE": str(RATE), "MASKPATROL_API_BEHIND_PROXY": "1"}
    with api_server(tmp_path_factory.mktemp("streamlit"), env) as srv:
        yield srv


@pytest.fixture(scope="module")
def image(astronaut_rgb) -> bytes:
    return png_bytes(astronaut_rgb)


def as_client(address: str, token: str | None = TOKEN, **extra: str) -> dict[str, str]:
    headers = {"X-Forwarded-For": f"198.51.100.77, {address}", **extra}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def test_analysis_without_the_token_is_401_with_a_bearer_challenge(server, image):
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}):
        response = post(server, "/detect", image, "image/png", headers={**as_client("203.0.113.1", None), **headers})
        assert "Authorization: Bearer" in error_body(response, 401)["error"]
        assert response.headers["www-authenticate"].startswith("Bearer")
    wrong = post(server, "/classify", image, "image/png", headers=as_client("203.0.113.1", TOKEN + "x"))
    assert "not valid" in error_body(wrong, 401)["error"]
    assert 'error="invalid_token"' in wrong.headers["www-authenticate"]


def test_the_right_token_gets_the_answer(server, image):
    response = post(server, "/detect", image, "image/png", headers=as_client("203.0.113.2"))
    assert response.status_code == 200
    assert response.json()["faces"][0]["label"] == "no_mask"


def test_health_and_the_description_stay_open_and_say_a_token_is_needed(server):
    health = requests.get(server.url + API + "/health", timeout=60).json()
    assert health["ok"] is True and health["auth"] == "token" and health["limits"]["rate_per_min"] == RATE
    doc = requests.get(server.url + API + "/openapi.json", timeout=30).json()
    assert "Bearer" in doc["info"]["description"]


def test_the_event_log_needs_the_token_and_a_server_without_one_says_how_to_get_one(server):
    url = server.url + API + "/events"
    refused = error_body(requests.get(url, headers=as_client("203.0.113.30", None), timeout=30), 401)
    assert "Bearer" in refused["error"]
    wrong = requests.get(url + "/someid/thumbnail", headers=as_client("203.0.113.30", "wrong-token"), timeout=30)
    assert error_body(wrong, 401)["error"] == "The token is not valid for this server."
    no_log = error_body(requests.get(url, headers=as_client("203.0.113.30"), timeout=30), 404)
    assert "No event log on this server" in no_log["error"] and "MASKPATROL_DB_URL" in no_log["error"]


def test_each_client_gets_its_rate_then_429_with_retry_after(server, image):
    for _ in range(RATE):
        assert post(server, "/detect", image, "image/png", headers=as_client("203.0.113.3")).status_code == 200
    refused = post(server, "/detect", image, "image/png", headers=as_client("203.0.113.3"))
    body = error_body(refused, 429)
    assert f"{RATE} analysis requests per minute" in body["error"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60 // RATE
    # Another client, and the health check, are not held back by this one's excess.
    assert post(server, "/detect", image, "image/png", headers=as_client("203.0.113.4")).status_code == 200
    assert requests.get(server.url + API + "/health", headers=as_client("203.0.113.3"), timeout=30).status_code == 200


def test_a_forged_first_forwarded_address_does_not_escape_the_rate(server, image):
    """Only the last X-Forwarded-For entry (the one the proxy appends) names the client."""
    statuses = []
    for i in range(RATE + 1):
        headers = as_client("203.0.113.5")
        headers["X-Forwarded-For"] = f"10.0.0.{i}, 203.0.113.5"
        statuses.append(post(server, "/detect", image, "image/png", headers=headers).status_code)
    assert statuses == [200] * RATE + [429]


def test_a_listed_origin_may_call_from_a_browser(server, image):
    preflight = requests.options(server.url + API + "/detect", timeout=30, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    response = post(server, "/detect", image, "image/png", headers=as_client("203.0.113.6", Origin=ORIGIN))
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == ORIGIN
    # Errors carry the header too, so the calling page can read why it was refused.
    refused = post(server, "/detect", image, "image/png", headers=as_client("203.0.113.6", None, Origin=ORIGIN))
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ORIGIN


def test_an_unlisted_origin_gets_no_cors_permission(server, image):
    preflight = requests.options(server.url + API + "/detect", timeout=30, headers={
        "Origin": "https://evil.example.com", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    response = post(server, "/detect", image, "image/png",
                    headers=as_client("203.0.113.7", Origin="https://evil.example.com"))
    assert "access-control-allow-origin" not in response.headers


def test_api_off_answers_404_saying_why_and_keeps_the_pages(tmp_path, image):
    with api_server(tmp_path, {"MASKPATROL_API": "off"}) as server:
        assert_api_off(server, image, "MASKPATROL_API=off")


def test_an_open_api_asked_for_behind_a_hosts_proxy_stops_the_server_at_start(tmp_path):
    """MASKPATROL_API=on without a token where other machines reach the server (here a
    dyno's router, DYNO set): the server must not come up serving an open API. It exits, and
    its log names the variables to set."""
    with pytest.raises(RuntimeError, match="streamlit exited"):
        with api_server(tmp_path, {"DYNO": "web.1", "MASKPATROL_API": "on"}):
            pass
    log = (tmp_path / "server.log").read_text(errors="replace")
    assert "ApiConfigError" in log, log[-3000:]
    assert all(name in log for name in ("MASKPATROL_API=on", "MASKPATROL_API_TOKEN", "MASKPATROL_API_OPEN=1"))


def test_a_server_without_its_model_answers_503_saying_so(tmp_path, image):
    """A deployment whose model folder is wrong: the API says what is missing, and how to
    get it, rather than failing every image in its own way."""
    empty = tmp_path / "no_model"
    empty.mkdir()
    with api_server(tmp_path, {"MASKPATROL_MODEL_DIR": str(empty)}) as server:
        health = requests.get(server.url + API + "/health", timeout=60)
        assert "No model card" in error_body(health, 503)["error"]
        detect = post(server, "/detect", image, "image/png")
        body = error_body(detect, 503)
        assert "mask model could not be loaded" in body["error"] and str(empty) in body["error"]
