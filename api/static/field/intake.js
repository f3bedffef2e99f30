// Intake, for site operators and processors: the loads on their way to the account's sites
// (paged, oldest first, a bounded number kept for offline use), confirming one by tapping it
// or scanning its manifest or ticket, and the loads received lately, whose receipt can be
// corrected or whose refused mass can be sent back. Everything goes through the outbox.
import { db } from "./db.js";
import { banner, currentScreen, h, kgProblem, numberPad, refusalInputs, show, showOn } from "./dom.js";
import { kgText, localTime, massText, t } from "./i18n.js";
import { go } from "./nav.js";
import { api, setOnline } from "./net.js";
import { deviceTime, locate, saveLoad } from "./collect.js";
import { sync } from "./outbox.js";
import { materialName, materialOf, ownSite, pictogram, routeName, siteName, state } from "./state.js";

const PAGE = 50;
const MAX_KEPT = 200; // loads in transit kept on the phone
const RECEIVED_PAGE = 30;
const MAX_RECEIVED = 100;

// --- the lists ----------------------------------------------------------------------------

// Refresh the list in transit as deep as it was read (at least a page, at most MAX_KEPT).
export async function loadIntake() {
  const cached = await db.get("intake");
  const depth = Math.min(MAX_KEPT, Math.max(PAGE, cached?.loads.length || 0));
  const { data } = await api(`/field/intake?limit=${depth}`);
  const intake = { loads: data.items, total: data.total, total_kg: data.total_kg, next: data.next, at: new Date().toISOString() };
  await db.set("intake", intake);
  return intake;
}

async function loadMore() {
  const intake = await db.get("intake");
  const room = MAX_KEPT - intake.loads.length;
  if (!intake.next || room <= 0) return;
  const { data } = await api(`/field/intake?limit=${Math.min(PAGE, room)}&cursor=${encodeURIComponent(intake.next)}`);
  const seen = new Set(intake.loads.map((l) => l.code));
  intake.loads.push(...data.items.filter((l) => !seen.has(l.code)));
  Object.assign(intake, { total: data.total, total_kg: data.total_kg, next: data.next, at: new Date().toISOString() });
  await db.set("intake", intake);
}

async function loadReceived(more) {
  const cached = more ? await db.get("received") : null;
  const offset = cached ? `&cursor=${encodeURIComponent(cached.next)}` : "";
  const { data } = await api(`/field/intake?view=received&limit=${RECEIVED_PAGE}${offset}`);
  const loads = [...(cached?.loads || []), ...data.items].slice(0, MAX_RECEIVED);
  const received = { loads, total: data.total, next: loads.length < MAX_RECEIVED ? data.next : null, at: new Date().toISOString() };
  await db.set("received", received);
  return received;
}

async function localWork() {
  const live = (await db.items()).filter((i) => i.state !== "dropped" && i.state !== "refused");
  return {
    confirmed: new Set(live.filter((i) => i.kind === "receipt").map((i) => i.code_ref)),
    corrected: new Set(live.filter((i) => i.kind === "correction").map((i) => i.code_ref)),
    returning: live.filter((i) => i.kind === "handover" && i.body.returns),
  };
}

function segments(current) {
  return h("div", { class: "segments", role: "tablist" },
    [["#intake", t("seg_in_transit")], ["#received", t("seg_received")]].map(([hash, label]) =>
      h("a", { href: hash, role: "tab", class: current === hash ? "current" : "", "aria-selected": current === hash ? "true" : "false" }, label)));
}

async function refreshing(fn) {
  try {
    await fn();
  } catch {
    setOnline(false);
  }
  go(location.hash);
}

