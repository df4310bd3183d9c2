// The logs API as the page calls it: the key (kept for this browser session only), and errors
// turned into exceptions carrying the API's own message.

import { $ } from "./dom.js";

const KEY_STORE = "llmlog.key";

/** A 404 or 405: the route or the call is not there (an older server, a deleted call). */
export class Missing extends Error {}
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

export async function api(path, options = {}) {
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
