// The logs table: filters, sort, keyset paging, one row per call.

import { api } from "./api.js";
import { $, el, fmtCost, fmtInt, fmtMs, fmtTime, statusBadge } from "./dom.js";
import { openPanel } from "./panel.js";
import { view } from "./state.js";

// the feedback menu's thumbs: the panel's buttons give 1 (good) and 0 (bad)
const FEEDBACK_CHOICES = { good: ["min_feedback_score", "1"], bad: ["max_feedback_score", "0"] };

/** The API's parameters for the state's filters. */
function filterParams(filters) {
  const params = new URLSearchParams(filters);
  const thumb = FEEDBACK_CHOICES[params.get("feedback")];
  if (thumb) { params.delete("feedback"); params.set(thumb[0], thumb[1]); }
  return params;
}

function feedbackCell(e) {
  if (!e.feedback || typeof e.feedback.score !== "number") return "";
  const s = e.feedback.score;
  return el("span", { class: "score", title: e.feedback.comment || null }, s >= 1 ? `👍 ${s}` : s <= 0 ? `👎 ${s}` : String(s));
}

function row(e) {
  const preview = e.do_not_track ? el("span", { class: "badge dnt" }, "do not track")
    : e.prompt && e.prompt.text ? e.prompt.text : "";
  const tr = el("tr", { tabindex: 0, "data-id": e.id, "aria-label": `Call ${e.id}, ${e.model || "no model"}, ${e.status}` },
    el("td", {}, el("time", { datetime: e.timestamp }, fmtTime(e.timestamp))),
    el("td", { class: "rtype" }, e.request_type || "—"),
    el("td", { class: "model" }, e.model || "—", e.stream ? el("span", { class: "badge small" }, "stream") : null),
    el("td", {}, statusBadge(e)),
    el("td", { class: "num" }, fmtInt(e.total_tokens)),
    el("td", { class: "num thinking" }, fmtInt(e.reasoning_tokens)),
    el("td", { class: "num cost" }, e.priced ? fmtCost(e.cost_usd) : el("span", { class: "muted", title: "no price known" }, "unpriced")),
    el("td", { class: "num" }, fmtMs(e.duration_ms)),
    el("td", {}, e.user_id || ""),
    el("td", {}, (e.tags || []).map((t) => el("span", { class: "tag" }, t))),
    el("td", { class: "num feedback" }, feedbackCell(e)),
    el("td", { class: "preview-col preview" }, preview));
  tr.addEventListener("click", () => openPanel(e.id));
  tr.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); openPanel(e.id); }
    else if (ev.key === "ArrowDown" && tr.nextElementSibling) { ev.preventDefault(); tr.nextElementSibling.focus(); }
    else if (ev.key === "ArrowUp" && tr.previousElementSibling) { ev.preventDefault(); tr.previousElementSibling.focus(); }
  });
  return tr;
}

// the paging of what the table shows now (not view state: a reload starts at the first page)
// (a newer first page wins over one still loading: its answer is dropped when it comes)
const paging = { cursor: null, loading: false, generation: 0 };

export async function loadLogs(append) {
  if (append && paging.loading) return;
  const generation = ++paging.generation;
  paging.loading = true;
  const started = performance.now();
  const params = filterParams(view.filters);
  params.set("sort_by", view.sortBy);
  params.set("sort_order", view.sortOrder);
  params.set("limit", "50");
  if (append && paging.cursor) params.set("cursor", paging.cursor);
  const tbody = $("#logs tbody");
  try {
    const page = await api("/v1/logs?" + params);
    if (generation !== paging.generation) return;
    if (!append) tbody.replaceChildren();
    const frag = document.createDocumentFragment();
    for (const e of page.logs) frag.append(row(e));
    tbody.append(frag);
    paging.cursor = page.pagination && page.pagination.has_more ? page.pagination.next_cursor : null;
    $("#more").hidden = !paging.cursor;
    const shown = tbody.children.length;
    $("#status-line").textContent = page.total === 0 ? "No calls match these filters."
      : `Showing ${shown.toLocaleString("en-US")} of ${Number(page.total).toLocaleString("en-US")} calls`;
    rememberModels(page.logs);
    document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  } catch (err) {
    if (generation === paging.generation) $("#status-line").textContent = "Could not load logs: " + err.message;
  } finally {
    if (generation === paging.generation) paging.loading = false;
  }
}

function rememberModels(logs) {
  const list = $("#models");
  const known = new Set([...list.options].map((o) => o.value));
  for (const e of logs) if (e.model && !known.has(e.model)) { known.add(e.model); list.append(el("option", { value: e.model })); }
}

export function markSort() {
  for (const b of document.querySelectorAll("th button[data-sort]")) {
    const on = b.dataset.sort === view.sortBy;
    b.closest("th").setAttribute("aria-sort", on ? (view.sortOrder === "asc" ? "ascending" : "descending") : "none");
    b.dataset.dir = on ? view.sortOrder : "";
  }
}

/** More rows on the way (the sentinel scrolled into view, or Load more). */
export function hasMore() { return Boolean(paging.cursor); }
