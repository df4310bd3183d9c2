// The logs table: filters, sort, keyset paging, one row per call.

import { api } from "./api.js";
import { $, el, fmtCost, fmtInt, fmtMs, fmtTime, statusBadge } from "./dom.js";
import { openPanel } from "./panel.js";
import { DEFAULTS, view } from "./state.js";

// the feedback menu's thumbs: the panel's buttons give 1 (good) and 0 (bad)
const FEEDBACK_CHOICES = { good: ["min_feedback_score", "1"], bad: ["max_feedback_score", "0"] };

/** The API's parameters for the state's filters. */
export function filterParams(filters) {
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
    $("#status-line").classList.remove("error");
    if (!append) tbody.replaceChildren();
    const frag = document.createDocumentFragment();
    for (const e of page.logs) frag.append(row(e));
    tbody.append(frag);
    paging.cursor = page.pagination && page.pagination.has_more ? page.pagination.next_cursor : null;
    $("#more").hidden = !paging.cursor;
    const shown = tbody.children.length;
    $("#status-line").textContent = page.total === 0 ? (filtered() ? "No calls match these filters." : "No calls yet.")
      : `Showing ${shown.toLocaleString("en-US")} of ${Number(page.total).toLocaleString("en-US")} calls`;
    showEmpty(page.total === 0);
    remember("#models", page.logs.map((e) => e.model));
    remember("#providers", page.logs.map((e) => e.provider));
    document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  } catch (err) {
    if (generation !== paging.generation) return;
    $("#empty").hidden = true;
    $("#status-line").textContent = "Could not load logs: " + err.message;
    $("#status-line").classList.add("error");
    return;
  } finally {
    if (generation === paging.generation) paging.loading = false;
  }
}

/** Any filter narrower than the default: the last 7 days, everything in them. */
function filtered() {
  return Object.keys(view.filters).some((k) => k !== "start_date" || view.filters[k] !== DEFAULTS.start_date);
}

// An empty table says what to do next: widen or clear the filters, or send a first call through llmlog.
function showEmpty(empty) {
  const box = $("#empty");
  box.hidden = !empty;
  if (!empty) return;
  if (filtered()) {
    box.replaceChildren(el("h2", {}, "No calls match these filters"),
      el("p", {}, "Widen the time range or clear a filter. "),
      el("button", { type: "button", id: "empty-clear", onclick: () => $("#filters").reset() }, "Clear filters"));
    return;
  }
  const base = location.origin;
  box.replaceChildren(el("h2", {}, "No calls logged yet"),
    el("p", {}, "Send calls through llmlog and they show here. Point your SDK's base URL at it; your provider key passes through:"),
    el("pre", { class: "code" },
      `from openai import OpenAI\nclient = OpenAI(base_url="${base}/v1")\n\n` +
      `curl ${base}/v1/chat/completions -H "Authorization: Bearer $OPENAI_API_KEY" \\\n` +
      `  -H "Content-Type: application/json" -d '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}'`),
    el("p", { class: "muted" }, "Other providers by their path prefix (e.g. /anthropic) as configured in llmlog's config file. " +
      "Label calls with x-llmlog-user, x-llmlog-tags, x-llmlog-environment; x-debug: false keeps no content."));
}

// the models and providers seen so far, offered as the filters' suggestions
function remember(listId, values) {
  const list = $(listId);
  const known = new Set([...list.options].map((o) => o.value));
  for (const v of values) if (v && !known.has(v)) { known.add(v); list.append(el("option", { value: v })); }
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