export async function intakeView() {
  const id = currentScreen();
  const intake = (await db.get("intake")) || { loads: [], total: 0, total_kg: 0, next: null, at: null };
  const { confirmed } = await localWork();
  const rows = intake.loads.map((l) => h("li", {
    class: confirmed.has(l.code) ? "load done" : "load", "data-code": l.code,
  },
    h("button", { type: "button", class: "load-button", onclick: () => go(`#receive/${l.code}`), disabled: confirmed.has(l.code) },
      h("strong", {}, l.code), " ",
      h("span", {}, `${siteName(l.from_site)} → ${siteName(l.to_site)}`),
      h("span", { class: "block" }, pictogram(l.material), " ", materialName(l.material), " · ", t("declared", { kg: kgText(l.declared_mass_kg) })),
      h("span", { class: "muted block" }, t("recorded", { time: localTime(l.recorded_at), who: l.recorded_by || "—" })),
      confirmed.has(l.code) ? h("span", { class: "state block" }, t("confirmed_locally")) : null,
    )));
  const hidden = Math.max(0, intake.total - intake.loads.length);
  const full = intake.loads.length >= MAX_KEPT;
  showOn(id, h("section", {},
    segments("#intake"),
    h("h1", {}, t("intake_title")),
    intake.total ? h("p", { class: "muted", id: "intake-total" }, t("intake_total", { n: intake.total, kg: massText(intake.total_kg) })) : null,
    !state.online && intake.at ? h("p", { class: "muted" }, t("intake_cached", { time: localTime(intake.at) })) : null,
    h("div", { class: "row" },
      h("button", { type: "button", id: "scan-manifest", onclick: () => go("#scan/manifest") }, t("scan_manifest")),
      h("button", { type: "button", class: "secondary", id: "refresh", onclick: () => refreshing(loadIntake) }, t("refresh"))),
    rows.length ? h("ol", { class: "intake", id: "intake" }, rows) : h("p", { class: "muted" }, t("intake_empty")),
    hidden ? h("p", { class: "muted", id: "intake-more" }, t("intake_more", { n: hidden })) : null,
    hidden && !full && intake.next ? h("button", {
      type: "button", class: "secondary wide", id: "load-more", disabled: !state.online,
      onclick: () => refreshing(loadMore),
    }, t("load_more", { n: Math.min(PAGE, hidden, MAX_KEPT - intake.loads.length) })) : null,
    hidden && full ? h("p", { class: "muted" }, t("intake_capped", { n: MAX_KEPT })) : null,
  ));
}

export async function receivedView() {
  const id = currentScreen();
  if (state.online) await loadReceived(false).catch(() => setOnline(false));
  const received = (await db.get("received")) || { loads: [], total: 0, next: null };
  const { corrected, returning } = await localWork();
  const rows = received.loads.map((l) => {
    const left = returnLeft(l, returning);
    const busy = corrected.has(l.code);
    return h("li", { class: "item", "data-code": l.code },
      h("div", {}, h("strong", {}, l.code), " ", `${siteName(l.from_site)} → ${siteName(l.to_site)}`),
      h("div", {}, pictogram(l.material), " ", materialName(l.material), " · ",
        t("received_line", { rec: massText(l.received_mass_kg), ref: massText(l.refused_mass_kg || 0) }),
        l.route ? ` · ${routeName(l.route)}` : ""),
      l.refusal_reason ? h("div", { class: "muted" }, l.refusal_reason) : null,
      l.returned_kg ? h("div", { class: "muted" }, t("returned_line", { kg: massText(l.returned_kg) })) : null,
      h("div", { class: "muted small" }, t("received_by_line", { time: localTime(l.received_at), who: l.received_by || "—" })),
      h("div", { class: "row" },
        busy ? h("span", { class: "state" }, t("busy_locally")) :
          h("button", { type: "button", class: "secondary", "data-action": "correct", onclick: () => go(`#correct/${l.code}`) }, t("correct")),
        left > 0 ? h("button", { type: "button", class: "secondary", "data-action": "return", onclick: () => go(`#return/${l.code}`) }, t("send_back")) : null));
  });
  showOn(id, h("section", {},
    segments("#received"),
    h("h1", {}, t("received_title")),
    rows.length ? h("ol", { class: "outbox", id: "received" }, rows) : h("p", { class: "muted" }, t("received_empty")),
    received.next ? h("button", {
      type: "button", class: "secondary wide", id: "received-more", disabled: !state.online,
      onclick: () => refreshing(() => loadReceived(true)),
    }, t("load_more", { n: RECEIVED_PAGE })) : null,
  ));
}

