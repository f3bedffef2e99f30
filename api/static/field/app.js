// wasteflow field app: collectors scan plaques and record loads, sites confirm intake,
// everything offline first. Data and the outbox live in IndexedDB; the server decides.
// This module logs in and out, draws the home screen and the tabs, and routes by the hash.
import { scanView } from "./camera.js";
import { loadForm, locate, ticketView } from "./collect.js";
import { db } from "./db.js";
import { forgetDevice, loadDevice, registerDevice } from "./device.js";
import { ask, banner, h, nextScreen, show } from "./dom.js";
import { lang, setLang, t } from "./i18n.js";
import { correctionForm, intakeView, receiveForm, receivedView, returnForm, ticketReceiveForm } from "./intake.js";
import { go, setRouter } from "./nav.js";
import { HttpError, api, renderClock, setOnline } from "./net.js";
import { outboxView, sync } from "./outbox.js";
import { isCollector, isReceiver, siteName, state } from "./state.js";

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
      await loadDevice();
      await refreshBundle();
      if (isCollector() || isReceiver()) {
        // The ticket key: a load is still recorded without one, only without its ticket.
        await registerDevice().catch(() => {});
      }
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
  const device = state.device?.device_id;
  const { data } = await api(`/field/bundle${device ? `?device=${encodeURIComponent(device)}` : ""}`);
  state.bundle = data;
  state.session.account = data.account;
  await db.set("bundle", data);
  await db.set("session", state.session);
}

async function logout() {
  const waiting = (await db.items()).filter((i) => i.state === "queued" || i.state === "sending").length;
  if (waiting && !(await ask(t("logout_pending", { n: waiting }), t("logout")))) return;
  if (state.online) api("/auth/logout", { method: "POST" }).catch(() => {});
  await forgetDevice();
  state.session = null;
  state.bundle = null;
  for (const key of ["session", "bundle", "intake", "received"]) await db.del(key);
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

// Which tab a screen belongs to.
const TAB_OF = {
  "#home": "#home", "#scan": null, "#ticket": "#outbox", "#outbox": "#outbox", "#intake": "#intake",
  "#received": "#intake", "#receive": "#intake", "#correct": "#intake", "#return": "#intake",
};

function renderTabs() {
  const nav = document.getElementById("tabs");
  if (!state.session || !(isCollector() || isReceiver())) {
    nav.hidden = true;
    return;
  }
  const head = location.hash.split("/")[0] || "#home";
  const here = TAB_OF[head] ?? (head === "#scan" && location.hash.endsWith("manifest") ? "#intake" : "#home");
  const tabs = [];
  if (isCollector()) tabs.push(["#home", t("tab_collect")]);
  if (isReceiver()) tabs.push(["#intake", t("tab_intake")]);
  tabs.push(["#outbox", t("tab_outbox")]);
  nav.replaceChildren(...tabs.map(([hash, label]) => h("a", { href: hash, class: here === hash ? "current" : "", "aria-current": here === hash ? "page" : null }, label)));
  nav.hidden = false;
}

async function route() {
  nextScreen();
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
  const [head, arg, extra] = location.hash.split("/");
  const code = decodeURIComponent(arg || "");
  switch (head) {
    case "#scan":
      banner(""); // the last save's note belongs to the last load
      if (arg === "manifest") {
        scanView("manifest", (scan) => (scan.kind === "ticket" ? ticketReceiveForm(scan) : receiveForm(scan.ident, scan.payload)));
      } else {
        locate();
        scanView("plaque", (scan) => loadForm(scan));
      }
      return;
    case "#outbox":
      return outboxView();
    case "#ticket":
      return ticketView(arg);
    case "#intake":
      return intakeView();
    case "#received":
      return receivedView();
    case "#receive":
      return receiveForm(code, null);
    case "#correct":
      return correctionForm(code);
    case "#return":
      return returnForm(code, extra);
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
  setRouter(route);
  document.getElementById("lang").addEventListener("click", () => {
    setLang(lang === "zh" ? "en" : "zh");
    setOnline(state.online);
    renderClock();
    route();
  });
  state.session = (await db.get("session")) || null;
  state.bundle = (await db.get("bundle")) || null;
  state.clock = (await db.get("clock")) || null;
  state.lastSync = (await db.get("lastSync")) || null;
  await loadDevice();
  setOnline(navigator.onLine);
  renderClock();
  window.addEventListener("hashchange", route);
  window.addEventListener("online", () => { setOnline(true); sync(); });
  window.addEventListener("offline", () => setOnline(false));
  setInterval(() => { if (navigator.onLine) sync(); }, 30000);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => {});
  await route();
  if (state.session && navigator.onLine) {
    // The screen is drawn from what the phone keeps; the bundle (new sites, keys, revoked
    // devices) is refreshed behind it, and the page says it is ready once that has been tried.
    await refreshBundle().catch(() => {});
    sync();
  }
  document.body.dataset.ready = "1";
}

start();
