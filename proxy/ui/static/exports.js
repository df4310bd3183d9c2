// The Exports view: Portkey-style export jobs over the logs API's `/v1/logs/exports` (create a draft
// with a time range, filters and fields; start it; watch its status; download its file; start a
// failed one again). The fields offered and the default set come from /openapi.json, so the page
// offers exactly the names the API takes.
//
// A job's filters are pinned by the server when it is created (relative times made absolute), so a
// retry exports the same period. Download asks `…/download` for a signed URL and navigates to it: the
// file arrives as a browser download, and the URL works without the logs API key the page holds.

import { api, Missing } from "./api.js";
import { $, el, fmtInt, fmtTime } from "./dom.js";
import { DEFAULTS, FILTERS, view } from "./state.js";
import { filterParams } from "./table.js";

const POLL_MS = 1000;  // while a job runs; the list is read again until none does
const RANGES = [["-1h", "Last hour"], ["-24h", "Last 24 hours"], ["-7d", "Last 7 days"], ["-30d", "Last 30 days"],
  ["-365d", "Last year"], ["", "All time"], ["custom", "Custom range"]];
// the table's filters a job can carry (the time range has its own field)
const FILTER_NAMES = FILTERS.filter((k) => k !== "start_date");
const enc = encodeURIComponent;

// what the form offers, read once from /openapi.json: field names, the default set, formats
let schema = null;
let pollTimer = null;
let generation = 0;

async function jobSchema() {
  if (schema) return schema;
  const doc = await api("/openapi.json");
  const body = doc.paths["/v1/logs/exports"].post.requestBody.content["application/json"].schema.properties;
  schema = { fields: body.requested_data.items.anyOf[0].enum, defaults: body.requested_data.default,
    formats: body.format.enum };
  return schema;
}

// ---------- the list ----------

function note(text, error = false) {
  const p = $("#exports-note");
  p.textContent = text;
  p.classList.toggle("error", error);
}

function first(values) { return Array.isArray(values) ? values[0] : values; }

function rangeText(filters) {
  const start = first(filters.start_date), end = first(filters.end_date);
  return `${start ? fmtTime(start) : "all time"} – ${end ? fmtTime(end) : "now"}`;
}

function filterChips(filters) {
  const chips = Object.entries(filters).filter(([k]) => k !== "start_date" && k !== "end_date")
    .map(([k, v]) => el("span", { class: "tag" }, `${k}=${[].concat(v).join(",")}`));
  return chips.length ? chips : el("span", { class: "muted" }, "none");
}

function statusCell(job) {
  const kind = { success: "ok", failure: "err", running: "warn" }[job.status] || "muted-badge";
  return el("td", { class: "ex-status" }, el("span", { class: "badge " + kind }, job.status),
    job.status === "failure" && job.error ? el("div", { class: "ex-error" }, job.error) : null);
}

async function start(job, button) {
  button.disabled = true;
  try {
    await api(`/v1/logs/exports/${enc(job.id)}/start`, { method: "POST" });
    note(`Export ${job.id} started.`);
  } catch (err) {
    note(`Could not start export ${job.id}: ${err.message}`, true);
  }
  loadExports();
}

// Download is a plain link to the job's signed URL (read from …/download as the row is shown, and
// cached while it works), so a click is the user's own navigation and the link can be copied or
// opened elsewhere; the file comes with Content-Disposition: attachment, so the browser saves it and
// the page stays. A click before the URL is read reads it, then navigates. Each URL works an hour.
const signed = new Map();  // job id -> { url, expires (ms), updated (the job's updated_at) }
const SIGN_AHEAD = 20;  // success rows whose URL is read as the list is shown; others on hover or focus
const FRESH_MS = 60_000;

function freshUrl(job) {
  const known = signed.get(job.id);
  return known && known.updated === job.updated_at && known.expires - Date.now() > FRESH_MS ? known.url : null;
}

async function sign(job, link) {
  if (freshUrl(job)) { link.href = freshUrl(job); return; }
  const answer = await api(`/v1/logs/exports/${enc(job.id)}/download`);
  signed.set(job.id, { url: answer.url, updated: job.updated_at,
    expires: answer.expires_at ? Date.parse(answer.expires_at) : Infinity });
  link.href = answer.url;
}

async function download(ev, job) {
  if (freshUrl(job)) return;  // the link's own navigation
  ev.preventDefault();
  try {
    await sign(job, ev.currentTarget);
    location.assign(freshUrl(job));
  } catch (err) {
    note(`Could not download export ${job.id}: ${err.message}`, true);
  }
}

