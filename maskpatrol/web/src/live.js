// The "This browser" mode of the Live webcam page: camera -> pipeline -> people -> annotated
// canvas, and once a second the frames' counts and the people seen to Python (a few hundred
// bytes: never a picture).
//
// Mounted by a Streamlit custom component (components v2, maskpatrol/web/component.py).
// Streamlit calls the component again whenever Python sends new data (a sidebar change),
// so one Live object per host element is kept and updated, never rebuilt, while it runs.
import { Pipeline } from "./pipeline.js";
import { annotate } from "./draw.js";
import { People } from "./people.js";

export { cutByTile, planPasses, toBoxes } from "./yunet.js";
export { resize } from "./resize.js";
export { squareCrop, labelFor, asClassColumns } from "./classify.js";
export { labelText, annotate } from "./draw.js";
export { People, Tracker, matchScore } from "./people.js";

const REPORT_EVERY_MS = 1000;
/** The camera asked for: 640x480, the front ("user") or rear ("environment") one of a phone. */
function cameraConstraints(facing) {
  return { video: { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: { ideal: facing || "user" } },
    audio: false };
}
const instances = new WeakMap();
const pipelines = new Map();

/** One pipeline per page and configuration: the models load once, however often Start is pressed. */
export function pipelineFor(config) {
  const key = JSON.stringify(config);
  if (!pipelines.has(key)) {
    const p = Pipeline.load(config);
    p.catch(() => pipelines.delete(key));
    pipelines.set(key, p);
  }
  return pipelines.get(key);
}

const CSS = `
.mp-live { font-family: var(--st-font, sans-serif); color: var(--st-text-color, inherit); }
.mp-stage { position: relative; width: 100%; aspect-ratio: 4 / 3; background: #222; border-radius: 0.5rem; overflow: hidden; }
.mp-view { width: 100%; height: 100%; object-fit: contain; display: block; }
.mp-msg { position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
          color: #eee; text-align: center; padding: 1rem; }
.mp-video { position: absolute; width: 1px; height: 1px; opacity: 0; pointer-events: none; }
.mp-controls { margin-top: 0.5rem; display: flex; gap: 0.75rem; align-items: center; }
.mp-controls button { font: inherit; padding: 0.35rem 1rem; border-radius: 0.5rem; cursor: pointer;
  border: 1px solid var(--st-border-color, #ccc); background: var(--st-secondary-background-color, #f0f2f6);
  color: inherit; }
.mp-status { font-size: 0.875rem; opacity: 0.8; }
`;

class Live {
  constructor(host) {
    this.host = host;
    const root = document.createElement("div");
    root.className = "mp-live";
    root.innerHTML = `<style>${CSS}</style>
      <div class="mp-stage"><canvas class="mp-view" aria-label="Camera with face boxes"></canvas>
        <div class="mp-msg">Press Start and allow camera access.</div>
        <video class="mp-video" playsinline muted></video></div>
      <div class="mp-controls"><button type="button" class="mp-start">Start</button>
        <button type="button" class="mp-stop" hidden>Stop</button><span class="mp-status" role="status"></span></div>`;
    host.appendChild(root);
    this.root = root;
    this.view = root.querySelector(".mp-view");
    this.msg = root.querySelector(".mp-msg");
    this.video = root.querySelector(".mp-video");
    this.startButton = root.querySelector(".mp-start");
    this.stopButton = root.querySelector(".mp-stop");
    this.status = root.querySelector(".mp-status");
    this.capture = document.createElement("canvas");
    this.running = false;
    this.stream = null;
    this.frames = [];
    this.lastReport = 0;
    this.startButton.addEventListener("click", () => this.start());
    this.stopButton.addEventListener("click", () => this.stop());
  }

  /** New data or callbacks from Streamlit: settings apply from the next frame on. */
  update(component) {
    const before = this.settings;
    this.data = component.data;
    this.setStateValue = component.setStateValue;
    this.setTriggerValue = component.setTriggerValue;
    this.settings = component.data.settings;
    if (this.settings.sound) this.audio();
    // Another camera picked while running: switch to it, keeping the stream's people.
    if (this.running && before && before.camera !== this.settings.camera) this.switchCamera();
  }

  /** The sound's context, made while the visitor's click lets the page play sound. */
  audio() {
    if (!this.audioContext && typeof AudioContext === "function") this.audioContext = new AudioContext();
    return this.audioContext;
  }

