// What a scanned QR says, checked on the phone as far as it can be: site plaques and load
// manifests (signed by the server's keys), and load tickets (signed by a phone's device key).
// Tickets are made here too, signed with this phone's key.
import { t } from "./i18n.js";
import { state } from "./state.js";

const PAYLOAD_RE = /^(https?:\/\/[^\s?#]+)\/q\/([A-Z])\/([A-Z0-9-]{1,32})\?k=([a-z0-9]{4,8})&s=([A-Za-z0-9_-]{86})$/;
// A ticket, as wasteflow/tickets.py spells it: key, from, to, material, kg, time[, units].
const TICKET_RE = new RegExp(
  "^(https?://[^\\s?#]+)/q/T/([A-Za-z0-9_-]{22})/([A-Z0-9][A-Z0-9-]{0,31})/([A-Z0-9][A-Z0-9-]{0,31})" +
  "/([a-z0-9][a-z0-9._]{0,47})/((?:0|[1-9][0-9]{0,11})(?:\\.[0-9]{0,2}[1-9])?)/([1-9a-z][0-9a-z]{0,7})" +
  "(?:/([1-9][0-9]{0,5}))?\\?d=([a-z0-9]{6})&s=([A-Za-z0-9_-]{86})$",
);
const DEFAULT_BASE = "https://wf.wulong.example";

export function unb64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const raw = atob(b64);
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function b64url(bytes) {
  let raw = "";
  for (const b of new Uint8Array(bytes)) raw += String.fromCharCode(b);
  return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function verified(publicKey, signature, message) {
  try {
    const key = await crypto.subtle.importKey("raw", unb64url(publicKey), { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, unb64url(signature), new TextEncoder().encode(message));
  } catch {
    return false;
  }
}

export function plaqueParts(payload) {
  return PAYLOAD_RE.exec(payload || "");
}

// A plaque or manifest: {kind, ident, kid, verified, payload} or {error: reason}. A key the
// phone has not seen leaves the decision to the server.
export async function checkPayload(text) {
  const m = PAYLOAD_RE.exec((text || "").trim());
  if (!m) return { error: "malformed" };
  const [, , letter, ident, kid, sig] = m;
  const kind = { S: "site", H: "handover" }[letter];
  if (!kind) return { error: "malformed" };
  const key = (state.bundle?.keys || []).find((k) => k.kid === kid);
  if (!key) return { kind, ident, kid, verified: false, payload: m[0] };
  if (key.status === "revoked") return { error: "revoked_key" };
  if (!(await verified(key.public_key, sig, `wasteflow-qr/1\n${letter}\n${ident}\n${kid}`))) {
    return { error: "bad_signature" };
  }
  return { kind, ident, kid, verified: true, payload: m[0] };
}

// A load ticket: {kind: "ticket", ident, from, to, material, kg, time, units, device, sender,
// verified, payload} or {error: reason}. Checked against the device keys of the accounts that
// send loads to this account's sites (the bundle); another phone's ticket the server checks.
export async function checkTicket(text) {
  const m = TICKET_RE.exec((text || "").trim());
  if (!m) return { error: "malformed" };
  const [payload, , key22, from, to, material, kg, time36, units, device, sig] = m;
  const load = {
    kind: "ticket", ident: `${device}:${key22}`, from, to, material, kg: Number(kg),
    time: new Date(parseInt(time36, 36) * 1000).toISOString(), units: units ? Number(units) : null,
    device, payload,
  };
  if ((state.bundle?.revoked_devices || []).includes(device)) return { error: "revoked_device" };
  const sender = (state.bundle?.sender_devices || []).find((d) => d.device_id === device);
  if (!sender) return { ...load, verified: false, sender: null };
  const fields = [key22, from, to, material, kg, time36, ...(units ? [units] : [])];
  const message = ["wasteflow-ticket/1", device, ...fields].join("\n");
  if (!(await verified(sender.public_key, sig, message))) return { error: "bad_signature" };
  return { ...load, verified: true, sender: sender.display_name };
}

export function isTicket(text) {
  return /\/q\/T\//.test(text || "");
}

function uuidBytes(uuid) {
  const hex = uuid.replace(/-/g, "");
  return Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

function massField(kg) {
  const text = Number(kg).toFixed(3);
  return text.replace(/0+$/, "").replace(/\.$/, "");
}

// This phone's ticket for a load it recorded: the load's key and body, signed with the
// device key (null if the phone has none, or the server said it was revoked). The address is
// the scanned plaque's.
export async function makeTicket(key, body, fromSite) {
  const device = state.device;
  if (!device?.privateKey) return null;
  const known = state.bundle?.device;
  if (known?.device_id === device.device_id && known.status === "revoked") return null;
  const base = plaqueParts(body.source_plaque)?.[1] || DEFAULT_BASE;
  const fields = [
    b64url(uuidBytes(key)), fromSite, body.to_site, body.material, massField(body.declared_mass_kg),
    Math.floor(Date.parse(body.device_time) / 1000).toString(36),
  ];
  if (body.units) fields.push(String(body.units));
  const message = new TextEncoder().encode(["wasteflow-ticket/1", device.device_id, ...fields].join("\n"));
  const sig = await crypto.subtle.sign({ name: "Ed25519" }, device.privateKey, message);
  return `${base}/q/T/${fields.join("/")}?d=${device.device_id}&s=${b64url(sig)}`;
}

export function reasonText(reason, wanted) {
  if (reason === "wrong_kind") return t(`reason_wrong_kind_${wanted}`);
  return t(`reason_${reason}`) || reason;
}
