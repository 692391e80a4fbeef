// People across frames in the browser: the twin of maskpatrol/tracking/tracker.py and
// maskpatrol/tracking/people.py. Same steps in the same order, so that the same faces give
// the same track numbers, person numbers, labels and alerts (tests/e2e compare the two).
// Settings come from Python (maskpatrol.tracking.settings.PeopleSettings).
import { labelFor } from "./classify.js";
import { iou } from "./boxes.js";

export { iou };

export const VELOCITY_GAIN = 0.5;
// Frames closer than this (seconds) give no speed (tracker.py MIN_SPEED_DT_S).
export const MIN_SPEED_DT_S = 0.02;
export const MAX_SIZE_RATIO = 1.6;
export const MAX_PREDICT_S = 0.5;
export const BLIND_GAP_S = 0.5;
export const WALK_FW_PER_S = 4.0;
export const EDGE_KEEP_S = 0.3;
export const EDGE_PX = 2;
export const P_CLIP = 1e-4;
export const CLASS_VETO = 3.0;
export const CLASS_VETO_FRAMES = 3;

/** tracker.match_score: overlap, else nearness within reach face widths at a similar size, else 0. */
export function matchScore(predicted, box, minIou, reach = 1) {
  const overlap = iou(predicted, box);
  if (overlap >= minIou) return overlap;
  const size = Math.max(predicted[2], box[2]);
  const ratio = box[2] / predicted[2];
  if (ratio > MAX_SIZE_RATIO || ratio < 1 / MAX_SIZE_RATIO) return 0;
  const dx = (box[0] + box[2] / 2) - (predicted[0] + predicted[2] / 2);
  const dy = (box[1] + box[3] / 2) - (predicted[1] + predicted[3] / 2);
  const distance = Math.sqrt(dx * dx + dy * dy) / size;
  if (distance >= reach) return 0;
  return minIou * (1 - distance / reach) * 0.99;
}

class Track {
  constructor(id, box, t) {
    [this.x, this.y, this.w, this.h] = box;
    this.id = id; this.t = t; this.vx = 0; this.vy = 0; this.hits = 1; this.classSum = 0; this.blind = 0;
  }

  /** tracker.Track.unseen: seconds of frames without the face (blind time left out). */
  unseen(t) {
    return t - this.t - this.blind;
  }

  /** tracker.Track.predicted: projected over the blind time and at most MAX_PREDICT_S of the rest. */
  predicted(t) {
    const dt = this.projectedS(t);
    return [this.x + this.vx * dt, this.y + this.vy * dt, this.w, this.h];
  }

  /** tracker.Track.projected_s: seconds over which the heading is projected. */
  projectedS(t) {
    return Math.min(Math.max(this.unseen(t), 0), MAX_PREDICT_S) + this.blind;
  }

  /** tracker.Track.reach: one face width once the heading is known, before as far as a walker gets. */
  reach(t) {
    if (this.hits > 1) return 1;
    return Math.max(1, WALK_FW_PER_S * this.projectedS(t));
  }
}

/** tracker.other_class: the face reads clearly as the other class than the track. */
function otherClass(track, faceClass) {
  if (track.hits < CLASS_VETO_FRAMES) return false;
  const mean = track.classSum / track.hits;
  return (mean >= CLASS_VETO && faceClass <= -CLASS_VETO) || (mean <= -CLASS_VETO && faceClass >= CLASS_VETO);
}

function leaving(tr, [width, height]) {
  return (tr.x <= EDGE_PX && tr.vx < 0) || (tr.y <= EDGE_PX && tr.vy < 0)
    || (tr.x + tr.w >= width - EDGE_PX && tr.vx > 0)
    || (tr.y + tr.h >= height - EDGE_PX && tr.vy > 0);
}

export class Tracker {
  constructor(settings) {
    this.settings = settings;
    this.tracks = [];
    this.nextId = 1;
    this.frameSize = null;
    this.lastT = null;
  }

  /** tracker.Tracker._rescale: tracks follow a change of the frame's size. */
  rescale(frameSize) {
    const before = this.frameSize;
    this.frameSize = frameSize;
    if (before == null || (before[0] === frameSize[0] && before[1] === frameSize[1])) return;
    const sx = frameSize[0] / before[0], sy = frameSize[1] / before[1];
    for (const tr of this.tracks) {
      tr.x *= sx; tr.y *= sy; tr.w *= sx; tr.h *= sy; tr.vx *= sx; tr.vy *= sy;
    }
  }

