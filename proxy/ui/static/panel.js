// The side panel of one call: what it sent and got, usage, cost, timing, trace, feedback, replay.

import { api, Missing } from "./api.js";
import { conversation } from "./conversation.js";
import { $, dl, el, fmtCost, fmtInt, fmtTime, pre, pretty, section, statusBadge } from "./dom.js";
import { imagesBlock } from "./images.js";
import { curlFor, replayBlock } from "./replay.js";
import { save, view } from "./state.js";
import { timingBlock } from "./timing.js";
import { usageBlock } from "./usage.js";

// the personal data found in what the call said: how many values of each kind (the values stay in the content)
function piiBlock(e) {
  if (!e.pii) return null;
  return section("Personal data", el("dl", { class: "kv", id: "panel-pii" },
    Object.entries(e.pii).flatMap(([kind, n]) => [el("dt", {}, kind), el("dd", {}, fmtInt(n))])),
  el("p", { class: "muted" }, "Values of each kind found in the prompt, the answer and tool calls."));
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

// the stream's events, read once for both the timing's chunk timeline and the list below
function streamEvents(entry) {
  return api(`/v1/logs/${encodeURIComponent(entry.id)}/events`)
    .then((data) => (Array.isArray(data) ? data : data.events || []));
}

function eventsBlock(streamed) {
  const holder = section("Stream events", el("p", { class: "muted" }, "Loading…"));
  streamed.then((events) => {
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
    // root → … → this call, each a link, with an arrow between them (not one run-on string of ids)
    const crumbs = (h.breadcrumb || []).flatMap((c, i) => [i ? el("span", { class: "muted", "aria-hidden": "true" }, " → ") : null,
      el("a", { href: "/ui/logs/" + encodeURIComponent(c.id || c),
        onclick: (ev) => { ev.preventDefault(); openPanel(c.id || c); } }, (c.model || "") + " " + (c.id || c))]).filter(Boolean);
    const link = (c) => el("a", { href: "/ui/logs/" + encodeURIComponent(c.id),
      onclick: (ev) => { ev.preventDefault(); openPanel(c.id); } }, (c.model || "") + " " + c.id);
    const t = h.tree || {};
    const children = h.children_total ?? (h.children || []).length;
    // the calls this one made, each a link (the API lists the first of them; the count is all)
    const kids = (h.children || []).length ? el("ul", { class: "sub-calls", id: "sub-calls" },
      h.children.map((c) => el("li", { "data-id": c.id }, link(c), el("span", { class: "muted" }, " " + (c.status || ""))))) : "";
    holder.append(el("nav", { class: "crumbs", "aria-label": "Trace" }, crumbs),
      el("p", { class: "muted", id: "trace-summary" }, `${children} ${children === 1 ? "child call" : "child calls"}; `,
        `${t.calls} calls in the tree, ${fmtCost(t.cost_usd)} in all`,
        t.unpriced_calls ? ` + ${t.unpriced_calls} unpriced` : ""),
      kids,
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
  const streamed = e.stream && e.has_content && !e.do_not_track ? streamEvents(e) : null;
  $("#panel-title").replaceChildren(el("span", {}, e.model || "Call", " ", statusBadge(e),
    e.do_not_track ? el("span", { class: "badge dnt" }, "do not track") : null));
  const blocks = [
    section("Call", dl([["id", el("code", {}, e.id)], ["time", fmtTime(e.timestamp)], ["provider", e.provider],
      ["endpoint", `${e.method} ${e.path}`],
      ["through llmlog", e.proxy_path === null ? `provider "${e.provider}" no longer configured` : e.proxy_path],
      ["request type", e.request_type], ["response model", e.response_model],
      ["finish reason", e.finish_reason],
      ["user", e.user_id], ["tags", (e.tags || []).join(", ")], ["environment", e.environment],
      ["task type", e.task_type], ["session", e.session_id], ["trace", e.trace_id], ["parent", e.parent_id],
      ["API key", e.api_key_prefix ? e.api_key_prefix + "…" : null],
      ["client", e.request_ip], ["user agent", e.user_agent],
      ["metadata", e.metadata && e.metadata.custom ? pretty(e.metadata.custom) : null], ["error", e.error]])),
    piiBlock(e),
    usageBlock(e),
    timingBlock(e, streamed),
  ].filter(Boolean);
  if (e.do_not_track || !e.has_content) {
    blocks.push(section("Content", el("p", { class: "dnt-note" }, el("span", { class: "badge dnt" }, "do not track"),
      " No request or response content was stored for this call.")));
  } else {
    blocks.push(section("Conversation", el("div", { class: "conversation" }, conversation(e))));
    const images = imagesBlock(e);
    if (images) blocks.push(images);
    if (streamed) blocks.push(eventsBlock(streamed));
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
    blocks.push(replayBlock(e, openPanel));
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
