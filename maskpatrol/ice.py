"""ICE (STUN/TURN) configuration for the live webcam stream, from the deployment's settings.

WebRTC carries the camera over UDP straight between the browser and the server. A STUN
server only tells each side its public address; that is enough on a laptop, but a server
behind a NAT or a router that drops unsolicited UDP (Heroku dynos, most containers) can
only be reached through a TURN relay that both sides connect out to. The relay is the
deployment's choice, so it comes from environment variables or Streamlit secrets, never
from the repository:

==============================  ====================================================
``MASKPATROL_TURN_URL``         one or more ``turn:``/``turns:`` URLs, comma-separated
``MASKPATROL_TURN_USERNAME``    the TURN username (required with a TURN URL)
``MASKPATROL_TURN_CREDENTIAL``  the TURN password or token (required with a TURN URL)
``MASKPATROL_STUN_URLS``        ``stun:`` URLs, comma-separated (optional)
==============================  ====================================================

An environment variable wins over a secret of the same name. When none is set,
:func:`rtc_configuration` returns ``None`` and streamlit-webrtc picks its own defaults
(a public STUN server, or the Cloudflare/Twilio/Hugging Face TURN services it knows from
their own variables).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

TURN_URL = "MASKPATROL_TURN_URL"
TURN_USERNAME = "MASKPATROL_TURN_USERNAME"
TURN_CREDENTIAL = "MASKPATROL_TURN_CREDENTIAL"
STUN_URLS = "MASKPATROL_STUN_URLS"
NAMES = (TURN_URL, TURN_USERNAME, TURN_CREDENTIAL, STUN_URLS)


class IceConfigError(ValueError):
    """A STUN/TURN setting that cannot work; the message names the variable to fix."""


def _urls(value: str | None, schemes: tuple[str, ...], name: str) -> list[str]:
    urls = [part.strip() for part in (value or "").split(",") if part.strip()]
    for url in urls:
        if not url.lower().startswith(tuple(f"{s}:" for s in schemes)):
            raise IceConfigError(f"{name}: {url!r} should start with {' or '.join(s + ':' for s in schemes)}")
    return urls


def merged_settings(env: Mapping[str, str], secrets: Mapping[str, Any]) -> dict[str, str]:
    """The four settings, each from the environment if set there, else from the secrets."""
    out: dict[str, str] = {}
    for name in NAMES:
        value = env.get(name)
        if not value and secrets.get(name) is not None:
            value = str(secrets[name])
        if value and value.strip():
            out[name] = value.strip()
    return out


def ice_servers(settings: Mapping[str, str]) -> list[dict[str, Any]]:
    """``RTCIceServer`` dicts (the browser's format, which streamlit-webrtc also compiles
    for aiortc) for the given settings; empty when nothing is configured."""
    servers: list[dict[str, Any]] = []
    stun = _urls(settings.get(STUN_URLS), ("stun",), STUN_URLS)
    if stun:
        servers.append({"urls": stun})
    turn = _urls(settings.get(TURN_URL), ("turn", "turns"), TURN_URL)
    username, credential = settings.get(TURN_USERNAME), settings.get(TURN_CREDENTIAL)
    if turn:
        missing = [n for n, v in ((TURN_USERNAME, username), (TURN_CREDENTIAL, credential)) if not v]
        if missing:
            # A TURN relay without credentials refuses every allocation; failing loudly
            # here beats a stream that silently never connects.
            raise IceConfigError(f"{TURN_URL} is set but {' and '.join(missing)} is not")
        servers.append({"urls": turn, "username": username, "credential": credential})
    elif username or credential:
        raise IceConfigError(f"TURN credentials are set but {TURN_URL} is not")
    return servers


def rtc_configuration(env: Mapping[str, str] | None = None,
                      secrets: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """``{"iceServers": [...]}`` for ``webrtc_streamer(rtc_configuration=...)``, or ``None``
    (streamlit-webrtc's defaults) when no STUN/TURN setting exists.

    ``env`` defaults to ``os.environ``, ``secrets`` to Streamlit's secrets (if any file).
    Raises :class:`IceConfigError` for a half-done configuration.
    """
    env = os.environ if env is None else env
    secrets = streamlit_secrets() if secrets is None else secrets
    servers = ice_servers(merged_settings(env, secrets))
    return {"iceServers": servers} if servers else None


def streamlit_secrets() -> dict[str, Any]:
    """Our four names from ``st.secrets``; empty without a secrets file (and without
    Streamlit's "No secrets found" error, which is not an error for us)."""
    try:
        import streamlit as st

        if not st.secrets.load_if_toml_exists():
            return {}
        return {name: st.secrets[name] for name in NAMES if name in st.secrets}
    except Exception:  # a broken secrets.toml must not take the page down; env still works
        return {}


def describe(config: Mapping[str, Any] | None) -> str:
    """A one-line, credential-free summary for the page ("TURN relay: turn:host:3478")."""
    if not config:
        return "Using streamlit-webrtc's default ICE servers (STUN only unless a TURN service is configured)."
    parts = []
    for server in config.get("iceServers", []):
        urls = server["urls"] if isinstance(server["urls"], list) else [server["urls"]]
        kind = "TURN relay" if urls[0].lower().startswith("turn") else "STUN"
        parts.append(f"{kind}: {', '.join(urls)}")
    return "; ".join(parts)
