"""People, not frames, on a clip whose truth is known (``support.people_clip``): 14 real faces
walking past, three crossings where one passes in front of another.

The tracking itself is judged frame by frame against the truth (IDF1, identity switches,
fragmentations, reported as figures); the video command is then checked to report the same
people, as the summary, the JSON line and the people CSV."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from maskpatrol import cli
from maskpatrol.pipeline import NO_MASK, Settings
from maskpatrol.tracking.people import People, PersonRecord
from maskpatrol.video import VIDEO_DETECTOR_DEFAULTS
from support import video_clip as vc
from support.figures import write_report
from support.people_clip import PeopleClip, pick_people

TRUE_PEOPLE = 14


@pytest.fixture(scope="module")
def clip(data_dir, patrol) -> PeopleClip:
    return pick_people(data_dir, patrol)


@pytest.fixture(scope="module")
def analysed(clip, patrol) -> list:
    """Each frame's faces, as the video command finds them."""
    settings = Settings(VIDEO_DETECTOR_DEFAULTS)
    return [patrol.analyze(frame, settings) for frame in clip.frames()]


@pytest.fixture(scope="module")
def clip_file(clip, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("people") / "people.mp4"
    vc.write_clip(path, clip.frames(), fps=clip.fps)
    return path


def follow(clip: PeopleClip, analysed: list, patrol, every: int) -> tuple[People, dict]:
    """People from every ``every``-th frame, with the tracking figures against the truth."""
    from support.people_metrics import TrackingScore

    people = People.for_patrol(patrol, Settings(VIDEO_DETECTOR_DEFAULTS))
    score = TrackingScore()
    for i in range(0, clip.n_frames, every):
        update = people.update(analysed[i], i / clip.fps, (640, 480))
        score.add(clip.truth(i), [f.box for f in analysed[i]], update.tracks)
    people.finish()
    return people, score.figures()


@pytest.mark.data
@pytest.mark.parametrize("every", [1, 3])
def test_each_person_counted_and_judged_once(clip, analysed, patrol, every, capsys):
    people, figures = follow(clip, analysed, patrol, every)
    judged = {p.track: p for p in people.people()}
    # Each true person's label is read from the track that followed them longest.
    verdicts = {}
    for person, tracks in figures["tracks_per_person"].items():
        track = max(tracks, key=tracks.get)
        verdicts[int(person)] = judged[int(track)].label if int(track) in judged else None
    unmasked = [i for i, label in enumerate(clip.labels) if label == NO_MASK]
    masked = [i for i, label in enumerate(clip.labels) if label != NO_MASK]
    missed = [i for i in unmasked if verdicts.get(i) not in ("no_mask", "incorrect")]
    false_alerts = [i for i in masked if verdicts.get(i) in ("no_mask", "incorrect")]
    counts = people.counts
    write_report(f"people_clip_every{every}", {
        "true_people": TRUE_PEOPLE, "people": counts.to_dict(), "unmasked_missed": missed,
        "masked_alerted": false_alerts, **{k: v for k, v in figures.items() if k != "tracks_per_person"}},
        capsys)
    assert abs(counts.total - TRUE_PEOPLE) <= 1, counts
    assert missed == [], f"unmasked people not flagged: {missed} ({verdicts})"
    assert len(false_alerts) <= 1, f"masked people alerted: {false_alerts}"


@pytest.mark.data
def test_video_command_reports_the_people(clip_file, clip, analysed, patrol, tmp_path, capsys):
    people_csv = tmp_path / "people.csv"
    status = cli.main(["video", str(clip_file), "-o", str(tmp_path / "out.mp4"), "--json", "-q",
                       "--people-csv", str(people_csv)])
    assert status == 0
    row = json.loads(capsys.readouterr().out)
    assert row["error"] is None and row["people_csv"] == str(people_csv)
    assert abs(row["people"]["total"] - TRUE_PEOPLE) <= 1
    assert row["people"]["no_mask"] + row["people"]["incorrect"] >= 6
    with people_csv.open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == PersonRecord.CSV_HEADER
    assert [int(r["person"]) for r in rows] == list(range(1, row["people"]["total"] + 1))
    assert sum(r["label"] == "no_mask" for r in rows) == row["people"]["no_mask"]
    assert all(float(r["first_seen_s"]) <= float(r["last_seen_s"]) and int(r["frames"]) >= 1 for r in rows)
    # The sentence a person reads says the same.
    assert cli.main(["video", str(clip_file), "-o", str(tmp_path / "out2.mp4"), "-q"]) == 0
    counts = row["people"]
    assert (f"{counts['total']} people: {counts['mask']} masked, {counts['no_mask']} no mask, "
            f"{counts['incorrect']} mask below nose") in capsys.readouterr().out


def test_a_one_frame_clip_with_one_face_is_one_person(tmp_path, astronaut_rgb, capsys):
    clip = tmp_path / "one.mp4"
    vc.astronaut_clip(clip, astronaut_rgb, n_frames=1)
    people_csv = tmp_path / "people.csv"
    assert cli.main(["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--json", "-q",
                     "--people-csv", str(people_csv)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["people"] == {"total": 1, "mask": 0, "no_mask": 1, "incorrect": 0}
    assert len(people_csv.read_text().splitlines()) == 2


def test_a_video_without_faces_has_no_people_and_a_header_only_csv(tmp_path, capsys):
    import numpy as np

    clip = tmp_path / "empty.mp4"
    vc.write_clip(clip, [np.full((240, 320, 3), 90, np.uint8)] * 5)
    people_csv = tmp_path / "people.csv"
    assert cli.main(["video", str(clip), "-o", str(tmp_path / "out.mp4"), "--json", "-q",
                     "--people-csv", str(people_csv)]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["error"] is None and row["people"] == {"total": 0, "mask": 0, "no_mask": 0, "incorrect": 0}
    assert people_csv.read_text() == ",".join(PersonRecord.CSV_HEADER) + "\n"


@pytest.mark.parametrize("option,value", [("--decide-after", "0"), ("--keep-lost", "-1"), ("--keep-lost", "soon")])
def test_people_options_are_checked(option, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["video", str(tmp_path / "x.mp4"), "-o", str(tmp_path / "o.mp4"), option, value])
    assert exit_.value.code == 2
    assert option in capsys.readouterr().err


def test_batch_rows_of_a_video_name_the_person(tmp_path, patrol, astronaut_rgb):
    """``batch`` follows people as ``video`` does: each face row carries the person's number."""
    from maskpatrol.batch.work import BatchSettings, analyse

    clip = tmp_path / "walk.mp4"
    vc.write_clip(clip, vc.astronaut_frames(astronaut_rgb, 12))
    rows = analyse(patrol, str(clip), "video", BatchSettings())
    faces = [r for r in rows if r["box"] is not None]
    assert len(faces) == 12 and {r["person"] for r in faces} == {1}
