"""The ``watch`` command end to end, with real parts: the people clip (14 known people, 6 of
them unmasked; ``support/people_clip.py``) written as an mp4 and watched as a file source
(paced at its 25 fps, as a camera delivers it), events in SQLite, a webhook receiver on
loopback (``support/webhook_receiver.py``), the metrics server, and SIGTERM sent to the real
process. The ``video`` command on the same file says how many people were not properly
masked; the watcher must make exactly one event for each.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maskpatrol.events.store import EventStore
from maskpatrol.notify.messages import SIGNATURE_HEADER, verify
from support import video_clip as vc
from support.cli import run_cli
from support.figures import write_report
from support.mjpeg_server import MjpegServer
from support.net import free_port, http_get
from support.paths import ROOT
from support.people_clip import PeopleClip, pick_people
from support.required import skip_or_fail
from support.rtsp_camera import RtspServer, gstreamer_missing
from support.webhook_receiver import start_receiver, wait_until

pytestmark = [pytest.mark.data, pytest.mark.slow]

SECRET = "watch-test-secret"
CAMERA = "door"


@pytest.fixture(scope="module")
def clip(data_dir, patrol) -> PeopleClip:
    return pick_people(data_dir, patrol)


@pytest.fixture(scope="module")
def clip_file(clip, tmp_path_factory) -> Path:
    """The clip, with a key frame every second so that an RTSP client can join it mid-stream."""
    path = tmp_path_factory.mktemp("watch") / "people.mp4"
    vc.write_clip(path, clip.frames(), fps=clip.fps, gop=clip.fps)
    return path


@pytest.fixture(scope="module")
def video_figures(clip_file, tmp_path_factory) -> dict:
    """What ``python -m maskpatrol video`` says of the same file (its JSON line)."""
    out = tmp_path_factory.mktemp("video") / "annotated.mp4"
    run = run_cli("video", str(clip_file), "--out", str(out), "--json", "--quiet")
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads(run.stdout)


def start_watch(source: Path | str | list[str], tmp_path: Path, *extra: str) -> subprocess.Popen:
    """The real command in its own process, on ``source`` named door (or on a list of
    NAME=SOURCE), into SQLite under ``tmp_path``, JSON status lines on stdout."""
    sources = source if isinstance(source, list) else [f"{CAMERA}={source}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MASKPATROL_WEBHOOK_SECRET": SECRET,
           "MASKPATROL_DATA_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("MASKPATROL_DB_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "maskpatrol", "watch", *sources, "--db", str(tmp_path / "events.db"),
         "--json", *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout_s: float) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the watcher did not end within {timeout_s:g} s; its log:\n{err[-3000:]}")
    return proc.returncode, out, err


def _children_cpu_s() -> float:
    """CPU seconds of the child processes waited for so far (model loading included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def messages_by_id(receiver) -> dict[str, list[str]]:
    """Event id -> the message types the receiver accepted for it, in arrival order; every
    signature checked."""
    seen: dict[str, list[str]] = {}
    for request in receiver.accepted():
        assert verify(request.body, SECRET, request.headers.get(SIGNATURE_HEADER)), "bad signature"
        message = request.json
        seen.setdefault(message["id"], []).append(message["type"])
    return seen


def test_a_file_gives_one_event_per_unmasked_person_in_the_database_and_to_the_webhook(
        clip_file, video_figures, tmp_path, capsys):
    receiver = start_receiver()
    chat = start_receiver()  # a chat service, reached through Apprise's json:// (--notify)
    port = free_port()
    try:
        cpu_before = _children_cpu_s()
        proc = start_watch(clip_file, tmp_path, "--webhook", receiver.url, "--metrics-port", str(port),
                           "--keep-faces", "--status-interval", "5", "--notify", f"json://127.0.0.1:{chat.port}/chat")
        # While it runs: the health check and the counters.
        health = metrics = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = http_get(f"http://127.0.0.1:{port}/healthz")
                if status == 200 and json.loads(body)["cameras"][0]["frames_analysed"] > 50:
                    health = json.loads(body)
                    metrics = http_get(f"http://127.0.0.1:{port}/metrics")
                    break
            except OSError:
                pass
            time.sleep(0.2)
        code, out, err = finish(proc, 120)
        watch_cpu_s = _children_cpu_s() - cpu_before
        assert code == 0, err[-3000:]
        assert health is not None, f"/healthz never answered with frames analysed; log:\n{err[-3000:]}"
        assert health["status"] == "ok" and health["cameras"][0]["camera"] == CAMERA
        assert health["cameras"][0]["state"] == "streaming"
        assert metrics[0] == 200
        for name in ("maskpatrol_frames_analysed_total", "maskpatrol_frames_dropped_total",
                     "maskpatrol_reconnects_total", "maskpatrol_events_total", "maskpatrol_webhook_deliveries_total",
                     "maskpatrol_webhook_failures_total"):
            assert f'{name}{{camera="{CAMERA}"}}' in metrics[1], name

        unmasked = video_figures["people"]["no_mask"] + video_figures["people"]["incorrect"]
        with EventStore.open(tmp_path / "events.db") as store:
            events = store.query(limit=1000)
        assert len(events) == unmasked, [(e.person, e.label) for e in events]
        assert {e.state for e in events} == {"end"} and {e.camera for e in events} == {CAMERA}
        assert all(e.label in ("no_mask", "incorrect") for e in events)
        assert all(e.thumbnail and e.thumbnail[:3] == b"\xff\xd8\xff" for e in events)
        assert all(e.first_seen <= e.last_seen for e in events)
        assert len({e.person for e in events}) == unmasked

        # The webhook: the same ids, each once new and then once end, signed.
        assert wait_until(lambda: len(receiver.accepted()) >= 2 * unmasked, 10)
        seen = messages_by_id(receiver)
        assert set(seen) == {e.id for e in events}
        assert all(types == ["new", "end"] for types in seen.values()), seen
        # The chat service: a line per message, a person left for each one found, with the face.
        assert wait_until(lambda: len(chat.accepted()) >= 2 * unmasked, 10)
        titles = [request.json["title"] for request in chat.accepted()]
        assert len(titles) == 2 * unmasked and sum(" left, " in t for t in titles) == unmasked, titles
        assert all(request.json.get("attachments") for request in chat.accepted() if " left, " in request.json["title"])

        # Status lines: JSON, one per camera every 5 s, and a last one when the file ended.
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        last = lines[-1]
        assert last["camera"] == CAMERA and last["state"] == "ended"
        assert last["events"] == unmasked and last["ended"] == unmasked
        assert last["delivered"] == 4 * unmasked and last["delivery_failures"] == 0  # webhook and chat
        assert len(lines) >= 3
        assert last["frames_analysed"] + last["dropped"] <= last["frames_read"] <= video_figures["frames"]
        watch_seconds = video_figures["frames"] / video_figures["fps"]
        write_report("watch_file", {
            "clip": "people clip, 640x480, 25 fps, 22.5 s, 14 people (6 unmasked)",
            "video_people_not_masked": unmasked, "watch_events": len(events),
            "watch_frames_read": last["frames_read"], "watch_frames_analysed": last["frames_analysed"],
            "watch_frames_dropped": last["dropped"],
            "watch_fps_analysed": round(last["frames_analysed"] / watch_seconds, 2),
            "video_frames": video_figures["frames"], "video_elapsed_s": video_figures["elapsed_s"],
            "video_fps": round(video_figures["analyzed_frames"] / video_figures["elapsed_s"], 2),
            "video_speed_x_real_time": video_figures["speed"], "video_cpu_s": video_figures["cpu_s"],
            "watch_process_cpu_s": round(watch_cpu_s, 2),
        }, capsys)
    finally:
        receiver.stop()
        chat.stop()


def test_sigterm_mid_run_leaves_the_decided_events_in_the_database(clip_file, tmp_path):
    receiver = start_receiver()
    try:
        proc = start_watch(clip_file, tmp_path, "--webhook", receiver.url)
        # Wait for the first two people to be decided, then stop it mid-clip.
        if not wait_until(lambda: sum(1 for r in receiver.accepted() if r.json["type"] == "new") >= 2, 60):
            proc.kill()
            pytest.fail(f"no event within 60 s; log:\n{proc.communicate()[1][-3000:]}")
        proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        code, out, err = finish(proc, 30)
        took = time.monotonic() - stopped
        assert code == 0, err[-3000:]
        assert "SIGTERM: stopping" in err
        assert took < 15, f"stopping took {took:.1f} s"
        seen = messages_by_id(receiver)
        new_ids = {i for i, types in seen.items() if "new" in types}
        with EventStore.open(tmp_path / "events.db") as store:
            events = {e.id: e for e in store.query(limit=1000)}
        assert new_ids and new_ids <= set(events), "an event announced to the webhook is not in the database"
        # Everyone decided got their end, in the database and at the receiver, and the clip was not done.
        assert all(e.state == "end" for e in events.values())
        assert all(types == ["new", "end"] for types in seen.values()), seen
        assert set(seen) == set(events)
        assert 2 <= len(events) < 6
        last = json.loads(out.splitlines()[-1])
        assert last["state"] == "ended" and last["frames_read"] < 500
    finally:
        receiver.stop()


def test_bad_sources_and_databases_are_usage_errors(tmp_path):
    run = run_cli("watch", "ftp://cam/stream", "--db", str(tmp_path / "e.db"))
    assert run.returncode == 2 and "ftp:// is not a camera address" in run.stderr
    run = run_cli("watch", "a=x.mp4", "a=y.mp4", "--db", str(tmp_path / "e.db"))
    assert run.returncode == 2 and "Two sources are named a" in run.stderr
    run = run_cli("watch", "x.mp4", "--db", "postgresql+psycopg://u:secret@127.0.0.1:1/none")
    assert run.returncode == 2 and "cannot open the event database" in run.stderr and "secret" not in run.stderr
    run = run_cli("watch", "x.mp4", "--db", str(tmp_path / "e.db"), "--webhook", "ftp://hook")
    assert run.returncode == 2 and "not an http:// or https:// URL" in run.stderr


def test_a_file_that_cannot_be_read_fails_in_words(tmp_path):
    bad = tmp_path / "not-a-video.mp4"
    bad.write_bytes(b"this is text")
    run = run_cli("watch", f"door={bad}", "--db", str(tmp_path / "e.db"), "--json")
    assert run.returncode == 1, run.stderr
    last = json.loads(run.stdout.splitlines()[-1])
    assert last["state"] == "failed" and last["last_error"].startswith("camera door:")


def health(port: int) -> dict | None:
    try:
        status, body = http_get(f"http://127.0.0.1:{port}/healthz")
    except OSError:
        return None
    return json.loads(body)["cameras"][0] if status == 200 else None


def test_an_rtsp_camera_killed_and_restarted_is_reconnected_and_no_later_event_is_lost(
        clip_file, video_figures, tmp_path, capsys):
    reason = gstreamer_missing()
    if reason is not None:
        skip_or_fail(reason)
    unmasked = video_figures["people"]["no_mask"] + video_figures["people"]["incorrect"]
    server = RtspServer(clip_file, free_port())
    receiver = start_receiver()
    port = free_port()
    proc = None
    try:
        server.start()
        proc = start_watch(server.url(), tmp_path, "--webhook", receiver.url, "--metrics-port", str(port))

        def news() -> list[dict]:
            return [r.json for r in receiver.accepted() if r.json["type"] == "new"]

        if not wait_until(lambda: len(news()) >= 2, 60):
            pytest.fail(f"no events from the RTSP camera within 60 s; log:\n{finish(proc, 5)[2][-3000:]}")
        server.kill()
        killed = time.time()
        assert wait_until(lambda: (health(port) or {}).get("state") in ("retrying", "connecting"), 15)
        lost = health(port)
        server.start()
        restarted = time.time()
        assert wait_until(lambda: (health(port) or {}).get("reconnects") == 1, 30), health(port)
        # The server plays the clip from its start again: every unmasked person is seen anew.
        after = lambda: [m for m in news() if m["after"]["first_seen"] >= _iso(restarted)]  # noqa: E731
        wait_until(lambda: len(after()) >= unmasked, 40)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        code, out, err = finish(proc, 30)
        assert code == 0, err[-3000:]
        with EventStore.open(tmp_path / "events.db") as store:
            events = store.query(limit=1000)
        later = [e for e in events if e.first_seen.timestamp() >= restarted]
        before = [e for e in events if e.first_seen.timestamp() < killed]
        assert len(later) == unmasked, [(e.person, e.label, e.first_seen) for e in events]
        assert len(before) >= 2 and len(before) + len(later) == len(events)
        assert {e.state for e in events} == {"end"}
        seen = messages_by_id(receiver)
        assert set(seen) == {e.id for e in events} and all(t == ["new", "end"] for t in seen.values())
        last = json.loads(out.splitlines()[-1])
        assert last["reconnects"] == 1
        assert "camera door:" in (lost or {}).get("last_error", ""), lost
        write_report("watch_rtsp", {"events_before_kill": len(before), "events_after_restart": len(later),
                                    "video_people_not_masked": unmasked, "frames_read": last["frames_read"],
                                    "frames_analysed": last["frames_analysed"], "dropped": last["dropped"],
                                    "reconnects": last["reconnects"], "error_while_down": lost["last_error"]}, capsys)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)
        server.kill()
        receiver.stop()


