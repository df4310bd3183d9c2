// The Dashboard view: totals as cards, figures over time with the previous period dashed behind them,
// a breakdown by one dimension, and the feedback summary. Driven by the logs table's filters (all but
// its time range: the dashboard has its own window and bucket), all of it kept in the URL (state.js).
//
// Few requests, all at once: the summary (the cards, exactly the API's figures), stats by time bucket
// with compare=previous (every chart), stats by the chosen dimension, and stats by model for the
// feedback by model when the breakdown is not by model already.

import { api } from "./api.js";
import { timeChart } from "./charts.js";
import { $, el, fmtCost, fmtInt, fmtMs, piiKinds } from "./dom.js";
import { BUCKETS, save, startMs, view } from "./state.js";
import { filterParams } from "./table.js";

export const DIMENSIONS = { model: "Model", provider: "Provider", user: "User", tag: "Tag",
  environment: "Environment", task_type: "Task type", flow: "Flow" };
const FILTER_NAMES = { model: "model", provider: "provider", status: "status", user_id: "user", tags: "tag",
  environment: "environment", task_type: "task type", flow: "flow", min_cost: "cost ≥ $", max_cost: "cost ≤ $",
  min_duration_ms: "latency ≥ ms", max_duration_ms: "latency ≤ ms", feedback: "feedback", pii: "PII",
  do_not_track: "do not track", q: "search" };
const MAX_ROWS = 50;
// the API answers at most this many time buckets (store/figures.py MAX_BUCKETS): a finer bucket over a
// long window (5 minutes over 90 days) is a 400 that would leave the whole dashboard empty
const MAX_BUCKETS = 10000;
const BUCKET_MS = { "5m": 300e3, "15m": 900e3, hour: 3600e3, day: 86400e3, week: 604800e3 };

/** The window's length in ms (its start is relative, `-90d`, or an ISO time, up to now). */
function windowMs(start) {
  const at = startMs(start);
  return at === null ? 0 : Math.max(0, Date.now() - at);
}

/** The bucket the charts use: the one chosen, or the finest wider one the API can answer for this
 * window (one bucket spare, as the API aligns the window's start down to a bucket's). */
export function chartBucket(start, bucket) {
  const span = windowMs(start);
  for (const b of BUCKETS.slice(Math.max(0, BUCKETS.indexOf(bucket)))) {
    if (!(span / BUCKET_MS[b] + 1 > MAX_BUCKETS)) return b;
  }
  return "week";
}  // a breakdown by user can have thousands of groups: the busiest are shown

