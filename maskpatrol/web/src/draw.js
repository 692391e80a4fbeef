// Boxes and labels on the canvas, as maskpatrol/annotate.py draws them on server frames:
// same colours, thick lines for "No mask", label text on a filled band above the box.

export const MASK_RGB = [0, 200, 83];
export const NO_MASK_RGB = [230, 30, 30];
const MASK_TEXT = "rgb(0,0,0)";
const NO_MASK_TEXT = "rgb(255,255,255)";

/** annotate.label_text */
export function labelText(face, showProbability) {
  const masked = face.label === "mask";
  const name = masked ? "Mask" : "No mask";
  if (!showProbability) return name;
  const confidence = masked ? 1 - face.p_no_mask : face.p_no_mask;
  return `${name} ${Math.round(confidence * 100)}%`;
}

/** Draw every face onto a 2D context whose pixels are the analysed frame's. */
export function annotate(ctx, faces, showProbability, width, height) {
  const base = Math.max(1, Math.min(width, height) / 640);
  for (const face of faces) {
    const [x, y, w, h] = face.box;
    const masked = face.label === "mask";
    const rgb = masked ? MASK_RGB : NO_MASK_RGB;
    const colour = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
    const thickness = Math.max(2, Math.round((masked ? 2 : 4) * base));
    ctx.lineWidth = thickness;
    ctx.strokeStyle = colour;
    ctx.strokeRect(x, y, w, h);
    const text = labelText(face, showProbability);
    const fontScale = Math.max(0.45, Math.min(2.5, w / 160, 0.6 * base));
    const px = Math.round(30 * fontScale);  // Hershey simplex at scale 1 is ~30 px tall with descenders
    ctx.font = `bold ${px}px sans-serif`;
    const tw = Math.ceil(ctx.measureText(text).width);
    const pad = Math.max(2, Math.round(3 * fontScale));
    const bandH = px + 2 * pad;
    let top = y - bandH;
    if (top < 0) top = y;  // no room above the box: inside it
    const left = Math.min(Math.max(0, x), Math.max(0, width - tw - 2 * pad));
    ctx.fillStyle = colour;
    ctx.fillRect(left, top, tw + 2 * pad, bandH);
    ctx.fillStyle = masked ? MASK_TEXT : NO_MASK_TEXT;
    ctx.textBaseline = "top";
    ctx.fillText(text, left + pad, top + pad);
  }
}