def _iso(seconds: float) -> str:
    """``seconds`` in the messages' time format, which sorts as text."""
    from maskpatrol.notify.messages import iso_utc

    return iso_utc(seconds)


def test_people_time_never_runs_backwards_over_reconnects_and_file_loops(patrol):
    """A reconnect or a looping file restarts the stream's clock; the time people are followed
    on carries on, with the gap the camera was away (so its people are lost, as they should)."""
    from types import SimpleNamespace

    from maskpatrol.pipeline import Settings
    from maskpatrol.sources import Camera, Frame
    from maskpatrol.watch import _CameraWorker

    worker = _CameraWorker(SimpleNamespace(patrol=patrol, settings=Settings()), Camera("door=clip.mp4"))

    def at(stream_s, connection, mono):
        return worker._time(Frame("door", 0, connection, None, 1000.0 + mono, mono, stream_s))

    assert [at(s, 1, 10.0 + s) for s in (5.0, 5.04, 5.08)] == pytest.approx([0.0, 0.04, 0.08])
    assert at(0.0, 2, 20.0) == pytest.approx(0.08 + (20.0 - 15.08))  # reconnected after 4.92 s away
    assert at(0.04, 2, 20.04) == pytest.approx(5.04)
    assert at(0.0, 2, 20.08) == pytest.approx(5.08)  # the file looped: on the beat, not back to 0
    assert at(None, 2, 30.0) == 30.0  # a device: arrival time
    assert worker._wall(5.0).timestamp() == pytest.approx(1000.0 + 30.0 - 25.0)


