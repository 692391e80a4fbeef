// YuNet on onnxruntime-web, written after maskpatrol/detectors/yunet.py: the same passes
// and tiles (plan_passes), the same resize, zero padding to multiples of 32, decoding of
// the per-stride outputs (score = sqrt(cls * obj)), one NMS over all passes, the same box
// transform onto Haar's framing and the same clipping, so that the browser's boxes agree
// with `python -m maskpatrol detect --json`. The constants come from that module through
// Python (maskpatrol/web/component.py), never retyped here.
import { Tensor } from "./runtime.js";
import { resize } from "./resize.js";
import { pyRound } from "./classify.js";
import { iou } from "./boxes.js";


/** Share of box a's area that lies inside box b (both [x, y, w, h]). */
function insideShare(a, b) {
  const w = Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  return (w * h) / Math.max(a[2] * a[3], 1e-9);
}

/** yunet.nms: cv2.dnn.NMSBoxes(boxes, scores, 0.0, iouThreshold), best score first, then
 * any box lying mostly (more than maxInside of its area) inside a better kept one dropped. */
export function nms(boxes, scores, iouThreshold, maxInside) {
  const order = scores.map((s, i) => i).filter((i) => scores[i] > 0)
    .sort((a, b) => scores[b] - scores[a] || a - b);  // stable: ties keep input order
  const keep = [];
  for (const i of order) {
    if (keep.every((k) => iou(boxes[i], boxes[k]) <= iouThreshold)) keep.push(i);
  }
  const kept = [];
  for (const i of keep) {
    if (kept.every((k) => insideShare(boxes[i], boxes[k]) <= maxInside)) kept.push(i);
  }
  return kept;
}

/** yunet._tile_starts */
function tileStarts(length, c) {
  if (length <= c.max_tile_side) return [0];
  const step = c.max_tile_side - c.tile_overlap;
  const count = Math.ceil((length - c.tile_overlap) / step);
  const starts = new Set();
  for (let i = 0; i < count; i++) starts.add(Math.min(i * step, length - c.max_tile_side));
  return [...starts].sort((a, b) => a - b);
}

/**
 * yunet.plan_passes: the scaled copies (and their tiles) searched for one picture. The first
 * scales the smallest wanted face to target_min_face_px; if a face filling the picture would
 * then exceed max_face_px, evenly spaced passes follow down to the one that fits the shorter
 * side into coarse_short_side.
 */
export function planPasses(width, height, minFacePx, c) {
  const shorter = Math.min(width, height);
  const first = Math.min(c.max_upscale, c.target_min_face_px / Math.max(1, minFacePx * c.min_size_slack));
  const last = Math.min(first, c.coarse_short_side / shorter);
  const scales = [first];
  if (first * shorter > c.max_face_px) {
    const steps = Math.max(1, Math.ceil(Math.log(first / last) / Math.log(c.pyramid_step) - 1e-9));
    const ratio = (first / last) ** (1 / steps);
    for (let i = 1; i < steps; i++) scales.push(first / ratio ** i);
    scales.push(last);
  }
  return scales.map((s) => {
    const w = Math.max(1, pyRound(width * s)), h = Math.max(1, pyRound(height * s));
    const tiles = [];
    for (const y of tileStarts(h, c)) {
      for (const x of tileStarts(w, c)) tiles.push([x, y, Math.min(c.max_tile_side, w - x), Math.min(c.max_tile_side, h - y)]);
    }
    return { scale: s, width: w, height: h, tiles };
  });
}

/**
 * yunet._whole_in_tile, for one candidate [x, y, w, h] in tile pixels: true when it touches a
 * tile edge that lies inside the picture (YuNet boxes half a face there; the overlap puts the
 * whole face in a neighbouring tile or a coarser pass).
 */
export function cutByTile(b, [x, y, w, h], width, height, margin) {
  return (x > 0 && b[0] < margin) || (y > 0 && b[1] < margin)
    || (x + w < width && b[0] + b[2] > w - margin) || (y + h < height && b[1] + b[3] > h - margin);
}

/** yunet.padded: up to a multiple of the largest stride. */
function padded(size, strides) {
  const top = strides[strides.length - 1];
  return Math.max(top, Math.ceil(size / top) * top);
}

export class YuNet {
  constructor(session, config) {
    this.session = session;
    this.config = config;
    this.outputNames = session.outputNames;
  }