  /** tracker.Tracker.update: [track number per box, numbers of the tracks that ended]. */
  update(boxes, t, frameSize, classes = null) {
    const s = this.settings;
    const cls = classes || boxes.map(() => 0);
    if (frameSize != null) this.rescale(frameSize);
    // A stall: the time beyond BLIND_GAP_S is blind (tracker.py's docstring).
    if (this.lastT !== null && t - this.lastT > BLIND_GAP_S) {
      const blind = t - this.lastT - BLIND_GAP_S;
      for (const tr of this.tracks) tr.blind = Math.min(tr.blind + blind, s.keep_lost_s);
    }
    this.lastT = t;
    const gone = this.tracks.filter((tr) => this.expired(tr, t, frameSize));
    if (gone.length) this.tracks = this.tracks.filter((tr) => !gone.includes(tr));
    const pairs = [];
    this.tracks.forEach((track, ti) => {
      const predicted = track.predicted(t);
      const reach = track.reach(t);
      boxes.forEach((box, bi) => {
        const score = matchScore(predicted, box, s.min_iou, reach);
        if (score > 0 && !otherClass(track, cls[bi])) pairs.push([score, ti, bi]);
      });
    });
    pairs.sort((a, b) => (b[0] - a[0]) || (this.tracks[a[1]].id - this.tracks[b[1]].id) || (a[2] - b[2]));
    const ids = boxes.map(() => 0);
    const used = new Set();
    for (const [, ti, bi] of pairs) {
      if (used.has(ti) || ids[bi]) continue;
      used.add(ti);
      move(this.tracks[ti], boxes[bi], t);
      this.tracks[ti].classSum += cls[bi];
      ids[bi] = this.tracks[ti].id;
    }
    boxes.forEach((box, bi) => {
      if (ids[bi]) return;
      const track = new Track(this.nextId, box.map(Number), t);
      track.classSum = cls[bi];
      this.tracks.push(track);
      ids[bi] = this.nextId++;
    });
    return [ids, gone.map((tr) => tr.id)];
  }

  expired(track, t, frameSize) {
    const unseen = track.unseen(t);
    if (unseen > this.settings.keep_lost_s) return true;
    return frameSize != null && unseen > EDGE_KEEP_S && leaving(track, frameSize);
  }
}

function move(track, box, t) {
  const [x, y, w, h] = box.map(Number);
  const dt = t - track.t;
  if (dt >= MIN_SPEED_DT_S) {
    const vx = ((x + w / 2) - (track.x + track.w / 2)) / dt;
    const vy = ((y + h / 2) - (track.y + track.h / 2)) / dt;
    if (track.hits === 1) { track.vx = vx; track.vy = vy; } else {
      track.vx += VELOCITY_GAIN * (vx - track.vx);
      track.vy += VELOCITY_GAIN * (vy - track.vy);
    }
  }
  track.x = x; track.y = y; track.w = w; track.h = h; track.t = t;
  track.blind = 0;
  track.hits += 1;
}

export function logit(p) {
  p = Math.min(Math.max(p, P_CLIP), 1 - P_CLIP);
  return Math.log(p / (1 - p));
}

export function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

class Person {
  constructor(track, t) {
    this.track = track; this.firstSeen = t; this.lastSeen = t; this.frames = 0;
    this.sumNoMask = 0; this.sumIncorrect = 0; this.evidence = [];
    this.number = 0; this.label = null; this.alerted = false;
  }

  add(face, t, keep, frameArea = 1) {
    this.frames += 1;
    this.lastSeen = t;
    this.sumNoMask += face.p_no_mask;
    this.sumIncorrect += face.p_incorrect || 0;
    const area = face.box[2] * face.box[3] / frameArea;
    this.evidence.push([area, logit(face.p_no_mask), logit(face.p_incorrect || 0)]);
    this.evidence.sort((a, b) => b[0] - a[0]);  // stable: equal areas keep their order
    this.evidence.length = Math.min(this.evidence.length, keep);
  }

