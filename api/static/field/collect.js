// The collector's flow: scan → material → kg → destination (preset by the round) → save, and
// the load's ticket, shown at once so the receiving site can confirm it with no signal.
import { makeTicket, plaqueParts } from "./codes.js";
import { db } from "./db.js";
import { deviceRevoked } from "./device.js";
import { ask, banner, currentScreen, h, kgProblem, numberPad, showOn } from "./dom.js";
import { kgText, lang, localTime, massText, t } from "./i18n.js";
import { go } from "./nav.js";
import { clockProblem } from "./net.js";
import { sync } from "./outbox.js";
import { qrSvg } from "./qrcode.js";
import { knownSites, materialName, materialOf, pictogram, siteName, state } from "./state.js";

const DUP_MINUTES = 5;

export function locate() {
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

function roundFor(sourceCode) {
  return (state.bundle?.rounds || []).find((r) => r.sources.some((s) => s.code === sourceCode));
}

function destinations(source) {
  // Where a load from this source may go: the round's collection point first, then the other
  // receiving sites the phone knows of (the account's own, and where they send loads on),
  // never the source itself.
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
  // From a collection point or transfer station: where it sends loads on.
  if (source.kind !== "source") {
    for (const s of state.bundle?.destinations || []) if (!list.some((x) => x.code === s.code)) list.push(s);
  }
  return list;
}

// Now, to the whole second: a ticket carries whole seconds, and so does the load it names.
export function deviceTime() {
  return new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
}

// A new load (or a fixed one) in the outbox, with its ticket; then the ticket is shown.
export async function saveLoad(body, { plaque, verified, previous, label, back }) {
  const from = plaqueParts(body.source_plaque)?.[3] || plaque;
  if (previous) {
    // A fixed item keeps its key: a refused request left the key unused, and the ticket the
    // receiving site may have scanned names the load by it.
    const ticket = await makeTicket(previous.key, body, from);
    Object.assign(previous, { body, ticket, state: "queued", error: null, updated_at: new Date().toISOString() });
    await db.put(previous);
    banner(t("saved"));
    go(`#ticket/${previous.id}`);
  } else {
    const key = crypto.randomUUID();
    const ticket = await makeTicket(key, body, from);
    const id = await db.add({
      kind: "handover", key, path: "/handovers/batch", body, ticket, plaque, verified, label,
      back, state: "queued", created_at: new Date().toISOString(), updated_at: new Date().toISOString(),
    });
    banner(t("saved"));
    go(`#ticket/${id}`);
  }
  sync();
}

export async function loadForm(scan, previous) {
  const id = currentScreen();
  // What this phone records most comes first: the usual load is one tap away.
  const used = new Map();
  for (const i of await db.items()) if (i.kind === "handover") used.set(i.body.material, (used.get(i.body.material) || 0) + 1);
  const source = knownSites().get(scan.ident);
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
  // The server's plausibility cap: one handover from a source, or one load between sites.
  const cap = () => materialOf(material)?.[source.kind === "source" ? "max_handover_kg" : "max_load_kg"];
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
      device_time: previous?.body.device_time || deviceTime(),
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
    await saveLoad(body, { plaque: scan.ident, verified: scan.verified, previous });
  }
  showOn(id,
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

export function fixItem(item) {
  if (item.body.returns) {
    go(`#return/${encodeURIComponent(item.body.returns)}/${item.id}`);
    return;
  }
  const m = plaqueParts(item.body.source_plaque);
  loadForm({ ident: item.plaque, payload: item.body.source_plaque, verified: item.verified, kid: m?.[4] }, item);
}

// The ticket of a load this phone recorded: what it is, and its QR to scan.
export async function ticketView(itemId) {
  const id = currentScreen();
  const item = await db.item(Number(itemId));
  if (!item || item.kind !== "handover") {
    go("#outbox");
    return;
  }
  const b = item.body;
  const from = plaqueParts(b.source_plaque)?.[3] || item.plaque;
  const what = h("p", { id: "ticket-load" },
    `${siteName(from)} → ${siteName(b.to_site)}`, h("br"),
    pictogram(b.material), " ", materialName(b.material), " · ", massText(b.declared_mass_kg),
    b.units ? ` · ${b.units} ${t("units")}` : "", h("br"),
    h("span", { class: "muted" }, localTime(b.device_time)),
    item.code ? h("span", { class: "muted" }, ` · ${item.code}`) : null);
  let body;
  if (item.ticket) {
    body = [h("div", { class: "ticket-qr", id: "ticket-qr", "data-ticket": item.ticket }, qrSvg(item.ticket, t("ticket_title"))),
      h("p", { class: "muted" }, t("ticket_hint"))];
  } else {
    body = [h("p", { class: "warn", id: "no-ticket" }, deviceRevoked() ? t("ticket_revoked") : t("ticket_none"))];
  }
  showOn(id, h("section", { class: "ticket" },
    h("h1", {}, t("ticket_title")),
    what, ...body,
    h("div", { class: "row" },
      h("button", { type: "button", id: "ticket-done", onclick: () => go(item.back || "#home") }, t("done")))));
}
