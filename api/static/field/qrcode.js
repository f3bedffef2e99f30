// A load's ticket drawn as a QR code, by the vendored qrcode-generator (vendor/, MIT): error
// correction level M, byte mode over the text's UTF-8, the smallest version that holds it, up
// to version 15 (what a phone camera reads at arm's length from another phone's screen).
import qrcode from "./vendor/qrcode-generator/qrcode.js";

export const MAX_VERSION = 15;
// Bytes a version holds at level M in byte mode (ISO/IEC 18004, table 7), versions 1 to 15.
const CAPACITY_M = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412];

export function capacity(version) {
  return CAPACITY_M[version - 1];
}

// The modules of the QR code of `text`: rows of booleans (true = dark), without quiet zone.
export function qrMatrix(text) {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > capacity(MAX_VERSION)) {
    throw new RangeError(`${bytes.length} bytes do not fit a QR code of version ${MAX_VERSION}`);
  }
  const qr = qrcode(0, "M");
  // The library's byte mode takes one character per byte: hand it the UTF-8 bytes so.
  qr.addData(String.fromCharCode(...bytes), "Byte");
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, y) => Array.from({ length: n }, (_, x) => qr.isDark(y, x)));
}

// The code as an SVG element, black on white with the standard quiet zone of 4 modules.
export function qrSvg(text, label) {
  const m = qrMatrix(text);
  const quiet = 4;
  const n = m.length + 2 * quiet;
  let d = "";
  m.forEach((row, y) => row.forEach((dark, x) => { if (dark) d += `M${x + quiet} ${y + quiet}h1v1h-1z`; }));
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${n} ${n}`);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("role", "img");
  if (label) svg.setAttribute("aria-label", label);
  const bg = document.createElementNS(NS, "rect");
  bg.setAttribute("width", n);
  bg.setAttribute("height", n);
  bg.setAttribute("fill", "#fff");
  const fg = document.createElementNS(NS, "path");
  fg.setAttribute("d", d);
  fg.setAttribute("fill", "#000");
  svg.append(bg, fg);
  svg.dataset.modules = String(m.length);
  return svg;
}
