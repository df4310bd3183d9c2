// The side panel of one call: what it sent and got, usage, cost, timing, trace, feedback, replay.

import { api, Missing } from "./api.js";
import { conversation } from "./conversation.js";
import { $, dl, el, fmtCost, fmtInt, fmtMs, fmtTime, pre, pretty, section, statusBadge } from "./dom.js";
import { imagesBlock } from "./images.js";
import { save, view } from "./state.js";

function shellQuote(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }

function curlFor(entry) {
  const req = entry.request || {};
  const url = location.origin + entry.path + (req.query ? "?" + String(req.query).replace(/^\?/, "") : "");
  const parts = ["curl", "-X", entry.method || "POST", shellQuote(url)];
  parts.push("-H", shellQuote("Authorization: Bearer $YOUR_API_KEY"));
  const skip = new Set(["authorization", "api-key", "x-api-key", "cookie", "host", "content-length", "connection",
                        "accept-encoding"]);
  const headers = req.headers || {};
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [k, v] of pairs) if (!skip.has(String(k).toLowerCase())) parts.push("-H", shellQuote(`${k}: ${v}`));
  if (req.body !== null && req.body !== undefined) parts.push("--data-raw", shellQuote(typeof req.body === "string" ? req.body : JSON.stringify(req.body)));
  return parts.join(" ");
}

function feedbackBlock(entry) {
  const note = el("span", { class: "muted", role: "status" },
    entry.feedback ? `current: ${pretty(entry.feedback.score !== undefined ? entry.feedback.score : entry.feedback)}` : "");
  const send = async (score) => {
    try {
      await api(`/v1/logs/${encodeURIComponent(entry.id)}/feedback`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ score, comment: $("#fb-comment").value }) });
      note.textContent = "Thanks, saved.";
    } catch (err) {
      note.textContent = err instanceof Missing ? "Feedback is not available on this server." : "Could not save: " + err.message;
    }
  };
  return section("Feedback",
    el("div", { class: "row" },
      el("button", { type: "button", class: "fb", "aria-label": "Good response", onclick: () => send(1) }, "👍 Good"),
      el("button", { type: "button", class: "fb", "aria-label": "Bad response", onclick: () => send(0) }, "👎 Bad"),
      el("label", { class: "grow" }, "Comment ", el("input", { id: "fb-comment", type: "text" })), note));
}

async function eventsBlock(entry) {
  const holder = section("Stream events", el("p", { class: "muted" }, "Loading…"));
  api(`/v1/logs/${encodeURIComponent(entry.id)}/events`).then((data) => {
    const events = Array.isArray(data) ? data : data.events || [];
    const list = el("ol", { class: "events" }, events.map((ev) => el("li", {},
      el("span", { class: "muted" }, `+${Math.round(ev.offset_ms || 0)} ms ${ev.event || "message"} `),
      el("code", {}, typeof ev.data === "string" ? ev.data : JSON.stringify(ev.data)))));
    holder.replaceChildren(el("h3", {}, `Stream events (${events.length})`), list);
  }).catch(() => holder.remove());
  return holder;
}

// Where the call sits in its tree (root → this), and the way to the Traces view for the whole tree;
// shown only for a call with a parent or sub-calls. main.js switches the view on `llmlog:trace`.
async function hierarchyBlock(entry) {
  const holder = section("Trace");
  holder.hidden = true;
  api(`/v1/logs/${encodeURIComponent(entry.id)}/hierarchy`).then((h) => {
    if (!h.parent && !h.children_total) { holder.remove(); return; }
    const crumbs = (h.breadcrumb || []).map((c) => el("a", { href: "/ui/logs/" + encodeURIComponent(c.id || c),
      onclick: (ev) => { ev.preventDefault(); openPanel(c.id || c); } }, (c.model || "") + " " + (c.id || c)));
    const t = h.tree || {};
    holder.append(el("nav", { class: "crumbs", "aria-label": "Trace" }, crumbs),
      el("p", { class: "muted" }, `${h.children_total ?? (h.children || []).length} child calls; `,
        `${t.calls} calls in the tree, ${fmtCost(t.cost_usd)} in all`),
      el("button", { type: "button", id: "show-trace", onclick: () => document.dispatchEvent(
        new CustomEvent("llmlog:trace", { detail: { id: entry.id } })) }, "Show the whole trace"));
    holder.hidden = false;
  }).catch(() => holder.remove());
  return holder;
}

