// DOM building and formatting shared by every part of the page. User content only ever goes in
// through textContent / createTextNode (el, svg), never innerHTML.

// ---------- DOM helpers ----------
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
export const $ = (sel) => document.querySelector(sel);
export const svgNS = "http://www.w3.org/2000/svg";
export function svg(tag, attrs, text) {
  const node = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------- formatting ----------
export function fmtCost(v) {
  if (v === null || v === undefined) return "—";
  if (v === 0) return "$0";
  // small per-call costs keep their significant digits ($0.0000042), larger ones read as money
  return v < 0.01 ? "$" + v.toFixed(10).replace(/0+$/, "") : "$" + v.toFixed(4);
}
export const fmtInt = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"));
export const fmtMs = (v) => (v === null || v === undefined ? "—" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms");
export function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { month: "short", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit" });
}
export const pretty = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

export function statusBadge(e) {
  const kind = e.status === "success" ? "ok" : e.status === "error" ? "err" : "warn";
  const text = e.status_code ? `${e.status} ${e.status_code}` : e.status;
  return el("span", { class: "badge " + kind }, text);
}

/** The personal data kinds of a call's `pii` counts, "email 2, card 1"; "" for none. */
export function piiKinds(pii) {
  return Object.entries(pii || {}).map(([kind, n]) => `${kind} ${n}`).join(", ");
}

export function section(title, ...children) {
  return el("section", { class: "block" }, el("h3", {}, title), ...children);
}
export function dl(pairs) {
  return el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}
export function pre(value) { return el("pre", { class: "code" }, pretty(value)); }
