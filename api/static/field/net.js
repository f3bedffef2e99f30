// The JSON API: every answer's Date header measures the phone's clock against the server's.
import { db } from "./db.js";
import { t } from "./i18n.js";
import { state } from "./state.js";

const API = "/api/v1";
const SKEW_WARN_MS = 4 * 60 * 1000; // the server refuses more than 5 min ahead
const WINDOW_WARN_MS = 29 * 24 * 3600 * 1000; // … and older than 30 days

export class HttpError extends Error {
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

export async function api(path, { method = "GET", body, form, headers = {} } = {}) {
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

export function setOnline(on) {
  state.online = on;
  const net = document.getElementById("net");
  net.textContent = on ? t("online") : t("offline");
  net.className = on ? "net on" : "net off";
}

export function clockProblem() {
  if (!state.clock) return null;
  const ahead = -state.clock.offset_ms; // phone − server
  if (ahead > SKEW_WARN_MS) return t("clock_ahead", { min: Math.round(ahead / 60000) });
  if (-ahead > WINDOW_WARN_MS) return t("clock_behind", { days: Math.round(-ahead / 86400000) });
  return null;
}

export function renderClock() {
  const p = document.getElementById("clock-warning");
  const problem = clockProblem();
  p.hidden = !problem;
  p.textContent = problem || "";
}
