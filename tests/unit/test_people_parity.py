"""The browser's people code (``maskpatrol/web/src/people.js``) gives what the Python code
gives: the same track and person numbers, labels, judged probabilities, alerts, records and
counts, on random crossing walks (no data needed) and on the real detections of the people
clip, with every frame and with frames skipped as the live pages skip them."""

from __future__ import annotations

import random

import pytest

from maskpatrol.pipeline import Settings, label_for
from maskpatrol.tracking.settings import PeopleSettings
from maskpatrol.video import VIDEO_DETECTOR_DEFAULTS
from maskpatrol.tracking.tracker import match_score
from support.people_twin import browser_trace, node, python_trace, scores
from support.required import skip_or_fail


@pytest.fixture(scope="module", autouse=True)
def needs_node():
    if node() is None:
        skip_or_fail("Node.js runs the browser's people code for this comparison")


def assert_same(py: dict, js: dict) -> None:
    assert len(py["steps"]) == len(js["steps"])
    for i, (a, b) in enumerate(zip(py["steps"], js["steps"])):
        assert a["tracks"] == b["tracks"], f"frame {i}"
        assert a["alerts"] == b["alerts"], f"frame {i}"
        assert [s[:2] for s in a["shown"]] == [s[:2] for s in b["shown"]], f"frame {i}"
        for x, y in zip(a["shown"], b["shown"]):
            assert x[2] == pytest.approx(y[2], abs=1e-12) and x[3] == pytest.approx(y[3], abs=1e-12)
        # Each track's speed and where it is heading: the tracker's state, not only its output.
        assert [s[0] for s in a["state"]] == [s[0] for s in b["state"]], f"frame {i}"
        for x, y in zip(a["state"], b["state"]):
            assert x[1:] == pytest.approx(y[1:], rel=1e-9, abs=1e-9), f"frame {i}"
    assert py["final_alerts"] == js["final_alerts"]
    assert py["counts"] == js["counts"]
    assert [r[:5] for r in py["records"]] == [r[:5] for r in js["records"]]
    for x, y in zip(py["records"], js["records"]):
        assert x[5:] == pytest.approx(y[5:], abs=1e-12)


def test_match_scores_are_the_same():
    """Overlapping, near, far, and of other sizes, within one face width's reach or more (a
    track whose heading is not known yet): the score that orders the matches."""
    rng = random.Random(0)
    cases = []
    for _ in range(800):
        a = [rng.uniform(0, 600), rng.uniform(0, 400), rng.uniform(20, 150)]
        a.append(a[2])
        side = a[2] * rng.uniform(0.5, 2.0)
        b = [a[0] + rng.uniform(-2.5, 2.5) * a[2], a[1] + rng.uniform(-1.5, 1.5) * a[2], side, side]
        cases.append((a, b, rng.choice([0.1, 0.2, 0.3]), rng.choice([1.0, 1.0, 1.6, 2.5])))
    py = [match_score(a, b, m, r) for a, b, m, r in cases]
    assert sum(0 < s < m for s, (_, _, m, r) in zip(py, cases) if r == 1.0) > 20  # nearness is covered
    assert sum(match_score(a, b, m) == 0 < s for s, (a, b, m, _) in zip(py, cases)) > 10  # beyond one width
    assert sum(s >= m for s, (_, _, m, _) in zip(py, cases)) > 20  # and by overlap
    assert scores(cases) == pytest.approx(py, rel=1e-12, abs=1e-15)


