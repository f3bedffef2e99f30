// This phone's ticket key: made at login in WebCrypto, its private half not extractable and
// kept in IndexedDB for the account; its public half registered with the server, which
// answers with the device id printed in every ticket.
import { b64url } from "./codes.js";
import { db } from "./db.js";
import { api } from "./net.js";
import { state } from "./state.js";

const slot = (accountId) => `device:${accountId}`;

export async function loadDevice() {
  const id = state.session?.account.id;
  state.device = id ? (await db.get(slot(id))) || null : null;
  return state.device;
}

// At login (a password was just typed): keep the stored key if the server still knows it as
// active, else make and register a new one. A phone whose key was revoked gets a new one only
// so, never by a token alone.
export async function registerDevice() {
  const id = state.session.account.id;
  const stored = await db.get(slot(id));
  const known = state.bundle?.device;
  if (stored && known?.device_id === stored.device_id && known.status === "active") {
    state.device = stored;
    return stored;
  }
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const publicKey = b64url(await crypto.subtle.exportKey("raw", pair.publicKey));
  const { data } = await api("/field/devices", {
    method: "POST",
    body: { public_key: publicKey, label: navigator.userAgent.slice(0, 128) },
    headers: { "Idempotency-Key": crypto.randomUUID() },
  });
  const device = { device_id: data.device_id, privateKey: pair.privateKey, public_key: publicKey, account_id: id };
  await db.set(slot(id), device);
  state.device = device;
  return device;
}

export function deviceRevoked() {
  return state.device && state.bundle?.device?.device_id === state.device.device_id &&
    state.bundle.device.status === "revoked";
}

export async function forgetDevice() {
  const id = state.session?.account.id;
  if (id) await db.del(slot(id));
  state.device = null;
}
