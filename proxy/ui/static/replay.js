// Replaying one call: an editable copy of its request sent through llmlog's own proxy route to the
// same provider (its prefix kept: the entry's `proxy_path`), with a provider key the person pastes
// for this replay only, and the answer shown beside the original; and the same request as `curl`.
//
// The pasted key lives in a password field and one local variable while the request is built: it
// is never written to sessionStorage, localStorage or the URL, and the field is emptied as the
// request goes out. llmlog stores request headers redacted, so the new entry holds no key either.
// The request goes out with plain fetch, not api(): the logs API key must never reach the proxy
// route (llmlog refuses a call that carries it).

import { conversation } from "./conversation.js";
import { el, pre, pretty, section } from "./dom.js";

// where a client puts its provider key, in the order llmlog reads it (proxy/headers.py)
const KEY_HEADERS = ["authorization", "x-api-key", "api-key", "x-goog-api-key"];
const REDACTED = "[redacted]";
// not copied: set by the browser itself (scripts may not), framing, or tying the replay into the
// original's trace as if the same agent had made it
const NOT_COPIED = new Set(["host", "content-length", "connection", "accept-encoding", "cookie", "user-agent",
  "origin", "referer", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "expect", "x-forwarded-for",
  "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip", "x-llmlog-parent-id", "x-llmlog-trace-id"]);

function storedHeaders(entry) {
  const headers = (entry.request && entry.request.headers) || [];
  return (Array.isArray(headers) ? headers : Object.entries(headers)).map(([k, v]) => [String(k), String(v)]);
}

/** The header the provider reads its key from, by the names the original call sent (values are
 * stored redacted): Authorization (Bearer) for OpenAI-style APIs, x-api-key for Anthropic. */
export function keyHeader(entry) {
  const names = storedHeaders(entry).map(([k]) => k.toLowerCase());
  return KEY_HEADERS.find((n) => names.includes(n)) || (names.includes("anthropic-version") ? "x-api-key" : "authorization");
}
const keyValue = (name, key) => (name === "authorization" ? "Bearer " + key : key);
const keyLabel = (name) => (name === "authorization" ? "Authorization: Bearer …" : name + ": …");

/** The original call's other headers, without secrets (stored as "[redacted]") or browser-set ones. */
export function copiedHeaders(entry) {
  return storedHeaders(entry).filter(([k, v]) => {
    const low = k.toLowerCase();
    return v !== REDACTED && !NOT_COPIED.has(low) && !low.startsWith("sec-") && !KEY_HEADERS.includes(low);
  });
}

/** The path and query to send to llmlog (the provider's prefix kept), or null: provider gone. */
function target(entry) {
  if (!entry.proxy_path) return null;
  const query = entry.request && entry.request.query ? "?" + String(entry.request.query).replace(/^\?/, "") : "";
  return entry.proxy_path + query;
}