function actions(job) {
  if (job.status === "draft") {
    return el("button", { type: "button", class: "ex-start", onclick: (ev) => start(job, ev.currentTarget) }, "Start");
  }
  if (job.status === "failure") {
    return el("button", { type: "button", class: "ex-retry", onclick: (ev) => start(job, ev.currentTarget) }, "Retry");
  }
  if (job.status === "success") {
    const prepare = (ev) => sign(job, ev.currentTarget).catch(() => {});  // the click says what went wrong
    return el("a", { class: "ex-download button", href: job.download_url, onclick: (ev) => download(ev, job),
      onpointerenter: prepare, onfocus: prepare }, "Download");
  }
  return el("span", { class: "muted" }, "running…");
}

function jobRow(job) {
  const fields = job.fields || [];
  return el("tr", { "data-id": job.id, "data-status": job.status },
    el("td", {}, fmtTime(job.created_at), el("div", {}, el("code", { class: "muted" }, job.id)),
      job.description ? el("div", { class: "ex-description" }, job.description) : null),
    statusCell(job),
    el("td", { class: "ex-range" }, rangeText(job.filters || {})),
    el("td", { class: "ex-filters" }, filterChips(job.filters || {})),
    el("td", { class: "ex-fields", title: fields.join(", ") },
      `${fields.length} fields: `, fields.slice(0, 4).join(", "), fields.length > 4 ? ", …" : ""),
    el("td", {}, job.format),
    el("td", { class: "num ex-rows" }, job.rows === null || job.rows === undefined ? "—" : fmtInt(job.rows)),
    el("td", { class: "ex-actions" }, actions(job)));
}

/** Reads the jobs and shows them; reads them again every POLL_MS while one runs. */
export async function loadExports() {
  clearTimeout(pollTimer);
  const mine = ++generation;
  let jobs;
  try {
    jobs = (await api("/v1/logs/exports")).data;
  } catch (err) {
    if (mine !== generation) return;
    note(err instanceof Missing ? "This server has no export jobs API." : "Could not load exports: " + err.message, true);
    return;
  }
  if (mine !== generation) return;
  const list = $("#exports-list");
  if (!jobs.length) {
    list.replaceChildren(el("div", { class: "empty" }, el("h2", {}, "No exports yet"),
      el("p", {}, "Choose “New export” to write the calls of a time range and filters to a file (JSONL, JSON, " +
        "CSV or Parquet) with the fields you pick; start it, then download it here.")));
  } else {
    list.replaceChildren(el("table", { id: "exports", class: "exports" },
      el("thead", {}, el("tr", {}, ["Created", "Status", "Time range", "Filters", "Fields", "Format", "Rows", ""]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, jobs.map(jobRow))));
    const ready = jobs.filter((j) => j.status === "success").slice(0, SIGN_AHEAD);
    for (const job of ready) {
      const link = list.querySelector(`tr[data-id="${CSS.escape(job.id)}"] .ex-download`);
      sign(job, link).catch(() => {});
    }
  }
  if (jobs.some((j) => j.status === "running") && !$("#view-exports").hidden) {
    pollTimer = setTimeout(loadExports, POLL_MS);
  }
}

// ---------- the new-export form ----------

function filterRow(name = FILTER_NAMES[0], value = "") {
  const row = el("div", { class: "ex-filter" },
    el("select", { class: "ex-filter-name", "aria-label": "Filter" },
      FILTER_NAMES.map((n) => el("option", { value: n, selected: n === name }, n))),
    el("input", { class: "ex-filter-value", "aria-label": "Value", value }),
    el("button", { type: "button", class: "ex-filter-remove", "aria-label": "Remove filter",
      onclick: () => row.remove() }, "×"));
  return row;
}

function rangeChanged() {
  const custom = $("#ex-range").value === "custom";
  for (const id of ["#ex-from-label", "#ex-to-label"]) $(id).hidden = !custom;
}

function setFields(names) {
  const wanted = new Set(names);
  for (const box of document.querySelectorAll("#ex-fields input[type=checkbox]")) box.checked = wanted.has(box.value);
}

/** The form, filled from the table's current filters (each one editable). */
async function openForm() {
  const form = $("#export-form");
  let s;
  try {
    s = await jobSchema();
  } catch (err) {
    note("Could not read the export fields: " + err.message, true);
    return;
  }
  const start = view.filters.start_date || DEFAULTS.start_date;
  const preset = RANGES.some(([v]) => v === start && v !== "custom");
  const filters = FILTER_NAMES.filter((k) => view.filters[k]).map((k) => filterRow(k, view.filters[k]));
  form.replaceChildren(
    el("h2", {}, "New export"),
    el("div", { class: "ex-line" },
      el("label", {}, "Description ", el("input", { id: "ex-description", placeholder: "optional" })),
      el("label", {}, "Time range ", el("select", { id: "ex-range", onchange: rangeChanged },
        RANGES.map(([v, t]) => el("option", { value: v, selected: preset ? v === start : v === "custom" }, t)))),
      el("label", { id: "ex-from-label" }, "From ", el("input", { id: "ex-from", type: "datetime-local", step: 1 })),
      el("label", { id: "ex-to-label" }, "To ", el("input", { id: "ex-to", type: "datetime-local", step: 1 })),
      el("label", {}, "Format ", el("select", { id: "ex-format" }, s.formats.map((f) => el("option", { value: f }, f))))),
    el("fieldset", { id: "ex-filter-list" }, el("legend", {}, "Filters (from the table; edit, add or remove)"),
      el("div", { id: "ex-filter-rows" }, filters),
      el("button", { type: "button", id: "ex-add-filter",
        onclick: () => $("#ex-filter-rows").append(filterRow()) }, "Add filter")),
    el("fieldset", { id: "ex-fields" }, el("legend", {}, "Fields",
      el("button", { type: "button", class: "link", onclick: () => setFields(s.defaults) }, "defaults"),
      el("button", { type: "button", class: "link", onclick: () => setFields(s.fields) }, "all"),
      el("button", { type: "button", class: "link", onclick: () => setFields([]) }, "none")),
    el("div", { class: "ex-field-grid" }, s.fields.map((f) => el("label", {},
      el("input", { type: "checkbox", value: f, name: "field" }), " ", f)))),
    el("p", { id: "ex-error", class: "error", role: "alert" }),
    el("div", { class: "ex-line" },
      el("button", { type: "submit", id: "ex-create-start" }, "Create and start"),
      el("button", { type: "button", id: "ex-create-draft", onclick: () => create(false) }, "Save as draft"),
      el("button", { type: "button", id: "ex-cancel", onclick: () => { form.hidden = true; } }, "Cancel")));
  setFields(s.defaults);
  if (!preset) $("#ex-from").value = localInput(start);
  rangeChanged();
  form.hidden = false;
  $("#ex-description").focus();
}

// an ISO time as a datetime-local field shows it (local time); "" when it is no absolute time
function localInput(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return "";
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19);
}

