// A tiny DOM helper, the page's shared bits (banner, question dialog) and form helpers.
import { kgText, t } from "./i18n.js";

export function h(tag, attrs, ...children) {
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

// What runs before a screen is replaced (the camera stops).
const leaving = [];
export function onLeave(fn) {
  leaving.push(fn);
}

// Each route draws a new screen; a view that waited (for IndexedDB, for the network) draws
// only if no newer screen was asked for meanwhile, so a late answer never covers a form.
let screenId = 0;
let bannerScreens = 0; // a note lasts for the screen it was made for, and the one after it
export function nextScreen() {
  screenId += 1;
  if (bannerScreens > 0) {
    bannerScreens -= 1;
    if (!bannerScreens) banner("");
  }
}
export function currentScreen() {
  return screenId;
}
export function showOn(id, ...nodes) {
  if (id === screenId) show(...nodes);
}

export function show(...nodes) {
  const view = document.getElementById("view");
  for (const fn of leaving) fn();
  view.replaceChildren(...nodes);
  window.scrollTo(0, 0);
}

export function banner(text, kind) {
  const b = document.getElementById("banner");
  bannerScreens = text ? 2 : 0;
  b.hidden = !text;
  b.textContent = text || "";
  b.className = kind === "error" ? "error" : "notice";
}

export function ask(text, yes) {
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

export function numberPad(input, onChange) {
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

// Why a typed mass is not one the server takes (null: it is).
export function kgProblem(text, cap) {
  if (!text || Number(text) <= 0 || Number.isNaN(Number(text))) return t("err_kg_zero");
  if ((text.split(".")[1] || "").length > 3) return t("err_kg_decimals");
  if (cap && Number(text) > cap) return t("err_kg_cap", { cap: kgText(cap) });
  return null;
}

// The refusal reasons offered, or written out; returns [select, free text, box].
export function refusalInputs(onChange) {
  const reason = h("select", { id: "reason" },
    h("option", { value: "" }, "—"),
    t("reasons").map((r) => h("option", { value: r }, r)),
    h("option", { value: "other" }, t("reason_other")));
  const other = h("input", { id: "reason-text", type: "text", maxlength: "256", hidden: true, placeholder: t("reason_text") });
  reason.addEventListener("change", () => { other.hidden = reason.value !== "other"; onChange(); });
  const box = h("div", { class: "refusal", hidden: true },
    h("label", { for: "reason" }, t("refusal_reason")), reason, other);
  const value = () => (reason.value === "other" ? other.value.trim() : reason.value);
  const preset = (text) => {
    if (!text) return;
    if (t("reasons").includes(text)) reason.value = text;
    else {
      reason.value = "other";
      other.value = text;
      other.hidden = false;
    }
  };
  return { box, value, preset };
}