def test_bad_cameras_are_told_in_words_naming_them_while_the_good_one_goes_on(clip_file, video_figures, tmp_path):
    unmasked = video_figures["people"]["no_mask"] + video_figures["people"]["incorrect"]
    receiver = start_receiver()
    port = free_port()
    with MjpegServer() as mjpeg:
        sources = [f"{CAMERA}={clip_file}", f"refused=rtsp://127.0.0.1:{free_port()}/door",
                   f"page={mjpeg.url('/page')}", f"locked={mjpeg.url('/secret', user='admin', password='wrong')}"]
        proc = start_watch(sources, tmp_path, "--webhook", receiver.url, "--metrics-port", str(port))
        try:
            done = wait_until(lambda: len(receiver.accepted()) >= 2 * unmasked, 90)
        finally:
            proc.send_signal(signal.SIGTERM)
            code, out, err = finish(proc, 30)
    receiver.stop()
    assert done, err[-3000:]
    assert code == 0, err[-3000:]
    last = {row["camera"]: row for row in map(json.loads, out.splitlines()[-4:])}
    assert last[CAMERA]["state"] == "ended" and last[CAMERA]["events"] == unmasked
    words = {"refused": "connection refused", "page": "not a video", "locked": "wrong user name or password"}
    for name, text in words.items():
        assert last[name]["frames_analysed"] == 0 and last[name]["failures"] >= 1
        assert last[name]["last_error"].startswith(f"camera {name}: ") and text in last[name]["last_error"], last[name]
        assert f"camera {name}: " in err
    assert "wrong" not in err.replace("wrong user name", ""), "the password reached the log"