function shellQuote(s) { return "'" + String(s).replace(/'/g, "'\\''") + "'"; }

export function curlFor(entry) {
  const req = entry.request || {};
  const name = keyHeader(entry);
  const path = target(entry) || entry.path;
  const parts = ["curl", "-X", entry.method || "POST", shellQuote(location.origin + path)];
  parts.push("-H", shellQuote(name === "authorization" ? "Authorization: Bearer $YOUR_API_KEY" : `${name}: $YOUR_API_KEY`));
  for (const [k, v] of copiedHeaders(entry)) parts.push("-H", shellQuote(`${k}: ${v}`));
  if (req.body !== null && req.body !== undefined) parts.push("--data-raw", shellQuote(typeof req.body === "string" ? req.body : JSON.stringify(req.body)));
  return parts.join(" ");
}

/** The body to start from: the original's; a streamed one asks for the whole answer at once, so it
 * can be shown beside the original (set "stream" back to true to see the raw stream instead). */
function startingBody(entry) {
  const body = entry.request && entry.request.body;
  if (body === null || body === undefined) return "";
  if (typeof body !== "object") return String(body);
  if (!entry.stream) return JSON.stringify(body, null, 2);
  const copy = { ...body, stream: false };
  delete copy.stream_options;
  return JSON.stringify(copy, null, 2);
}

function errorText(parsed, raw, res) {
  const e = parsed && parsed.error;
  const message = (e && (e.message || (typeof e === "string" ? e : pretty(e)))) || raw.trim().slice(0, 500);
  return `The replay failed: HTTP ${res.status}${res.statusText ? " " + res.statusText : ""}` + (message ? ` — ${message}` : "");
}

function answerColumn(res, raw, parsed, id, open) {
  const link = id ? el("a", { href: "/ui/logs/" + encodeURIComponent(id), id: "replay-id",
    onclick: (ev) => { ev.preventDefault(); open(id); } }, id) : null;
  const head = el("h4", {}, "Replay ", el("span", { class: "badge " + (res.ok ? "ok" : "err") }, `HTTP ${res.status}`));
  const shown = !res.ok ? el("p", { class: "error", role: "alert" }, errorText(parsed, raw, res))
    : parsed && typeof parsed === "object" ? el("div", { class: "conversation" }, conversation({ response: { body: parsed } }))
      : pre(raw);  // a streamed replay: the stream's text as it came
  return el("div", { class: "replay-col", id: "replay-answer" }, head,
    link ? el("p", { class: "muted" }, "logged as ", link) : null, shown);
}

/** The Replay section; `open(id)` opens another call's panel (the replay's own entry). */
export function replayBlock(entry, open) {
  const where = target(entry);
  if (!where) {
    return section("Replay through llmlog", el("p", { class: "error", id: "replay-off" },
      `The provider "${entry.provider}" is no longer configured in llmlog, so this call cannot be replayed `,
      "through it."));
  }
  const name = keyHeader(entry);
  const body = el("textarea", { id: "replay-body", class: "code", rows: 12, spellcheck: "false",
    "aria-label": "Request body to send (JSON)" });
  body.value = startingBody(entry);
  const key = el("input", { id: "replay-key", type: "password", autocomplete: "off", spellcheck: "false",
    placeholder: "provider key, for this replay only" });
  const note = el("p", { class: "muted", role: "status", id: "replay-status" });
  const result = el("div", { id: "replay-result", class: "replay-compare", hidden: true });
  const send = el("button", { type: "button", id: "replay-send" }, "Send through llmlog");
  send.addEventListener("click", async () => {
    const text = body.value;
    const method = (entry.method || "POST").toUpperCase();
    // a call without a body (GET /v1/models, a batch's status) is replayed without one: fetch refuses
    // a body on GET and HEAD, and an empty box is not a JSON mistake
    const bodyless = method === "GET" || method === "HEAD" || text.trim() === "";
    if (bodyless && text.trim() !== "") {
      note.replaceChildren(el("span", { class: "error", role: "alert" }, `A ${method} request has no body: empty the box to replay it.`));
      return;
    }
    if (!bodyless) {
      try { JSON.parse(text); } catch (err) {
        note.replaceChildren(el("span", { class: "error", role: "alert" }, "The body is not valid JSON: " + err.message));
        return;
      }
    }
    const headers = new Headers();
    for (const [k, v] of copiedHeaders(entry)) { try { headers.append(k, v); } catch (_) { /* a name fetch refuses */ } }
    if (!bodyless && !headers.has("content-type")) headers.set("Content-Type", "application/json");
    const pasted = key.value.trim();
    key.value = "";  // the key is used for this request and kept nowhere
    if (pasted) headers.set(name, keyValue(name, pasted));
    send.disabled = true;
    note.textContent = `Sending to ${where}…`;
    let res, raw;
    try {
      res = await fetch(where, { method, headers, body: bodyless ? undefined : text, credentials: "omit",
        cache: "no-store", redirect: "error" });
      raw = await res.text();
    } catch (err) {
      note.replaceChildren(el("span", { class: "error", role: "alert" }, "The replay could not be sent: " + err.message));
      return;
    } finally {
      send.disabled = false;
    }
    let parsed = null;
    try { parsed = JSON.parse(raw); } catch (_) { parsed = null; }
    note.textContent = `Sent to ${where}.`;
    const original = el("div", { class: "replay-col", id: "replay-original" }, el("h4", {}, "Original"),
      el("div", { class: "conversation" }, conversation({ response: entry.response, output: entry.output })));
    result.replaceChildren(original, answerColumn(res, raw, parsed, res.headers.get("x-llmlog-id"), open));
    result.hidden = false;
  });
  return section("Replay through llmlog",
    el("p", { class: "muted" }, `Sends this request again through llmlog to the same provider (${entry.provider}, `,
      el("code", {}, where), "). Edit it first if you like.",
      entry.stream ? " The original was streamed; this replay asks for the whole answer (\"stream\": false)." : ""),
    body,
    el("div", { class: "row" },
      el("label", { class: "grow", for: "replay-key" }, `Provider key (${keyLabel(name)}) `, key),
      send),
    el("p", { class: "muted small" }, "The key is sent with this one request and kept nowhere: not by the page, ",
      "not by llmlog (it stores request headers redacted). Left empty, llmlog adds its own key if it has one."),
    note, result);
}
