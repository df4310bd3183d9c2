// All of the page's view state, and its one home: the URL. The view, the filters, the sort, the
// summary's range and bucket and the open call are read from the address on load and on Back/Forward,
// and written back on every change, so a reload or a copied link shows the same page.
//
// The address: `/ui/` or `/ui/logs/<id>` (the open call: each call's permalink), then the state that
// differs from its default as query parameters named as the forms' fields (and so as the API's
// filters: `?model=gpt-4o&status=error&sort_by=cost`); the Traces view is `?view=trace&trace=<id>`.

/** The logs filters kept in the URL, in the form's order. `feedback=good|bad` is the page's own
 * shorthand for a feedback score (table.js turns it into min/max_feedback_score). */
export const FILTERS = ["start_date", "model", "provider", "status", "user_id", "tags", "environment", "task_type",
  "flow", "min_cost", "max_cost", "min_duration_ms", "max_duration_ms", "feedback", "pii", "do_not_track", "q"];
const DEFAULTS = { view: "logs", start_date: "-7d", sort_by: "timestamp", sort_order: "desc",
  summary_start: "-7d", bucket: "hour", breakdown: "model" };
const VIEWS = new Set(["logs", "summary", "trace", "exports"]);
const SORTS = new Set(["timestamp", "cost", "latency", "tokens"]);
/** The dashboard's buckets (the API's time `group_by` values) and breakdown dimensions: closed menus,
 * so a hand-edited or mistyped value in the URL gives the default, as `sort_by` does. */
export const BUCKETS = ["5m", "15m", "hour", "day", "week"];
const BREAKDOWNS = new Set(["model", "provider", "user", "tag", "environment", "task_type", "flow"]);
const RELATIVE = /^-(\d+(?:\.\d+)?)\s*([smhdw])$/i;  // the API's relative times (proxy/query/timeparse.py)
const UNIT_MS = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };

/** An API start time (relative, `-24h`, or ISO 8601) as epoch ms now; null when it is neither. */
export function startMs(text) {
  const rel = RELATIVE.exec(text || "");
  if (rel) return Date.now() - Number(rel[1]) * UNIT_MS[rel[2].toLowerCase()];
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : at;
}

/** The dashboard's window start as the API reads it (relative `-24h`, or an ISO 8601 time), else null. */
function windowStart(text) {
  if (!text) return null;
  return RELATIVE.test(text) || (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text))) ? text : null;
}

/** The state itself; change it, then call save(). */
export const view = { view: "logs", filters: {}, sortBy: "timestamp", sortOrder: "desc", openId: null,
  summaryStart: DEFAULTS.summary_start, bucket: DEFAULTS.bucket, traceId: null, live: false,
  breakdown: DEFAULTS.breakdown };  // the dashboard's breakdown dimension

/** Reads the whole state from the address (on load, and on Back/Forward). */
export function load() {
  const q = new URLSearchParams(location.search);
  const m = location.pathname.match(/^\/ui\/logs\/([^/]+)$/);
  view.openId = m ? decodeURIComponent(m[1]) : null;
  view.view = VIEWS.has(q.get("view")) ? q.get("view") : DEFAULTS.view;
  view.filters = {};
  for (const k of FILTERS) {
    const v = (q.get(k) || "").trim();
    if (v) view.filters[k] = v;
  }
  view.sortBy = SORTS.has(q.get("sort_by")) ? q.get("sort_by") : DEFAULTS.sort_by;
  view.sortOrder = q.get("sort_order") === "asc" ? "asc" : DEFAULTS.sort_order;
  view.summaryStart = windowStart((q.get("summary_start") || "").trim()) || DEFAULTS.summary_start;
  view.bucket = BUCKETS.includes(q.get("bucket")) ? q.get("bucket") : DEFAULTS.bucket;
  view.breakdown = BREAKDOWNS.has(q.get("breakdown")) ? q.get("breakdown") : DEFAULTS.breakdown;
  view.traceId = q.get("trace") || null;  // any call of the tree the Traces view shows
  view.live = q.get("live") === "1";  // the table's live tail (tail.js)
  return view;
}

/** The address of a state: only what differs from the defaults, so a plain page stays `/ui/`. */
export function urlOf(s = view) {
  const q = new URLSearchParams();
  const put = (k, v) => { if (v !== undefined && v !== null && v !== "" && v !== DEFAULTS[k]) q.set(k, v); };
  put("view", s.view);
  for (const k of FILTERS) put(k, s.filters[k]);
  put("sort_by", s.sortBy);
  put("sort_order", s.sortOrder);
  put("summary_start", s.summaryStart);
  put("bucket", s.bucket);
  put("breakdown", s.breakdown);
  put("trace", s.traceId);
  put("live", s.live ? "1" : "");
  const path = s.openId ? "/ui/logs/" + encodeURIComponent(s.openId) : "/ui/";
  const query = q.toString();
  return query ? `${path}?${query}` : path;
}

/** Writes the state to the address: `push` for a step Back should undo, else in place. */
export function save({ push = false } = {}) {
  const url = urlOf();
  if (url === location.pathname + location.search) return;
  history[push ? "pushState" : "replaceState"]({}, "", url);
}

/** The filters as the form holds them (trimmed, empty ones left out). */
export function readForm(form) {
  const out = {};
  for (const [k, v] of new FormData(form)) if (String(v).trim() !== "") out[k] = String(v).trim();
  return out;
}

/** Puts values into a form's fields; a value a menu lacks (a hand-edited URL) is added to it. */
export function fillForm(form, values, defaults = DEFAULTS) {
  for (const field of form.elements) {
    if (!field.name) continue;
    const value = values[field.name] ?? defaults[field.name] ?? "";
    if (field.tagName === "SELECT" && value && ![...field.options].some((o) => o.value === value)) {
      field.append(new Option(value, value));
    }
    field.value = value;
  }
}

export { DEFAULTS };
