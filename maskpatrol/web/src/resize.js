// Image resizing as OpenCV's cv2.resize does it for uint8 RGB, so that the browser feeds the
// models what maskpatrol/preprocess.py and the detector feed them on the server.
//
// Images here are {data, width, height, channels}; data is a Uint8Array / Uint8ClampedArray
// (channels 3 = RGB, 4 = RGBA straight from a canvas). Output is always RGB (3 channels).

/** OpenCV's saturate_cast<uchar>(float): round half to even, clamp to 0..255. */
function roundU8(v) {
  return v <= 0 ? 0 : v >= 255 ? 255 : roundHalfEven(v);
}

/** cvRound: to the nearest integer, halves to even. */
function roundHalfEven(v) {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * OpenCV's INTER_LINEAR taps along one axis: for each output index, the first source index
 * and its weight out of 2048 (the second source index is the next one, clamped).
 */
function linearTable(srcSize, dstSize, scale) {
  const first = new Int32Array(dstSize), w0 = new Int32Array(dstSize), w1 = new Int32Array(dstSize);
  const step = srcSize / dstSize;
  for (let d = 0; d < dstSize; d++) {
    let f = Math.fround((d + 0.5) * step - 0.5);  // OpenCV computes the offset in float
    let i = Math.floor(f);
    f = Math.fround(f - i);
    if (i < 0) { f = 0; i = 0; }
    if (i >= srcSize - 1) { f = 0; i = srcSize - 1; }
    first[d] = i;
    w0[d] = roundHalfEven(Math.fround(1 - f) * scale);
    w1[d] = roundHalfEven(f * scale);
  }
  return { first, w0, w1 };
}

/**
 * cv2.resize(..., INTER_LINEAR) for uint8: pixel-centre mapping, edge clamping and OpenCV's
 * 11-bit fixed-point weights (INTER_RESIZE_COEF_BITS), so the results match to +-1.
 */
export function resizeLinear(src, outW, outH) {
  const { data, width: W, height: H, channels: C } = src;
  const out = new Uint8Array(outW * outH * 3);
  const SCALE = 2048;
  const xs = linearTable(W, outW, SCALE), ys = linearTable(H, outH, SCALE);
  const row0 = new Int32Array(outW * 3), row1 = new Int32Array(outW * 3);
  const horizontal = (y, row) => {
    const r = y * W;
    for (let dx = 0; dx < outW; dx++) {
      const x0 = xs.first[dx], x1 = Math.min(x0 + 1, W - 1), a0 = xs.w0[dx], a1 = xs.w1[dx];
      for (let c = 0; c < 3; c++) row[dx * 3 + c] = data[(r + x0) * C + c] * a0 + data[(r + x1) * C + c] * a1;
    }
  };
  for (let dy = 0; dy < outH; dy++) {
    const b0 = ys.w0[dy], b1 = ys.w1[dy];
    horizontal(ys.first[dy], row0);
    horizontal(Math.min(ys.first[dy] + 1, H - 1), row1);
    const o = dy * outW * 3;
    // OpenCV's vectorised vertical pass: 16-bit high products, then (x + y + 2) >> 2.
    for (let i = 0; i < row0.length; i++) {
      const v = (((row0[i] >> 4) * b0) >> 16) + (((row1[i] >> 4) * b1) >> 16);
      out[o + i] = Math.max(0, Math.min(255, (v + 2) >> 2));
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
  if (W % outW === 0 && H % outH === 0) return resizeAreaFast(src, W / outW, H / outH);
  const out = new Uint8Array(outW * outH * 3);
  const xs = areaTable(W, outW), ys = areaTable(H, outH);
  const xStart = xs.start, xIdx = xs.idx, xW = xs.w;
  const n = outW * 3;
  const acc = new Float64Array(n);
  const row = new Float64Array(n);
  let rowOf = -1;
  for (let dy = 0; dy < outH; dy++) {
    acc.fill(0);
    for (let t = ys.start[dy]; t < ys.start[dy + 1]; t++) {
      const sy = ys.idx[t], wy = ys.w[t];
      if (rowOf !== sy) {  // horizontal pass over source row sy (reused by the next output row)
        const base = sy * W;
        for (let dx = 0, o = 0; dx < outW; dx++, o += 3) {
          let r = 0, g = 0, b = 0;
          for (let k = xStart[dx], end = xStart[dx + 1]; k < end; k++) {
            const p = (base + xIdx[k]) * C, wx = xW[k];
            r += data[p] * wx; g += data[p + 1] * wx; b += data[p + 2] * wx;
          }
          row[o] = r; row[o + 1] = g; row[o + 2] = b;
        }
        rowOf = sy;
      }
      for (let i = 0; i < n; i++) acc[i] += row[i] * wy;
    }
    const o = dy * n;
    for (let i = 0; i < n; i++) {
      const v = acc[i];
      out[o + i] = v <= 0 ? 0 : v >= 255 ? 255 : roundHalfEven(v);
    }
  }
  return { data: out, width: outW, height: outH, channels: 3 };
}

/**
 * OpenCV's resizeAreaFast for whole-number ratios: integer sums; a 2x2 cell rounds as its
 * vector code does, (sum + 2) >> 2, other cells as sum * (1 / area) rounded to even.
 */
function resizeAreaFast(src, kx, ky) {
  const { data, width: W, channels: C } = src;
  const outW = Math.floor(src.width / kx), outH = Math.floor(src.height / ky);
  const out = new Uint8Array(outW * outH * 3);
  const inv = Math.fround(1 / (kx * ky));
  for (let dy = 0; dy < outH; dy++) {
    for (let dx = 0; dx < outW; dx++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let j = 0; j < ky; j++) {
          for (let i = 0; i < kx; i++) sum += data[((dy * ky + j) * W + dx * kx + i) * C + c];
        }
        out[(dy * outW + dx) * 3 + c] = kx === 2 && ky === 2 ? (sum + 2) >> 2 : roundU8(Math.fround(sum * inv));
      }
    }
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