/** A share 0..1 as a percentage with one decimal; "—" for none. */
export const fmtPct = (part, whole) => (whole ? ((part / whole) * 100).toFixed(1) + "%" : "—");
const fmtScore = (v) => (v === null || v === undefined ? "—" : String(Math.round(v * 100) / 100));
// axis ticks keep their decimals (2.5 ms, not "3 ms"); values in legends and tables use dom.js's formats
const axisMs = (v) => (v === null || v === undefined ? "—" : v >= 1000 ? `${+(v / 1000).toFixed(3)} s` : `${+v.toFixed(2)} ms`);
const axisPct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100) / 100}%`);

function card(label, value, id, sub) {
  return el("div", { class: "card", id }, el("div", { class: "muted" }, label), el("div", { class: "big" }, value),
    sub ? el("div", { class: "card-sub muted" }, sub) : null);
}

/** The API parameters of the dashboard: the table's filters, the dashboard's own window. */
function params(extra) {
  const p = filterParams(view.filters);
  p.set("start_date", view.summaryStart);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p;
}

function filterLine() {
  const shown = Object.entries(view.filters).filter(([k]) => k !== "start_date");
  const box = $("#dash-filters");
  if (!shown.length) {
    box.replaceChildren("All calls in the window. Filters set on the Logs tab narrow the dashboard too.");
    return;
  }
  box.replaceChildren("Filtered as the Logs tab: ",
    ...shown.map(([k, v]) => el("span", { class: "tag" }, `${FILTER_NAMES[k] || k} ${v}`)),
    el("button", { type: "button", id: "dash-edit-filters", onclick: () => $("#tab-logs").click() }, "Change filters"));
}

function totalsCards(s, pii) {
  const cost = s.unpriced_calls ? `+ ${fmtInt(s.unpriced_calls)} unpriced` : "all calls priced";
  $("#cards").replaceChildren(...[
    card("Calls", fmtInt(s.total_calls), "card-calls", `${fmtInt(s.successful_calls)} successful`),
    card("Cost (USD)", fmtCost(s.total_cost_usd), "card-cost", cost),
    card("Errors", `${fmtInt(s.failed_calls)} · ${fmtPct(s.failed_calls, s.total_calls)}`, "card-errors", "failed calls, error rate"),
    card("p50 latency", fmtMs(s.p50_latency_ms), "card-p50"),
    card("p95 latency", fmtMs(s.p95_latency_ms), "card-p95"),
    card("p99 latency", fmtMs(s.p99_latency_ms), "card-p99"),
    s.p50_ttfb_ms === undefined ? null  // an older llmlog's summary has no TTFB figures
      : card("p50 TTFB", fmtMs(s.p50_ttfb_ms), "card-ttfb-p50", `time to first byte, ${fmtInt(s.calls_with_ttfb)} calls`),
    card("Tokens", fmtInt(s.total_tokens), "card-tokens",
      `in ${fmtInt(s.input_tokens)} · out ${fmtInt(s.output_tokens)}` +
      (s.reasoning_tokens === undefined ? "" : ` (thinking ${fmtInt(s.reasoning_tokens)})`)),
    card("Unpriced calls", fmtInt(s.unpriced_calls), "card-unpriced", "no price known: not counted as $0"),
    s.estimated_calls === undefined ? null  // an older llmlog's summary has no such figure
      : card("Estimated calls", fmtInt(s.estimated_calls), "card-estimated", "tokens and cost estimated by llmlog"),
    pii === undefined ? null  // an older llmlog's summary counts no personal data
      : card("Calls with PII", fmtInt(pii.calls), "card-pii",
        pii.calls ? `calls per kind: ${piiKinds(pii.by_kind)}` : "no personal data found"),
  ].filter(Boolean));
}

// ---------- over time ----------
function column(groups, pick) { return groups.map(pick); }
const rate = (g) => (g.count ? (g.error_count / g.count) * 100 : null);

function charts(stats) {
  const cur = stats.groups, prev = stats.previous ? stats.previous.groups : null;
  const xs = cur.map((g) => Date.parse(g.key) / 1000);
  // bucket i of the previous period lies behind bucket i of this one (equal spans, equal widths)
  const series = (label, pick) => ({ label, values: column(cur, pick),
    previous: prev ? cur.map((_, i) => (prev[i] ? pick(prev[i]) : null)) : null });
  const draw = (id, unit, fmt, list) => timeChart($(`#${id} .chart`), { xs, series: list, unit, fmt });
  draw("chart-calls", "calls", fmtInt, [series("Calls", (g) => g.count)]);
  draw("chart-cost", "USD", fmtCost, [series("Cost", (g) => g.cost_usd)]);
  draw("chart-errors", "% of calls", axisPct, [series("Error rate", rate)]);
  draw("chart-latency", "ms", axisMs, [series("p50", (g) => g.p50_latency_ms), series("p95", (g) => g.p95_latency_ms),
    series("p99", (g) => g.p99_latency_ms)]);
  draw("chart-ttfb", "ms", axisMs, [series("p50", (g) => g.p50_ttfb_ms ?? null),
    series("p95", (g) => g.p95_ttfb_ms ?? null)]);
  draw("chart-tokens", "tokens", fmtInt, [series("Input", (g) => g.input_tokens), series("Output", (g) => g.output_tokens),
    series("Thinking (part of output)", (g) => g.reasoning_tokens ?? null)]);
}

// ---------- breakdown ----------
function costCell(g) {
  if (g.cost_usd === null) return el("span", { class: "muted", title: "no price known for these calls" }, "unpriced");
  return g.unpriced_calls ? [fmtCost(g.cost_usd), el("span", { class: "muted" }, ` + ${fmtInt(g.unpriced_calls)} unpriced`)]
    : fmtCost(g.cost_usd);
}

function breakdown(stats, total) {
  const groups = stats.groups.slice(0, MAX_ROWS);
  const head = ["", "Calls", "Share", "Cost (USD)", "Unpriced", "Estimated", "Error rate", "p50", "p95", "Feedback", "Avg score"];
  const table = el("table", { class: "dash-table", id: "dash-breakdown-table" },
    el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: i ? "num" : null },
      i ? h : DIMENSIONS[stats.group_by] || stats.group_by)))),
    el("tbody", {}, groups.map((g) => el("tr", { "data-key": g.key === null ? "" : g.key },
      el("td", { class: "key" }, g.key === null ? el("span", { class: "muted" }, "(none)") : g.key),
      el("td", { class: "num calls" }, fmtInt(g.count)),
      el("td", { class: "num" }, fmtPct(g.count, total)),
      el("td", { class: "num cost" }, costCell(g)),
      el("td", { class: "num unpriced" }, fmtInt(g.unpriced_calls)),
      el("td", { class: "num estimated" }, fmtInt(g.estimated_calls)),
      el("td", { class: "num errors" }, fmtPct(g.error_count, g.count)),
      el("td", { class: "num" }, fmtMs(g.p50_latency_ms)),
      el("td", { class: "num" }, fmtMs(g.p95_latency_ms)),
      el("td", { class: "num" }, fmtInt(g.feedback_count)),
      el("td", { class: "num" }, fmtScore(g.avg_feedback_score))))));
  const more = stats.groups.length - groups.length;
  const note = stats.group_by === "tag" ? "A call with two tags counts under each; calls without a tag under (none)." : "";
  $("#dash-breakdown").replaceChildren(...[stats.groups.length ? table : el("p", { class: "muted" }, "No calls in this window."),
    more > 0 ? el("p", { class: "muted" }, `and ${fmtInt(more)} more, each with fewer calls`) : null,
    note ? el("p", { class: "muted" }, note) : null].filter(Boolean));
}

