// Face crop -> classifier input, written after maskpatrol/preprocess.py (square_crop,
// resize_face, scale_pixels); the constants come from the model card through Python.
import { resize } from "./resize.js";

/**
 * maskpatrol.preprocess.square_crop: a square of `scale` x the box side around the box,
 * centre moved down by `shiftDown` box heights; outside the image the edge pixels repeat.
 * Returns an RGB image.
 */
export function squareCrop(img, box, scale, shiftDown) {
  const [x, y, w, h] = box.map((v) => Math.trunc(v));
  const side = Math.max(1, pyRound(Math.max(w, h) * scale));
  const cx = x + w / 2, cy = y + h / 2 + shiftDown * h;
  const x0 = pyRound(cx - side / 2), y0 = pyRound(cy - side / 2);
  const { data, width: W, height: H, channels: C } = img;
  if (x0 + side <= 0 || y0 + side <= 0 || x0 >= W || y0 >= H) {
    throw new Error(`box ${box} lies outside the ${W}x${H} image`);
  }
  const out = new Uint8Array(side * side * 3);
  for (let r = 0; r < side; r++) {
    const sy = Math.min(H - 1, Math.max(0, y0 + r));
    for (let c = 0; c < side; c++) {
      const sx = Math.min(W - 1, Math.max(0, x0 + c));
      const p = (sy * W + sx) * C, o = (r * side + c) * 3;
      out[o] = data[p]; out[o + 1] = data[p + 1]; out[o + 2] = data[p + 2];
    }
  }
  return { data: out, width: side, height: side, channels: 3 };
}

/** Python's round(): half to even, as in square_crop. */
export function pyRound(v) {
  const f = Math.floor(v), d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Crops -> one float32 NHWC batch: resize_face (area when shrinking, linear when enlarging)
 * then x * pixelScale + pixelOffset, as maskpatrol.preprocess.to_model_input.
 */
export function toModelInput(crops, size, pixelScale, pixelOffset) {
  const batch = new Float32Array(crops.length * size * size * 3);
  crops.forEach((crop, i) => {
    const shrink = crop.width > size || crop.height > size;
    const small = resize(crop, size, size, shrink ? "area" : "linear");
    const o = i * size * size * 3;
    for (let k = 0; k < small.data.length; k++) {
      batch[o + k] = Math.fround(small.data[k] * Math.fround(pixelScale)) + Math.fround(pixelOffset);
    }
  });
  return batch;
}

/**
 * maskpatrol.pipeline.label_for: no mask first, since missing one costs most; then a mask
 * below the nose. At exactly a threshold we say the worse label. `incorrectThreshold` is
 * null for a binary model, which never says "incorrect".
 */
export function labelFor(pNoMask, threshold, pIncorrect = 0, incorrectThreshold = null) {
  if (pNoMask >= threshold) return "no_mask";
  if (incorrectThreshold !== null && incorrectThreshold !== undefined && pIncorrect >= incorrectThreshold) {
    return "incorrect";
  }
  return "mask";
}

/**
 * maskpatrol.classifier.as_class_columns: the model's raw output (n rows of 1 sigmoid
 * p(no mask), or of 3 softmax values mask / no mask / incorrect) -> n rows
 * [p_mask, p_no_mask, p_incorrect]. A binary model's p_incorrect is 0.
 */
export function asClassColumns(data, n) {
  const width = n ? data.length / n : 1;
  if (width !== 1 && width !== 3) {
    throw new Error(`the classifier has ${width} outputs; expected 1 (binary) or 3`);
  }
  const rows = [];
  for (let i = 0; i < n; i++) {
    if (width === 1) rows.push([1 - data[i], data[i], 0]);
    else rows.push([data[3 * i], data[3 * i + 1], data[3 * i + 2]]);
  }
  return rows;
}
