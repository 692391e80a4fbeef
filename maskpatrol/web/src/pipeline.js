// The browser's pipeline: detect (YuNet) -> crop -> classify (one batch) -> faces, the same
// steps as maskpatrol.pipeline.MaskPatrol.analyze. Boxes are [x, y, w, h] in frame pixels.
import { initRuntime, createSession, Tensor } from "./runtime.js";
import { YuNet } from "./yunet.js";
import { squareCrop, toModelInput, labelFor, asClassColumns } from "./classify.js";

export class Pipeline {
  /** `config` comes from Python (maskpatrol.web.component.pipeline_config): URLs and constants. */
  static async load(config) {
    await initRuntime(config.wasm_url);
    const [detector, classifier] = await Promise.all([
      createSession(config.detector.url), createSession(config.classifier.url)]);
    return new Pipeline(config, new YuNet(detector, config.detector), classifier);
  }

  constructor(config, detector, classifier) {
    this.config = config;
    this.detector = detector;
    this.classifier = classifier;
    this.inputName = classifier.inputNames[0];
    this.outputName = classifier.outputNames[0];
  }

  /**
   * Rows [p_mask, p_no_mask, p_incorrect] for ready model input (N x S x S x 3 float32), as
   * MaskClassifier.predict_classes: a binary or a 3-class model alike.
   */
  async predict(batch, n) {
    const size = this.config.classifier.input_size;
    const input = new Tensor("float32", batch, [n, size, size, 3]);
    const out = await this.classifier.run({ [this.inputName]: input });
    return asClassColumns(Array.from(out[this.outputName].data), n);
  }

  /**
   * All faces of an image ({data, width, height, channels}, RGB or RGBA) with labels.
   * `settings`: {threshold, incorrect_threshold, min_face_px, min_score}. Also returns the timings.
   */
  async analyze(img, settings) {
    const t0 = performance.now();
    const boxes = await this.detector.detect(img, settings);
    const t1 = performance.now();
    let probs = [];
    if (boxes.length) {
      const c = this.config.classifier;
      const crops = boxes.map((b) => squareCrop(img, b, c.crop_scale, c.crop_shift_down));
      probs = await this.predict(toModelInput(crops, c.input_size, c.pixel_scale, c.pixel_offset), crops.length);
    }
    const t2 = performance.now();
    const faces = boxes.map((box, i) => {
      const [, pNoMask, pIncorrect] = probs[i];
      const label = labelFor(pNoMask, settings.threshold, pIncorrect, settings.incorrect_threshold ?? null);
      return { box, p_no_mask: pNoMask, p_incorrect: pIncorrect, label };
    });
    return { faces, detect_ms: t1 - t0, classify_ms: t2 - t1 };
  }
}
