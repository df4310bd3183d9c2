// The logs table: filters, sort, keyset paging, one row per call.

import { api } from "./api.js";
import { $, el, fmtCost, fmtInt, fmtMs, fmtTime, piiKinds, statusBadge } from "./dom.js";
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

function piiBadge(e) {
  if (!e.pii) return null;
  return el("span", { class: "badge pii", title: `personal data found: ${piiKinds(e.pii)}` }, "PII");
}

function feedbackCell(e) {
  if (!e.feedback || typeof e.feedback.score !== "number") return "";
  const s = e.feedback.score;
  return el("span", { class: "score", title: e.feedback.comment || null }, s >= 1 ? `👍 ${s}` : s <= 0 ? `👎 ${s}` : String(s));
}

// A cost is never shown as $0 when it is not known: unpriced calls say so, and a cost from estimated
// token counts (no usage from the provider) is marked "≈".
function costCell(e) {
  // unpriced as the API counts it (the summary's unpriced_calls): tokens used at no known price; a call
  // that used none (refused before any work) was billed nothing and has nothing to price
  if (!e.priced && e.total_tokens) return el("span", { class: "muted", title: "no price known for this model" }, "unpriced");
  if (!e.priced) return el("span", { class: "muted", title: "no tokens used: nothing billed" }, "—");
  if (e.usage_source === "estimated" || e.usage_source === "rough") {
    return el("span", { class: "estimated", title: "estimated: tokens counted by llmlog, not reported by the provider" },
      "≈" + fmtCost(e.cost_usd));
  }
  return fmtCost(e.cost_usd);
}

function row(e) {
  const preview = e.do_not_track ? el("span", { class: "badge dnt" }, "do not track")
    : e.content_error ? el("span", { class: "badge err", title: e.content_error }, "cannot be decrypted")
    : e.prompt && e.prompt.text ? e.prompt.text : "";
  const tr = el("tr", { tabindex: 0, "data-id": e.id, "aria-label": `Call ${e.id}, ${e.model || "no model"}, ${e.status}` },
    el("td", {}, el("time", { datetime: e.timestamp }, fmtTime(e.timestamp))),
    el("td", { class: "rtype" }, e.request_type || "—"),
    el("td", { class: "model clip", title: e.model || null }, e.model || "—",
      e.stream ? el("span", { class: "badge small" }, "stream") : null),
    el("td", {}, statusBadge(e), piiBadge(e)),
    el("td", { class: "num" }, fmtInt(e.total_tokens)),
    el("td", { class: "num thinking" }, fmtInt(e.reasoning_tokens)),
    el("td", { class: "num cost" }, costCell(e)),
    el("td", { class: "num" }, fmtMs(e.duration_ms)),
    el("td", { class: "num ttfb" }, fmtMs(e.ttfb_ms)),
    el("td", { class: "user clip", title: e.user_id || null }, e.user_id || ""),
    el("td", { class: "tags clip", title: (e.tags || []).join(", ") || null }, (e.tags || []).map((t) => el("span", { class: "tag" }, t))),
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
// total: the matches shown as "of N" (null: not counted yet); counted: the count, once it came
// (first: the generation of the first page shown; a next page's loading does not make its count stale)
const paging = { cursor: null, loading: false, generation: 0, first: 0, total: 0, counted: null };

// The count of the first page's matches, asked apart from its rows (a one-row page with its total).
async function countMatches(generation, params) {
  paging.counted = null;
  const asked = new URLSearchParams(params);
  asked.delete("include_total");
  asked.set("limit", "1");
  try {
    const { total } = await api("/v1/logs?" + asked);
    if (generation !== paging.first) return;
    paging.counted = Number(total);
    if (!paging.loading) { paging.total = paging.counted; countLine(); }
  } catch (_) {
    // the rows' own request says what went wrong; the line just stays without its count
  }
}

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
  // The rows never wait for the count: counting every match is the slow part of a common word's
  // search on a large store (0.3 s at 1M entries), so a first page asks for the count apart, in
  // parallel (the server has two readers), and a next page not at all (the first page's count holds).
  params.set("include_total", "false");
  if (!append) {
    paging.first = generation;
    countMatches(generation, params);
  }
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
    // an empty first page is its own count; otherwise the count comes when countMatches has it
    if (!append) paging.total = !page.logs.length && !paging.cursor ? 0 : paging.counted;
    countLine();
    remember("#models", page.logs.map((e) => e.model));
    remember("#providers", page.logs.map((e) => e.provider));
    document.body.dataset.renderMs = String(Math.round(performance.now() - started));
    // for bench/bench_page.py: when a first page was on screen, in ms since the page's navigation
    if (!append) performance.mark("llmlog:logs-shown");
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

// "Showing 50 of 1,234 calls", or what an empty table means
function countLine() {
  const shown = $("#logs tbody").children.length.toLocaleString("en-US");
  $("#status-line").textContent = paging.total === 0 ? (filtered() ? "No calls match these filters." : "No calls yet.")
    : paging.total === null ? `Showing ${shown} calls; counting the matches…`
    : `Showing ${shown} of ${paging.total.toLocaleString("en-US")} calls`;
  showEmpty(paging.total === 0);
}

/** Adds calls logged since the table was loaded (the live tail, tail.js) where they belong by time,
 * newest first, skipping those already shown; they count in the total. Returns how many were new. */
export function addLive(entries) {
  if (paging.loading) return 0;  // a first page on its way has them anyway
  const tbody = $("#logs tbody");
  const shown = new Set([...tbody.children].map((tr) => tr.dataset.id));
  let added = 0;
  for (const e of entries) {
    if (shown.has(e.id)) continue;
    const tr = row(e);
    tr.classList.add("fresh");
    // the first page's order: newest first, and calls of one millisecond by id, descending
    const at = Date.parse(e.timestamp);
    const after = [...tbody.children].find((r) => {
      const t = Date.parse(r.querySelector("time").getAttribute("datetime"));
      return t < at || (t === at && r.dataset.id < e.id);
    });
    // older than every row shown: it belongs on a later page, which loads it in its turn
    if (!after && paging.cursor) continue;
    tbody.insertBefore(tr, after || null);
    shown.add(e.id);
    added += 1;
  }
  if (added) {
    if (paging.total !== null) paging.total += added;
    countLine();
  }
  return added;
}

/** The start time of the newest call shown, as epoch ms; null for an empty table. */
export function newestShown() {
  const first = $("#logs tbody tr time");
  return first ? Date.parse(first.getAttribute("datetime")) : null;
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
