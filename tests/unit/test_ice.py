"""STUN/TURN configuration from the environment or Streamlit secrets."""

from __future__ import annotations

import pytest

from maskpatrol.ice import (STUN_URLS, TURN_CREDENTIAL, TURN_URL, TURN_USERNAME, IceConfigError, describe,
                            rtc_configuration)

TURN = {TURN_URL: "turn:relay.example.org:3478?transport=udp, turns:relay.example.org:5349",
        TURN_USERNAME: "patrol", TURN_CREDENTIAL: "s3cret"}


def test_nothing_set_means_streamlit_webrtc_defaults():
    assert rtc_configuration(env={}, secrets={}) is None
    assert rtc_configuration(env={TURN_URL: "  ", STUN_URLS: ""}, secrets={}) is None
    assert "default" in describe(None)


def test_turn_from_environment():
    config = rtc_configuration(env=TURN, secrets={})
    assert config == {"iceServers": [{
        "urls": ["turn:relay.example.org:3478?transport=udp", "turns:relay.example.org:5349"],
        "username": "patrol", "credential": "s3cret"}]}


def test_stun_and_turn_together_stun_first():
    config = rtc_configuration(env={**TURN, STUN_URLS: "stun:stun.example.org:3478,stun:other:19302"}, secrets={})
    assert config["iceServers"][0] == {"urls": ["stun:stun.example.org:3478", "stun:other:19302"]}
    assert config["iceServers"][1]["username"] == "patrol"


def test_secrets_are_used_and_environment_wins():
    config = rtc_configuration(env={}, secrets=TURN)
    assert config["iceServers"][0]["credential"] == "s3cret"
    config = rtc_configuration(env={TURN_CREDENTIAL: "from-env"}, secrets=TURN)
    assert config["iceServers"][0]["credential"] == "from-env"


@pytest.mark.parametrize("settings, message", [
    ({TURN_URL: "turn:relay:3478"}, "MASKPATROL_TURN_USERNAME and MASKPATROL_TURN_CREDENTIAL"),
    ({TURN_URL: "turn:relay:3478", TURN_USERNAME: "u"}, "MASKPATROL_TURN_CREDENTIAL is not"),
    ({TURN_USERNAME: "u", TURN_CREDENTIAL: "p"}, "MASKPATROL_TURN_URL is not"),
    ({TURN_URL: "relay.example.org:3478", TURN_USERNAME: "u", TURN_CREDENTIAL: "p"}, "should start with turn:"),
    ({STUN_URLS: "https://stun.example.org"}, "should start with stun:"),
])
def test_half_done_configuration_is_refused_with_the_name_to_fix(settings, message):
    with pytest.raises(IceConfigError, match=message):
        rtc_configuration(env=settings, secrets={})


def test_description_never_shows_credentials():
    text = describe(rtc_configuration(env=TURN, secrets={}))
    assert "TURN relay: turn:relay.example.org:3478" in text
    assert "s3cret" not in text and "patrol" not in text


def test_streamlit_webrtc_accepts_the_configuration():
    """The dict compiles into aiortc's configuration the way streamlit-webrtc does it."""
    from streamlit_webrtc.config import compile_rtc_configuration

    compiled = compile_rtc_configuration(rtc_configuration(env=TURN, secrets={}))
    [server] = compiled.iceServers
    assert server.username == "patrol" and server.credential == "s3cret"
    assert server.urls[0].startswith("turn:")


def test_reading_env_by_default(monkeypatch):
    for name, value in TURN.items():
        monkeypatch.setenv(name, value)
    assert rtc_configuration(secrets={})["iceServers"][0]["username"] == "patrol"
    monkeypatch.delenv(TURN_URL)
    monkeypatch.delenv(TURN_USERNAME)
    monkeypatch.delenv(TURN_CREDENTIAL)
    assert rtc_configuration(secrets={}) is None


class FakeSecrets(dict):
    def __init__(self, found: bool, **values) -> None:
        super().__init__(values)
        self.found = found

    def load_if_toml_exists(self) -> bool:
        return self.found


def test_streamlit_secrets_are_read_only_for_our_names(monkeypatch):
    import streamlit as st

    from maskpatrol.ice import streamlit_secrets

    monkeypatch.setattr(st, "secrets", FakeSecrets(True, **TURN, OTHER_APP_KEY="x"))
    assert streamlit_secrets() == TURN
    assert rtc_configuration(env={})["iceServers"][0]["username"] == "patrol"
    # No secrets.toml at all: nothing, and no "No secrets found" error.
    monkeypatch.setattr(st, "secrets", FakeSecrets(False))
    assert streamlit_secrets() == {}
    assert rtc_configuration(env={}) is None
