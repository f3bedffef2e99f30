// The camera and the QR decoder (zxing-wasm, vendored under vendor/zxing-wasm), and the
// scanning screen: camera first, a photo from the gallery as the fallback.
import { checkPayload, checkTicket, isTicket, reasonText } from "./codes.js";
import { h, onLeave, show } from "./dom.js";
import { t } from "./i18n.js";
import { go } from "./nav.js";
import { clockProblem } from "./net.js";

let camera = null; // {stream, timer, stopped}
let zxingReady = null;

function zxing() {
  if (!zxingReady) {
    const wasm = new URL("vendor/zxing-wasm/zxing_reader.wasm", location.href).href;
    zxingReady = globalThis.ZXingWASM.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) },
      fireImmediately: true,
    });
  }
  return zxingReady;
}

async function decode(source) {
  await zxing();
  const results = await globalThis.ZXingWASM.readBarcodes(source, {
    formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1,
  });
  const hit = results.find((r) => r.isValid && r.text);
  return hit ? hit.text : null;
}

export function stopCamera() {
  if (!camera) return;
  clearTimeout(camera.timer);
  camera.stopped = true;
  for (const track of camera.stream?.getTracks() || []) track.stop();
  camera = null;
}
onLeave(stopCamera);

async function startCamera(video, status, onText) {
  stopCamera();
  const cam = { stopped: false, stream: null, timer: null };
  camera = cam;
  status.textContent = t("camera_starting");
  try {
    cam.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" } }, audio: false,
    });
  } catch (e) {
    status.textContent = t("camera_failed", { why: e.name || e.message });
    return;
  }
  if (cam.stopped) {
    for (const track of cam.stream.getTracks()) track.stop();
    return;
  }
  video.srcObject = cam.stream;
  await video.play().catch(() => {});
  status.textContent = "";
  const canvas = document.createElement("canvas");
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const tick = async () => {
    if (cam.stopped) return;
    if (video.readyState >= 2 && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      try {
        const text = await decode(ctx.getImageData(0, 0, canvas.width, canvas.height));
        if (text && !cam.stopped) {
          stopCamera();
          onText(text);
          return;
        }
      } catch (e) {
        status.textContent = String(e.message || e);
      }
    }
    cam.timer = setTimeout(tick, 200);
  };
  tick();
}

// `wanted`: "plaque" (a source's plaque) or "manifest" (a load's manifest or ticket).
async function check(text, wanted) {
  if (wanted === "manifest" && isTicket(text)) return checkTicket(text);
  const checked = await checkPayload(text);
  const kind = wanted === "plaque" ? "site" : "handover";
  if (!checked.error && checked.kind !== kind) return { error: "wrong_kind" };
  return checked;
}

export function scanView(wanted, onPayload) {
  const status = h("p", { class: "muted", role: "status", id: "scan-status" });
  const error = h("p", { class: "error", role: "alert", id: "scan-error", hidden: true });
  const video = h("video", { id: "camera", playsinline: true, muted: true, autoplay: true });
  const file = h("input", {
    type: "file", accept: "image/*", capture: "environment", id: "photo", class: "visually-hidden",
    onchange: async () => {
      const f = file.files[0];
      if (!f) return;
      const text = await decode(f).catch(() => null);
      if (!text) {
        error.hidden = false;
        error.textContent = t("photo_unreadable");
        return;
      }
      handle(text);
    },
  });
  async function handle(text) {
    const checked = await check(text, wanted);
    if (checked.error) {
      error.hidden = false;
      error.textContent = t(wanted === "plaque" ? "plaque_forged" : "manifest_refused", { why: reasonText(checked.error, wanted) });
      error.dataset.reason = checked.error;
      startCamera(video, status, handle);
      return;
    }
    onPayload(checked);
  }
  const back = wanted === "plaque" ? "#home" : "#intake";
  show(
    h("section", { class: "scan" },
      h("h1", {}, wanted === "plaque" ? t("scan_plaque") : t("scan_manifest")),
      h("p", { class: "muted" }, wanted === "plaque" ? t("scan_hint_plaque") : t("scan_hint_manifest")),
      clockProblem() ? h("p", { class: "warn" }, clockProblem()) : null,
      h("div", { class: "viewfinder" }, video, h("div", { class: "frame" })),
      status, error,
      h("label", { for: "photo", class: "button secondary" }, t("choose_photo")), file,
      h("button", { type: "button", class: "link", onclick: () => go(back) }, t("cancel")),
    ),
  );
  startCamera(video, status, handle);
}
