"""People on the Live webcam page, end to end: one pass of the people clip (14 real faces
walking past, three crossings; ``support.people_clip``) through headless Chromium's fake
camera, in the browser mode and in the server mode (WebRTC), inside a private network
namespace. Once the pass is over and the camera stopped, each mode's panel must count the
people within one of what the ``video`` command counts on the same frames, although the
live paths skip frames to keep up. With the sound on, each mode beeps once per such person;
the rear camera picked on the page reaches the browser's camera request. How many frames
each mode analysed goes to the report."""

from __future__ import annotations

import json
import os
import sys

import pytest

from maskpatrol import cli
from support import video_clip as vc
from support.figures import write_report
from support.netns import run_isolated_runner
from support.paths import ARTIFACTS, ROOT
from support.people_clip import pick_people
from support.webcam_clip import FPS, background, write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.data]

#: Empty seconds before the clip (the first frames come while the page starts the camera
#: and, in the browser mode, loads its models) and after it (Stop falls in there, before the
#: fake camera starts the file again).
LEAD_S, TAIL_S = 2.0, 6.0
#: Stop this long after the clip ends: everyone has left and been let go (keep_lost_s 1.5).
STOP_MARGIN_S = 2.5
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
def pass_result(data_dir, patrol, chromium_path, network_namespace, tmp_path_factory):
    work = tmp_path_factory.mktemp("people_live")
    clip = pick_people(data_dir, patrol)
    blank = background()

    def frames():
        yield from (blank for _ in range(int(LEAD_S * FPS)))
        yield from clip.frames()
        yield from (blank for _ in range(int(TAIL_S * FPS)))

    y4m, mp4 = work / "people.y4m", work / "people.mp4"
    write_y4m(y4m, frames())
    vc.write_clip(mp4, frames(), fps=FPS)
    cmd = [sys.executable, "-m", "support.people_live", "--clip", str(y4m),
           "--chromium", chromium_path, "--logdir", str(work / "logs"),
           "--stop-after", str(LEAD_S + clip.seconds + STOP_MARGIN_S)]
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'tests'}{os.pathsep}{ROOT}"}
    live, stderr = run_isolated_runner(cmd, env, RUN_TIMEOUT_S, "PEOPLE_RESULT")
    assert live["ok"], f"{live.get('error')}\n{stderr[-3000:]}"
    return mp4, live, work


def cli_people(mp4, out) -> dict:
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli.main(["video", str(mp4), "-o", str(out), "--json", "-q"]) == 0
    return json.loads(buf.getvalue())["people"]


def cli_rows(mp4, work) -> list[dict]:
    import contextlib
    import csv
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        cli.main(["video", str(mp4), "-o", str(work / "out_rows.mp4"), "-q", "--people-csv", str(work / "p.csv")])
    return list(csv.DictReader((work / "p.csv").open()))


def people_table(rows: list[dict]) -> str:
    """Per-person rows as lines, by first sighting: what tells a split person or a stray."""
    rows = sorted(rows, key=lambda r: float(r["first_seen_s"]))
    return "\n".join(f"  #{r['person']:>2} {float(r['first_seen_s']):7.2f}-{float(r['last_seen_s']):6.2f} s "
                     f"{int(r['frames']):3d} frames {r['label']}" for r in rows)


def test_each_mode_counts_the_people_the_video_command_counts(pass_result, capsys):
    mp4, live, work = pass_result
    expected = cli_people(mp4, work / "out.mp4")
    figures = {"cli": expected, "cli_people": cli_rows(mp4, work)}
    # Every frame each mode's people saw, in a file of its own: a failed run can be replayed
    # through the tracker (the report itself stays readable).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "people_live_trace.json").write_text(
        json.dumps({mode: live[mode].pop("trace", []) for mode in ("browser", "server")}) + "\n")
    figures.update({mode: live[mode] for mode in ("browser", "server")})
    write_report("people_live", figures, capsys)
    for mode in ("browser", "server"):
        got = live[mode]
        why = (f"{mode}: {({k: v for k, v in got.items() if k != 'people_rows'})}, video command: {expected}\n"
               f"{mode} people:\n{people_table(got['people_rows'])}\n"
               f"video command people:\n{people_table(figures['cli_people'])}")
        assert got["min_face"] == 60
        assert abs(got["people"] - expected["total"]) <= 1, why
        assert abs(got["not_masked"] - (expected["no_mask"] + expected["incorrect"])) <= 1, why
        assert got["csv_offered"], f"{mode}: no people CSV after Stop"
    # One beep per person found not properly masked while the camera ran (the sound was turned
    # on): the browser mode plays its own tones, the server mode an <audio> element per alert.
    browser, server = live["browser"], live["server"]
    assert 1 <= browser["beeps"] <= browser["not_masked"], browser
    assert 1 <= server["audio_sounds"] <= server["not_masked"], server
    assert server["audio_plays"] == server["audio_sounds"], "a beep sounded again"
    assert any('"environment"' in c for c in browser["camera_constraints"]), browser["camera_constraints"]
    write_report("people_live", figures, capsys)
