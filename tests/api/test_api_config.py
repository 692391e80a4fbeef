"""The API's settings (``maskpatrol/api/config.py``): who may call without a token, which
hosts put a proxy in front, and settings that cannot work. ``load_config`` takes the
variables and Streamlit's listening address, so every case is checked here without a
server; ``test_api_public_bind.py`` checks the same on a real one."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from support.paths import ROOT
from maskpatrol.api import api_routes
from maskpatrol.api.config import PROXY_HOSTS, ApiConfigError, Host, detected_host, load_config

TOKEN = {"MASKPATROL_API_TOKEN": "x" * 16}
LOOPBACK = ("127.0.0.1", "127.0.0.2", "::1", "localhost", "LocalHost")
#: Streamlit's default (unset, or empty: every interface) and addresses other machines reach.
REACHABLE = (None, "", "0.0.0.0", "::", "192.168.1.20", "198.18.0.1", "my-vm.example.org")


def host_env(host: Host) -> dict[str, str]:
    return {host.variable: host.value or "set-by-the-platform"}


@pytest.mark.parametrize("address", LOOPBACK)
def test_on_a_loopback_address_without_a_token_the_api_is_open(address):
    config = load_config({}, address)
    assert config.enabled and config.token is None and config.off_reason is None
    assert config.rate_per_min == 60 and config.workers >= 1 and config.queue == 4
    assert config.cors_origins == () and not config.behind_proxy


@pytest.mark.parametrize("address", REACHABLE)
def test_where_other_machines_reach_the_server_no_token_means_no_api(address):
    config = load_config({}, address)
    assert not config.enabled
    said = config.off_reason
    assert (address or "server.address is not set") in said
    assert "MASKPATROL_API_TOKEN" in said and "MASKPATROL_API_OPEN=1" in said


@pytest.mark.parametrize("host", PROXY_HOSTS, ids=[f"{h.name}-{h.variable}" for h in PROXY_HOSTS])
def test_each_hosts_proxy_is_detected_and_closes_the_api_even_on_loopback(host):
    """A platform's proxy forwards the internet to the server whatever address it listens on;
    the proxy's X-Forwarded-For entry then names the client."""
    config = load_config(host_env(host), "127.0.0.1")
    assert not config.enabled and config.behind_proxy
    assert host.name in config.off_reason and host.variable in config.off_reason


def test_a_common_variable_counts_as_a_host_only_with_the_hosts_value():
    assert detected_host({"HOSTNAME": "streamlit"}).name == "Streamlit Community Cloud"
    config = load_config({"HOSTNAME": "my-laptop"}, "127.0.0.1")
    assert config.enabled and not config.behind_proxy
    assert detected_host({"DYNO": " "}) is None  # blank is unset


def test_an_operator_who_says_a_proxy_is_in_front_gets_no_open_api_on_loopback():
    """A reverse proxy on the same machine (nginx in front of ``make run``) is not visible to
    the server; MASKPATROL_API_BEHIND_PROXY=1 says so, and closes the open API."""
    config = load_config({"MASKPATROL_API_BEHIND_PROXY": "1"}, "127.0.0.1")
    assert not config.enabled and config.behind_proxy
    assert "MASKPATROL_API_BEHIND_PROXY" in config.off_reason


def test_turning_the_proxy_rule_off_on_a_host_does_not_open_the_api():
    config = load_config({"DYNO": "web.1", "MASKPATROL_API_BEHIND_PROXY": "0"}, "127.0.0.1")
    assert not config.behind_proxy and not config.enabled


@pytest.mark.parametrize("env,address", [({}, "0.0.0.0"), ({}, None), ({"DYNO": "web.1"}, "127.0.0.1"),
                                         ({"SPACE_ID": "me/mask-patrol"}, "0.0.0.0")])
def test_a_token_serves_the_api_anywhere(env, address):
    config = load_config({**env, **TOKEN}, address)
    assert config.enabled and config.token == "x" * 16 and config.off_reason is None


@pytest.mark.parametrize("env,address", [({}, "0.0.0.0"), ({}, ""), ({"DYNO": "web.1"}, "127.0.0.1"),
                                         ({"MASKPATROL_API_BEHIND_PROXY": "1"}, "localhost")])
def test_asking_for_the_api_without_a_token_where_others_reach_it_stops_the_server(env, address):
    with pytest.raises(ApiConfigError) as refused:
        load_config({**env, "MASKPATROL_API": "on"}, address)
    assert all(name in str(refused.value) for name in ("MASKPATROL_API=on", "MASKPATROL_API_TOKEN",
                                                       "MASKPATROL_API_OPEN=1"))


def test_an_open_api_where_others_reach_it_is_served_only_on_purpose():
    for env in ({"MASKPATROL_API_OPEN": "1"}, {"MASKPATROL_API_OPEN": "1", "MASKPATROL_API": "on"}):
        config = load_config(env, "0.0.0.0")
        assert config.enabled and config.token is None
    assert load_config({"MASKPATROL_API_OPEN": "1", "DYNO": "web.1"}, "0.0.0.0").behind_proxy
    assert load_config({"MASKPATROL_API": "on"}, "127.0.0.1").enabled  # only this machine: no purpose needed


