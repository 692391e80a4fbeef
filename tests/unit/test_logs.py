"""MASKPATROL_LOG_LEVEL: what an operator sees on standard error for each value."""

import io
import logging

import pytest

from maskpatrol import logs


@pytest.fixture
def fresh_logs(monkeypatch):
    """Each test is a new process as far as the switch knows; loggers restored afterwards."""
    monkeypatch.setattr(logs, "_applied", logs._UNSET)
    saved = {name: (logging.getLogger(name).level, list(logging.getLogger(name).handlers)) for name in logs.LOGGERS}
    yield
    for name, (level, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.handlers[:] = handlers


def test_info_shows_the_webrtc_stack_and_the_app_but_not_debug(fresh_logs):
    out = io.StringIO()
    assert logs.apply_log_level({"MASKPATROL_LOG_LEVEL": "info"}, out) == logging.INFO
    logging.getLogger("aiortc.rtcpeerconnection").info("connectionState changed to connected")
    logging.getLogger("streamlit_webrtc.webrtc").info("worker started")
    logging.getLogger("maskpatrol.live").warning("a frame failed")
    logging.getLogger("aioice.ice").debug("STUN packet")
    text = out.getvalue()
    assert "aiortc.rtcpeerconnection INFO connectionState changed to connected" in text
    assert "streamlit_webrtc.webrtc INFO worker started" in text
    assert "maskpatrol.live WARNING a frame failed" in text
    assert "STUN packet" not in text


def test_unset_leaves_the_libraries_quiet(fresh_logs):
    out = io.StringIO()
    assert logs.apply_log_level({}, out) is None
    logging.getLogger("aiortc").info("connectionState changed to connected")
    assert out.getvalue() == ""


def test_read_once_so_reruns_neither_change_the_level_nor_repeat_lines(fresh_logs):
    out = io.StringIO()
    assert logs.apply_log_level({"MASKPATROL_LOG_LEVEL": "WARNING"}, out) == logging.WARNING
    assert logs.apply_log_level({"MASKPATROL_LOG_LEVEL": "DEBUG"}, out) == logging.WARNING  # a Streamlit rerun
    logging.getLogger("streamlit_webrtc").warning("once")
    logging.getLogger("streamlit_webrtc").info("not at WARNING")
    assert out.getvalue().count("once") == 1 and "not at WARNING" not in out.getvalue()


def test_a_mistyped_level_is_named_and_the_app_still_starts(fresh_logs):
    out = io.StringIO()
    assert logs.apply_log_level({"MASKPATROL_LOG_LEVEL": "verbose"}, out) is None
    assert "MASKPATROL_LOG_LEVEL='verbose' is not a log level" in out.getvalue()
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in out.getvalue()