function returnLeft(load, returning) {
  const queued = returning.filter((i) => i.body.returns === load.code && i.state !== "sent")
    .reduce((s, i) => s + Number(i.body.declared_mass_kg), 0);
  return Math.round(((load.refused_mass_kg || 0) - (load.returned_kg || 0) - queued) * 1000) / 1000;
}

// --- the intake form, shared by confirming and correcting ----------------------------------

// Received kg, refused kg and why, the treatment route (only those the site runs and the
// material may take). `read()` gives the receipt's body or throws the problem in words.
function receiptFields(site, material, preset) {
  const allowed = material?.attributes?.routes;
  const routes = (site?.routes || []).filter((r) => !allowed || allowed.includes(r));
  const received = h("input", { id: "received", inputmode: "decimal", type: "text", value: preset.received ?? "" });
  const refused = h("input", { id: "refused", inputmode: "decimal", type: "text", value: String(preset.refused ?? 0) });
  const refusal = refusalInputs(() => {});
  refusal.preset(preset.reason);
  const showRefusal = () => { refusal.box.hidden = !(Number(refused.value) > 0); };
  refused.addEventListener("input", showRefusal);
  showRefusal();
  let route = preset.route || (routes.length === 1 ? routes[0] : null);
  const routeBox = h("div", { class: "routes", id: "routes" });
  function drawRoutes() {
    routeBox.replaceChildren(...routes.map((r) => h("button", {
      type: "button", class: r === route ? "material chosen" : "material", "data-route": r,
      "aria-pressed": r === route ? "true" : "false", onclick: () => { route = r; drawRoutes(); },
    }, routeName(r))));
  }
  drawRoutes();
  function read() {
    const rec = received.value.trim();
    const ref = refused.value.trim() || "0";
    const recProblem = kgProblem(rec, material?.max_load_kg);
    if (recProblem) throw new Error(recProblem === t("err_kg_zero") ? t("err_received") : recProblem);
    if (Number.isNaN(Number(ref)) || Number(ref) < 0 || (ref.split(".")[1] || "").length > 3) throw new Error(t("err_refused"));
    if (Number(ref) > Number(rec)) throw new Error(t("err_refused"));
    let why = null;
    if (Number(ref) > 0) {
      why = refusal.value();
      if (!why || why.length < 3) throw new Error(t("err_reason"));
    }
    const accepted = Number(rec) - Number(ref);
    if (routes.length && accepted > 0 && !route) throw new Error(t("err_route"));
    const body = { received_mass_kg: Number(rec), refused_mass_kg: Number(ref) };
    if (why) body.refusal_reason = why;
    if (routes.length && accepted > 0) body.route = route;
    return body;
  }
  const nodes = [
    h("label", { for: "received" }, t("received_kg"), material ? ` (${t("cap", { cap: kgText(material.max_load_kg) })})` : ""), received,
    h("label", { for: "refused" }, t("refused_kg")), refused,
    refusal.box,
    routes.length ? h("h2", {}, t("route")) : null, routeBox,
  ];
  return { nodes, read };
}

function formError() {
  return h("p", { class: "error", role: "alert", id: "form-error", hidden: true });
}

// A form's error goes once something in the form is changed.
function hideError(event) {
  const err = event.currentTarget.querySelector("#form-error");
  if (err && err.classList.contains("error")) err.hidden = true;
}

function fail(err, message) {
  err.hidden = false;
  err.textContent = message;
}

async function queue(item, back) {
  const now = new Date().toISOString();
  await db.add({ key: crypto.randomUUID(), state: "queued", created_at: now, updated_at: now, ...item });
  banner(t("saved"));
  go(back);
  sync();
}

