// The llmlog logs page. Talks only to the public logs API (DESIGN §6). All user content goes
// into the page through textContent / createTextNode, never innerHTML.
"use strict";

const KEY_STORE = "llmlog.key";
const state = { sortBy: "timestamp", sortOrder: "desc", cursor: null, loading: false, timer: null,
                openId: null };

// ---------- DOM helpers ----------
function el(tag, attrs, ...children) {
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
const $ = (sel) => document.querySelector(sel);
const svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const node = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---------- formatting ----------
function fmtCost(v) {
  if (v === null || v === undefined) return "—";
  if (v === 0) return "$0";
  // small per-call costs keep their significant digits ($0.0000042), larger ones read as money
  return v < 0.01 ? "$" + v.toFixed(10).replace(/0+$/, "") : "$" + v.toFixed(4);
}
const fmtInt = (v) => (v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US"));
const fmtMs = (v) => (v === null || v === undefined ? "—" : v >= 1000 ? (v / 1000).toFixed(2) + " s" : Math.round(v) + " ms");
function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { month: "short", day: "2-digit", hour: "2-digit",
    minute: "2-digit", second: "2-digit" });
}
const pretty = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

// ---------- API ----------
class Missing extends Error {}
let askingKey = null;

function askForKey() {
  if (askingKey) return askingKey;
  const form = $("#auth");
  form.hidden = false;
  $("#auth-key").focus();
  askingKey = new Promise((resolve) => {
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      sessionStorage.setItem(KEY_STORE, $("#auth-key").value.trim());
      form.hidden = true;
      askingKey = null;
      resolve();
    }, { once: true });
  });
  return askingKey;
}

async function api(path, options = {}) {
  for (;;) {
    const headers = { Accept: "application/json", ...(options.headers || {}) };
    const key = sessionStorage.getItem(KEY_STORE);
    if (key) headers.Authorization = "Bearer " + key;
    const res = await fetch(path, { ...options, headers });
    if (res.status === 401) { await askForKey(); continue; }
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    if (res.status === 404 || res.status === 405) throw new Missing((body && body.error && body.error.message) || "not found");
    if (!res.ok) throw new Error((body && body.error && body.error.message) || "HTTP " + res.status);
    return body;
  }
}

// ---------- logs table ----------
// the feedback menu's thumbs: the panel's buttons give 1 (good) and 0 (bad)
const FEEDBACK_CHOICES = { good: ["min_feedback_score", "1"], bad: ["max_feedback_score", "0"] };

function filterParams(form) {
  const params = new URLSearchParams();
  for (const [k, v] of new FormData(form)) if (String(v).trim() !== "") params.set(k, String(v).trim());
  const thumb = FEEDBACK_CHOICES[params.get("feedback")];
  if (thumb) { params.delete("feedback"); params.set(thumb[0], thumb[1]); }
  return params;
}

function feedbackCell(e) {
  if (!e.feedback || typeof e.feedback.score !== "number") return "";
  const s = e.feedback.score;
  return el("span", { class: "score", title: e.feedback.comment || null }, s >= 1 ? `👍 ${s}` : s <= 0 ? `👎 ${s}` : String(s));
}

