// The conversation of a call as messages: system, user, assistant, tool calls, errors.

import { el, pre, pretty } from "./dom.js";
import { inlineImage } from "./images.js";

// a message's content: text as text, image parts inline where they were sent (not "[image_url]")
function contentText(c) {
  if (c === null || c === undefined) return "";
  if (typeof c === "string") return c;
  if (Array.isArray(c)) {
    let images = 0;
    return c.flatMap((p, i) => {
      const image = p && p.text === undefined ? inlineImage(p, images) : null;
      if (image) images += 1;
      return [i ? "\n" : null, image || (p && p.text) || (p && p.type ? `[${p.type}]` : pretty(p))];
    }).filter((x) => x !== null);
  }
  return pretty(c);
}

function toolCalls(calls) {
  return (calls || []).map((t) => el("div", { class: "tool" },
    el("strong", {}, "tool call: " + ((t.function && t.function.name) || t.name || t.type || "?")),
    pre((t.function && t.function.arguments) || t.input || t.arguments || t)));
}

function message(role, content, extra) {
  return el("div", { class: "msg " + String(role || "other").replace(/[^a-z_]/gi, "") },
    el("div", { class: "role" }, role || "?"), el("div", { class: "text" }, contentText(content)), extra || []);
}

export function conversation(entry) {
  const body = entry.request && entry.request.body;
  const out = [];
  if (body && typeof body === "object") {
    if (typeof body.system === "string") out.push(message("system", body.system));
    for (const m of body.messages || []) out.push(message(m.role, m.content, toolCalls(m.tool_calls)));
    if (!body.messages && body.input !== undefined) out.push(message("input", body.input));
    if (!body.messages && body.prompt !== undefined) out.push(message("prompt", body.prompt));
  }
  const answer = (entry.response && (entry.response.assembled || entry.response.body)) || null;
  if (answer && typeof answer === "object") {
    for (const ch of answer.choices || []) {
      const m = ch.message || ch.delta || {};
      out.push(message(m.role || "assistant", m.content !== undefined ? m.content : ch.text, toolCalls(m.tool_calls)));
    }
    if (Array.isArray(answer.content)) {
      out.push(message(answer.role || "assistant", answer.content.filter((p) => p.type === "text"),
        toolCalls(answer.content.filter((p) => p.type === "tool_use"))));
    }
    if (answer.error) out.push(message("error", answer.error.message || answer.error));
  } else if (!out.length && entry.output && entry.output.text) {
    out.push(message("assistant", entry.output.text));
  }
  return out;
}
