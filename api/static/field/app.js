// wasteflow field app: collectors scan plaques and record loads, sites confirm intake,
// everything offline first. Data and the outbox live in IndexedDB; the server decides.
"use strict";

// --- words ----------------------------------------------------------------------------------

const WORDS = {
  zh: {
    title: "废弃物收运 · 现场",
    other_lang: "English",
    loading: "正在加载…",
    online: "在线",
    offline: "离线",
    login_title: "登录",
    login_hint: "第一次需要网络。登录后，路线、物料、牌子密钥都保存在手机上，没有信号也能用。",
    username: "用户名",
    password: "密码",
    login: "登录",
    login_wrong: "用户名或密码错误。",
    login_throttled: "尝试次数过多，请 {s} 秒后再试。",
    login_offline: "没有网络：第一次登录需要信号。",
    login_failed: "登录失败：{why}",
    logout: "退出登录",
    logout_pending: "还有 {n} 条未发送，退出会丢失它们。仍然退出？",
    not_for_role: "这个应用供回收员和接收站点使用；官员和管理员请用网页版数据看板。",
    dashboard: "打开数据看板",
    tab_collect: "收集",
    tab_intake: "接收",
    tab_outbox: "发件箱",
    hello: "{name}，你好",
    rounds: "收集路线",
    sources_n: "{n} 个来源点 → {dest}",
    scan_plaque: "扫描牌子",
    scan_manifest: "扫描随车单",
    scan_hint_plaque: "把来源点牌子上的二维码放在框内。",
    scan_hint_manifest: "把随车单上的二维码放在框内。",
    camera_starting: "正在打开摄像头…",
    camera_failed: "摄像头打不开（{why}）。可以用照片。",
    choose_photo: "用照片（相册或拍照）",
    photo_unreadable: "照片里没有读到二维码，请再试一次。",
    cancel: "取消",
    back: "返回",
    plaque_forged: "牌子无效：{why}。不能记录。",
    reason_bad_signature: "签名不对（伪造或被改动）",
    reason_malformed: "不是本系统的二维码",
    reason_revoked_key: "签名密钥已作废",
    reason_wrong_kind_plaque: "这是随车单，不是来源点牌子",
    reason_wrong_kind_manifest: "这是来源点牌子，不是随车单",
    not_on_round: "{code} 不在你的收集路线上。",
    verified: "✓ 签名已在手机上核对",
    unverified: "⚠ 未核对：手机上没有这个牌子的密钥，由服务器判断",
    source: "来源",
    material: "物料",
    no_material: "这个来源点和目的地没有共同接收的物料。",
    kg: "重量 (kg)",
    cap: "上限 {cap} kg",
    units: "件数",
    destination: "送往",
    position: "位置",
    position_ok: "已定位（±{acc} m）",
    position_wait: "正在定位…",
    position_none: "没有定位（仍可保存）",
    save: "保存",
    saved: "已保存，等待发送。",
    err_kg_zero: "请输入重量。",
    err_kg_decimals: "最多 3 位小数。",
    err_kg_cap: "超过上限 {cap} kg：请检查秤的读数或分车记录。",
    err_units: "请输入件数。",
    dup_ask: "{min} 分钟内已记录过同一牌子、同一物料的一车（{kg} kg，{time}）。再加一车？",
    dup_yes: "再加一车",
    outbox_title: "发件箱",
    outbox_empty: "没有记录。",
    sync_now: "立即发送",
    syncing: "正在发送…",
    st_queued: "等待发送",
    st_sending: "正在发送",
    st_sent: "已发送 {code}",
    st_refused: "被拒绝：{why}",
    st_dropped: "已放弃",
    retry: "重试",
    fix: "修改后重试",
    give_up: "放弃",
    give_up_ask: "放弃这一条？它不会被发送（仍留在列表里）。",
    fix_time_all: "按服务器时间校正 {n} 条被拒的时间并重发",
    login_again: "登录已失效：请重新登录（未发送的记录会保留）。",
    last_sync: "上次同步 {time}",
    never_synced: "尚未同步",
    handover_label: "{source} → {dest} · {material} {kg} kg",
    receipt_label: "接收 {code} · 收到 {kg} kg",
    intake_title: "在途待接收",
    intake_empty: "没有在途的车。",
    intake_cached: "离线：显示 {time} 保存的列表",
    refresh: "刷新",
    declared: "申报 {kg} kg",
    recorded: "{time} 由 {who}",
    confirmed_locally: "已确认，等待发送",
    receive_title: "确认接收 {code}",
    received_kg: "实收重量 (kg)",
    refused_kg: "拒收重量 (kg)",
    refusal_reason: "拒收原因",
    reason_other: "其他（填写）",
    reasons: ["含泥沙杂质", "受潮霉变", "混有其他废物", "不属于本站接收的物料"],
    reason_text: "原因说明",
    route: "处理方式",
    confirm: "确认接收",
    err_received: "请输入实收重量。",
    err_refused: "拒收重量不能大于实收重量。",
    err_reason: "请给出拒收原因（至少 3 个字）。",
    err_route: "请选择处理方式。",
    unknown_load: "这车不在已保存的在途列表里；确认后由服务器核对。",
    clock_ahead: "手机时间比服务器快 {min} 分钟：超过 5 分钟的记录会被拒绝。请校准手机时间。",
    clock_behind: "手机时间比服务器慢 {days} 天：超过 30 天的记录会被拒绝。请校准手机时间。",
    material_missing: "物料 {code}",
  },
  en: {
    title: "wasteflow · field",
    other_lang: "中文",
    loading: "Loading…",
    online: "online",
    offline: "offline",
    login_title: "Log in",
    login_hint: "The first login needs a network. After it, rounds, materials and plaque keys stay on the phone and everything works without signal.",
    username: "User name",
    password: "Password",
    login: "Log in",
    login_wrong: "Wrong user name or password.",
    login_throttled: "Too many attempts; try again in {s} s.",
    login_offline: "No network: the first login needs signal.",
    login_failed: "Login failed: {why}",
    logout: "Log out",
    logout_pending: "{n} items are not sent yet and would be lost. Log out anyway?",
    not_for_role: "This app is for collectors and receiving sites; officials and admins use the dashboard.",
    dashboard: "Open the dashboard",
    tab_collect: "Collect",
    tab_intake: "Intake",
    tab_outbox: "Outbox",
    hello: "Hello, {name}",
    rounds: "Collection rounds",
    sources_n: "{n} sources → {dest}",
    scan_plaque: "Scan a plaque",
    scan_manifest: "Scan a manifest",
    scan_hint_plaque: "Hold the source's plaque QR inside the frame.",
    scan_hint_manifest: "Hold the load's manifest QR inside the frame.",
    camera_starting: "Starting the camera…",
    camera_failed: "The camera did not start ({why}). Use a photo instead.",
    choose_photo: "Use a photo (gallery or camera)",
    photo_unreadable: "No QR code found in the photo; try again.",
    cancel: "Cancel",
    back: "Back",
    plaque_forged: "Invalid plaque: {why}. Nothing recorded.",
    reason_bad_signature: "the signature does not match (forged or altered)",
    reason_malformed: "not a code of this system",
    reason_revoked_key: "its signing key was revoked",
    reason_wrong_kind_plaque: "this is a manifest, not a site plaque",
    reason_wrong_kind_manifest: "this is a site plaque, not a manifest",
    not_on_round: "{code} is not on your collection rounds.",
    verified: "✓ signature checked on the phone",
    unverified: "⚠ not checked: the phone has no key for this plaque; the server decides",
    source: "Source",
    material: "Material",
    no_material: "The source and the destination share no material.",
    kg: "Mass (kg)",
    cap: "cap {cap} kg",
    units: "Units",
    destination: "To",
    position: "Position",
    position_ok: "located (±{acc} m)",
    position_wait: "locating…",
    position_none: "no position (can still save)",
    save: "Save",
    saved: "Saved; waiting to send.",
    err_kg_zero: "Enter the mass.",
    err_kg_decimals: "At most 3 decimals.",
    err_kg_cap: "Above the cap of {cap} kg: check the scale or split the load.",
    err_units: "Enter the number of units.",
    dup_ask: "A load of this plaque and material was recorded less than {min} minutes ago ({kg} kg at {time}). Add another?",
    dup_yes: "Add another",
    outbox_title: "Outbox",
    outbox_empty: "Nothing recorded.",
    sync_now: "Send now",
    syncing: "Sending…",
    st_queued: "waiting to send",
    st_sending: "sending",
    st_sent: "sent {code}",
    st_refused: "refused: {why}",
    st_dropped: "given up",
    retry: "Retry",
    fix: "Fix and retry",
    give_up: "Give up",
    give_up_ask: "Give this item up? It will not be sent (it stays listed).",
    fix_time_all: "Correct the time of {n} refused items by the server's clock and resend",
    login_again: "The login expired: log in again (unsent items are kept).",
    last_sync: "last sync {time}",
    never_synced: "not synced yet",
    handover_label: "{source} → {dest} · {material} {kg} kg",
    receipt_label: "intake {code} · received {kg} kg",
    intake_title: "Loads on their way",
    intake_empty: "No load in transit.",
    intake_cached: "offline: the list saved at {time}",
    refresh: "Refresh",
    declared: "declared {kg} kg",
    recorded: "{time} by {who}",
    confirmed_locally: "confirmed, waiting to send",
    receive_title: "Confirm {code}",
    received_kg: "Received (kg)",
    refused_kg: "Refused (kg)",
    refusal_reason: "Reason for refusal",
    reason_other: "Other (write it)",
    reasons: ["soil and stones", "wet or mouldy", "mixed with other waste", "not a material this site takes"],
    reason_text: "Reason",
    route: "Treatment route",
    confirm: "Confirm receipt",
    err_received: "Enter the received mass.",
    err_refused: "Refused cannot exceed received.",
    err_reason: "Give a reason for the refusal (3 characters or more).",
    err_route: "Choose the treatment route.",
    unknown_load: "This load is not in the saved list; the server checks it on confirmation.",
    clock_ahead: "The phone's clock is {min} min ahead of the server: records more than 5 min ahead are refused. Set the clock.",
    clock_behind: "The phone's clock is {days} days behind the server: records older than 30 days are refused. Set the clock.",
    material_missing: "material {code}",
  },
};