function statusBadge(e) {
  const kind = e.status === "success" ? "ok" : e.status === "error" ? "err" : "warn";
  const text = e.status_code ? `${e.status} ${e.status_code}` : e.status;
  return el("span", { class: "badge " + kind }, text);
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

async function loadLogs(append) {
  if (state.loading) return;
  state.loading = true;
  const started = performance.now();
  const params = filterParams($("#filters"));
  params.set("sort_by", state.sortBy);
  params.set("sort_order", state.sortOrder);
  params.set("limit", "50");
  if (append && state.cursor) params.set("cursor", state.cursor);
  const tbody = $("#logs tbody");
  try {
    const page = await api("/v1/logs?" + params);
    if (!append) tbody.replaceChildren();
    const frag = document.createDocumentFragment();
    for (const e of page.logs) frag.append(row(e));
    tbody.append(frag);
    state.cursor = page.pagination && page.pagination.has_more ? page.pagination.next_cursor : null;
    $("#more").hidden = !state.cursor;
    const shown = tbody.children.length;
    $("#status-line").textContent = page.total === 0 ? "No calls match these filters."
      : `Showing ${shown.toLocaleString("en-US")} of ${Number(page.total).toLocaleString("en-US")} calls`;
    rememberModels(page.logs);
    document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  } catch (err) {
    $("#status-line").textContent = "Could not load logs: " + err.message;
  } finally {
    state.loading = false;
  }
}

function rememberModels(logs) {
  const list = $("#models");
  const known = new Set([...list.options].map((o) => o.value));
  for (const e of logs) if (e.model && !known.has(e.model)) { known.add(e.model); list.append(el("option", { value: e.model })); }
}

function markSort() {
  for (const b of document.querySelectorAll("th button[data-sort]")) {
    const on = b.dataset.sort === state.sortBy;
    b.closest("th").setAttribute("aria-sort", on ? (state.sortOrder === "asc" ? "ascending" : "descending") : "none");
    b.dataset.dir = on ? state.sortOrder : "";
  }
}

// ---------- the side panel ----------
function section(title, ...children) {
  return el("section", { class: "block" }, el("h3", {}, title), ...children);
}
function dl(pairs) {
  return el("dl", { class: "kv" }, pairs.filter(([, v]) => v !== null && v !== undefined && v !== "")
    .flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}
function pre(value) { return el("pre", { class: "code" }, pretty(value)); }

function contentText(c) {
  if (c === null || c === undefined) return "";
  if (typeof c === "string") return c;
  if (Array.isArray(c)) return c.map((p) => (p && p.text) || (p && p.type ? `[${p.type}]` : pretty(p))).join("\n");
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

function conversation(entry) {
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

// ---------- images sent to and made by vision and image models ----------
// Only raster types render, and only from data: URLs (a data: SVG is script-inert inside <img>,
// but there is no need to trust that); the page's CSP allows no other image source.
const SAFE_IMAGE = /^data:image\/(png|jpeg|jpg|gif|webp|avif|bmp);base64,[A-Za-z0-9+/=]+$/i;
const MAX_IMAGES = 24;

function imageRef(url, label) {
  return { url: typeof url === "string" ? url.replace(/\s+/g, "") : null, label };
}

// image parts anywhere in a body: OpenAI chat `image_url`, Responses `input_image`, Anthropic
// `image` blocks (base64 or url source), Gemini `inlineData`/`fileData`
function collectImages(value, found, label, depth = 0) {
  if (!value || typeof value !== "object" || depth > 12 || found.length >= MAX_IMAGES) return found;
  if (Array.isArray(value)) { for (const v of value) collectImages(v, found, label, depth + 1); return found; }
  if (value.type === "image_url" && value.image_url) {
    found.push(imageRef(typeof value.image_url === "string" ? value.image_url : value.image_url.url, label));
  } else if (value.type === "input_image" && typeof value.image_url === "string") {
    found.push(imageRef(value.image_url, label));
  } else if (value.type === "image" && value.source && typeof value.source === "object") {
    const src = value.source;
    if (src.type === "base64") found.push(imageRef(`data:${src.media_type};base64,${src.data}`, label));
    else if (src.type === "url") found.push(imageRef(src.url, label));
  } else if (value.inlineData || value.inline_data) {
    const d = value.inlineData || value.inline_data;
    found.push(imageRef(`data:${d.mimeType || d.mime_type};base64,${d.data}`, label));
  } else {
    for (const v of Object.values(value)) collectImages(v, found, label, depth + 1);
  }
  return found;
}

function entryImages(entry) {
  const req = entry.request && entry.request.body;
  const images = collectImages(req, [], "sent");
  const answer = entry.response && (entry.response.assembled || entry.response.body);
  if (answer && typeof answer === "object") {
    // OpenAI image generation: data[].b64_json in the request's output_format (PNG unless asked), or data[].url
    const format = req && typeof req === "object" && /^(png|jpeg|webp)$/.test(req.output_format) ? req.output_format : "png";
    for (const d of Array.isArray(answer.data) ? answer.data : []) {
      if (!d || typeof d !== "object") continue;
      const label = typeof d.revised_prompt === "string" ? d.revised_prompt : "generated";
      if (typeof d.b64_json === "string") images.push(imageRef(`data:image/${format};base64,${d.b64_json}`, label));
      else if (typeof d.url === "string") images.push(imageRef(d.url, label));
    }
    // Responses API image_generation_call items carry the image base64 in `result`
    for (const o of Array.isArray(answer.output) ? answer.output : []) {
      if (o && o.type === "image_generation_call" && typeof o.result === "string") {
        images.push(imageRef(`data:image/${/^(png|jpeg|webp)$/.test(o.output_format) ? o.output_format : "png"};base64,${o.result}`, "generated"));
      }
    }
    if (Array.isArray(answer.candidates)) collectImages(answer.candidates, images, "generated");
  }
  return images.slice(0, MAX_IMAGES);
}

function remoteLink(url) {
  let parsed = null;
  try { parsed = new URL(url); } catch (_) { parsed = null; }
  if (!parsed || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) return null;
  return parsed.href;
}

function imageFigure(img, i) {
  const caption = `${img.label === "sent" ? "sent" : "generated"} image ${i + 1}`;
  const described = img.label && img.label !== "sent" && img.label !== "generated" ? img.label : caption;
  let shown;
  if (img.url && SAFE_IMAGE.test(img.url)) {
    shown = el("img", { src: img.url, alt: described, class: "call-image" });
  } else if (img.url && remoteLink(img.url)) {
    // not loaded: fetching it would tell its host who looked, and when; the link opens it on request
    shown = el("p", { class: "muted" }, "Remote image, not loaded: ",
      el("a", { href: remoteLink(img.url), target: "_blank", rel: "noopener noreferrer", referrerpolicy: "no-referrer",
                class: "remote-image" }, remoteLink(img.url).slice(0, 120)));
  } else {
    shown = el("p", { class: "muted unsafe-image" }, "Not shown: not a PNG, JPEG, GIF, WebP, AVIF or BMP image ",
      el("code", {}, String(img.url || "").slice(0, 60)));
  }
  return el("figure", { class: "image" }, shown, el("figcaption", { class: "muted" }, described === caption ? caption : `${caption}: ${described}`));
}

function imagesBlock(entry) {
  const images = entryImages(entry);
  if (!images.length) return null;
  return section(`Images (${images.length})`, el("div", { class: "images" }, images.map(imageFigure)));
}

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

async function hierarchyBlock(entry) {
  if (!entry.parent_id && !entry.trace_id) return null;
  const holder = section("Trace");
  api(`/v1/logs/${encodeURIComponent(entry.id)}/hierarchy`).then((h) => {
    const crumbs = (h.breadcrumb || []).map((c) => el("a", { href: "/ui/logs/" + encodeURIComponent(c.id || c),
      onclick: (ev) => { ev.preventDefault(); openPanel(c.id || c); } }, (c.model || "") + " " + (c.id || c)));
    holder.append(el("nav", { class: "crumbs", "aria-label": "Trace" }, crumbs),
      el("p", { class: "muted" }, `${(h.children || []).length} child calls`));
  }).catch(() => holder.remove());
  return holder;
}

async function openPanel(id, { push = true } = {}) {
  state.openId = id;
  const panel = $("#panel"), body = $("#panel-body");
  panel.hidden = false;
  document.body.classList.add("panel-open");
  body.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  if (push && location.pathname !== "/ui/logs/" + id) history.pushState({ id }, "", "/ui/logs/" + encodeURIComponent(id));
  let e;
  try {
    e = await api("/v1/logs/" + encodeURIComponent(id));
  } catch (err) {
    body.replaceChildren(el("p", { class: "error" }, err instanceof Missing ? `No call with id ${id}.` : err.message));
    return;
  }
  if (state.openId !== id) return;
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

function closePanel({ push = true } = {}) {
  const id = state.openId;
  state.openId = null;
  $("#panel").hidden = true;
  document.body.classList.remove("panel-open");
  if (push && location.pathname !== "/ui/") history.pushState({}, "", "/ui/");
  const back = id && document.querySelector(`tr[data-id="${CSS.escape(id)}"]`);
  if (back) back.focus();
}

// ---------- summary ----------
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

async function loadSummary() {
  const form = $("#summary-form");
  const start = form.elements.start_date.value, bucket = form.elements.bucket.value;
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


// ---------- wiring ----------
function showView(name) {
  $("#view-logs").hidden = name !== "logs";
  $("#view-summary").hidden = name !== "summary";
  $("#tab-logs").setAttribute("aria-pressed", String(name === "logs"));
  $("#tab-summary").setAttribute("aria-pressed", String(name === "summary"));
  if (name === "summary") loadSummary();
}

function routeFromLocation() {
  const m = location.pathname.match(/^\/ui\/logs\/([^/]+)$/);
  if (m) openPanel(decodeURIComponent(m[1]), { push: false });
  else if (!$("#panel").hidden) closePanel({ push: false });
}

function init() {
  $("#filters").addEventListener("submit", (ev) => { ev.preventDefault(); state.cursor = null; loadLogs(false); });
  $("#filters").addEventListener("reset", () => setTimeout(() => { state.cursor = null; loadLogs(false); }));
  $("#summary-form").addEventListener("submit", (ev) => { ev.preventDefault(); loadSummary(); });
  for (const b of document.querySelectorAll("th button[data-sort]")) {
    b.addEventListener("click", () => {
      state.sortOrder = state.sortBy === b.dataset.sort && state.sortOrder === "desc" ? "asc" : "desc";
      state.sortBy = b.dataset.sort;
      markSort();
      state.cursor = null;
      loadLogs(false);
    });
  }
  $("#more").addEventListener("click", () => loadLogs(true));
  if ("IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      if (entries.some((x) => x.isIntersecting) && state.cursor && !$("#view-logs").hidden) loadLogs(true);
    }).observe($("#sentinel"));
  }
  $("#auto-refresh").addEventListener("change", (ev) => {
    clearInterval(state.timer);
    state.timer = ev.target.checked ? setInterval(() => loadLogs(false), 5000) : null;
  });
  $("#tab-logs").addEventListener("click", () => showView("logs"));
  $("#tab-summary").addEventListener("click", () => showView("summary"));
  $("#panel-close").addEventListener("click", () => closePanel());
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && !$("#panel").hidden) closePanel(); });
  window.addEventListener("popstate", routeFromLocation);
  markSort();
  loadLogs(false);
  routeFromLocation();
}

init();
