// The logs page's wiring: forms, tabs and keys change the view state (state.js), which is saved to
// the URL and then shown; Back/Forward and a reload show the state the URL holds.

import { $ } from "./dom.js";
import { initExports, loadExports } from "./exports.js";
import { closePanel, openPanel } from "./panel.js";
import { fillForm, load, readForm, save, view } from "./state.js";
import { loadSummary } from "./dashboard.js";
import { loadTrace } from "./trace.js";
import { hasMore, loadLogs, markSort } from "./table.js";
import { syncTail } from "./tail.js";

function showView(name) {
  for (const v of ["logs", "summary", "trace", "exports"]) {
    $(`#view-${v}`).hidden = name !== v;
    $(`#tab-${v}`).setAttribute("aria-pressed", String(name === v));
  }
  if (name === "summary") loadSummary();
  if (name === "trace") loadTrace();
  if (name === "exports") loadExports();
}

function switchView(name) {
  view.view = name;
  save({ push: true });
  showView(name);
}

/** Shows the whole state: forms, sort, view, table and the open call. */
function render() {
  fillForm($("#filters"), view.filters);
  fillForm($("#summary-form"), { start_date: view.summaryStart, bucket: view.bucket });
  markSort();
  loadLogs(false);
  syncTail();
  showView(view.view);
  if (view.openId) openPanel(view.openId, { push: false });
  else if (!$("#panel").hidden) closePanel({ push: false });
}

function init() {
  $("#filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    view.filters = readForm($("#filters"));
    save({ push: true });
    loadLogs(false);
  });
  // Clear empties every field (the time range back to its default, not to the page's first state)
  $("#filters").addEventListener("reset", (ev) => {
    ev.preventDefault();
    view.filters = {};
    fillForm($("#filters"), view.filters);
    save({ push: true });
    loadLogs(false);
  });
  $("#summary-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = readForm($("#summary-form"));
    view.summaryStart = f.start_date;
    view.bucket = f.bucket;
    save({ push: true });
    loadSummary();
  });
  for (const b of document.querySelectorAll("th button[data-sort]")) {
    b.addEventListener("click", () => {
      view.sortOrder = view.sortBy === b.dataset.sort && view.sortOrder === "desc" ? "asc" : "desc";
      view.sortBy = b.dataset.sort;
      save({ push: true });
      markSort();
      loadLogs(false);
      syncTail();
    });
  }
  $("#more").addEventListener("click", () => loadLogs(true));
  if ("IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      if (entries.some((x) => x.isIntersecting) && hasMore() && !$("#view-logs").hidden) loadLogs(true);
    }).observe($("#sentinel"));
  }
  $("#live-tail").addEventListener("change", (ev) => {
    view.live = ev.target.checked;
    save({ push: true });
    syncTail();
  });
  $("#tab-logs").addEventListener("click", () => switchView("logs"));
  $("#tab-summary").addEventListener("click", () => switchView("summary"));
  $("#tab-trace").addEventListener("click", () => switchView("trace"));
  $("#tab-exports").addEventListener("click", () => switchView("exports"));
  initExports();
  document.addEventListener("llmlog:trace", (ev) => {
    view.traceId = ev.detail.id;
    view.openId = null;
    $("#panel").hidden = true;
    switchView("trace");
  });
  $("#panel-close").addEventListener("click", () => closePanel());
  document.addEventListener("keydown", (ev) => { if (ev.key === "Escape" && !$("#panel").hidden) closePanel(); });
  window.addEventListener("popstate", () => { load(); render(); });
  load();
  save();  // a hand-written address (`?sort_by=bogus`) becomes the state actually shown
  render();
}

init();