def test_api_off_wins_over_a_token_and_says_so():
    config = load_config({"MASKPATROL_API": "off", **TOKEN}, "127.0.0.1")
    assert not config.enabled and config.off_reason == "MASKPATROL_API=off"
    assert load_config({"MASKPATROL_API": "off", "MASKPATROL_API_OPEN": "1"}, "0.0.0.0").off_reason == \
        "MASKPATROL_API=off"


@pytest.mark.parametrize("env,variable", [
    ({"MASKPATROL_API": "maybe"}, "MASKPATROL_API"),
    ({"MASKPATROL_API_OPEN": "sure"}, "MASKPATROL_API_OPEN"),
    ({"MASKPATROL_API_BEHIND_PROXY": "heroku"}, "MASKPATROL_API_BEHIND_PROXY"),
    ({"MASKPATROL_API_TOKEN": "short"}, "MASKPATROL_API_TOKEN"),
    ({"MASKPATROL_API_RATE": "fast"}, "MASKPATROL_API_RATE"),
    ({"MASKPATROL_API_WORKERS": "0"}, "MASKPATROL_API_WORKERS"),
    ({"MASKPATROL_API_QUEUE": "-1"}, "MASKPATROL_API_QUEUE"),
    ({"MASKPATROL_API_CORS_ORIGINS": "example.org"}, "MASKPATROL_API_CORS_ORIGINS"),
    ({"MASKPATROL_API_CORS_ORIGINS": "https://example.org/app"}, "MASKPATROL_API_CORS_ORIGINS"),
])
def test_a_setting_that_cannot_work_stops_the_server_naming_the_variable(env, variable):
    with pytest.raises(ApiConfigError, match=variable):
        load_config(env, "127.0.0.1")


def test_origins_are_listed_without_trailing_slashes():
    config = load_config({"MASKPATROL_API_CORS_ORIGINS": " https://a.example/ ,http://localhost:3000"}, "127.0.0.1")
    assert config.cors_origins == ("https://a.example", "http://localhost:3000")


def test_the_server_log_says_in_one_line_why_the_api_is_off(caplog):
    config = load_config({}, "0.0.0.0")
    with caplog.at_level(logging.WARNING, logger="maskpatrol.api"):
        api_routes(config)
    [record] = [r for r in caplog.records if r.name == "maskpatrol.api"]
    line = record.getMessage()
    assert "\n" not in line and line.startswith("Mask Patrol HTTP API is off on this server: ")
    assert "0.0.0.0" in line and "MASKPATROL_API_TOKEN" in line
    assert line == config.off_message  # the words a request under /api/v1 is told


def _answer(routes, method: str, path: str) -> tuple[int, dict | str]:
    """One request through ``routes`` as Streamlit's server would route it (ASGI, in process):
    its status, and its body (parsed when JSON)."""
    from starlette.routing import Router

    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": [], "scheme": "http", "server": ("127.0.0.1", 8501)}
    asyncio.run(Router(routes=routes)(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode().lower(): v.decode() for k, v in sent[0].get("headers", [])}
    return sent[0]["status"], json.loads(body) if headers.get("content-type") == "application/json" else body.decode()


@pytest.mark.parametrize("env,address", [({}, "0.0.0.0"), ({"MASKPATROL_API": "off"}, "127.0.0.1")])
def test_an_api_that_is_off_answers_every_request_under_its_prefix_404_saying_why(env, address):
    config = load_config(env, address)
    routes = api_routes(config)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        for path in ("/api/v1/detect", "/api/v1/health", "/api/v1/no/such/route"):
            assert _answer(routes, method, path) == (404, {"error": config.off_message, "status": 404}), (method, path)
    assert config.off_reason in config.off_message


def test_an_api_that_is_off_leaves_every_other_path_to_the_pages():
    from starlette.routing import Match

    routes = api_routes(load_config({}, "0.0.0.0"))
    for path in ("/", "/photos", "/_stcore/health", "/api/v2/detect", "/api/v1x"):
        scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
        assert all(route.matches(scope)[0] == Match.NONE for route in routes), path


def test_an_api_that_is_on_has_no_off_message():
    assert load_config({}, "127.0.0.1").off_message is None


def test_every_detected_host_is_documented_where_operators_look():
    """The hosts live in one table (PROXY_HOSTS); the variable tables of the config module,
    the API page and the deployment page name each one."""
    from maskpatrol.api import config

    pages = {"maskpatrol/api/config.py": config.__doc__, "docs/api.md": (ROOT / "docs/api.md").read_text(),
             "docs/deployment.md": (ROOT / "docs/deployment.md").read_text()}
    for host in PROXY_HOSTS:
        for page, text in pages.items():
            assert host.name in text and host.variable in text, (host, page)
