// Timing of one call in the side panel: the upstream's part against the whole (llmlog's own share
// is the rest), time to first byte, and for a streamed call its chunks on a timeline, from the
// `/v1/logs/{id}/events` offsets.

import { dl, el, fmtMs as roundMs, section } from "./dom.js";

// a local call takes well under a millisecond upstream: keep a decimal below 10 ms
const fmtMs = (v) => (v === null || v === undefined || v >= 10 ? roundMs(v) : v.toFixed(1) + " ms");

// a share of the call's total time as a bar segment (element.style: the CSP allows no inline style)
function segment(cls, ms, total, label) {
  const bar = el("span", { class: "seg " + cls, title: `${label}: ${fmtMs(ms)}` });
  bar.style.width = `${Math.max(0, Math.min(100, (100 * ms) / total))}%`;
  return bar;
}

function timeBar(e) {
  const total = e.duration_ms, upstream = e.upstream_duration_ms;
  if (!(total > 0) || upstream === null || upstream === undefined) return null;
  return el("div", { class: "time-split" },
    el("div", { class: "time-bar", role: "img", "aria-label": `upstream ${fmtMs(upstream)} of ${fmtMs(total)} in all` },
      segment("upstream", upstream, total, "upstream"), segment("own", Math.max(0, total - upstream), total, "llmlog")),
    el("p", { class: "legend" }, el("span", { class: "swatch upstream" }), "upstream ",
      el("span", { class: "swatch own" }), "llmlog's part"));
}

/** The stream's chunks as ticks along the call's time, with their count and first and last offsets. */
export function chunkTimeline(events, e) {
  const offsets = events.map((ev) => Number(ev.offset_ms) || 0);
  if (!offsets.length) return el("p", { class: "muted", id: "chunk-summary" }, "No stream events were stored.");
  const first = Math.min(...offsets), last = Math.max(...offsets);
  const span = Math.max(last, e.duration_ms || 0) || 1;
  const strip = el("div", { class: "chunk-strip", role: "img",
    "aria-label": `${offsets.length} chunks from +${fmtMs(first)} to +${fmtMs(last)}` });
  for (const at of offsets) {
    const tick = el("span", { class: "tick", title: `+${fmtMs(at)}` });
    tick.style.left = `${(100 * at) / span}%`;
    strip.append(tick);
  }
  return el("div", { class: "chunks" }, strip,
    el("p", { class: "muted", id: "chunk-summary" },
      `${offsets.length} chunks · first +${fmtMs(first)} · last +${fmtMs(last)} · axis 0 to ${fmtMs(span)}`));
}

/** `events`: a promise of the call's stream events (null when not streamed or nothing stored). */
export function timingBlock(e, events) {
  const own = e.duration_ms !== null && e.upstream_duration_ms !== null && e.upstream_duration_ms !== undefined
    ? Math.max(0, e.duration_ms - e.upstream_duration_ms) : null;
  const block = section("Timing",
    dl([["total", el("span", { id: "time-total" }, fmtMs(e.duration_ms))],
      ["upstream", el("span", { id: "time-upstream" }, fmtMs(e.upstream_duration_ms))],
      ["llmlog's part", own === null ? null : fmtMs(own)],
      ["time to first byte", el("span", { id: "time-ttfb" }, fmtMs(e.ttfb_ms))],
      ["started", e.started_at], ["completed", e.completed_at], ["streamed", e.stream ? "yes" : "no"]]),
    timeBar(e));
  if (events) {
    const holder = el("div", { class: "muted" }, "Loading the stream's chunks…");
    block.append(holder);
    events.then((list) => holder.replaceWith(chunkTimeline(list, e)))
      .catch((err) => holder.replaceWith(el("p", { class: "error" }, "Stream events: " + err.message)));
  }
  return block;
}