export async function openPanel(id, { push = true } = {}) {
  view.openId = id;
  const panel = $("#panel"), body = $("#panel-body");
  panel.hidden = false;
  document.body.classList.add("panel-open");
  body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  save({ push });
  let e;
  try {
    e = await api("/v1/logs/" + encodeURIComponent(id));
  } catch (err) {
    body.replaceChildren(el("p", { class: "error" }, err instanceof Missing ? `No call with id ${id}.` : err.message));
    return;
  }
  if (view.openId !== id) return;
  $("#panel-title").replaceChildren(el("span", {}, e.model || "Call", " ", statusBadge(e),
    e.do_not_track ? el("span", { class: "badge dnt" }, "do not track") : null));
  const blocks = [
    section("Call", dl([["id", el("code", {}, e.id)], ["time", fmtTime(e.timestamp)], ["provider", e.provider],
      ["endpoint", `${e.method} ${e.path}`], ["request type", e.request_type], ["response model", e.response_model],
      ["finish reason", e.finish_reason],
      ["user", e.user_id], ["tags", (e.tags || []).join(", ")], ["environment", e.environment],
      ["task type", e.task_type], ["session", e.session_id], ["trace", e.trace_id], ["parent", e.parent_id],
      ["API key", e.api_key_prefix ? e.api_key_prefix + "…" : null],
      ["client", e.request_ip], ["user agent", e.user_agent],
      ["metadata", e.metadata && e.metadata.custom ? pretty(e.metadata.custom) : null], ["error", e.error]])),
    section("Usage and cost", dl([["input tokens", fmtInt(e.input_tokens)], ["cached input", fmtInt(e.cached_input_tokens)],
      ["cache write", fmtInt(e.cache_write_tokens)], ["output tokens", fmtInt(e.output_tokens)],
      ["reasoning", fmtInt(e.reasoning_tokens)], ["total tokens", fmtInt(e.total_tokens)], ["usage from", e.usage_source],
      ["cost", el("strong", { class: "cost", "data-cost": e.cost_usd }, e.priced ? fmtCost(e.cost_usd) : "unpriced")],
      ...(e.cost_breakdown ? [["input", fmtCost(e.cost_breakdown.input_usd)], ["cached input", fmtCost(e.cost_breakdown.cached_input_usd)],
        ["cache write", fmtCost(e.cost_breakdown.cache_write_usd)], ["output", fmtCost(e.cost_breakdown.output_usd)]] : []),
      ["price table", e.pricing_version]])),
    section("Timing", dl([["started", e.started_at], ["completed", e.completed_at],
      ["time to first byte", fmtMs(e.ttfb_ms)], ["duration", fmtMs(e.duration_ms)], ["streamed", e.stream ? "yes" : "no"]])),
  ];
  if (e.do_not_track || !e.has_content) {
    blocks.push(section("Content", el("p", { class: "dnt-note" }, el("span", { class: "badge dnt" }, "do not track"),
      " No request or response content was stored for this call.")));
  } else {
    blocks.push(section("Conversation", el("div", { class: "conversation" }, conversation(e))));
    const images = imagesBlock(e);
    if (images) blocks.push(images);
    if (e.stream) blocks.push(await eventsBlock(e));
    blocks.push(section("Request", el("details", {}, el("summary", {}, "headers"), pre(e.request && e.request.headers)),
      pre(e.request && e.request.body)));
    blocks.push(section("Response", el("details", {}, el("summary", {}, "headers"), pre(e.response && e.response.headers)),
      pre(e.response && (e.response.assembled || e.response.body))));
    const cmd = curlFor(e);
    const copied = el("span", { class: "muted", role: "status" });
    blocks.push(section("Replay with curl", el("pre", { class: "code", id: "curl" }, cmd),
      el("button", { type: "button", onclick: async () => {
        try { await navigator.clipboard.writeText(cmd); copied.textContent = "Copied."; }
        catch (_) { copied.textContent = "Select the text above to copy it."; }
      } }, "Copy curl"), " ", copied));
  }
  const trace = await hierarchyBlock(e);
  if (trace) blocks.push(trace);
  blocks.push(feedbackBlock(e));
  body.replaceChildren(...blocks);
  panel.focus();
}

export function closePanel({ push = true } = {}) {
  const id = view.openId;
  view.openId = null;
  $("#panel").hidden = true;
  document.body.classList.remove("panel-open");
  save({ push });
  const back = id && document.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
  if (back) back.focus();
}
