// Words on screen: Chinese first, English with the switch at the top. No internal codes.
import zh from "./words-zh.js";
import en from "./words-en.js";

const WORDS = { zh, en };
export let lang = localStorage.getItem("wf-lang") || "zh";

export function setLang(next) {
  lang = next;
  localStorage.setItem("wf-lang", next);
}

export function t(key, vars) {
  let s = WORDS[lang]?.[key] ?? WORDS.zh[key] ?? key;
  if (vars && typeof s === "string") {
    s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ""));
  }
  return s;
}

export function localTime(iso) {
  const d = new Date(iso);
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
}

export function kgText(x) {
  return Number(x).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { maximumFractionDigits: 3 });
}

// A mass with its unit and fixed decimals: kg with 1 decimal below a tonne, 吨 with 3 above.
export function massText(x) {
  const kg = Number(x);
  const locale = lang === "zh" ? "zh-CN" : "en-GB";
  if (Math.abs(kg) >= 1000) {
    const tonnes = (kg / 1000).toLocaleString(locale, { minimumFractionDigits: 3, maximumFractionDigits: 3 });
    return lang === "zh" ? `${tonnes} 吨` : `${tonnes} t`;
  }
  return `${kg.toLocaleString(locale, { minimumFractionDigits: 1, maximumFractionDigits: 3 })} kg`;
}