// Confirm a load by its code (tapped in the list) or its scanned manifest.
export async function receiveForm(code, manifest) {
  const id = currentScreen();
  const intake = (await db.get("intake")) || { loads: [] };
  const load = intake.loads.find((l) => l.code === code) || null;
  const site = ownSite(load?.to_site) || (state.bundle?.sites || []).find((s) => s.kind !== "source");
  const material = load ? materialOf(load.material) : null;
  const fields = receiptFields(site, material, { received: load ? String(load.declared_mass_kg) : "" });
  const err = formError();
  async function confirm() {
    let body;
    try {
      body = fields.read();
    } catch (e) {
      return fail(err, e.message);
    }
    if (load?.units) body.received_units = load.units;
    await queue({
      kind: "receipt", code_ref: code,
      path: manifest ? "/handovers/receipt" : `/handovers/${encodeURIComponent(code)}/receipt`,
      body: manifest ? { manifest, ...body } : body,
    }, "#intake");
  }
  showOn(id, h("section", { class: "receive", oninput: hideError, onchange: hideError },
    h("h1", {}, t("receive_title", { code })),
    load ? h("p", {}, `${siteName(load.from_site)} → ${siteName(load.to_site)}`, h("br"),
      materialName(load.material), " · ", t("declared", { kg: kgText(load.declared_mass_kg) }))
      : h("p", { class: "warn" }, t("unknown_load")),
    ...fields.nodes, err,
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: () => go("#intake") }, t("cancel")),
      h("button", { type: "button", id: "confirm", onclick: confirm }, t("confirm"))),
  ));
}

// Confirm a load by its ticket: the server links it to the load whichever phone syncs first.
export function ticketReceiveForm(ticket) {
  const site = ownSite(ticket.to);
  const material = materialOf(ticket.material);
  const err = formError();
  const head = [
    h("h1", {}, t("receive_ticket_title")),
    h("p", { class: ticket.verified ? "ok" : "warn", id: "verified" },
      ticket.verified ? t("ticket_verified", { who: ticket.sender }) : t("ticket_unverified")),
    h("p", { id: "ticket-load" }, `${siteName(ticket.from)} → ${siteName(ticket.to)}`, h("br"),
      pictogram(ticket.material), " ", materialName(ticket.material), " · ", t("declared", { kg: kgText(ticket.kg) }),
      ticket.units ? ` · ${ticket.units} ${t("units")}` : "", h("br"),
      h("span", { class: "muted" }, t("recorded_ticket", { time: localTime(ticket.time) }))),
  ];
  if (!site) {
    show(h("section", { class: "receive", oninput: hideError, onchange: hideError }, ...head,
      h("p", { class: "error", id: "form-error" }, t("not_my_site", { site: siteName(ticket.to) })),
      h("button", { type: "button", class: "secondary", onclick: () => go("#intake") }, t("back"))));
    return;
  }
  const fields = receiptFields(site, material, { received: String(ticket.kg) });
  async function confirm() {
    let body;
    try {
      body = fields.read();
    } catch (e) {
      return fail(err, e.message);
    }
    if (ticket.units) body.received_units = ticket.units;
    await queue({
      kind: "ticket_receipt", path: "/handovers/receipt/ticket", body: { ticket: ticket.payload, ...body },
      load: { ident: ticket.ident, from: ticket.from, to: ticket.to, material: ticket.material, kg: ticket.kg },
    }, "#intake");
  }
  show(h("section", { class: "receive", oninput: hideError, onchange: hideError }, ...head, ...fields.nodes, err,
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: () => go("#intake") }, t("cancel")),
      h("button", { type: "button", id: "confirm", onclick: confirm }, t("confirm")))));
}

async function receivedLoad(code) {
  const received = (await db.get("received")) || { loads: [] };
  return received.loads.find((l) => l.code === code) || null;
}

