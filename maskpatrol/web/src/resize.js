// Image resizing as OpenCV's cv2.resize does it for uint8 RGB, so that the browser feeds the
// models what maskpatrol/preprocess.py and the detector feed them on the server.
//
// Images here are {data, width, height, channels}; data is a Uint8Array / Uint8ClampedArray
// (channels 3 = RGB, 4 = RGBA straight from a canvas). Output is always RGB (3 channels).

/** OpenCV's saturate_cast<uchar>(float): round half to even, clamp to 0..255. */
function roundU8(v) {
  if (v <= 0) return 0;
  if (v >= 255) return 255;
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * cv2.resize(..., INTER_LINEAR) for uint8: pixel-centre mapping, edge clamping and OpenCV's
 * 11-bit fixed-point weights (INTER_RESIZE_COEF_BITS), so the results match to +-1.
 */
export function resizeLinear(src, outW, outH) {
  const { data, width: W, height: H, channels: C } = src;
  const out = new Uint8Array(outW * outH * 3);
  const SCALE = 2048;
  const sx = W / outW, sy = H / outH;
  const xi = new Int32Array(outW), xa = new Int32Array(outW);
  for (let dx = 0; dx < outW; dx++) {
    let fx = (dx + 0.5) * sx - 0.5;
    let ix = Math.floor(fx);
    fx -= ix;
    if (ix < 0) { fx = 0; ix = 0; }
    if (ix >= W - 1) { fx = 0; ix = W - 1; }
    xi[dx] = ix;
    xa[dx] = Math.round((1 - fx) * SCALE);
  }
  for (let dy = 0; dy < outH; dy++) {
    let fy = (dy + 0.5) * sy - 0.5;
    let iy = Math.floor(fy);
    fy -= iy;
    if (iy < 0) { fy = 0; iy = 0; }
    if (iy >= H - 1) { fy = 0; iy = H - 1; }
    const b0 = Math.round((1 - fy) * SCALE), b1 = SCALE - b0;
    const r0 = iy * W, r1 = Math.min(iy + 1, H - 1) * W;
    for (let dx = 0; dx < outW; dx++) {
      const x0 = xi[dx], x1 = Math.min(x0 + 1, W - 1), a0 = xa[dx], a1 = SCALE - a0;
      const o = (dy * outW + dx) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[(r0 + x0) * C + c] * a0 + data[(r0 + x1) * C + c] * a1;
        const bot = data[(r1 + x0) * C + c] * a0 + data[(r1 + x1) * C + c] * a1;
        out[o + c] = Math.min(255, (top * b0 + bot * b1 + (1 << 21)) >> 22);
      }
    }
  }
  return { data: out, width: outW, height: outH, channels: 3 };
}

/**
 * OpenCV's resizeArea tables along one axis, flattened: output index d takes the source
 * indices idx[start[d] .. start[d + 1]) with weights w[...] (its share of each source pixel).
 */
function areaTable(srcSize, dstSize) {
  const scale = srcSize / dstSize;
  const idx = [], w = [], start = new Int32Array(dstSize + 1);
  for (let d = 0; d < dstSize; d++) {
    start[d] = idx.length;
    const f1 = d * scale, f2 = f1 + scale;
    let s1 = Math.ceil(f1), s2 = Math.floor(f2);
    s2 = Math.min(s2, srcSize - 1);
    s1 = Math.min(s1, s2);
    const cell = Math.min(scale, srcSize - f1);
    if (s1 - f1 > 1e-3) { idx.push(s1 - 1); w.push((s1 - f1) / cell); }
    for (let s = s1; s < s2; s++) { idx.push(s); w.push(1 / cell); }
    if (f2 - s2 > 1e-3) { idx.push(s2); w.push(Math.min(Math.min(f2 - s2, 1), cell) / cell); }
  }
  start[dstSize] = idx.length;
  return { idx: Int32Array.from(idx), w: Float64Array.from(w), start };
}

/**
 * cv2.resize(..., INTER_AREA) when shrinking: each output pixel is the area-weighted mean of
 * the source pixels it covers (OpenCV's fast integer-ratio path gives the same means).
 * Separable: each source row is summed horizontally once, then rows are weighted.
 */
export function resizeArea(src, outW, outH) {
  const { data, width: W, height: H, channels: C } = src;
  const out = new Uint8Array(outW * outH * 3);
  const xs = areaTable(W, outW), ys = areaTable(H, outH);
  const acc = new Float64Array(outW * 3);
  const row = new Float64Array(outW * 3);
  let rowOf = -1;
  for (let dy = 0; dy < outH; dy++) {
    acc.fill(0);
    for (let t = ys.start[dy]; t < ys.start[dy + 1]; t++) {
      const sy = ys.idx[t], wy = ys.w[t];
      if (rowOf !== sy) {  // horizontal pass over source row sy
        const base = sy * W;
        for (let dx = 0; dx < outW; dx++) {
          let r = 0, g = 0, b = 0;
          for (let k = xs.start[dx]; k < xs.start[dx + 1]; k++) {
            const p = (base + xs.idx[k]) * C, wx = xs.w[k];
            r += data[p] * wx; g += data[p + 1] * wx; b += data[p + 2] * wx;
          }
          row[dx * 3] = r; row[dx * 3 + 1] = g; row[dx * 3 + 2] = b;
        }
        rowOf = sy;
      }
      for (let i = 0; i < acc.length; i++) acc[i] += row[i] * wy;
    }
    const o = dy * outW * 3;
    for (let i = 0; i < acc.length; i++) out[o + i] = roundU8(acc[i]);
  }
  return { data: out, width: outW, height: outH, channels: 3 };
}

/**
 * cv2.resize with the interpolation the Python code asks for. OpenCV itself swaps
 * INTER_LINEAR for INTER_AREA on an exact 2x shrink in both directions; so do we.
 */
export function resize(src, outW, outH, interpolation) {
  if (src.width === outW && src.height === outH) return toRgb(src);
  let mode = interpolation;
  if (mode === "linear" && src.width === 2 * outW && src.height === 2 * outH) mode = "area";
  if (mode === "area" && (src.width < outW || src.height < outH)) mode = "linear";  // OpenCV does the same
  return mode === "area" ? resizeArea(src, outW, outH) : resizeLinear(src, outW, outH);
}

/** Drop the alpha channel (or copy an RGB image). */
export function toRgb(src) {
  const { data, width, height, channels: C } = src;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += C) {
    out[i * 3] = data[j]; out[i * 3 + 1] = data[j + 1]; out[i * 3 + 2] = data[j + 2];
  }
  return { data: out, width, height, channels: 3 };
}
