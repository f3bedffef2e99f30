// What the page knows: the session, the offline bundle, the clock, and lookups in them.
import { h } from "./dom.js";
import { lang, t } from "./i18n.js";

export const state = {
  session: null, // {token, expires_at, account}
  bundle: null, // GET /field/bundle
  device: null, // {device_id, privateKey, public_key, account_id}: this phone's ticket key
  clock: null, // {offset_ms, at}: server − phone
  lastSync: null,
  position: null, // {lat, lon, accuracy, at}
  online: navigator.onLine,
};

export function isCollector() {
  const role = state.session?.account.role;
  return role === "collector" || role === "site_operator";
}

export function isReceiver() {
  const role = state.session?.account.role;
  return role === "site_operator" || role === "processor";
}

export function materialOf(code) {
  return state.bundle?.materials.find((m) => m.code === code) || null;
}

export function materialName(code) {
  const m = materialOf(code);
  if (!m) return t("material_missing", { code });
  return lang === "zh" ? m.name_zh : m.name_en;
}

export function knownSites() {
  const all = new Map();
  for (const s of state.bundle?.sender_sites || []) all.set(s.code, s);
  for (const s of state.bundle?.destinations || []) all.set(s.code, s);
  for (const s of state.bundle?.sites || []) all.set(s.code, s);
  for (const r of state.bundle?.rounds || []) {
    if (r.collection_point) all.set(r.collection_point.code, r.collection_point);
    for (const s of r.sources) all.set(s.code, s);
  }
  return all;
}

export function siteName(code) {
  const s = knownSites().get(code);
  if (!s) return code;
  return lang === "en" && s.name_en ? s.name_en : s.name;
}

export function ownSite(code) {
  return (state.bundle?.sites || []).find((s) => s.code === code) || null;
}

export function routeName(code) {
  const info = (state.bundle?.routes || []).find((x) => x.code === code);
  return info ? (lang === "zh" ? info.name_zh : info.name_en) : code;
}

// A pictogram per indicator: a coloured badge with one character, drawn with the page's own
// font (a phone without an emoji font still shows it).
const PICTOGRAMS = {
  film: ["膜", "#2f7fb5"], manure: ["粪", "#8a5a2b"], straw: ["秸", "#b08a12"],
  industrial: ["工", "#5b6770"], construction: ["建", "#9a4f3a"], household: ["垃", "#2e7d4f"],
  appliance: ["电", "#6a4fa3"], recyclable: ["再", "#12806f"],
};

export function pictogram(materialCode) {
  const [glyph, colour] = PICTOGRAMS[materialOf(materialCode)?.indicator] || ["物", "#555"];
  const el = h("span", { class: "pict", "aria-hidden": "true" }, glyph);
  el.style.background = colour;
  return el;
}