  /** One tile of a scaled RGB picture -> the network's input: BGR, NCHW, zero-padded. */
  tileInput(img, [x, y, w, h]) {
    const ph = padded(h, this.config.strides), pw = padded(w, this.config.strides);
    const plane = ph * pw;
    const data = new Float32Array(3 * plane);
    const src = img.data, W = img.width;
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const s = ((y + r) * W + (x + c)) * 3, d = r * pw + c;
        data[d] = src[s + 2];
        data[plane + d] = src[s + 1];
        data[2 * plane + d] = src[s];
      }
    }
    return { tensor: new Tensor("float32", data, [1, 3, ph, pw]), ph, pw };
  }

  /** yunet.decode (boxes only): candidates [x, y, w, h] in input pixels, and scores. */
  decode(outputs, ph, pw, minScore) {
    const boxes = [], scores = [];
    for (const stride of this.config.strides) {
      const cols = Math.floor(pw / stride), n = cols * Math.floor(ph / stride);
      const cls = outputs[`cls_${stride}`].data, obj = outputs[`obj_${stride}`].data;
      const bbox = outputs[`bbox_${stride}`].data;
      for (let i = 0; i < n; i++) {
        const score = Math.fround(Math.sqrt(Math.fround(Math.min(1, Math.max(0, cls[i])) * Math.min(1, Math.max(0, obj[i])))));
        if (!(score >= minScore)) continue;
        const r = Math.floor(i / cols), c = i - r * cols;
        const w = Math.exp(bbox[i * 4 + 2]) * stride, h = Math.exp(bbox[i * 4 + 3]) * stride;
        const cx = (c + bbox[i * 4]) * stride, cy = (r + bbox[i * 4 + 1]) * stride;
        boxes.push([cx - w / 2, cy - h / 2, w, h]);
        scores.push(score);
      }
    }
    return { boxes, scores };
  }

  /** Boxes [x, y, w, h] (Haar-like, integers, left to right) of the faces in an RGB/RGBA image. */
  async detect(img, settings) {
    const c = this.config;
    const { width, height } = img;
    const minScore = settings.min_score ?? c.default_min_score;
    const boxes = [], scores = [];
    for (const p of planPasses(width, height, settings.min_face_px, c)) {
      const scaled = resize(img, p.width, p.height, p.scale < 1 ? "area" : "linear");
      const sx = width / p.width, sy = height / p.height;
      for (const tile of p.tiles) {
        const { tensor, ph, pw } = this.tileInput(scaled, tile);
        const outputs = await this.session.run({ [this.session.inputNames[0]]: tensor });
        const found = this.decode(outputs, ph, pw, minScore);
        found.boxes.forEach((b, k) => {
          if (p.tiles.length > 1 && cutByTile(b, tile, p.width, p.height, c.tile_edge_margin)) return;
          boxes.push([(b[0] + tile[0]) * sx, (b[1] + tile[1]) * sy, b[2] * sx, b[3] * sy]);
          scores.push(found.scores[k]);
        });
      }
    }
    const keep = nms(boxes, scores, c.nms_iou, c.max_inside);
    // yunet.YuNetDetector.detect: "Smallest face" judged on Haar's size of the face, then
    // the tighter box the classifier's crop is cut around.
    const minSide = Math.max(1, settings.min_face_px * c.min_size_slack);
    const sized = keep.map((k) => boxes[k]).filter((b) => Math.max(b[2], b[3]) * c.haar_size >= minSide);
    return toBoxes(sized, width, height, 1, c.to_haar);
  }
}

/** boxes.BoxTransform.apply + to_boxes: Haar-like squares, small ones dropped, clipped, sorted. */
export function toBoxes(xywh, width, height, minSide, t) {
  const out = [];
  for (const [x0, y0, bw, bh] of xywh) {
    const side = Math.max(bw, bh) * t.scale;
    const cx = x0 + bw / 2 + t.dx * bw, cy = y0 + bh / 2 + t.dy * bh;
    if (side < minSide) continue;
    const left = pyRound(cx - side / 2), top = pyRound(cy - side / 2), s = pyRound(side);
    const bx0 = Math.max(0, left), by0 = Math.max(0, top);
    const bx1 = Math.min(width, left + s), by1 = Math.min(height, top + s);
    if (bx1 - bx0 < 1 || by1 - by0 < 1) continue;
    out.push([bx0, by0, bx1 - bx0, by1 - by0]);
  }
  out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return out;
}
