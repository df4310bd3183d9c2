// Time-series charts for the dashboard, drawn by the vendored uPlot (vendor/uplot/, MIT; its version
// in vendor/uplot/README.md). uPlot draws on a canvas and sets sizes through element.style, which the
// page's CSP allows (it forbids only inline style attributes and inline script).
//
// A chart is one figure: buckets on a time axis in the viewer's local time, one line per series, and
// each series' previous period (the same window just before, `compare=previous`) dashed behind it.

import uPlot from "./vendor/uplot/uPlot.esm.js";

const FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const LABEL_FONT = "600 12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const AXIS = { font: FONT, labelFont: LABEL_FONT, stroke: "#5f6673", grid: { stroke: "#eef0f3", width: 1 },
  ticks: { stroke: "#dde1e7", width: 1 } };
export const COLORS = ["#2457c5", "#c2410c", "#7c3aed", "#15803d"];

const plots = new Map();  // holder element -> its uPlot, destroyed before a redraw

/** "UTC+1", "UTC−5:30": the offset the time axis is drawn in. */
export function localZone(date = new Date()) {
  const off = -date.getTimezoneOffset();
  if (off === 0) return "UTC";
  const h = Math.floor(Math.abs(off) / 60), m = Math.abs(off) % 60;
  return `UTC${off > 0 ? "+" : "−"}${h}${m ? ":" + String(m).padStart(2, "0") : ""}`;
}

const stamp = (sec) => new Date(sec * 1000).toLocaleString(undefined, { month: "short", day: "2-digit",
  hour: "2-digit", minute: "2-digit" });

/**
 * Draws (or redraws) a chart in `holder`.
 * xs: bucket starts in epoch seconds; series: [{label, values, previous}] (previous: the values of
 * the period before, bucket for bucket, or null); unit: the y axis' title; fmt: a value as text.
 */
export function timeChart(holder, { xs, series, unit, fmt }) {
  plots.get(holder)?.destroy();
  const width = Math.max(280, holder.clientWidth || 600);
  const lines = [], data = [xs];
  series.forEach((s, i) => {
    const stroke = COLORS[i % COLORS.length];
    lines.push({ label: s.label, stroke, width: 2, spanGaps: false, value: (u, v) => fmt(v),
      points: { size: 5, fill: stroke } });
    data.push(s.values);
  });
  series.forEach((s, i) => {
    if (!s.previous) return;
    const stroke = COLORS[i % COLORS.length] + "99";  // the same hue, lighter
    lines.push({ label: `${s.label}, previous period`, stroke, width: 1.5, dash: [6, 4], spanGaps: false,
      value: (u, v) => fmt(v), points: { show: false } });
    data.push(s.previous);
  });
  const opts = {
    width, height: 230, series: [{ label: "Bucket", value: (u, v) => (v == null ? "—" : stamp(v)) }, ...lines],
    scales: { x: { time: true }, y: { range: (u, lo, hi) => [0, hi > 0 ? hi * 1.1 : 1] } },
    axes: [
      { ...AXIS, label: `Local time (${localZone()})`, labelSize: 22, size: 44 },
      { ...AXIS, label: unit, labelSize: 22, size: 72, values: (u, ticks) => ticks.map(fmt) },
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
  const plot = new uPlot(opts, data, holder);
  plots.set(holder, plot);
  if (!holder.dataset.sized && "ResizeObserver" in window) {
    holder.dataset.sized = "1";
    new ResizeObserver(() => {
      const p = plots.get(holder);
      if (p && holder.clientWidth && Math.abs(holder.clientWidth - p.width) > 4) p.setSize({ width: holder.clientWidth, height: 230 });
    }).observe(holder);
  }
  return plot;
}
