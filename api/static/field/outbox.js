// The outbox: every record is written to IndexedDB with its idempotency key and exact body
// before anything is sent; sync sends loads in batches, then receipts, corrections and
// receipts by ticket one by one with their keys. One tab sends at a time (Web Locks).
import { makeTicket, plaqueParts } from "./codes.js";
import { db } from "./db.js";
import { ask, banner, currentScreen, h, showOn } from "./dom.js";
import { kgText, localTime, massText, t } from "./i18n.js";
import { go, rerender } from "./nav.js";
import { HttpError, api, setOnline } from "./net.js";
import { fixItem } from "./collect.js";
import { loadIntake } from "./intake.js";
import { isReceiver, materialName, siteName, state } from "./state.js";

let syncing = false;
let syncAgain = false;
const WRITES = new Set(["receipt", "ticket_receipt", "correction"]);

// "sending" means sent with no answer yet: between syncs it waits like any queued item (the
// next sync sends it again with the same key, and the server answers with the first result).
function shownState(item) {
  return item.state === "sending" && !syncing ? "queued" : item.state;
}

function stateWords(item) {
  switch (shownState(item)) {
    case "sent": return t("st_sent", { code: item.code });
    case "waiting": return t("st_waiting");
    case "refused": return t("st_refused", { why: item.error });
    case "dropped": return t("st_dropped");
    case "sending": return t("st_sending");
    default: return t("st_queued");
  }
}

function itemLabel(item) {
  const b = item.body;
  switch (item.kind) {
    case "receipt":
      return t("receipt_label", { code: item.code_ref, kg: kgText(b.received_mass_kg) });
    case "ticket_receipt":
      return t("ticket_receipt_label", { source: siteName(item.load.from), dest: siteName(item.load.to), kg: massText(b.received_mass_kg) });
    case "correction":
      return t("correction_label", { code: item.code_ref, kg: massText(b.received_mass_kg) });
    default:
      if (b.returns) return t("return_label", { code: b.returns, dest: siteName(b.to_site), kg: massText(b.declared_mass_kg) });
      return t("handover_label", {
        source: siteName(item.plaque), dest: siteName(b.to_site),
        material: materialName(b.material), kg: kgText(b.declared_mass_kg),
      });
  }
}

export async function sync() {
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
      await sendWrites();
      await checkWaiting();
    });
    state.lastSync = new Date().toISOString();
    db.set("lastSync", state.lastSync);
    // The browser's word wins: a sync that started online may end after the network went.
    setOnline(navigator.onLine);
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

// Receipts (by code or manifest), receipts by ticket and receipt corrections, in order.
async function sendWrites() {
  const waiting = (await db.items()).filter((i) => WRITES.has(i.kind) && (i.state === "queued" || i.state === "sending"));
  for (const item of waiting) {
    item.state = "sending";
    await db.put(item);
    try {
      const { data } = await api(item.path, { method: "POST", body: item.body, headers: { "Idempotency-Key": item.key } });
      if (item.kind === "ticket_receipt" && data.state === "pending") {
        Object.assign(item, { state: "waiting", error: null });
      } else {
        Object.assign(item, { state: "sent", code: data.handover?.code || data.code, error: null });
      }
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

// Receipts by ticket that wait for their load: what became of them since.
async function checkWaiting() {
  const waiting = (await db.items()).filter((i) => i.kind === "ticket_receipt" && i.state === "waiting");
  if (!waiting.length) return;
  const { data } = await api("/handovers/receipt/tickets");
  for (const item of waiting) {
    const found = data.items.find((r) => r.ticket.ident === item.load.ident);
    if (!found || found.state === "pending") continue;
    if (found.state === "applied") Object.assign(item, { state: "sent", code: found.handover.code });
    else Object.assign(item, { state: "refused", error: found.reason, error_field: "ticket", final: true });
    item.updated_at = new Date().toISOString();
    await db.put(item);
  }
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
  // The phone's clock was off by the measured offset: every refused time moves by it at once
  // (the load keeps its key, so its ticket still names it; the ticket is signed again).
  for (const item of items) {
    const fixed = new Date(Math.round((Date.parse(item.body.device_time) + state.clock.offset_ms) / 1000) * 1000).toISOString();
    const body = { ...item.body, device_time: fixed };
    const from = plaqueParts(body.source_plaque)?.[3] || item.plaque;
    const ticket = await makeTicket(item.key, body, from);
    Object.assign(item, { body, ticket, state: "queued", error: null });
    await db.put(item);
  }
  sync();
}

function actions(item) {
  const buttons = [];
  if (item.kind === "handover" && item.state !== "dropped") {
    buttons.push(h("button", { type: "button", class: "secondary ticket-button", onclick: () => go(`#ticket/${item.id}`) }, t("ticket_show")));
  }
  if (item.state === "refused") {
    buttons.push(h("button", { type: "button", class: "secondary", onclick: () => giveUp(item) }, t("give_up")));
    if (item.kind === "handover") buttons.push(h("button", { type: "button", onclick: () => fixItem(item) }, t("fix")));
    else if (!item.final) buttons.push(h("button", { type: "button", onclick: () => retryItem(item) }, t("retry")));
  }
  return buttons.length ? h("div", { class: "row" }, buttons) : null;
}

export async function outboxView() {
  const id = currentScreen();
  const items = (await db.items()).reverse();
  const timeRefused = items.filter((i) => i.state === "refused" && i.error_field === "device_time");
  const list = h("ol", { class: "outbox", id: "outbox" },
    items.map((item) => h("li", { class: `item ${shownState(item)}`, "data-id": item.id, "data-state": shownState(item), "data-kind": item.kind },
      h("div", { class: "label" }, itemLabel(item)),
      h("div", { class: "state" }, stateWords(item)),
      h("div", { class: "muted small" }, localTime(item.created_at), item.kind === "handover" && !item.verified ? " · ⚠" : ""),
      actions(item),
    )));
  showOn(id, h("section", {},
    h("h1", {}, t("outbox_title")),
    h("p", { class: "muted", id: "last-sync" }, state.lastSync ? t("last_sync", { time: localTime(state.lastSync) }) : t("never_synced")),
    h("button", { type: "button", id: "sync", onclick: () => sync() }, syncing ? t("syncing") : t("sync_now")),
    timeRefused.length && state.clock ? h("button", { type: "button", class: "secondary", onclick: () => fixTimes(timeRefused) }, t("fix_time_all", { n: timeRefused.length })) : null,
    items.length ? list : h("p", { class: "muted" }, t("outbox_empty")),
  ));
}
