// The Summary view: totals as cards, cost and calls over time, cost by model.

import { api } from "./api.js";
import { $, el, fmtCost, fmtInt, fmtMs, svg } from "./dom.js";
import { view } from "./state.js";

function card(label, value, id) { return el("div", { class: "card", id }, el("div", { class: "muted" }, label), el("div", { class: "big" }, value)); }

function barChart(holder, items, fmt) {
  const w = 640, h = 200, pad = 28, max = Math.max(1e-12, ...items.map((i) => i.value));
  const bw = (w - pad * 2) / Math.max(1, items.length);
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", class: "svg-chart" });
  chart.append(svg("title", {}, items.map((i) => `${i.label}: ${fmt(i.value)}`).join("; ")));
  chart.append(svg("line", { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, class: "axis" }));
  chart.append(svg("text", { x: 2, y: 12, class: "axis-label" }, fmt(max)));
  items.forEach((it, i) => {
    const bh = ((h - pad * 2) * it.value) / max;
    const bar = svg("rect", { x: pad + i * bw + bw * 0.1, y: h - pad - bh, width: Math.max(1, bw * 0.8), height: bh, class: "bar" });
    bar.append(svg("title", {}, `${it.label}: ${fmt(it.value)}`));
    chart.append(bar);
  });
  const step = Math.ceil(items.length / 6);
  items.forEach((it, i) => {
    if (i % step === 0) chart.append(svg("text", { x: pad + i * bw, y: h - 8, class: "axis-label" }, it.short || it.label));
  });
  holder.replaceChildren(items.length ? chart : el("p", { class: "muted" }, "No data."));
}

function hbarChart(holder, items, fmt) {
  const rowH = 26, w = 640, labelW = 200, h = rowH * items.length + 10, max = Math.max(1e-12, ...items.map((i) => i.value));
  const chart = svg("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", class: "svg-chart" });
  chart.append(svg("title", {}, items.map((i) => `${i.label}: ${fmt(i.value)}`).join("; ")));
  items.forEach((it, i) => {
    const y = 5 + i * rowH;
    chart.append(svg("text", { x: 0, y: y + 16, class: "axis-label" }, it.label));
    chart.append(svg("rect", { x: labelW, y, width: Math.max(1, ((w - labelW - 110) * it.value) / max), height: rowH - 8, class: "bar" }));
    chart.append(svg("text", { x: w - 105, y: y + 16, class: "axis-label" }, fmt(it.value)));
  });
  holder.replaceChildren(items.length ? chart : el("p", { class: "muted" }, "No data."));
}

function bucketLabel(key) {
  const d = new Date(typeof key === "number" ? key : key);
  return isNaN(d) ? String(key) : d.toLocaleString(undefined, { month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit" });
}

function feedbackCards(fb) {
  if (!fb) return [];
  const avg = fb.avg_feedback_score === null ? "—" : String(Math.round(fb.avg_feedback_score * 100) / 100);
  const byScore = (fb.by_score || []).map((row) => `${fmtInt(row.calls)} × ${row.score}`).join(", ");
  return [card("Calls with feedback", fmtInt(fb.calls_with_feedback), "card-feedback"),
    card("Avg feedback score", avg, "card-feedback-avg"),
    card("Feedback by score", byScore || "—", "card-feedback-scores")];
}

export async function loadSummary() {
  const start = view.summaryStart, bucket = view.bucket;
  const note = $("#summary-note");
  note.textContent = "Loading…";
  let summary, stats;
  try {
    summary = await api("/v1/logs/summary?" + new URLSearchParams({ start_date: start }));
    stats = await api("/v1/logs/stats?" + new URLSearchParams({ start_date: start, group_by: bucket }));
  } catch (err) {
    note.textContent = `Could not load the summary: ${err.message || err}`;
    return;
  }
  note.textContent = "";
  const s = summary.summary;
  const byModel = Object.entries(summary.by_model || {}).map(([label, m]) => ({ label, value: m.total_cost_usd || 0 }));
  const buckets = stats.groups.map((g) => ({ key: g.key, cost: g.cost_usd || 0, calls: g.count || 0 }));
  const failRate = s.total_calls ? (s.failed_calls / s.total_calls) * 100 : 0;
  $("#cards").replaceChildren(
    card("Calls", fmtInt(s.total_calls), "card-calls"), card("Cost", fmtCost(s.total_cost_usd), "card-cost"),
    card("Error rate", failRate.toFixed(1) + "%", "card-errors"), card("p50 latency", fmtMs(s.p50_latency_ms), "card-p50"),
    card("p95 latency", fmtMs(s.p95_latency_ms), "card-p95"), card("Tokens", fmtInt(s.total_tokens), "card-tokens"),
    card("Unpriced calls", fmtInt(s.unpriced_calls), "card-unpriced"),
    ...feedbackCards(summary.feedback));
  barChart($("#chart-cost .chart"), buckets.map((b) => ({ label: bucketLabel(b.key), short: bucketLabel(b.key), value: b.cost })), fmtCost);
  barChart($("#chart-calls .chart"), buckets.map((b) => ({ label: bucketLabel(b.key), short: bucketLabel(b.key), value: b.calls })), fmtInt);
  hbarChart($("#chart-models .chart"), byModel.sort((a, b) => b.value - a.value).slice(0, 12), fmtCost);
}