// ---------- feedback ----------
function feedback(fb, byModel) {
  const byScore = fb.by_score || [];
  const most = Math.max(1, ...byScore.map((r) => r.calls));
  const bars = el("div", { class: "score-bars", id: "dash-scores" }, byScore.map((r) => {
    const bar = el("span", { class: "score-bar" });
    bar.style.width = `${(r.calls / most) * 100}%`;  // CSSOM, which the CSP allows
    return el("div", { class: "score-row", "data-score": r.score }, el("span", { class: "score-key" }, `score ${r.score}`),
      el("span", { class: "score-track" }, bar), el("span", { class: "num score-calls" }, fmtInt(r.calls)));
  }));
  const rated = byModel.groups.filter((g) => g.feedback_count > 0);
  const table = el("table", { class: "dash-table", id: "dash-feedback-models" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Model"), el("th", { scope: "col", class: "num" }, "With feedback"),
      el("th", { scope: "col", class: "num" }, "Of calls"), el("th", { scope: "col", class: "num" }, "Avg score"))),
    el("tbody", {}, rated.map((g) => el("tr", { "data-key": g.key === null ? "" : g.key },
      el("td", {}, g.key === null ? el("span", { class: "muted" }, "(none)") : g.key),
      el("td", { class: "num feedback" }, fmtInt(g.feedback_count)),
      el("td", { class: "num" }, fmtPct(g.feedback_count, g.count)),
      el("td", { class: "num" }, fmtScore(g.avg_feedback_score))))));
  const scores = byScore.map((row) => `${fmtInt(row.calls)} × ${row.score}`).join(", ");
  $("#dash-feedback").replaceChildren(
    el("div", { class: "cards" },
      card("Calls with feedback", fmtInt(fb.calls_with_feedback), "card-feedback", `of ${fmtInt(fb.calls_with_feedback + fb.calls_without_feedback)} calls`),
      card("Avg feedback score", fb.avg_feedback_score === null ? "—" : fmtScore(fb.avg_feedback_score), "card-feedback-avg"),
      card("Feedback by score", scores || "—", "card-feedback-scores")),
    fb.calls_with_feedback ? el("div", { class: "dash-split" },
      el("figure", {}, el("figcaption", {}, "Score distribution (calls per score)"), bars),
      el("figure", {}, el("figcaption", {}, "Feedback by model"), table))
      : el("p", { class: "muted" }, "No feedback in this window. Give it from a call's side panel, or POST /v1/logs/{id}/feedback."));
}

// ---------- loading ----------
let generation = 0;

/** Loads and shows the whole dashboard for the state's window, bucket, breakdown and filters. */
export async function loadSummary() {
  const mine = ++generation;
  const note = $("#summary-note");
  note.classList.remove("error");
  note.textContent = "Loading…";
  filterLine();
  const dim = DIMENSIONS[view.breakdown] ? view.breakdown : "model";
  $("#dash-dimension").value = dim;
  const bucket = chartBucket(view.summaryStart, view.bucket);
  const started = performance.now();
  let summary, series, groups, byModel;
  try {
    [summary, series, groups, byModel] = await Promise.all([
      api("/v1/logs/summary?" + params({})),
      api("/v1/logs/stats?" + params({ group_by: bucket, compare: "previous" })),
      api("/v1/logs/stats?" + params({ group_by: dim })),
      dim === "model" ? null : api("/v1/logs/stats?" + params({ group_by: "model" })),
    ]);
  } catch (err) {
    if (mine !== generation) return;
    note.textContent = `Could not load the dashboard: ${err.message || err}`;
    note.classList.add("error");
    // no figures of an earlier window or filter left under the message, as if they answered this one
    for (const box of ["#cards", "#dash-breakdown", "#dash-feedback"]) $(box).replaceChildren();
    for (const chart of document.querySelectorAll("#view-summary .chart")) chart.replaceChildren();
    return;
  }
  if (mine !== generation) return;  // a newer window or filter is loading: its answer wins
  const p = summary.period;
  note.textContent = `${fmtInt(summary.summary.total_calls)} calls from ${new Date(p.start_date).toLocaleString()} ` +
    `to ${new Date(p.end_date).toLocaleString()}, by ${bucket}` +
    (bucket === view.bucket ? "" : ` (${view.bucket} would be more than ${fmtInt(MAX_BUCKETS)} points over this window)`) +
    "; dashed lines: the period of equal length before.";
  totalsCards(summary.summary, summary.pii);
  charts(series);
  breakdown(groups, summary.summary.total_calls);
  feedback(summary.feedback, byModel || groups);
  document.body.dataset.dashboardMs = String(Math.round(performance.now() - started));
  performance.mark("llmlog:dashboard-shown");  // for bench/bench_page.py, like the table's
}

$("#dash-dimension").addEventListener("change", (ev) => {
  view.breakdown = ev.target.value;
  save({ push: true });
  loadSummary();
});
