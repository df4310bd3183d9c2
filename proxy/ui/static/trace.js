// The Traces view: a call's whole tree (an agent and its sub-agents, linked by x-llmlog-parent-id),
// calls nested by parent, each with model, status, latency and cost, and the tree's totals.
//
// The tree comes from the public API only: `/hierarchy` gives the root and the totals (summed by the
// store over every call sharing the root), then `/v1/logs?parent_id=…` reads it one level at a time,
// a few requests for any depth rather than one per call.

import { api } from "./api.js";
import { $, el, fmtCost, fmtInt, fmtMs, fmtTime, statusBadge } from "./dom.js";
import { openPanel } from "./panel.js";
import { view } from "./state.js";

const MAX_NODES = 500;  // beyond this the page says so; the totals still cover the whole tree
const IDS_PER_REQUEST = 100;  // keeps each URL well under the server's 8 KiB request line

const enc = encodeURIComponent;

async function childrenOf(parentIds, since) {
  const found = [];
  for (let i = 0; i < parentIds.length; i += IDS_PER_REQUEST) {
    const params = new URLSearchParams({ parent_id: parentIds.slice(i, i + IDS_PER_REQUEST).join(","),
      start_date: since, sort_by: "timestamp", sort_order: "asc", limit: "1000" });
    found.push(...(await api("/v1/logs?" + params)).logs);
  }
  return found;
}

/** The tree of the call `id`: its root's hierarchy (totals) and every call below, by parent. */
async function readTree(id) {
  const here = await api(`/v1/logs/${enc(id)}/hierarchy`);
  const rootId = here.breadcrumb.length ? here.breadcrumb[0].id : here.id;
  const top = rootId === here.id ? here : await api(`/v1/logs/${enc(rootId)}/hierarchy`);
  const root = await api(`/v1/logs/${enc(rootId)}`);
  const byParent = new Map();
  let level = [root], count = 1, truncated = false;
  while (level.length && !truncated) {
    const next = (await childrenOf(level.map((c) => c.id), root.timestamp)).filter((c) => !byParent.has(c.id));
    for (const c of next) {
      if (count >= MAX_NODES) { truncated = true; break; }
      count += 1;
      if (!byParent.has(c.parent_id)) byParent.set(c.parent_id, []);
      byParent.get(c.parent_id).push(c);
    }
    level = next;
  }
  return { root, totals: top.tree, byParent, truncated, focus: id };
}

function costText(c) {
  return c.priced ? fmtCost(c.cost_usd) : el("span", { class: "muted", title: "no price known" }, "unpriced");
}

function node(c, tree) {
  const kids = tree.byParent.get(c.id) || [];
  const line = el("div", { class: "tree-line" + (c.id === tree.focus ? " focus" : "") },
    el("a", { href: "/ui/logs/" + enc(c.id), class: "tree-model",
      onclick: (ev) => { ev.preventDefault(); openPanel(c.id); } }, c.model || "—"),
    statusBadge(c),
    el("span", { class: "num tree-latency", title: "latency" }, fmtMs(c.duration_ms)),
    el("span", { class: "num tree-cost", title: "cost" }, costText(c)),
    el("span", { class: "muted" }, fmtInt(c.total_tokens), " tokens · ", fmtTime(c.timestamp)));
  return el("li", { class: "tree-node", "data-id": c.id }, line,
    kids.length ? el("ul", { class: "tree" }, kids.map((k) => node(k, tree))) : null);
}

/** Shows the tree of view.traceId (any call in it). */
export async function loadTrace() {
  const note = $("#trace-note"), body = $("#trace-body"), totals = $("#trace-totals");
  totals.replaceChildren();
  body.replaceChildren();
  note.classList.remove("error");
  if (!view.traceId) {
    note.textContent = "Open a call that has a parent or sub-calls and choose “Show the whole trace”.";
    return;
  }
  note.textContent = "Loading…";
  let tree;
  try {
    tree = await readTree(view.traceId);
  } catch (err) {
    note.textContent = "Could not load the trace: " + err.message;
    note.classList.add("error");
    return;
  }
  const t = tree.totals;
  note.textContent = tree.truncated ? `Showing the first ${MAX_NODES} calls of the tree; the totals cover all of it.` : "";
  const item = (label, value, id) => el("div", { class: "card", id }, el("div", { class: "muted" }, label),
    el("div", { class: "big" }, value));
  totals.replaceChildren(
    item("Calls in the tree", fmtInt(t.calls), "trace-total-calls"),
    item("Tree cost", fmtCost(t.cost_usd), "trace-total-cost"),
    item("Unpriced calls", fmtInt(t.unpriced_calls), "trace-unpriced"),
    item("Depth", fmtInt(t.max_depth), "trace-depth"),
    item("Root latency", fmtMs(tree.root.duration_ms), "trace-root-latency"));
  body.replaceChildren(el("ul", { class: "tree root" }, node(tree.root, tree)));
}