  /** A short two-tone beep: a new person not properly masked. */
  beep() {
    const ctx = this.audio();
    if (!ctx) return;
    if (ctx.state === "suspended") ctx.resume();
    const t = ctx.currentTime;
    for (const [i, freq] of [[0, 880], [1, 660]]) {
      const osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.2, t + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, t + i * 0.18 + 0.16);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t + i * 0.18);
      osc.stop(t + i * 0.18 + 0.17);
    }
    this.beeps = (this.beeps || 0) + 1;
  }

  async switchCamera() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia(cameraConstraints(this.settings.camera));
      if (!this.running) { stream.getTracks().forEach((t) => t.stop()); return; }
      this.releaseCamera();
      this.stream = stream;
      this.video.srcObject = stream;
      await this.video.play();
    } catch (err) {
      this.status.textContent = cameraProblem(err);
    }
  }

  say(text) {
    this.msg.textContent = text;
    this.msg.hidden = !text;
  }

  async start() {
    if (this.running || this.starting) return;
    this.starting = true;
    this.startButton.disabled = true;
    this.say("Loading the face and mask models ...");
    this.status.textContent = "";
    try {
      const [pipeline, stream] = await Promise.all([
        pipelineFor(this.data.pipeline),
        navigator.mediaDevices.getUserMedia(cameraConstraints(this.settings.camera))]);
      this.pipeline = pipeline;
      this.stream = stream;
      this.video.srcObject = stream;
      await this.video.play();
      this.running = true;
      this.frames = [];
      this.errors = 0;
      this.lastReport = performance.now();
      const s = this.settings;
      this.people = new People(s.threshold, s.incorrect_threshold, s.people);
      this.startedAt = performance.now();
      this.alerts = 0;
      this.reportedUntil = 0;
      this.say("");
      this.startButton.hidden = true;
      this.stopButton.hidden = false;
      this.setStateValue("problem", null);
      this.setStateValue("playing", true);
      this.loop();
    } catch (err) {
      this.releaseCamera();
      this.say(cameraProblem(err));
      this.setStateValue("problem", cameraProblem(err));
    } finally {
      this.starting = false;
      this.startButton.disabled = false;
    }
  }

  stop() {
    if (!this.running) return;
    this.running = false;
    this.wake();  // let the loop see it and end
    // Everyone still in view is judged with what was seen, and reported with the rest.
    if (this.people) this.alerts += this.people.finish().length;
    this.report(true);
    this.releaseCamera();
    this.startButton.hidden = false;
    this.stopButton.hidden = true;
    this.say("Stopped. Press Start to analyse again.");
    this.setStateValue("playing", false);
  }

  releaseCamera() {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    this.video.srcObject = null;
  }

  /**
   * Count the camera's frames as they arrive, all the time (not only while we wait): a frame
   * that came during the last analysis is then analysed at once, instead of waiting for the
   * one after it, and no frame is analysed twice.
   */
  watchFrames() {
    const v = this.video;
    const generation = (this.generation = (this.generation || 0) + 1);
    this.arrived = 0;
    this.analysed = 0;
    this.waiting = null;
    const tick = () => {
      if (generation !== this.generation) return;  // a callback of an earlier camera session
      this.arrived++;
      this.wake();
      if (this.running) schedule();
    };
    const schedule = typeof v.requestVideoFrameCallback === "function"
      ? () => v.requestVideoFrameCallback(tick)
      : () => requestAnimationFrame(tick);  // no per-frame callback: at most one per repaint
    schedule();
  }

  wake() {
    if (this.waiting) { this.waiting(); this.waiting = null; }
  }

  /** Resolves when a frame not analysed yet is there (or the camera stopped). */
  nextFrame() {
    if (this.arrived > this.analysed) return Promise.resolve();
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  async loop() {
    this.watchFrames();
    while (this.running) {
      await this.nextFrame();
      if (!this.running) break;
      this.analysed = this.arrived;
      try {
        await this.step();
      } catch (err) {
        this.frames.push({ t: performance.now(), faces: 0, masked: 0, no_mask: 0, incorrect: 0, ms: 0,
          error: String(err.message || err) });
        if (this.errors++ === 0) console.error("maskpatrol: frame analysis failed", err);
      }
      this.report(false);
    }
  }

  /** Analyse the newest camera frame and show it with its boxes. */
  async step() {
    const w = this.video.videoWidth, h = this.video.videoHeight;
    if (!w || !h) return;
    const s = this.settings;
    if (this.capture.width !== w || this.capture.height !== h) {
      this.capture.width = w; this.capture.height = h;
      this.captureCtx = this.capture.getContext("2d", { willReadFrequently: true });
    }
    const cctx = this.captureCtx;
    cctx.setTransform(s.mirror ? -1 : 1, 0, 0, 1, s.mirror ? w : 0, 0);
    cctx.drawImage(this.video, 0, 0, w, h);
    cctx.setTransform(1, 0, 0, 1, 0, 0);
    const pixels = cctx.getImageData(0, 0, w, h);
    const t0 = performance.now();
    const { faces } = await this.pipeline.analyze(
      { data: pixels.data, width: w, height: h, channels: 4 }, s);
    const ms = performance.now() - t0;
    if (!this.running) return;
    // People, in seconds since Start; a threshold moved mid-stream applies from now on.
    this.people.threshold = s.threshold;
    this.people.incorrectThreshold = s.incorrect_threshold ?? null;
    const followed = this.people.update(faces, (t0 - this.startedAt) / 1000, [w, h]);
    this.alerts += followed.alerts.length;
    if (followed.alerts.length && s.sound) this.beep();
    if (this.view.width !== w || this.view.height !== h) { this.view.width = w; this.view.height = h; }
    const vctx = this.view.getContext("2d");
    vctx.drawImage(this.capture, 0, 0);
    annotate(vctx, followed.faces, s.show_probability, w, h, this.data.pipeline.styles);
    // As maskpatrol.live.FrameResult: a mask below the nose is not "masked".
    const masked = faces.filter((f) => f.label === "mask").length;
    const incorrect = faces.filter((f) => f.label === "incorrect").length;
    this.frames.push({ t: performance.now(), faces: faces.length, masked, incorrect,
      no_mask: faces.length - masked - incorrect, ms });
    this.status.textContent = `${faces.length} face${faces.length === 1 ? "" : "s"} in view`;
  }

  /**
   * Send the frames of the last second to Python: counts and timings only, one row per
   * frame [age_ms, faces, masked, no_mask, incorrect, analysis_ms], and the people: counts
   * since Start, alerts since the last report, and the records of everyone seen lately
   * (maskpatrol/web/readings.py). At Stop (`force`) it is sent even without new frames.
   */
  report(force) {
    const now = performance.now();
    if (!force && now - this.lastReport < REPORT_EVERY_MS) return;
    this.lastReport = now;
    if (!this.frames.length && !force) return;
    const frames = this.frames.filter((f) => !f.error)
      .map((f) => [Math.round(now - f.t), f.faces, f.masked, f.no_mask, f.incorrect, Math.round(f.ms * 10) / 10]);
    const error = this.frames.map((f) => f.error).filter(Boolean).pop() || null;
    this.frames = [];
    let people = null;
    if (this.people) {
      // Anyone seen since shortly before the last report may have changed (or been judged
      // at Stop after being out of sight for up to keep_lost_s).
      const since = this.reportedUntil - this.people.settings.keep_lost_s - 1;
      const records = this.people.records().filter((r) => r[2] >= since);
      this.reportedUntil = (now - this.startedAt) / 1000;
      people = { counts: this.people.counts(), alerts: this.alerts, records };
      this.alerts = 0;
    }
    this.setTriggerValue("reading", { frames, error, people });
  }

  destroy() {
    this.stop();
    this.releaseCamera();
    this.root.remove();
    instances.delete(this.host);
  }
}