def random_walks(seed: int, n_frames: int = 300, skip: float = 0.0, stalls: float = 0.0,
                 twins: float = 0.0) -> list:
    """People walking both ways at random speeds and sizes, some crossing; the detector
    misses a face now and then; probabilities near and far from the thresholds. ``stalls``:
    the chance at each frame that none come for the next 0.6 to 1.4 s (a loaded server);
    ``twins``: the chance that another frame follows 1 ms later (a live stream's burst)."""
    rng = random.Random(seed)
    walkers = []
    for _ in range(10):
        side = rng.uniform(50, 140)
        walkers.append({"t0": rng.uniform(0, 9), "dur": rng.uniform(2, 6), "right": rng.random() < 0.5,
                        "y": rng.uniform(0, 480 - side), "side": side, "grow": rng.uniform(0.8, 1.6),
                        "p": rng.choice([0.01, 0.3, 0.45, 0.55, 0.9, 0.999]), "q": rng.choice([0.0, 0.2, 0.7])})
    frames = []
    stalled_until = -1
    for i in range(n_frames):
        if i < stalled_until or (skip and rng.random() < skip):
            continue
        if stalls and rng.random() < stalls:
            stalled_until = i + 1 + rng.randint(15, 35)
        for t in (i / 25, i / 25 + 0.001) if twins and rng.random() < twins else (i / 25,):
            faces = []
            for w in walkers:
                u = (t - w["t0"]) / w["dur"]
                if not 0 <= u <= 1 or rng.random() < 0.1:
                    continue
                side = w["side"] * (1 + (w["grow"] - 1) * u)
                x = -side + (640 + side) * (u if w["right"] else 1 - u)
                box = [int(x + rng.gauss(0, 2)), int(w["y"] + rng.gauss(0, 2)), int(side), int(side)]
                p = min(max(w["p"] + rng.gauss(0, 0.1), 0.0), 1.0)
                q = min(max(w["q"] + rng.gauss(0, 0.1), 0.0), 1.0 - p)
                faces.append((box, p, q, label_for(p, 0.5, q, 0.5)))
            frames.append((t, faces))
    return frames


# Every frame; a frame in two and in three; a loaded server's stalls; two frames a second (a slow
# phone, where a new track reaches beyond one face width); frames 1 ms apart.
@pytest.mark.parametrize("seed,skip,stalls,twins", [(1, 0.0, 0.0, 0.0), (2, 0.0, 0.0, 0.0), (3, 0.5, 0.0, 0.0),
                                                    (4, 0.7, 0.0, 0.0), (5, 0.3, 0.03, 0.0), (6, 0.92, 0.0, 0.0),
                                                    (8, 0.92, 0.0, 0.0), (9, 0.5, 0.0, 0.2)])
def test_random_walks_give_the_same_people(seed, skip, stalls, twins):
    frames = random_walks(seed, skip=skip, stalls=stalls, twins=twins)
    settings = PeopleSettings(decide_after_frames=3, keep_lost_s=1.0)
    py = python_trace(frames, 0.5, 0.5, settings, (640, 480))
    assert py["counts"][0] >= 5  # the walk is not trivial
    assert_same(py, browser_trace(frames, 0.5, 0.5, settings, (640, 480)))


def test_a_binary_model_gives_the_same_people():
    frames = random_walks(7)
    py = python_trace(frames, 0.4, None, PeopleSettings(), (640, 480))
    assert_same(py, browser_trace(frames, 0.4, None, PeopleSettings(), (640, 480)))


@pytest.mark.data
@pytest.mark.parametrize("every", [1, 3])
def test_the_people_clip_gives_the_same_people(data_dir, patrol, every):
    from support.people_clip import pick_people

    clip = pick_people(data_dir, patrol)
    settings = Settings(VIDEO_DETECTOR_DEFAULTS)
    frames = []
    for i in range(0, clip.n_frames, every):
        faces = patrol.analyze(clip.frame(i), settings)
        frames.append((i / clip.fps, [(f.box, f.p_no_mask, f.p_incorrect, f.label) for f in faces]))
    t_no, t_inc = patrol.threshold(settings), patrol.incorrect_threshold(settings)
    py = python_trace(frames, t_no, t_inc, settings.people, (640, 480))
    assert abs(py["counts"][0] - 14) <= 1
    assert_same(py, browser_trace(frames, t_no, t_inc, settings.people, (640, 480)))