/** The create body the form holds: filters as the API's GET /v1/logs parameters. */
function jobBody() {
  const chosen = {};
  for (const row of document.querySelectorAll("#ex-filter-rows .ex-filter")) {
    const value = row.querySelector(".ex-filter-value").value.trim();
    if (value) chosen[row.querySelector(".ex-filter-name").value] = value;
  }
  const filters = Object.fromEntries(filterParams(chosen));  // feedback=good|bad as a score range
  const range = $("#ex-range").value;
  if (range === "custom") {
    for (const [id, key] of [["#ex-from", "start_date"], ["#ex-to", "end_date"]]) {
      if ($(id).value) filters[key] = new Date($(id).value).toISOString();
    }
  } else if (range) {
    filters.start_date = range;
  }
  const body = { filters, format: $("#ex-format").value,
    requested_data: [...document.querySelectorAll("#ex-fields input:checked")].map((b) => b.value) };
  const description = $("#ex-description").value.trim();
  if (description) body.description = description;
  return body;
}

async function create(andStart) {
  const error = $("#ex-error");
  const body = jobBody();
  if (!body.requested_data.length) { error.textContent = "Choose at least one field."; return; }
  let job;
  try {
    job = await api("/v1/logs/exports", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body) });
    if (andStart) await api(`/v1/logs/exports/${enc(job.id)}/start`, { method: "POST" });
  } catch (err) {
    error.textContent = (job ? `Export ${job.id} was created but could not start: ` : "Could not create the export: ")
      + err.message;
    if (job) loadExports();
    return;
  }
  error.textContent = "";
  $("#export-form").hidden = true;
  note(andStart ? `Export ${job.id} started.` : `Export ${job.id} saved as a draft; start it below.`);
  loadExports();
}

export function initExports() {
  $("#export-new").addEventListener("click", openForm);
  $("#exports-refresh").addEventListener("click", loadExports);
  $("#export-form").addEventListener("submit", (ev) => { ev.preventDefault(); create(true); });
}