/** What to tell a person whose camera could not start, by the browser's error name. */
export function cameraProblem(err) {
  const name = err && err.name;
  if (name === "NotAllowedError") return "Camera access was refused. Allow the camera for this site in your browser, then press Start.";
  if (name === "NotFoundError" || name === "OverconstrainedError") return "No camera was found on this device.";
  if (name === "NotReadableError") return "The camera is in use by another program or could not be opened.";
  if (!navigator.mediaDevices) return "This browser gives no camera access here (it needs HTTPS or localhost).";
  return `Could not start the analysis: ${err && err.message ? err.message : err}`;
}

/**
 * The component's entry. Returns the cleanup Streamlit calls on unmount; a re-render
 * (new data) mounts again within moments, so the camera stops only when none follows.
 */
export function mount(component) {
  const host = component.parentElement;
  let live = instances.get(host);
  const created = !live;
  if (created) {
    live = new Live(host);
    instances.set(host, live);
  }
  clearTimeout(live.pendingDestroy);
  live.update(component);
  // A fresh component has no camera yet: Python must not go on reading "playing" from an
  // earlier one (e.g. after switching to the server mode and back while it ran).
  if (created) component.setStateValue("playing", false);
  return () => {
    live.pendingDestroy = setTimeout(() => live.destroy(), 300);
  };
}

/** For tests and benchmarks: analyse one still image (RGBA pixels) in this page. */
export async function analyzeStill(config, rgba, width, height, settings) {
  const pipeline = await pipelineFor(config);
  return pipeline.analyze({ data: rgba, width, height, channels: 4 }, settings);
}

/** For tests: the classifier alone on a ready float32 batch (N x S x S x 3): rows [p_mask, p_no_mask, p_incorrect]. */
export async function classifyBatch(config, batch, n) {
  const pipeline = await pipelineFor(config);
  return pipeline.predict(batch, n);
}