  judgedLogits() {
    let noMask = 0, incorrect = 0;
    for (const [, lno, linc] of this.evidence) { noMask += lno; incorrect += linc; }
    const n = this.evidence.length;
    return [noMask / n, incorrect / n];
  }

  get decided() { return this.label !== null; }
  get notMasked() { return this.label === "no_mask" || this.label === "incorrect"; }

  /** people.PersonRecord, as a row: [number, first_seen_s, last_seen_s, frames, label, mean p(no mask), mean p(incorrect)]. */
  record() {
    const n = Math.max(1, this.frames);
    return [this.number, this.firstSeen, this.lastSeen, this.frames, this.label || "mask",
      this.sumNoMask / n, this.sumIncorrect / n];
  }
}

/** people.People: everyone seen in one stream, judged person by person. */
export class People {
  constructor(threshold, incorrectThreshold, settings) {
    this.threshold = threshold;
    this.incorrectThreshold = incorrectThreshold ?? null;
    this.settings = settings;
    this.tracker = new Tracker(settings);
    this.open = new Map();
    this.done = [];
    this.numbered = 0;
  }

  /** {faces (as drawn), alerts (records), tracks} for one analysed frame's faces at t seconds. */
  update(faces, t, frameSize) {
    const tNo = logit(this.threshold);
    const [ids, ended] = this.tracker.update(faces.map((f) => f.box), t, frameSize,
      faces.map((f) => logit(f.p_no_mask) - tNo));
    const alerts = [], shown = [];
    faces.forEach((face, i) => {
      let person = this.open.get(ids[i]);
      if (!person) { person = new Person(ids[i], t); this.open.set(ids[i], person); }
      person.add(face, t, this.settings.evidence_faces, frameSize == null ? 1 : frameSize[0] * frameSize[1]);
      if (this.judge(person, false) && person.notMasked && !person.alerted) {
        person.alerted = true;
        alerts.push(person.record());
      }
      shown.push(this.shown(face, person));
    });
    for (const track of ended) {
      const person = this.open.get(track);
      this.open.delete(track);
      if (person.decided) this.done.push(person);
    }
    return { faces: shown, alerts, tracks: ids };
  }

  finish() {
    const alerts = [];
    const still = [...this.open.values()].sort((a, b) => (a.firstSeen - b.firstSeen) || (a.track - b.track));
    for (const person of still) {
      this.judge(person, true);
      if (person.notMasked && !person.alerted) { person.alerted = true; alerts.push(person.record()); }
      this.done.push(person);
    }
    this.open.clear();
    return alerts;
  }

  people() {
    const judged = this.done.concat([...this.open.values()].filter((p) => p.decided));
    return judged.sort((a, b) => a.number - b.number);
  }

  records() { return this.people().map((p) => p.record()); }

  /** Counts of people per label: [total, mask, no_mask, incorrect]. */
  counts() {
    const c = { mask: 0, no_mask: 0, incorrect: 0 };
    for (const p of this.people()) c[p.label] += 1;
    return [c.mask + c.no_mask + c.incorrect, c.mask, c.no_mask, c.incorrect];
  }

  shown(face, person) {
    if (!person.decided) return face;
    const [lno, linc] = person.judgedLogits();
    return { ...face, label: person.label, p_no_mask: sigmoid(lno), p_incorrect: sigmoid(linc), person: person.number };
  }

  judge(person, final) {
    if (!person.decided && person.frames < this.settings.decide_after_frames && !final) return false;
    const [lno, linc] = person.judgedLogits();
    const label = labelFor(sigmoid(lno), this.threshold, sigmoid(linc), this.incorrectThreshold);
    if (!person.decided) {
      this.numbered += 1;
      person.number = this.numbered;
      person.label = label;
    } else if (label !== person.label && this.clearance(label, lno, linc) >= this.settings.revise_margin) {
      person.label = label;
    }
    return true;
  }

  clearance(label, lno, linc) {
    const tNo = logit(this.threshold);
    const tInc = this.incorrectThreshold === null ? null : logit(this.incorrectThreshold);
    if (label === "no_mask") return lno - tNo;
    if (label === "incorrect") return Math.min(tNo - lno, linc - tInc);
    return tInc === null ? tNo - lno : Math.min(tNo - lno, tInc - linc);
  }
}
