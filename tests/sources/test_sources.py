"""Frame sources (``maskpatrol/sources.py``) against real servers on 127.0.0.1: GStreamer's
RTSP server (``support/rtsp_server.py``, run with Debian's Python), an MJPEG-over-HTTP server
(``support/mjpeg_server.py``), and files. Every frame carries its number
(``support/counter_frames.py``), so a test knows which frame it was handed and how old it is.

Without GStreamer's RTSP server the RTSP tests skip with the reason, and fail under
``MASKPATROL_CI_REQUIRE`` (``support/required.py``).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from maskpatrol.sources import Backoff, Camera, SourceError, State, parse_source, parse_sources, safe_name
from support.counter_frames import read_counter, write_counter_clip
from support.mjpeg_server import MjpegServer
from support.net import free_port
from support.required import skip_or_fail
from support.rtsp_camera import RtspServer, gstreamer_missing

FPS = 25


def wait_until(check: Callable[[], object], timeout_s: float, what: str, step_s: float = 0.02):
    """``check()``'s first truthy answer within ``timeout_s``, else fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout_s:g} s")
        time.sleep(step_s)


# -- servers ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gstreamer() -> None:
    reason = gstreamer_missing()
    if reason is not None:
        skip_or_fail(reason)


@pytest.fixture(scope="module")
def rtsp_clip(tmp_path_factory) -> Path:
    """60 s of numbered frames at 25 fps, 320x240, a key frame every second: long enough
    that no test sees the file's end."""
    return write_counter_clip(tmp_path_factory.mktemp("rtsp") / "counter.mp4", frames=60 * FPS, fps=FPS)


@pytest.fixture
def rtsp_server(gstreamer, rtsp_clip):
    """A factory for RTSP servers; every one it made is killed at the end of the test."""
    made: list[RtspServer] = []

    def make(**kwargs) -> RtspServer:
        server = RtspServer(rtsp_clip, free_port(), **kwargs)
        made.append(server)
        server.start()
        return server

    yield make
    for server in made:
        server.kill()


@pytest.fixture
def mjpeg():
    with MjpegServer(fps=FPS) as server:
        yield server


@pytest.fixture
def cameras():
    """A factory for started cameras; every one is closed at the end of the test."""
    made: list[Camera] = []

    def make(source: str, **kwargs) -> Camera:
        camera = Camera(source, **kwargs).start()
        made.append(camera)
        return camera

    yield make
    for camera in made:
        camera.close(timeout_s=5)


def lag_s(frame, started: float) -> float:
    """How far a frame is behind a stream that started sending frame 0 at ``started``: a
    figure to print, not to assert (a busy machine delays every process)."""
    return (frame.monotonic_s - started) - read_counter(frame.rgb) / FPS


def newest(camera: Camera):
    """The frame ``camera`` hands over, checked to be the newest it has read: a frame read
    just after the hand-over may be counted already, none before it may be missing."""
    frame = camera.latest(timeout_s=2)
    assert frame is not None, camera.status().summary()
    behind = camera.status().frames_read - 1 - frame.index
    assert behind in (0, 1), f"{camera.name}: the frame handed over is {behind} frames older than the newest"
    return frame


def steady_reading(camera: Camera, seconds: float) -> float:
    """Frames a second ``camera`` read over ``seconds``, after checking by the frames' own
    numbers that it read each frame the camera sent, once and in order: it keeps the camera's
    pace whatever the clock says. The rate is for the report."""
    first, t0 = newest(camera), time.monotonic()
    time.sleep(seconds)
    last = newest(camera)
    read, sent = last.index - first.index, read_counter(last.rgb) - read_counter(first.rgb)
    assert read > 0, f"{camera.name} read nothing in {seconds:g} s: {camera.status().summary()}"
    assert read == sent, f"{camera.name} read {read} frames while the camera sent {sent}"
    return read / (time.monotonic() - t0)


# -- naming and parsing ----------------------------------------------------------------------
def test_a_camera_name_never_holds_its_credentials_or_query():
    spec = parse_source("rtsp://admin:hunter2@10.0.0.5:554/stream1?token=abc")
    assert spec.name == "rtsp://10.0.0.5:554/stream1"
    assert spec.kind == "rtsp" and "hunter2" in spec.target
    assert "hunter2" not in repr(spec)
    assert safe_name("http://u:p@cam.local/video.mjpg?x=1") == "http://cam.local/video.mjpg"


