"""Which way the Live webcam page analyses frames when a visitor arrives, and why.

The server mode needs a WebRTC path from the browser to the server: on a laptop that is
loopback or the LAN, but a PaaS dyno (Heroku) is reachable only through a TURN relay the
deployer configures (:mod:`maskpatrol.ice`). Without one the stream hangs at "connecting",
so a deployment without TURN starts in the browser mode, which needs only HTTP and the
WebSocket the page already uses. The visitor can still switch with the page's control.

``MASKPATROL_ANALYSE_IN`` (``browser`` or ``server``), from the environment or Streamlit
secrets, lets a deployer fix the default.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any, Mapping

from ..ice import TURN_URL, merged_settings

BROWSER = "This browser"
SERVER = "Server (WebRTC)"
OPTIONS = (BROWSER, SERVER)
ENV_VAR = "MASKPATROL_ANALYSE_IN"
_VALUES = {"browser": BROWSER, "server": SERVER}


@dataclass(frozen=True)
class DefaultMode:
    """The option the page's "Analyse in" control starts at, and the reason shown for it."""

    option: str
    reason: str


def _is_loopback(address: str | None) -> bool:
    if not address:
        return False
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def default_mode(env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None,
                 server_address: str | None = None, static_serving: bool = True) -> DefaultMode:
    """The starting option: the deployer's choice if given; else the server where WebRTC can
    connect (a TURN relay is configured, or the app serves only this machine); else, on a
    deployment without TURN, the browser."""
    env = os.environ if env is None else env
    secrets = {} if secrets is None else secrets
    if not static_serving:
        return DefaultMode(SERVER, "this server does not serve the browser code "
                                   "(start it with `make run`, which enables static file serving)")
    chosen = (env.get(ENV_VAR) or str(secrets.get(ENV_VAR) or "")).strip().lower()
    if chosen in _VALUES:
        return DefaultMode(_VALUES[chosen], f"this deployment sets {ENV_VAR}={chosen}")
    if merged_settings(env, secrets).get(TURN_URL):
        return DefaultMode(SERVER, "this deployment has a TURN relay, so the camera can reach the server")
    if env.get("DYNO"):
        return DefaultMode(BROWSER, "this deployment has no TURN relay, so a WebRTC stream to the server "
                                    "would not connect from most networks")
    if _is_loopback(server_address):
        return DefaultMode(SERVER, "the app runs on this computer, where WebRTC connects without a relay")
    return DefaultMode(BROWSER, "this deployment has no TURN relay, so a WebRTC stream to the server "
                                "would not connect from most networks")