// A pictogram per indicator: a coloured badge with one character, drawn with the page's own
// font (a phone without an emoji font still shows it).
const PICTOGRAMS = {
  film: ["膜", "#2f7fb5"], manure: ["粪", "#8a5a2b"], straw: ["秸", "#b08a12"],
  industrial: ["工", "#5b6770"], construction: ["建", "#9a4f3a"], household: ["垃", "#2e7d4f"],
  appliance: ["电", "#6a4fa3"], recyclable: ["再", "#12806f"],
};
function pictogram(materialCode) {
  const [glyph, colour] = PICTOGRAMS[materialOf(materialCode)?.indicator] || ["物", "#555"];
  const el = h("span", { class: "pict", "aria-hidden": "true" }, glyph);
  el.style.background = colour;
  return el;
}
const DUP_MINUTES = 5;
const SKEW_WARN_MS = 4 * 60 * 1000; // the server refuses more than 5 min ahead
const WINDOW_WARN_MS = 29 * 24 * 3600 * 1000; // … and older than 30 days
const API = "/api/v1";

let lang = localStorage.getItem("wf-lang") || "zh";
function t(key, vars) {
  let s = (WORDS[lang] && WORDS[lang][key]) ?? WORDS.zh[key] ?? key;
  if (vars && typeof s === "string") {
    s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));
  }
  return s;
}

// --- tiny DOM helper ------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function show(...nodes) {
  const view = document.getElementById("view");
  stopCamera();
  view.replaceChildren(...nodes);
  window.scrollTo(0, 0);
}