def test_the_same_events_go_to_postgresql_by_its_url(clip_file, video_figures, postgres_url, tmp_path):
    unmasked = video_figures["people"]["no_mask"] + video_figures["people"]["incorrect"]
    proc = start_watch(clip_file, tmp_path, "--db", postgres_url)  # the last --db wins
    code, out, err = finish(proc, 120)
    assert code == 0, err[-3000:]
    with EventStore.open(postgres_url) as store:
        events = store.query(limit=1000)
    assert len(events) == unmasked and {e.state for e in events} == {"end"}
    assert all(e.thumbnail is None for e in events)  # no --keep-faces: no faces kept
    assert not (tmp_path / "events.db").exists()


def test_postgresql_stopped_for_10_s_mid_run_loses_no_event(clip_file, video_figures, postgres_cluster,
                                                           postgres_url, tmp_path):
    unmasked = video_figures["people"]["no_mask"] + video_figures["people"]["incorrect"]
    port = free_port()
    proc = start_watch(clip_file, tmp_path, "--db", postgres_url, "--metrics-port", str(port))
    try:
        if not wait_until(lambda: (health(port) or {}).get("events", 0) >= 1, 60):
            proc.kill()
            pytest.fail(f"no event within 60 s; log:\n{proc.communicate()[1][-3000:]}")
        postgres_cluster.stop()
        try:
            time.sleep(10)
            during = (health(port) or {}).get("events", 0)
        finally:
            postgres_cluster.start()
        code, out, err = finish(proc, 120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert code == 0, err[-3000:]
    assert "event database unreachable; keeping events in memory" in err
    assert "event database back; events written" in err
    with EventStore.open(postgres_url) as store:
        events = store.query(limit=1000)
    assert len(events) == unmasked and {e.state for e in events} == {"end"}
    assert during > 1, "no event was decided while the database was away"
