// Live tail: calls logged after the table was loaded join it in place, every two seconds, without
// reloading the table (the page scrolled down, the rows loaded and the open call all stay).
//
// Each poll asks for the newest calls matching the filters, started at most LOOKBACK_MS before the
// newest row shown: a call is listed by when it started but logged when it ended, so a long stream
// lands after calls that started later than it did. Rows already shown are skipped (table.js).

import { api } from "./api.js";
import { $ } from "./dom.js";
import { DEFAULTS, startMs, view } from "./state.js";
import { addLive, filterParams, loadLogs, newestShown } from "./table.js";

const EVERY_MS = 2000;
const LOOKBACK_MS = 10 * 60 * 1000;
const BATCH = 100;
let timer = null;
let busy = false;

/** The tail follows the newest calls, so only a table sorted by time, newest first, can have one. */
export function tailPossible() { return view.sortBy === "timestamp" && view.sortOrder === "desc"; }


async function poll() {
  // nothing to follow while the tab or the table is out of sight (another view shows)
  if (busy || document.hidden || $("#view-logs").hidden) return;
  busy = true;
  try {
    const params = filterParams(view.filters);
    const newest = newestShown();
    const floor = startMs(view.filters.start_date || DEFAULTS.start_date);
    if (newest !== null) {
      const from = floor === null ? newest - LOOKBACK_MS : Math.max(newest - LOOKBACK_MS, floor);
      params.set("start_date", new Date(from).toISOString());
    }
    params.set("sort_by", "timestamp");
    params.set("sort_order", "desc");
    params.set("limit", String(BATCH));
    params.set("include_total", "false");
    const page = await api("/v1/logs?" + params);
    // more new calls than one poll takes: the first page again is quicker and leaves no gap
    if (page.pagination && page.pagination.has_more && newest !== null && page.logs.length
        && Date.parse(page.logs[page.logs.length - 1].timestamp) > newest) {
      await loadLogs(false);
    } else {
      addLive(page.logs);
    }
    $("#live-label").classList.remove("error");
    $("#live-label").title = "New calls join the table every 2 s";
  } catch (err) {
    $("#live-label").classList.add("error");
    $("#live-label").title = "Live tail paused: " + err.message;
  } finally {
    busy = false;
  }
}

/** Starts or stops the tail as `view.live` and the sort allow; called after every change of either. */
export function syncTail() {
  const box = $("#live-tail");
  const possible = tailPossible();
  box.disabled = !possible;
  box.checked = Boolean(view.live) && possible;
  $("#live-label").title = possible ? "New calls join the table every 2 s"
    : "Live tail follows the newest calls: sort by time, newest first";
  clearInterval(timer);
  timer = box.checked ? setInterval(poll, EVERY_MS) : null;
}