function banner(text, kind) {
  const b = document.getElementById("banner");
  b.hidden = !text;
  b.textContent = text || "";
  b.className = kind === "error" ? "error" : "notice";
}

function ask(text, yes) {
  const dialog = document.getElementById("ask");
  document.getElementById("ask-text").textContent = text;
  document.getElementById("ask-yes").textContent = yes;
  document.getElementById("ask-no").textContent = t("cancel");
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

function localTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

function kgText(x) {
  return Number(x).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: 3 });
}

// --- IndexedDB ------------------------------------------------------------------------------

const db = (() => {
  let opened = null;
  function open() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const req = indexedDB.open("wasteflow-field", 1);
        req.onupgradeneeded = () => {
          const d = req.result;
          d.createObjectStore("kv");
          d.createObjectStore("outbox", { keyPath: "id", autoIncrement: true });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return opened;
  }
  async function run(store, mode, fn) {
    const d = await open();
    return new Promise((resolve, reject) => {
      const tx = d.transaction(store, mode);
      const result = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(result && "result" in result ? result.result : result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  }
  return {
    get: (key) => run("kv", "readonly", (s) => s.get(key)),
    set: (key, value) => run("kv", "readwrite", (s) => s.put(value, key)),
    del: (key) => run("kv", "readwrite", (s) => s.delete(key)),
    items: () => run("outbox", "readonly", (s) => s.getAll()),
    item: (id) => run("outbox", "readonly", (s) => s.get(id)),
    // Resolves once the item is on disk: nothing is sent before that.
    add: (item) => run("outbox", "readwrite", (s) => s.add(item)),
    put: (item) => run("outbox", "readwrite", (s) => s.put(item)),
    clear: () => run("outbox", "readwrite", (s) => s.clear()),
  };
})();

// --- state ----------------------------------------------------------------------------------

const state = {
  session: null, // {token, expires_at, account}
  bundle: null, // GET /field/bundle
  clock: null, // {offset_ms, at}: server − phone
  lastSync: null,
  position: null, // {lat, lon, accuracy, at}
  online: navigator.onLine,
};

function isCollector() {
  const role = state.session?.account.role;
  return role === "collector" || role === "site_operator";
}
function isReceiver() {
  const role = state.session?.account.role;
  return role === "site_operator" || role === "processor";
}

function materialOf(code) {
  return state.bundle?.materials.find((m) => m.code === code) || null;
}
function materialName(code) {
  const m = materialOf(code);
  if (!m) return t("material_missing", { code });
  return lang === "zh" ? m.name_zh : m.name_en;
}
function knownSites() {
  const all = new Map();
  for (const s of state.bundle?.sites || []) all.set(s.code, s);
  for (const r of state.bundle?.rounds || []) {
    if (r.collection_point) all.set(r.collection_point.code, r.collection_point);
    for (const s of r.sources) all.set(s.code, s);
  }
  return all;
}
function siteName(code) {
  const s = knownSites().get(code);
  if (!s) return code;
  return lang === "en" && s.name_en ? s.name_en : s.name;
}

// --- network --------------------------------------------------------------------------------

class HttpError extends Error {
  constructor(status, body) {
    super(body?.detail || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function noteClock(response, sentAt) {
  const date = response.headers.get("Date");
  if (!date) return;
  const server = Date.parse(date);
  if (Number.isNaN(server)) return;
  const phone = (sentAt + Date.now()) / 2;
  // Date has 1 s resolution: half a second either way is noise.
  state.clock = { offset_ms: server + 500 - phone, at: new Date().toISOString() };
  db.set("clock", state.clock);
  renderClock();
}

async function api(path, { method = "GET", body, form, headers = {} } = {}) {
  const h2 = { ...headers };
  if (state.session) h2.Authorization = `Bearer ${state.session.token}`;
  let payload;
  if (form) payload = new URLSearchParams(form);
  else if (body !== undefined) {
    h2["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const sentAt = Date.now();
  const response = await fetch(API + path, { method, headers: h2, body: payload, cache: "no-store" });
  noteClock(response, sentAt);
  let data = null;
  const text = await response.text();
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!response.ok) throw new HttpError(response.status, data);
  return { data, response };
}

function setOnline(on) {
  state.online = on;
  const net = document.getElementById("net");
  net.textContent = on ? t("online") : t("offline");
  net.className = on ? "net on" : "net off";
}

// --- clock ----------------------------------------------------------------------------------

function clockProblem() {
  if (!state.clock) return null;
  const ahead = -state.clock.offset_ms; // phone − server
  if (ahead > SKEW_WARN_MS) return t("clock_ahead", { min: Math.round(ahead / 60000) });
  if (-ahead > WINDOW_WARN_MS) return t("clock_behind", { days: Math.round(-ahead / 86400000) });
  return null;
}
function renderClock() {
  const p = document.getElementById("clock-warning");
  const problem = clockProblem();
  p.hidden = !problem;
  p.textContent = problem || "";
}

// --- QR payloads and signatures -------------------------------------------------------------

const PAYLOAD_RE = /^(https?:\/\/[^\s?#]+)\/q\/([A-Z])\/([A-Z0-9-]{1,32})\?k=([a-z0-9]{4,8})&s=([A-Za-z0-9_-]{86})$/;

function b64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const raw = atob(b64);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

// What a scanned text is, checked as far as the phone can: {kind, ident, kid, verified} or
// {error: reason}. A key the phone has not seen leaves the decision to the server.
async function checkPayload(text) {
  const m = PAYLOAD_RE.exec((text || "").trim());
  if (!m) return { error: "malformed" };
  const [, , letter, ident, kid, sig] = m;
  const kind = { S: "site", H: "handover" }[letter];
  if (!kind) return { error: "malformed" };
  const key = (state.bundle?.keys || []).find((k) => k.kid === kid);
  if (!key) return { kind, ident, kid, verified: false, payload: m[0] };
  if (key.status === "revoked") return { error: "revoked_key" };
  try {
    const pub = await crypto.subtle.importKey("raw", b64url(key.public_key), { name: "Ed25519" }, false, ["verify"]);
    const message = new TextEncoder().encode(`wasteflow-qr/1\n${letter}\n${ident}\n${kid}`);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, pub, b64url(sig), message);
    if (!ok) return { error: "bad_signature" };
  } catch {
    return { error: "bad_signature" };
  }
  return { kind, ident, kid, verified: true, payload: m[0] };
}

function reasonText(reason, wanted) {
  if (reason === "wrong_kind") return t(`reason_wrong_kind_${wanted}`);
  return t(`reason_${reason}`) || reason;
}

// --- camera and decoding --------------------------------------------------------------------

let camera = null; // {stream, timer}
let zxingReady = null;

function zxing() {
  if (!zxingReady) {
    const wasm = new URL("vendor/zxing-wasm/zxing_reader.wasm", location.href).href;
    zxingReady = ZXingWASM.prepareZXingModule({
      overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasm : prefix + path) },
      fireImmediately: true,
    });
  }
  return zxingReady;
}

async function decode(source) {
  await zxing();
  const results = await ZXingWASM.readBarcodes(source, {
    formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1,
  });
  const hit = results.find((r) => r.isValid && r.text);
  return hit ? hit.text : null;
}

function stopCamera() {
  if (!camera) return;
  clearTimeout(camera.timer);
  camera.stopped = true;
  for (const track of camera.stream?.getTracks() || []) track.stop();
  camera = null;
}

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

// The scanning screen: camera first, a photo as the fallback. `wanted` is "plaque" or "manifest".
function scanView(wanted, onPayload) {
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
    const checked = await checkPayload(text);
    const wantKind = wanted === "plaque" ? "site" : "handover";
    if (!checked.error && checked.kind !== wantKind) checked.error = "wrong_kind";
    if (checked.error) {
      error.hidden = false;
      error.textContent = t("plaque_forged", { why: reasonText(checked.error, wanted) });
      error.dataset.reason = checked.error;
      startCamera(video, status, handle);
      return;
    }
    onPayload(checked);
  }
  show(
    h("section", { class: "scan" },
      h("h1", {}, wanted === "plaque" ? t("scan_plaque") : t("scan_manifest")),
      h("p", { class: "muted" }, wanted === "plaque" ? t("scan_hint_plaque") : t("scan_hint_manifest")),
      clockProblem() ? h("p", { class: "warn" }, clockProblem()) : null,
      h("div", { class: "viewfinder" }, video, h("div", { class: "frame" })),
      status, error,
      h("label", { for: "photo", class: "button secondary" }, t("choose_photo")), file,
      h("button", { type: "button", class: "link", onclick: () => go("#home") }, t("cancel")),
    ),
  );
  startCamera(video, status, handle);
}

// --- position -------------------------------------------------------------------------------

function locate() {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(
    (p) => {
      state.position = {
        lat: Math.round(p.coords.latitude * 1e6) / 1e6,
        lon: Math.round(p.coords.longitude * 1e6) / 1e6,
        accuracy: Math.round(p.coords.accuracy),
        at: Date.now(),
      };
      const el = document.getElementById("position");
      if (el) el.textContent = t("position_ok", { acc: state.position.accuracy });
    },
    () => {
      const el = document.getElementById("position");
      if (el && !state.position) el.textContent = t("position_none");
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
  );
}

// --- the collector's flow -------------------------------------------------------------------

function roundFor(sourceCode) {
  return (state.bundle?.rounds || []).find((r) => r.sources.some((s) => s.code === sourceCode));
}

function destinations(source) {
  // Where a load from this source may go: the round's collection point first, then the other
  // receiving sites the phone knows of (the account's own), never the source itself.
  const list = [];
  const preset = roundFor(source.code)?.collection_point;
  if (preset) list.push(preset);
  for (const s of state.bundle?.sites || []) {
    if (s.kind !== "source" && s.code !== source.code && !list.some((x) => x.code === s.code)) list.push(s);
  }
  for (const r of state.bundle?.rounds || []) {
    const cp = r.collection_point;
    if (cp && cp.code !== source.code && !list.some((x) => x.code === cp.code)) list.push(cp);
  }
  return list;
}

function numberPad(input, onChange) {
  const press = (key) => {
    let v = input.value;
    if (key === "⌫") v = v.slice(0, -1);
    else if (key === "C") v = "";
    else if (key === ".") v = v.includes(".") ? v : (v || "0") + ".";
    else v = v === "0" ? key : v + key;
    input.value = v;
    onChange();
  };
  return h("div", { class: "pad", role: "group" },
    ["7", "8", "9", "4", "5", "6", "1", "2", "3", ".", "0", "⌫"].map((k) =>
      h("button", { type: "button", "data-key": k, onclick: () => press(k) }, k)));
}

function kgProblem(text, cap) {
  if (!text || Number(text) <= 0 || Number.isNaN(Number(text))) return t("err_kg_zero");
  if ((text.split(".")[1] || "").length > 3) return t("err_kg_decimals");
  if (cap && Number(text) > cap) return t("err_kg_cap", { cap: kgText(cap) });
  return null;
}

async function loadForm(scan, previous) {
  // What this phone records most comes first: the usual load is one tap away.
  const used = new Map();
  for (const i of await db.items()) if (i.kind === "handover") used.set(i.body.material, (used.get(i.body.material) || 0) + 1);
  const sites = knownSites();
  const source = sites.get(scan.ident);
  if (!source) {
    banner(t("not_on_round", { code: scan.ident }), "error");
    go("#home");
    return;
  }
  locate();
  const dests = destinations(source);
  let dest = dests.find((d) => d.code === previous?.body.to_site) || dests[0];
  let material = previous?.body.material || null;
  const kg = h("input", {
    id: "kg", inputmode: "decimal", readonly: true, class: "kg", value: previous ? String(previous.body.declared_mass_kg) : "",
  });
  const units = h("input", { id: "units", type: "number", inputmode: "numeric", min: "1", value: previous?.body.units ?? "" });
  const capNote = h("span", { class: "muted", id: "cap" });
  const err = h("p", { class: "error", role: "alert", id: "form-error", hidden: true });
  const materialsBox = h("div", { class: "materials", id: "materials" });
  const unitsRow = h("div", { class: "units-row", hidden: true }, h("label", { for: "units" }, t("units")), units);
  const destSelect = h("select", { id: "dest", onchange: () => { dest = dests.find((d) => d.code === destSelect.value); drawMaterials(); } },
    dests.map((d) => h("option", { value: d.code, selected: d === dest }, `${lang === "en" && d.name_en ? d.name_en : d.name} (${d.code})`)));
  const cap = () => materialOf(material)?.max_handover_kg;
  function refresh() {
    const m = materialOf(material);
    capNote.textContent = m ? t("cap", { cap: kgText(cap()) }) : "";
    unitsRow.hidden = !m?.counts_units;
    err.hidden = true;
  }
  function drawMaterials() {
    const codes = source.materials.filter((c) => !dest || dest.materials.includes(c))
      .sort((a, b) => (used.get(b) || 0) - (used.get(a) || 0));
    if (!codes.includes(material)) material = codes.length === 1 ? codes[0] : null;
    materialsBox.replaceChildren(
      ...(codes.length ? codes.map((c) => h("button", {
        type: "button", class: c === material ? "material chosen" : "material", "data-code": c,
        "aria-pressed": c === material ? "true" : "false",
        onclick: () => { material = c; drawMaterials(); },
      }, pictogram(c), materialName(c)))
        : [h("p", { class: "muted" }, t("no_material"))]),
    );
    refresh();
  }
  async function save() {
    const m = materialOf(material);
    let problem = !m ? t("material") + "?" : kgProblem(kg.value, cap());
    if (!problem && m.counts_units && !(Number(units.value) >= 1)) problem = t("err_units");
    if (problem) {
      err.hidden = false;
      err.textContent = problem;
      return;
    }
    const body = {
      source_plaque: scan.payload,
      to_site: dest.code,
      material,
      declared_mass_kg: Number(kg.value),
      mass_method: "weighed",
      device_time: previous?.body.device_time || new Date().toISOString(),
    };
    if (m.counts_units) body.units = Number(units.value);
    if (state.position) {
      body.lat = state.position.lat;
      body.lon = state.position.lon;
    } else if (previous?.body.lat !== undefined) {
      body.lat = previous.body.lat;
      body.lon = previous.body.lon;
    }
    if (!previous) {
      const recent = (await db.items()).filter((i) => i.kind === "handover" && i.state !== "dropped" &&
        i.plaque === scan.ident && i.body.material === material &&
        Date.now() - Date.parse(i.created_at) < DUP_MINUTES * 60000);
      if (recent.length) {
        const last = recent[recent.length - 1];
        const yes = await ask(t("dup_ask", { min: DUP_MINUTES, kg: kgText(last.body.declared_mass_kg), time: localTime(last.created_at) }), t("dup_yes"));
        if (!yes) return;
      }
    }
    if (previous) {
      // A fixed item is a new request: a new key, so the server never confuses it with the
      // refused one (a refused request leaves its key unused anyway).
      Object.assign(previous, { body, key: crypto.randomUUID(), state: "queued", error: null, updated_at: new Date().toISOString() });
      await db.put(previous);
    } else {
      await db.add({
        kind: "handover", key: crypto.randomUUID(), path: "/handovers/batch", body,
        plaque: scan.ident, verified: scan.verified, state: "queued",
        created_at: new Date().toISOString(), updated_at: new Date().toISOString(),
      });
    }
    banner(t("saved"));
    go("#outbox");
    sync();
  }
  show(
    h("section", { class: "load" },
      h("h1", {}, siteName(source.code)),
      h("p", { class: scan.verified ? "ok" : "warn", id: "verified" }, scan.verified ? t("verified") : t("unverified")),
      clockProblem() ? h("p", { class: "warn" }, clockProblem()) : null,
      h("h2", {}, t("material")), materialsBox,
      h("h2", {}, t("kg"), " ", capNote),
      kg, numberPad(kg, refresh), unitsRow,
      h("label", { for: "dest" }, t("destination")), destSelect,
      h("p", { class: "muted" }, t("position"), "：", h("span", { id: "position" }, state.position ? t("position_ok", { acc: state.position.accuracy }) : t("position_wait"))),
      err,
      h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", onclick: () => go("#home") }, t("cancel")),
        h("button", { type: "button", id: "save", onclick: save }, t("save"))),
    ),
  );
  drawMaterials();
}

// --- outbox and sync ------------------------------------------------------------------------

// "sending" means sent with no answer yet: between syncs it waits like any queued item (the
// next sync sends it again with the same key, and the server answers "duplicate" if it has it).
function shownState(item) {
  return item.state === "sending" && !syncing ? "queued" : item.state;
}

function stateWords(item) {
  switch (shownState(item)) {
    case "sent": return t("st_sent", { code: item.code });
    case "refused": return t("st_refused", { why: item.error });
    case "dropped": return t("st_dropped");
    case "sending": return t("st_sending");
    default: return t("st_queued");
  }
}

function itemLabel(item) {
  if (item.kind === "receipt") return t("receipt_label", { code: item.code_ref, kg: kgText(item.body.received_mass_kg) });
  return t("handover_label", {
    source: siteName(item.plaque), dest: siteName(item.body.to_site),
    material: materialName(item.body.material), kg: kgText(item.body.declared_mass_kg),
  });
}

let syncing = false;
let syncAgain = false;

async function sync() {
  if (!state.session || !navigator.onLine) return;
  if (syncing) {
    syncAgain = true;
    return;
  }
  syncing = true;
  try {
    // One tab sends at a time, so two open tabs never send one outbox twice at once.
    await navigator.locks.request("wasteflow-field-sync", async () => {
      await sendHandovers();
      await sendReceipts();
    });
    state.lastSync = new Date().toISOString();
    db.set("lastSync", state.lastSync);
    setOnline(true);
    if (isReceiver()) await loadIntake().catch(() => {});
  } catch (e) {
    if (e instanceof HttpError && e.status === 401) {
      banner(t("login_again"), "error");
      state.session = null;
      await db.del("session");
      go("#login");
    } else if (!(e instanceof HttpError)) {
      setOnline(false);
    }
  } finally {
    syncing = false;
    rerender();
    if (syncAgain) {
      syncAgain = false;
      sync();
    }
  }
}

async function sendHandovers() {
  const waiting = (await db.items()).filter((i) => i.kind === "handover" && (i.state === "queued" || i.state === "sending"));
  for (let start = 0; start < waiting.length; start += 100) {
    const chunk = waiting.slice(start, start + 100);
    for (const item of chunk) {
      item.state = "sending";
      await db.put(item);
    }
    const { data } = await api("/handovers/batch", {
      method: "POST",
      body: { items: chunk.map((i) => ({ ...i.body, idempotency_key: i.key })) },
    });
    for (const r of data.results) {
      const item = chunk[r.index];
      if (r.result === "created" || r.result === "duplicate") {
        Object.assign(item, { state: "sent", code: r.handover.code, manifest: r.handover.manifest, error: null });
      } else {
        Object.assign(item, { state: "refused", error: r.error?.detail || r.result, error_field: r.error?.field || null });
      }
      item.updated_at = new Date().toISOString();
      await db.put(item);
    }
  }
}

async function sendReceipts() {
  const waiting = (await db.items()).filter((i) => i.kind === "receipt" && (i.state === "queued" || i.state === "sending"));
  for (const item of waiting) {
    item.state = "sending";
    await db.put(item);
    try {
      const { data } = await api(item.path, { method: "POST", body: item.body, headers: { "Idempotency-Key": item.key } });
      Object.assign(item, { state: "sent", code: data.code, error: null });
    } catch (e) {
      if (!(e instanceof HttpError) || e.status >= 500 || e.status === 401 || e.status === 429) {
        item.state = "queued";
        await db.put(item);
        throw e;
      }
      Object.assign(item, { state: "refused", error: e.body?.detail || e.message, error_field: e.body?.field || null });
    }
    item.updated_at = new Date().toISOString();
    await db.put(item);
  }
}

async function outboxView() {
  const items = (await db.items()).reverse();
  const timeRefused = items.filter((i) => i.state === "refused" && i.error_field === "device_time");
  const list = h("ol", { class: "outbox", id: "outbox" },
    items.map((item) => h("li", { class: `item ${shownState(item)}`, "data-id": item.id, "data-state": shownState(item) },
      h("div", { class: "label" }, itemLabel(item)),
      h("div", { class: "state" }, stateWords(item)),
      h("div", { class: "muted small" }, localTime(item.created_at), item.kind === "handover" && !item.verified ? " · ⚠" : ""),
      item.state === "refused" ? h("div", { class: "row" },
        h("button", { type: "button", class: "secondary", onclick: () => giveUp(item) }, t("give_up")),
        item.kind === "handover"
          ? h("button", { type: "button", onclick: () => fixItem(item) }, t("fix"))
          : h("button", { type: "button", onclick: () => retryItem(item) }, t("retry")),
      ) : null,
    )));
  show(h("section", {},
    h("h1", {}, t("outbox_title")),
    h("p", { class: "muted", id: "last-sync" }, state.lastSync ? t("last_sync", { time: localTime(state.lastSync) }) : t("never_synced")),
    h("button", { type: "button", id: "sync", onclick: () => sync() }, syncing ? t("syncing") : t("sync_now")),
    timeRefused.length && state.clock ? h("button", { type: "button", class: "secondary", onclick: () => fixTimes(timeRefused) }, t("fix_time_all", { n: timeRefused.length })) : null,
    items.length ? list : h("p", { class: "muted" }, t("outbox_empty")),
  ));
}

async function giveUp(item) {
  if (!(await ask(t("give_up_ask"), t("give_up")))) return;
  item.state = "dropped";
  item.updated_at = new Date().toISOString();
  await db.put(item);
  rerender();
}

async function retryItem(item) {
  Object.assign(item, { state: "queued", error: null, key: crypto.randomUUID() });
  await db.put(item);
  sync();
  rerender();
}

async function fixTimes(items) {
  // The phone's clock was off by the measured offset: every refused time moves by it at once.
  for (const item of items) {
    const fixed = new Date(Date.parse(item.body.device_time) + state.clock.offset_ms).toISOString();
    Object.assign(item, { body: { ...item.body, device_time: fixed }, key: crypto.randomUUID(), state: "queued", error: null });
    await db.put(item);
  }
  sync();
}

function fixItem(item) {
  const m = PAYLOAD_RE.exec(item.body.source_plaque);
  loadForm({ ident: item.plaque, payload: item.body.source_plaque, verified: item.verified, kid: m?.[4] }, item);
}

// --- intake ---------------------------------------------------------------------------------

async function loadIntake() {
  const mine = (state.bundle?.sites || []).filter((s) => s.kind !== "source");
  const loads = [];
  for (const site of mine) {
    const { data } = await api(`/handovers?site=${encodeURIComponent(site.code)}&status=in_transit&limit=500`);
    for (const h2 of data.items) if (h2.to_site === site.code) loads.push(h2);
  }
  loads.sort((a, b) => a.recorded_at.localeCompare(b.recorded_at) || a.id - b.id);
  const intake = { loads, at: new Date().toISOString() };
  await db.set("intake", intake);
  return intake;
}

async function intakeView() {
  const intake = (await db.get("intake")) || { loads: [], at: null };
  const pending = new Set((await db.items()).filter((i) => i.kind === "receipt" && i.state !== "dropped" && i.state !== "refused").map((i) => i.code_ref));
  const rows = intake.loads.map((l) => h("li", {
    class: pending.has(l.code) ? "load done" : "load", "data-code": l.code,
  },
    h("button", { type: "button", class: "load-button", onclick: () => go(`#receive/${l.code}`), disabled: pending.has(l.code) },
      h("strong", {}, l.code), " ",
      h("span", {}, `${siteName(l.from_site)} → ${siteName(l.to_site)}`),
      h("span", { class: "block" }, pictogram(l.material), " ", materialName(l.material), " · ", t("declared", { kg: kgText(l.declared_mass_kg) })),
      h("span", { class: "muted block" }, t("recorded", { time: localTime(l.recorded_at), who: l.recorded_by || "—" })),
      pending.has(l.code) ? h("span", { class: "state block" }, t("confirmed_locally")) : null,
    )));
  show(h("section", {},
    h("h1", {}, t("intake_title")),
    !state.online && intake.at ? h("p", { class: "muted" }, t("intake_cached", { time: localTime(intake.at) })) : null,
    h("div", { class: "row" },
      h("button", { type: "button", onclick: () => go("#scan/manifest") }, t("scan_manifest")),
      h("button", { type: "button", class: "secondary", id: "refresh", onclick: async () => { await loadIntake().catch(() => setOnline(false)); rerender(); } }, t("refresh"))),
    rows.length ? h("ol", { class: "intake", id: "intake" }, rows) : h("p", { class: "muted" }, t("intake_empty")),
  ));
}

async function receiveForm(code, manifest) {
  const intake = (await db.get("intake")) || { loads: [] };
  const load = intake.loads.find((l) => l.code === code) || null;
  const site = (state.bundle?.sites || []).find((s) => s.code === load?.to_site) ||
    (state.bundle?.sites || []).find((s) => s.kind !== "source");
  const material = load ? materialOf(load.material) : null;
  // Routes: only those the site runs and the material may take (the API refuses the others).
  const allowed = material?.attributes?.routes;
  const routes = (site?.routes || []).filter((r) => !allowed || allowed.includes(r));
  const received = h("input", { id: "received", inputmode: "decimal", type: "text", value: load ? String(load.declared_mass_kg) : "" });
  const refused = h("input", { id: "refused", inputmode: "decimal", type: "text", value: "0" });
  const reason = h("select", { id: "reason" },
    h("option", { value: "" }, "—"),
    t("reasons").map((r) => h("option", { value: r }, r)),
    h("option", { value: "other" }, t("reason_other")));
  const reasonOther = h("input", { id: "reason-text", type: "text", maxlength: "256", hidden: true, placeholder: t("reason_text") });
  reason.addEventListener("change", () => { reasonOther.hidden = reason.value !== "other"; err.hidden = true; });
  const refusalBox = h("div", { class: "refusal", hidden: true },
    h("label", { for: "reason" }, t("refusal_reason")), reason, reasonOther);
  refused.addEventListener("input", () => { refusalBox.hidden = !(Number(refused.value) > 0); });
  let route = routes.length === 1 ? routes[0] : null;
  const routeBox = h("div", { class: "routes", id: "routes" });
  function drawRoutes() {
    routeBox.replaceChildren(...routes.map((r) => {
      const info = state.bundle.routes.find((x) => x.code === r);
      return h("button", {
        type: "button", class: r === route ? "material chosen" : "material", "data-route": r,
        "aria-pressed": r === route ? "true" : "false", onclick: () => { route = r; drawRoutes(); },
      }, info ? (lang === "zh" ? info.name_zh : info.name_en) : r);
    }));
  }
  const err = h("p", { class: "error", role: "alert", id: "form-error", hidden: true });
  async function confirm() {
    const fail = (m) => { err.hidden = false; err.textContent = m; };
    const rec = received.value.trim();
    const ref = refused.value.trim() || "0";
    const recProblem = kgProblem(rec, material?.max_load_kg);
    if (recProblem) return fail(recProblem === t("err_kg_zero") ? t("err_received") : recProblem);
    if (Number.isNaN(Number(ref)) || Number(ref) < 0 || (ref.split(".")[1] || "").length > 3) return fail(t("err_refused"));
    if (Number(ref) > Number(rec)) return fail(t("err_refused"));
    let why = null;
    if (Number(ref) > 0) {
      why = reason.value === "other" ? reasonOther.value.trim() : reason.value;
      if (!why || why.length < 3) return fail(t("err_reason"));
    }
    const accepted = Number(rec) - Number(ref);
    if (routes.length && accepted > 0 && !route) return fail(t("err_route"));
    const body = { received_mass_kg: Number(rec), refused_mass_kg: Number(ref) };
    if (why) body.refusal_reason = why;
    if (routes.length && accepted > 0) body.route = route;
    if (load?.units) body.received_units = load.units;
    const item = {
      kind: "receipt", key: crypto.randomUUID(), code_ref: code, state: "queued",
      created_at: new Date().toISOString(), updated_at: new Date().toISOString(),
      path: manifest ? "/handovers/receipt" : `/handovers/${encodeURIComponent(code)}/receipt`,
      body: manifest ? { manifest, ...body } : body,
    };
    await db.add(item);
    banner(t("saved"));
    go("#intake");
    sync();
  }
  show(h("section", { class: "receive" },
    h("h1", {}, t("receive_title", { code })),
    load ? h("p", {}, `${siteName(load.from_site)} → ${siteName(load.to_site)}`, h("br"),
      materialName(load.material), " · ", t("declared", { kg: kgText(load.declared_mass_kg) }))
      : h("p", { class: "warn" }, t("unknown_load")),
    h("label", { for: "received" }, t("received_kg"), material ? ` (${t("cap", { cap: kgText(material.max_load_kg) })})` : ""), received,
    h("label", { for: "refused" }, t("refused_kg")), refused,
    refusalBox,
    routes.length ? h("h2", {}, t("route")) : null, routeBox,
    err,
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: () => go("#intake") }, t("cancel")),
      h("button", { type: "button", id: "confirm", onclick: confirm }, t("confirm"))),
  ));
  drawRoutes();
}

// --- login and home -------------------------------------------------------------------------

function loginView() {
  const user = h("input", { id: "username", autocomplete: "username", required: true, autocapitalize: "none" });
  const pass = h("input", { id: "password", type: "password", autocomplete: "current-password", required: true });
  const err = h("p", { class: "error", role: "alert", id: "login-error", hidden: true });
  const form = h("form", { class: "stack", id: "login-form" },
    h("label", { for: "username" }, t("username")), user,
    h("label", { for: "password" }, t("password")), pass,
    err, h("button", { type: "submit" }, t("login")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    err.hidden = true;
    try {
      const { data } = await api("/auth/token", { method: "POST", form: { username: user.value.trim(), password: pass.value } });
      state.session = { token: data.access_token, expires_at: data.expires_at, account: data.account };
      await db.set("session", state.session);
      await refreshBundle();
      banner("");
      go("#home");
      sync();
    } catch (ex) {
      err.hidden = false;
      if (ex instanceof HttpError && ex.status === 401) err.textContent = t("login_wrong");
      else if (ex instanceof HttpError && ex.status === 429) err.textContent = t("login_throttled", { s: ex.body?.retry_after_s ?? "?" });
      else if (ex instanceof HttpError) err.textContent = t("login_failed", { why: ex.message });
      else err.textContent = t("login_offline");
    }
  });
  show(h("section", { class: "card login" }, h("h1", {}, t("login_title")), h("p", { class: "muted" }, t("login_hint")), form));
}

async function refreshBundle() {
  const { data } = await api("/field/bundle");
  state.bundle = data;
  state.session.account = data.account;
  await db.set("bundle", data);
  await db.set("session", state.session);
}

async function logout() {
  const waiting = (await db.items()).filter((i) => i.state === "queued" || i.state === "sending").length;
  if (waiting && !(await ask(t("logout_pending", { n: waiting }), t("logout")))) return;
  if (state.online) api("/auth/logout", { method: "POST" }).catch(() => {});
  state.session = null;
  state.bundle = null;
  await db.del("session");
  await db.del("bundle");
  await db.del("intake");
  await db.clear();
  go("#login");
}

function homeView() {
  const a = state.session.account;
  if (!isCollector() && !isReceiver()) {
    show(h("section", { class: "card" }, h("p", {}, t("not_for_role")), h("a", { href: "/dashboard", class: "button" }, t("dashboard")),
      h("button", { type: "button", class: "link", onclick: logout }, t("logout"))));
    return;
  }
  if (!isCollector()) {
    go("#intake");
    return;
  }
  const rounds = (state.bundle?.rounds || []).map((r) => h("li", {},
    h("strong", {}, r.name), h("br"),
    h("span", { class: "muted" }, t("sources_n", { n: r.sources.length, dest: r.collection_point ? siteName(r.collection_point.code) : "—" }))));
  show(h("section", {},
    h("h1", {}, t("hello", { name: a.display_name })),
    h("button", { type: "button", class: "big", id: "scan", onclick: () => go("#scan/plaque") }, t("scan_plaque")),
    rounds.length ? h("h2", {}, t("rounds")) : null,
    rounds.length ? h("ul", { class: "rounds" }, rounds) : null,
    h("button", { type: "button", class: "link", id: "logout", onclick: logout }, t("logout")),
  ));
}

function renderTabs() {
  const nav = document.getElementById("tabs");
  if (!state.session || !(isCollector() || isReceiver())) {
    nav.hidden = true;
    return;
  }
  const here = location.hash.split("/")[0] || "#home";
  const tabs = [];
  if (isCollector()) tabs.push(["#home", t("tab_collect")]);
  if (isReceiver()) tabs.push(["#intake", t("tab_intake")]);
  tabs.push(["#outbox", t("tab_outbox")]);
  nav.replaceChildren(...tabs.map(([hash, label]) => h("a", { href: hash, class: here === hash ? "current" : "", "aria-current": here === hash ? "page" : null }, label)));
  nav.hidden = false;
}

// --- routing --------------------------------------------------------------------------------

let pendingScan = null;

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function rerender() {
  // Redraw lists in place; never a form someone is filling in.
  const here = location.hash.split("/")[0];
  if (here === "#outbox" || here === "#intake") route();
}

async function route() {
  renderTabs();
  document.getElementById("title").textContent = t("title");
  document.getElementById("lang").textContent = t("other_lang");
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  if (!state.session) {
    if (location.hash !== "#login") {
      location.hash = "#login";
      return;
    }
    loginView();
    return;
  }
  const [head, arg] = location.hash.split("/");
  switch (head) {
    case "#scan":
      banner(""); // the last save's note belongs to the last load
      if (arg === "manifest") {
        scanView("manifest", (scan) => receiveForm(scan.ident, scan.payload));
      } else {
        locate();
        scanView("plaque", (scan) => { pendingScan = scan; loadForm(scan); });
      }
      return;
    case "#outbox":
      return outboxView();
    case "#intake":
      return intakeView();
    case "#receive":
      return receiveForm(decodeURIComponent(arg || ""), null);
    case "#login":
    case "#home":
    default:
      if (location.hash !== "#home") {
        location.hash = "#home";
        return;
      }
      return homeView();
  }
}

async function start() {
  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("wf-lang", lang);
    setOnline(state.online);
    renderClock();
    route();
  });
  state.session = (await db.get("session")) || null;
  state.bundle = (await db.get("bundle")) || null;
  state.clock = (await db.get("clock")) || null;
  state.lastSync = (await db.get("lastSync")) || null;
  setOnline(navigator.onLine);
  renderClock();
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => { setOnline(true); sync(); });
  window.addEventListener("offline", () => setOnline(false));
  setInterval(() => { if (navigator.onLine) sync(); }, 30000);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => {});
  await route();
  if (state.session && navigator.onLine) {
    refreshBundle().catch(() => {}).finally(() => sync());
  }
  document.body.dataset.ready = "1";
}

start();
