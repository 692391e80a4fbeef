// Boxes and labels on the canvas, as maskpatrol/annotate.py draws them on server frames:
// the same styles (sent by Python, maskpatrol.web.component.box_styles: colours, a thin
// solid box for "Mask", a thick one for "No mask", a dashed one for "Mask below nose"),
// label text on a filled band above the box.

/** Face.confidence: the model's probability for the label it gave. */
export function confidence(face) {
  const pIncorrect = face.p_incorrect || 0;
  if (face.label === "no_mask") return face.p_no_mask;
  if (face.label === "incorrect") return pIncorrect;
  return Math.max(0, 1 - face.p_no_mask - pIncorrect);
}

/** annotate.label_text: "Mask 97%", "No mask 88%", "Mask below nose 87%", after the person's number ("#7 No mask 91%"). */
export function labelText(face, showProbability, styles) {
  const name = (face.person != null ? `#${face.person} ` : "") + styles[face.label].name;
  if (!showProbability) return name;
  return `${name} ${Math.round(confidence(face) * 100)}%`;
}

function rgb(c) {
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * annotate._dashed_rectangle: filled dashes, each edge starting at a corner so every corner
 * is drawn; each dash covers the pixels cv2.rectangle fills (both end points included).
 */
function dashedRect(ctx, x, y, w, h, thickness, style) {
  const dash = style.dash_per_px * thickness, gap = style.gap_per_px * thickness;
  const lo = Math.floor((thickness + 1) / 2), hi = Math.floor(thickness / 2);
  const run = (length) => {
    const out = [];
    for (let s = 0; s <= length; s += dash + gap) out.push([s, Math.min(s + dash, length)]);
    return out;
  };
  const fill = (x0, y0, x1, y1) => ctx.fillRect(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
  for (const [a, b] of run(w)) {
    fill(x + a, y - lo, x + b, y + hi);
    fill(x + a, y + h - lo, x + b, y + h + hi);
  }
  for (const [a, b] of run(h)) {
    fill(x - lo, y + a, x + hi, y + b);
    fill(x + w - lo, y + a, x + w + hi, y + b);
  }
}

/**
 * annotate._fit_label: the font sized by the box, then shrunk (to no less than 0.3) when the
 * words would be cut at the picture's edge. Sets ctx.font; returns its pixel size, the text
 * width and the padding.
 */
function fitLabel(ctx, text, boxW, imageW, base) {
  let fontScale = Math.max(0.45, Math.min(2.5, boxW / 160, 0.6 * base));
  for (;;) {
    const px = Math.round(30 * fontScale);  // Hershey simplex at scale 1 is ~30 px tall with descenders
    ctx.font = `bold ${px}px sans-serif`;
    const tw = Math.ceil(ctx.measureText(text).width);
    const pad = Math.max(2, Math.round(3 * fontScale));
    if (tw + 2 * pad <= imageW || fontScale <= 0.3) return { px, tw, pad };
    fontScale = Math.max(0.3, fontScale * 0.9);
  }
}

/** Draw every face onto a 2D context whose pixels are the analysed frame's. */
export function annotate(ctx, faces, showProbability, width, height, styles) {
  const base = Math.max(1, Math.min(width, height) / 640);
  for (const face of faces) {
    const [x, y, w, h] = face.box;
    const style = styles[face.label];
    const colour = rgb(style.colour);
    const thickness = Math.max(2, Math.round(style.weight * base));
    if (style.dashed) {
      ctx.fillStyle = colour;
      dashedRect(ctx, x, y, w, h, thickness, style);
    } else {
      ctx.lineWidth = thickness;
      ctx.strokeStyle = colour;
      ctx.strokeRect(x, y, w, h);
    }
    const text = labelText(face, showProbability, styles);
    const { px, tw, pad } = fitLabel(ctx, text, w, width, base);
    const bandH = px + 2 * pad;
    let top = y - bandH;
    if (top < 0) top = y;  // no room above the box: inside it
    const left = Math.min(Math.max(0, x), Math.max(0, width - tw - 2 * pad));
    ctx.fillStyle = colour;
    ctx.fillRect(left, top, tw + 2 * pad, bandH);
    ctx.fillStyle = rgb(style.text_colour);
    ctx.textBaseline = "top";
    ctx.fillText(text, left + pad, top + pad);
  }
}
