// The logs API as the page calls it: the key (kept for this browser session only), and errors
// turned into exceptions carrying the API's own message.

import { $ } from "./dom.js";

const KEY_STORE = "llmlog.key";

/** A 404 or 405: the route or the call is not there (an older server, a deleted call). */
export class Missing extends Error {}
let askingKey = null;

/** Error text from the API's error body (`{"error": {"message"}}`), else the HTTP status. */
function messageOf(body, res) {
  return (body && body.error && body.error.message) || `HTTP ${res.status} ${res.statusText}`.trim();
}

// Says plainly why a key is asked for: none was sent yet, or the one sent was refused (with the
// server's own 401 message either way), and puts the cursor in the key field.
function askForKey(refusal, sentKey) {
  const note = $("#auth-note");
  note.textContent = sentKey
    ? `The API key was refused: ${refusal} Check it and enter it again.`
    : `The logs API needs a key (one of logs_api.api_keys in llmlog's config): ${refusal}`;
  note.classList.toggle("error", Boolean(sentKey));
  if (askingKey) return askingKey;
  const form = $("#auth");
  form.hidden = false;
  const field = $("#auth-key");
  field.focus();
  field.select();
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
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    if (res.status === 401) { await askForKey(messageOf(body, res), Boolean(key)); continue; }
    if (res.status === 404 || res.status === 405) throw new Missing(messageOf(body, res));
    if (!res.ok) throw new Error(messageOf(body, res));
    return body;
  }
}