def test_sources_can_be_named_and_devices_and_files_are_recognised():
    assert parse_source("door=rtsp://u:p@cam/live").name == "door"
    assert parse_source("http://cam/v.cgi?res=hd&fps=5").kind == "http"  # '=' in a query is not a name
    assert parse_source("http://cam/v.cgi?res=hd").name == "http://cam/v.cgi"
    assert (parse_source("0").kind, parse_source("0").target) == ("device", "/dev/video0")
    assert parse_source("/dev/video2").kind == "device"
    assert parse_source("clips/door.mp4") == parse_source("clips/door.mp4")
    assert parse_source("clips/door.mp4").kind == "file"
    with pytest.raises(SourceError, match="ftp://"):
        parse_source("ftp://cam/x")
    with pytest.raises(SourceError, match="Two sources are named door"):
        parse_sources(["door=a.mp4", "door=b.mp4"])


def test_backoff_doubles_from_one_second_up_to_thirty():
    assert [Backoff().delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


# -- RTSP ------------------------------------------------------------------------------------
def test_an_rtsp_camera_delivers_frames_at_its_own_rate_and_newest_first(rtsp_server, cameras):
    server = rtsp_server()
    started = time.monotonic()
    camera = cameras(f"door={server.url()}")
    first = camera.latest(timeout_s=10)
    assert first is not None, camera.status().summary()
    assert camera.status().state is State.STREAMING
    time.sleep(1.5)  # the connection's first second comes in a burst (FFmpeg probes it)
    rate = steady_reading(camera, 3.0)
    frame = newest(camera)
    assert frame.rgb.shape == (240, 320, 3)
    assert frame.camera == "door" and frame.connection == 1
    print(f"\nRTSP: {rate:.2f} fps delivered from a {FPS} fps camera; first frame "
          f"{first.monotonic_s - started:.2f} s after start; newest frame {lag_s(frame, started):.2f} s behind")


def test_a_slow_consumer_gets_recent_frames_and_the_rest_are_counted_as_dropped(rtsp_server, mjpeg, cameras):
    server = rtsp_server()
    started = time.monotonic()
    rtsp = cameras(server.url())
    http = cameras(mjpeg.url())
    for camera in (rtsp, http):
        assert camera.latest(timeout_s=10) is not None, camera.status().summary()
    time.sleep(1.5)
    worst = {rtsp.name: 0.0, http.name: 0.0}
    taken: dict[str, list] = {rtsp.name: [], http.name: []}
    for _ in range(10):  # a consumer that needs 0.25 s a frame: about 6 frames' time
        time.sleep(0.25)
        for camera in (rtsp, http):
            frame = newest(camera)
            taken[camera.name].append(frame)
            # The MJPEG server starts frame 0 when the camera connects, the RTSP server
            # when it is asked to play: both at most a moment after `started`.
            worst[camera.name] = max(worst[camera.name], lag_s(frame, started))
    for camera in (rtsp, http):
        frames, st = taken[camera.name], camera.status()
        # What the consumer skipped between two frames it took was read and dropped, no more.
        skipped = sum(b.index - a.index - 1 for a, b in zip(frames, frames[1:]))
        assert skipped >= len(frames) - 1, f"{camera.name}: frames handed over one after another, none dropped"
        assert all(read_counter(b.rgb) - read_counter(a.rgb) == b.index - a.index for a, b in zip(frames, frames[1:]))
        assert st.frames_read - st.frames_taken - st.dropped in (0, 1), st  # one may be waiting
        assert st.frames_taken >= len(frames) and st.dropped >= skipped, st
    print(f"\nslow consumer: worst lag {worst}; dropped "
          f"{[(c.status().dropped, c.status().frames_read) for c in (rtsp, http)]}")


def test_a_killed_rtsp_server_restarted_on_its_port_is_reconnected_and_others_keep_streaming(
        rtsp_server, mjpeg, cameras, caplog):
    caplog.set_level(logging.INFO, logger="maskpatrol.sources")
    server = rtsp_server()
    door = cameras(f"door={server.url()}")
    other = cameras(f"yard={mjpeg.url()}")
    assert door.latest(timeout_s=10) is not None and other.latest(timeout_s=10) is not None
    time.sleep(1.0)
    server.kill()
    lost = wait_until(lambda: door.status().state is State.RETRYING and door.status(), 15,
                      "the RTSP camera noticing its server died")
    assert lost.last_error.startswith("camera door: ")
    during = steady_reading(other, 1.5)  # the other camera keeps its pace meanwhile
    restarted = server.start()
    frame = wait_until(lambda: (f := door.latest()) is not None and f.connection == 2 and f, 40,
                       "a frame from the restarted server")
    reconnect_s = frame.monotonic_s - restarted
    assert read_counter(frame.rgb) < (time.monotonic() - restarted) * FPS + 5, "not the new stream"
    time.sleep(1.5)
    rate = steady_reading(door, 2.0)
    st = door.status()
    assert st.state is State.STREAMING and st.reconnects == 1 and st.failures >= 1
    log = caplog.text
    assert "camera door: reconnected" in log and "retrying in" in log
    print(f"\nreconnect: first frame {reconnect_s:.2f} s after the server listened again; "
          f"{rate:.1f} fps after, {during:.1f} fps from the other camera while it was down; "
          f"error while down: {lost.last_error!r}")


def test_an_rtsp_camera_with_a_wrong_or_missing_password_says_so(rtsp_server, cameras, caplog):
    caplog.set_level(logging.INFO, logger="maskpatrol.sources")
    server = rtsp_server(user="viewer", password="s3cret-pw")
    wrong = cameras(f"front={server.url('viewer:not-it@')}")
    missing = cameras(server.url())
    right = cameras(f"back={server.url('viewer:s3cret-pw@')}")
    assert right.latest(timeout_s=10) is not None, right.status().summary()
    wait_until(lambda: wrong.status().last_error and missing.status().last_error, 10, "the 401 errors")
    assert wrong.status().last_error == ("camera front: wrong user name or password: the camera "
                                         "refused them (RTSP 401 Unauthorized)")
    assert missing.status().last_error.startswith(
        f"camera {server.url()}: the camera asks for a user name and password (RTSP 401")
    assert wrong.status().state in (State.RETRYING, State.CONNECTING)
    assert "s3cret-pw" not in caplog.text and "not-it" not in caplog.text
    assert right.status().state is State.STREAMING


# -- MJPEG over HTTP, and bad cameras --------------------------------------------------------
def test_bad_cameras_get_clear_errors_naming_them_while_another_keeps_streaming(mjpeg, cameras, caplog):
    caplog.set_level(logging.INFO, logger="maskpatrol.sources")
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        good = cameras(f"hall={mjpeg.url()}")
        bad = {
            "closed": cameras(f"closed=rtsp://127.0.0.1:{free_port()}/door"),
            "page": cameras(f"page={mjpeg.url('/page')}"),
            "password": cameras(f"password={mjpeg.url('/secret', 'admin', 'guess')}"),
            "silent": cameras(f"silent=http://127.0.0.1:{silent.getsockname()[1]}/video",
                              open_timeout_s=1.0),
        }
        wait_until(lambda: all(c.status().last_error for c in bad.values()), 10,
                   "an error for each bad camera")
        errors = {name: c.status().last_error for name, c in bad.items()}
        assert errors["closed"].startswith("camera closed: connection refused")
        assert errors["page"].startswith("camera page: not a video")
        assert errors["password"] == ("camera password: wrong user name or password: the camera "
                                      "refused them (HTTP 401 Unauthorized)")
        assert errors["silent"].startswith("camera silent: no answer within 1 s")
        assert all(c.status().frames_read == 0 for c in bad.values())
        rate = steady_reading(good, 2.0)
        assert good.status().state is State.STREAMING
        assert "guess" not in caplog.text
        assert "camera page: not a video" in caplog.text and "retrying in 1 s" in caplog.text
        print("\n" + "\n".join(errors.values()) + f"\nMJPEG: {rate:.2f} fps delivered beside them")
    finally:
        silent.close()


def test_an_mjpeg_camera_behind_a_password_streams_with_the_right_one(mjpeg, cameras):
    camera = cameras(mjpeg.url("/secret", mjpeg.user, mjpeg.password))
    assert camera.latest(timeout_s=10) is not None, camera.status().summary()
    assert mjpeg.password not in camera.name


def test_a_missing_video_device_is_retried_with_a_clear_error(cameras):
    camera = cameras("/dev/video97")
    wait_until(lambda: camera.status().last_error, 5, "the device error")
    assert camera.status().last_error == ("camera /dev/video97: no video device /dev/video97 "
                                          "(is the camera plugged in?)")
    assert camera.status().state is State.RETRYING


# -- files -----------------------------------------------------------------------------------
def test_a_file_plays_at_its_own_rate_and_ends_after_its_last_frame(tmp_path, cameras):
    clip = write_counter_clip(tmp_path / "short.mp4", frames=20, fps=10, gop=10)
    camera = cameras(str(clip))
    numbers, times = [], []
    for frame in camera.frames():  # a quick consumer: every frame
        numbers.append(read_counter(frame.rgb))
        times.append(frame.monotonic_s)
    st = camera.status()
    assert st.state is State.ENDED and camera.finished
    assert numbers == list(range(20)), "a quick consumer gets every frame of a file, the last one too"
    assert st.frames_read == 20 and st.dropped == 0
    # Paced, not read as fast as it decodes: never quicker than 10 fps (a busy machine can only
    # make it slower, so that side is printed).
    assert times[-1] - times[0] >= 1.8, f"20 frames at 10 fps took {times[-1] - times[0]:.2f} s"
    print(f"\nfile: 20 frames at 10 fps over {times[-1] - times[0]:.2f} s")


def test_a_file_with_loop_starts_again_and_is_not_counted_as_a_reconnect(tmp_path, cameras):
    clip = write_counter_clip(tmp_path / "loop.mp4", frames=10, fps=20, gop=10)
    camera = cameras(str(clip), loop=True)
    seen, t0 = [], time.monotonic()
    while seen.count(0) < 3 and time.monotonic() < t0 + 30:  # three starts: 1 s at its pace
        frame = camera.latest(timeout_s=0.5)
        if frame is not None:
            seen.append(read_counter(frame.rgb))
    elapsed, st = time.monotonic() - t0, camera.status()
    assert seen.count(0) >= 3, seen
    assert st.state is State.STREAMING and st.reconnects == 0
    assert st.frames_read <= elapsed * 20 + 4, f"{st.frames_read} frames in {elapsed:.2f} s at 20 fps"


def test_a_missing_file_fails_at_once_naming_it(cameras, tmp_path):
    camera = cameras(f"door={tmp_path / 'nope.mp4'}")
    assert camera.latest(timeout_s=5) is None
    st = camera.status()
    assert st.state is State.FAILED and camera.finished
    assert st.last_error == f"camera door: File not found: {tmp_path / 'nope.mp4'}"


def test_close_is_quick_while_streaming_and_while_waiting_to_retry(mjpeg, cameras, tmp_path):
    clip = write_counter_clip(tmp_path / "c.mp4", frames=50, fps=25)
    streaming = [cameras(mjpeg.url()), cameras(str(clip), loop=True)]
    waiting = cameras(f"rtsp://127.0.0.1:{free_port()}/x", backoff=Backoff(first_s=30))
    for camera in streaming:
        assert camera.latest(timeout_s=10) is not None
    wait_until(lambda: waiting.status().state is State.RETRYING, 5, "the refused camera waiting")
    for camera in (*streaming, waiting):
        t0 = time.monotonic()
        assert camera.close(timeout_s=5)
        took = time.monotonic() - t0
        # Not waiting out a read or the 30 s back-off; how quick it was is printed.
        assert took < 5, f"closing {camera.name} took {took:.2f} s"
        print(f"\nclosing {camera.name}: {took:.3f} s")
        assert camera.status().state is State.ENDED


def test_a_wake_event_shared_by_cameras_is_set_by_each_new_frame(mjpeg, cameras):
    wake = threading.Event()
    camera = cameras(mjpeg.url(), wake=wake)
    assert wake.wait(10)
    wake.clear()
    assert wake.wait(1) and camera.latest() is not None


def test_max_retries_gives_up_with_the_count_in_words(cameras):
    camera = cameras(f"gone=rtsp://127.0.0.1:{free_port()}/x", backoff=Backoff(first_s=0.05, max_retries=2))
    wait_until(lambda: camera.status().state is State.FAILED, 5, "giving up")
    assert camera.status().last_error.endswith("(gave up after 3 failed attempts in a row)")
    assert camera.latest(timeout_s=1) is None and camera.finished