// Correct a confirmed receipt: the whole intake as it should have been, and why.
export async function correctionForm(code) {
  const id = currentScreen();
  const load = await receivedLoad(code);
  if (!load) {
    go("#received");
    return;
  }
  const site = ownSite(load.to_site);
  const material = materialOf(load.material);
  const fields = receiptFields(site, material, {
    received: String(load.received_mass_kg), refused: load.refused_mass_kg || 0, reason: load.refusal_reason, route: load.route,
  });
  const why = h("input", { id: "correction-reason", type: "text", maxlength: "256" });
  const err = formError();
  async function submit() {
    let body;
    try {
      body = fields.read();
    } catch (e) {
      return fail(err, e.message);
    }
    const reason = why.value.trim();
    if (reason.length < 3) return fail(err, t("err_correction_reason"));
    const same = body.received_mass_kg === load.received_mass_kg && body.refused_mass_kg === (load.refused_mass_kg || 0) &&
      (body.refusal_reason || null) === (load.refusal_reason || null) && (body.route || null) === (load.route || null);
    if (same) return fail(err, t("err_same"));
    if (load.received_units !== null && load.received_units !== undefined) body.received_units = load.received_units;
    await queue({
      kind: "correction", code_ref: code, path: `/handovers/${encodeURIComponent(code)}/receipt/correct`,
      body: { ...body, reason },
    }, "#received");
  }
  const now = t("received_line", { rec: massText(load.received_mass_kg), ref: massText(load.refused_mass_kg || 0) }) +
    (load.route ? ` · ${routeName(load.route)}` : "");
  showOn(id, h("section", { class: "receive", oninput: hideError, onchange: hideError },
    h("h1", {}, t("correct_title", { code })),
    h("p", {}, `${siteName(load.from_site)} → ${siteName(load.to_site)}`, h("br"), materialName(load.material), h("br"),
      h("span", { class: "muted", id: "now-recorded" }, t("now_recorded", { line: now }))),
    ...fields.nodes,
    h("label", { for: "correction-reason" }, t("correction_reason")), why,
    err,
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: () => go("#received") }, t("cancel")),
      h("button", { type: "button", id: "submit-correction", onclick: submit }, t("save_correction")))));
}

// Send refused mass back to the site it came from: a new load from this site, naming the
// refused one, recorded like any load (and with its ticket).
export async function returnForm(code, itemId) {
  const id = currentScreen();
  const previous = itemId ? await db.item(Number(itemId)) : null;
  const load = await receivedLoad(code);
  if (!load) {
    go("#received");
    return;
  }
  const { returning } = await localWork();
  const left = returnLeft(load, returning); // a refused return being fixed does not count
  const plaque = state.bundle?.plaques?.[load.to_site];
  const material = materialOf(load.material);
  const kg = h("input", { id: "kg", inputmode: "decimal", readonly: true, class: "kg", value: String(previous?.body.declared_mass_kg ?? left) });
  const units = h("input", { id: "units", type: "number", inputmode: "numeric", min: "1", value: previous?.body.units ?? "" });
  const err = formError();
  locate();
  async function save() {
    if (!plaque) return fail(err, t("no_plaque"));
    const problem = kgProblem(kg.value, material?.max_load_kg);
    if (problem) return fail(err, problem);
    if (Number(kg.value) > left) return fail(err, t("err_return_kg", { kg: massText(left) }));
    if (material?.counts_units && !(Number(units.value) >= 1)) return fail(err, t("err_units"));
    const body = {
      source_plaque: plaque, to_site: load.from_site, material: load.material,
      declared_mass_kg: Number(kg.value), mass_method: "weighed",
      device_time: previous?.body.device_time || deviceTime(), returns: code,
    };
    if (material?.counts_units) body.units = Number(units.value);
    if (state.position) Object.assign(body, { lat: state.position.lat, lon: state.position.lon });
    await saveLoad(body, { plaque: load.to_site, verified: true, previous, back: "#received" });
  }
  showOn(id, h("section", { class: "load", oninput: hideError },
    h("h1", {}, t("return_title", { code })),
    h("p", {}, pictogram(load.material), " ", materialName(load.material), h("br"),
      h("span", { id: "return-left" }, t("return_left", { kg: massText(left) })),
      load.refusal_reason ? h("span", { class: "muted block" }, load.refusal_reason) : null),
    h("p", {}, h("strong", {}, t("return_to"), "："), `${siteName(load.from_site)} (${load.from_site})`),
    h("h2", {}, t("kg")), kg, numberPad(kg, () => { err.hidden = true; }),
    material?.counts_units ? h("div", {}, h("label", { for: "units" }, t("units")), units) : null,
    plaque ? null : h("p", { class: "warn" }, t("no_plaque")),
    err,
    h("div", { class: "row" },
      h("button", { type: "button", class: "secondary", onclick: () => go("#received") }, t("cancel")),
      h("button", { type: "button", id: "save-return", onclick: save }, t("save_return")))));
}
