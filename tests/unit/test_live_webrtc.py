"""The Live webcam page's frame callback behind a real WebRTC connection, in this process.

An aiortc client plays the browser: it sends generated camera frames over a WebRTC peer
connection to streamlit-webrtc's ``WebRtcWorker``, built with the arguments the page gives
``webrtc_streamer`` (SENDRECV, ``LiveSession.processor`` as ``video_frame_callback``,
asynchronous processing), and receives the annotated video back. What the page would
show is read from the same :class:`~maskpatrol.live.LiveSession` the page reads.

This layer sits between ``test_live.py`` (the callback called directly) and
``tests/e2e/test_webcam.py`` (root, a network namespace and Chromium): here the codec,
the worker's threads and the peer connection's life are real, yet no browser or root is
needed. ICE uses host candidates on 127.0.0.1 only and no STUN server, so no packet
leaves the machine. Each test runs its own event loop and tears both peers down inside it,
as streamlit-webrtc's own loopback tests do (teardown from outside the loop races aiortc).
"""

from __future__ import annotations

import asyncio
import fractions
import threading
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

import aioice.ice
import av
import cv2
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from streamlit_webrtc import WebRtcMode, WebRtcWorker
from streamlit_webrtc.source import VideoSourceTrack

from maskpatrol.detectors import DetectorSettings
from maskpatrol.live import LiveOptions, LiveSession
from maskpatrol.pipeline import Settings

from support.webcam_clip import compose, load_face, pick_scene

FPS = 10
#: Connection set-up is the slow part (ICE, DTLS); frames then arrive within a second.
CONNECT_S = 20.0
SETTLE_S = 10.0
NO_ICE_SERVERS = RTCConfiguration(iceServers=[])


def page_worker(callback: Callable[[av.VideoFrame], av.VideoFrame],
                loop: asyncio.AbstractEventLoop) -> WebRtcWorker:
    """The worker ``webrtc_streamer`` builds for ``pages/webcam.py``, with its ~20 arguments
    spelled out once: the page's mode, callback and ``async_processing=True``; everything
    else at ``webrtc_streamer``'s defaults; no ICE servers (loopback needs none); and this
    test's loop and relay instead of the Streamlit server's."""
    return WebRtcWorker(
        mode=WebRtcMode.SENDRECV, rtc_configuration=NO_ICE_SERVERS,
        source_video_track=None, source_audio_track=None, sink_video_track=None, sink_audio_track=None,
        player_factory=None, in_recorder_factory=None, out_recorder_factory=None,
        video_frame_callback=callback, audio_frame_callback=None,
        queued_video_frames_callback=None, queued_audio_frames_callback=None,
        on_video_ended=None, on_audio_ended=None,
        video_processor_factory=None, audio_processor_factory=None,
        async_processing=True, video_receiver_size=4, audio_receiver_size=4,
        sendback_video=True, sendback_audio=True,
        loop=loop, relay=MediaRelay(),
    )


class Stream:
    """Both ends of one running stream, and what came back to the 'browser'."""

    def __init__(self, client: RTCPeerConnection, worker: WebRtcWorker) -> None:
        self.client, self.worker = client, worker
        self.received = 0
        self.last_received: np.ndarray | None = None
        self._reader: asyncio.Task | None = None

    def read_track(self, track) -> None:
        async def read() -> None:
            try:
                while True:
                    frame = await track.recv()
                    self.last_received = frame.to_ndarray(format="rgb24")
                    self.received += 1
            except MediaStreamError:
                pass

        self._reader = asyncio.ensure_future(read())

    async def stop(self) -> None:
        """Stop as the page does when the user presses Stop: the worker closes its side."""
        await asyncio.to_thread(self.worker.stop, 1.0)


