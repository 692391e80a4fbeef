"""Runs the same frames through the Python people code and its browser twin
(``maskpatrol/web/src/people.js``, under Node.js), and returns both traces to compare."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import asdict
from typing import Any, Sequence

from maskpatrol.pipeline import Face
from maskpatrol.tracking.people import People
from maskpatrol.tracking.settings import PeopleSettings

from .paths import ROOT

PEOPLE_JS = ROOT / "maskpatrol" / "web" / "src" / "people.js"

#: A frame: (time in s, faces as (box, p_no_mask, p_incorrect, label)).
Frame = tuple[float, Sequence[tuple[Sequence[int], float, float, str]]]

def python_trace(frames: Sequence[Frame], threshold: float, incorrect: float | None,
                 settings: PeopleSettings, size: tuple[int, int]) -> dict[str, Any]:
    people = People(threshold, incorrect, settings)
    steps = []
    for t, faces in frames:
        up = people.update([Face(tuple(b), p, label, q) for b, p, q, label in faces], t, size)
        steps.append({"tracks": up.tracks, "alerts": [a.number for a in up.alerts],
                      "shown": [[f.person, f.label, f.p_no_mask, f.p_incorrect] for f in up.faces],
                      "state": [[tr.id, tr.vx, tr.vy, *tr.predicted(t + 0.4)] for tr in people.tracker.tracks]})
    final = [a.number for a in people.finish()]
    records = [[r.number, r.first_seen_s, r.last_seen_s, r.frames, r.label, r.p_no_mask, r.p_incorrect]
               for r in people.records()]
    return {"steps": steps, "final_alerts": final, "records": records, "counts": list(people.counts.to_dict().values())}


def node() -> str | None:
    return shutil.which("node")


def browser_trace(frames: Sequence[Frame], threshold: float, incorrect: float | None,
                  settings: PeopleSettings, size: tuple[int, int]) -> dict[str, Any]:
    """The same, through people.js under Node.js."""
    script = f"""
import {{ People }} from {json.dumps(PEOPLE_JS.as_uri())};
let text = "";
for await (const chunk of process.stdin) text += chunk;
const {{ frames, threshold, incorrect, settings, size }} = JSON.parse(text);
const people = new People(threshold, incorrect, settings);
const steps = frames.map(([t, faces]) => {{
  const up = people.update(faces.map(([box, p, q, label]) => ({{ box, p_no_mask: p, p_incorrect: q, label }})), t, size);
  return {{ tracks: up.tracks, alerts: up.alerts.map((a) => a[0]),
    shown: up.faces.map((f) => [f.person ?? null, f.label, f.p_no_mask, f.p_incorrect]),
    state: people.tracker.tracks.map((tr) => [tr.id, tr.vx, tr.vy, ...tr.predicted(t + 0.4)]) }};
}});
const final = people.finish().map((a) => a[0]);
const [total, mask, no_mask, incorrect_n] = people.counts();
process.stdout.write(JSON.stringify({{ steps, final_alerts: final, records: people.records(),
  counts: [total, mask, no_mask, incorrect_n] }}));
"""
    payload = {"frames": [[t, [[list(map(int, b)), p, q, label] for b, p, q, label in faces]] for t, faces in frames],
               "threshold": threshold, "incorrect": incorrect, "settings": asdict(settings), "size": list(size)}
    done = subprocess.run([node(), "--input-type=module", "-e", script], input=json.dumps(payload),
                          capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(f"node failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def scores(cases: Sequence[tuple[Sequence[float], Sequence[float], float, float]]) -> list[float]:
    """``matchScore(predicted, box, min_iou, reach)`` of each case, under Node.js."""
    script = f"""
import {{ matchScore }} from {json.dumps(PEOPLE_JS.as_uri())};
let text = "";
for await (const chunk of process.stdin) text += chunk;
process.stdout.write(JSON.stringify(JSON.parse(text).map(([a, b, m, r]) => matchScore(a, b, m, r))));
"""
    done = subprocess.run([node(), "--input-type=module", "-e", script], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise RuntimeError(f"node failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)