@asynccontextmanager
async def streaming(session: LiveSession, frame_at: Callable[[int], np.ndarray]) -> AsyncIterator[Stream]:
    """A connected stream from a client sending ``frame_at(i)`` as frame i, at :data:`FPS`,
    to the page's worker around ``session.processor``. Torn down inside the loop."""
    loop = asyncio.get_running_loop()
    count = iter(range(10**9))

    def next_frame(pts: int, time_base: fractions.Fraction) -> av.VideoFrame:
        frame = av.VideoFrame.from_ndarray(frame_at(next(count)), format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame

    client = RTCPeerConnection(NO_ICE_SERVERS)
    client.addTrack(VideoSourceTrack(next_frame, fps=FPS))
    worker = page_worker(session.processor, loop)
    stream = Stream(client, worker)
    client.on("track", stream.read_track)

    @client.on("icecandidate")
    async def to_worker(candidate) -> None:  # aiortc may still trickle after the offer
        if candidate is not None:
            worker.add_ice_candidate(candidate)

    @worker.pc.on("icecandidate")
    async def to_client(candidate) -> None:
        if candidate is not None:
            await client.addIceCandidate(candidate)

    try:
        await client.setLocalDescription(await client.createOffer())
        answer = await asyncio.to_thread(worker.process_offer, client.localDescription.sdp,
                                         client.localDescription.type, CONNECT_S)
        await client.setRemoteDescription(answer)
        # Both sides offer only loopback candidates: nothing can leave the machine.
        assert candidate_addresses(client.localDescription.sdp) == candidate_addresses(answer.sdp) == {"127.0.0.1"}
        session.on_playing(True)
        yield stream
    finally:
        await stream.stop()
        await client.close()
        if stream._reader is not None:
            stream._reader.cancel()
        await asyncio.sleep(0.2)  # let aiortc's cleanup tasks finish before the loop closes


def candidate_addresses(sdp: str) -> set[str]:
    """The addresses of an SDP's ICE candidates (``a=candidate:<foundation> <component>
    <transport> <priority> <address> <port> ...``)."""
    return {line.split()[4] for line in sdp.splitlines() if line.startswith("a=candidate:")}


async def until(predicate: Callable[[], bool], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return predicate()


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Host candidates on 127.0.0.1 only, whatever interfaces this machine has."""
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture(scope="module")
def astronaut_frame(astronaut_rgb) -> np.ndarray:
    """640x480 with the astronaut's face (one unmasked person) left of centre."""
    frame = np.full((480, 640, 3), 120, np.uint8)
    frame[:, 64:576] = cv2.resize(astronaut_rgb, (512, 480), interpolation=cv2.INTER_AREA)
    return frame


def run(scenario) -> None:
    asyncio.run(asyncio.wait_for(scenario, timeout=120))


class FailsOnce:
    """The real pipeline, except that one call (the ``fail_at``-th) raises, as a frame the
    detector chokes on would."""

    def __init__(self, patrol, fail_at: int) -> None:
        self.patrol, self.fail_at = patrol, fail_at
        self.calls = 0
        self._lock = threading.Lock()

    def analyze(self, rgb, settings=None, **kwargs):
        with self._lock:
            self.calls += 1
            fail = self.calls == self.fail_at
        if fail:
            raise RuntimeError("analysis broke on this frame")
        return self.patrol.analyze(rgb, settings, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self.patrol, name)  # the rest of the pipeline (card, thresholds) as it is


class WithDetector:
    """The pipeline seen through one detector's settings, for ``pick_scene``: the scene must be
    clean (exactly the faces placed, rightly labelled) for the detector the stream runs."""

    def __init__(self, patrol, settings: Settings) -> None:
        self._patrol, self._settings, self.card = patrol, settings, patrol.card

    def analyze(self, rgb, settings=None, timings=None):
        return self._patrol.analyze(rgb, self._settings, timings=timings)


#: The webcam page's detector settings (its 80 px smallest face), as a visitor finds them and
#: with Haar picked in the sidebar (which tests/app/test_webcam_page_app.py shows reaches the
#: stream's options): each detector must count the stream's faces.
PAGE_DETECTORS = [DetectorSettings(min_face_px=80), DetectorSettings(name="haar", min_face_px=80)]


@pytest.mark.parametrize("detector", PAGE_DETECTORS, ids=lambda d: d.name)
def test_the_panel_counts_a_masked_and_an_unmasked_person_sent_over_webrtc(patrol, data_dir, detector):
    settings = Settings(detector)
    scene = pick_scene(data_dir, WithDetector(patrol, settings), labels=("mask", "no_mask"))
    frame = compose([load_face(p) for p in scene.photos])
    session = LiveSession(patrol)
    session.options.set(LiveOptions(settings))

    async def scenario() -> None:
        async with streaming(session, lambda i: frame) as stream:
            assert await until(lambda: session.processor.frames >= 3 * FPS, CONNECT_S + SETTLE_S)
            snap = session.refresh()  # what the page shows, as on its once-a-second refresh
            assert snap is not None and snap.error is None
            assert (snap.counts.total, snap.counts.mask, snap.counts.no_mask) == (2, 1, 1) and snap.counts.alert
            # The annotated video comes back to the browser at the camera's size.
            assert await until(lambda: stream.received >= FPS, SETTLE_S)
            assert stream.last_received.shape == (480, 640, 3)

    run(scenario())


def test_a_setting_changed_mid_stream_reaches_the_callback_without_a_restart(patrol, astronaut_frame):
    session = LiveSession(patrol)

    async def scenario() -> None:
        async with streaming(session, lambda i: astronaut_frame) as stream:
            assert await until(lambda: session.processor.frames >= FPS, CONNECT_S)
            before = session.refresh()
            assert (before.counts.total, before.counts.no_mask) == (1, 1)
            pc, frames_then = stream.worker.pc, session.processor.frames
            # What the page does on a rerun after the threshold slider moved to the top.
            session.options.set(LiveOptions(Settings(threshold=0.99999)))
            seen = []

            def masked_now() -> bool:
                seen.extend(session.results.drain())
                return any(r.counts.mask == 1 and r.counts.no_mask == 0 for r in seen)

            assert await until(masked_now, SETTLE_S)
            # Same connection and the same count going on: the stream never restarted.
            assert stream.worker.pc is pc and pc.connectionState == "connected"
            assert session.processor.frames > frames_then

    run(scenario())


def test_a_frame_that_fails_passes_through_and_the_stream_goes_on(patrol, astronaut_frame, caplog):
    flaky = FailsOnce(patrol, fail_at=5)
    session = LiveSession(flaky)

    async def scenario() -> None:
        async with streaming(session, lambda i: astronaut_frame) as stream:
            assert await until(lambda: flaky.calls >= 5, CONNECT_S)
            received_then = stream.received
            assert await until(lambda: session.processor.frames >= 2 * FPS, SETTLE_S)
            assert await until(lambda: stream.received >= received_then + FPS, SETTLE_S)
            results = session.results.drain()
            failed = [r for r in results if r.error is not None]
            assert [r.error for r in failed] == ["analysis broke on this frame"]
            assert session.processor.errors == 1
            assert results[-1].error is None and results[-1].counts.no_mask == 1
            assert stream.worker.pc.connectionState == "connected"

    run(scenario())
    assert any("live frame analysis failed" in r.getMessage() for r in caplog.records)  # for the operator


def test_stop_releases_the_stream_and_a_new_start_counts_afresh(patrol, astronaut_frame):
    session = LiveSession(patrol)
    workers_before = {t for t in threading.enumerate() if t.name.startswith("async_media_processor")}

    async def scenario() -> None:
        async with streaming(session, lambda i: astronaut_frame) as stream:
            assert await until(lambda: session.processor.frames >= FPS, CONNECT_S)
            processing = [t for t in threading.enumerate()
                          if t.name.startswith("async_media_processor") and t not in workers_before]
            assert processing and all(t.is_alive() for t in processing)
            await stream.stop()
            frames_at_stop = session.processor.frames
            assert stream.worker.pc.connectionState == "closed"
            assert stream.worker.video_processor is None  # the worker no longer holds the callback
            # A bound for threads that never end, not a speed target (they end within a second).
            assert await until(lambda: not any(t.is_alive() for t in processing), 3 * SETTLE_S)
            await asyncio.sleep(1.0)
            assert session.processor.frames == frames_at_stop  # nothing is analysed after Stop

    run(scenario())
    # The page's next rerun sees the stream stopped, then a new start: counting starts over.
    assert session.on_playing(False) is False
    assert session.on_playing(True) is True
    assert session.processor.stats() == (0, 0.0) and len(session.results) == 0
