// Usage and cost of one call in the side panel: tokens and cost per billed bucket, each at its own
// rate, and where the price and the token counts came from. Unpriced and estimated say so, never $0.

import { dl, el, fmtCost, fmtInt, section } from "./dom.js";

const BUCKET_NAMES = { input: "input", cached_input: "cached input", cache_write: "cache write",
  cache_write_1h: "cache write (1 h)", output: "output", reasoning: "reasoning", input_audio: "input audio",
  output_audio: "output audio" };
// usage_source: the provider's own count, or llmlog's (DESIGN §4); a cost from counted tokens is an estimate
const SOURCES = { provider: "the provider's usage", estimated: "estimated by llmlog (the model's tokenizer)",
  rough: "estimated by llmlog (rough: not the model's own tokenizer)", none: "no usage known" };

function costText(e) {
  if (!e.priced) return "unpriced";
  return fmtCost(e.cost_usd) + (e.usage_source && e.usage_source !== "provider" ? " (estimated)" : "");
}

function bucketTable(buckets) {
  return el("table", { class: "buckets", id: "cost-buckets" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "bucket"), el("th", { scope: "col", class: "num" }, "tokens"),
      el("th", { scope: "col", class: "num" }, "rate per 1M"), el("th", { scope: "col", class: "num" }, "cost"))),
    el("tbody", {}, buckets.map((b) => el("tr", { "data-bucket": b.bucket },
      el("td", {}, BUCKET_NAMES[b.bucket] || b.bucket), el("td", { class: "num" }, fmtInt(b.tokens)),
      el("td", { class: "num" }, b.usd_per_million === null || b.usd_per_million === undefined ? "—" : "$" + b.usd_per_million),
      el("td", { class: "num" }, fmtCost(b.cost_usd))))));
}

export function usageBlock(e) {
  const buckets = (e.cost_breakdown && e.cost_breakdown.buckets) || [];
  const estimated = e.usage_source && e.usage_source !== "provider";
  const tier = e.service_tier ? e.service_tier + (e.service_tier_priced === false ? " (billed at standard rates: no rates for this tier)" : "") : null;
  return section("Usage and cost",
    dl([["input tokens", fmtInt(e.input_tokens)], ["cached input", fmtInt(e.cached_input_tokens)],
      ["cache write", fmtInt(e.cache_write_tokens)], ["output tokens", fmtInt(e.output_tokens)],
      ["reasoning", fmtInt(e.reasoning_tokens)], ["total tokens", fmtInt(e.total_tokens)],
      ["tokens from", el("span", { id: "usage-source", class: estimated ? "badge warn" : null },
        SOURCES[e.usage_source] || e.usage_source)],
      ["cost", el("strong", { class: "cost" + (e.priced ? "" : " muted"), "data-cost": e.cost_usd }, costText(e))],
      ["price source", el("span", { id: "price-source" }, e.priced ? e.pricing_version || "—"
        : `no price known for ${e.response_model || e.model || "this model"}`)],
      ["service tier", tier]]),
    buckets.length ? bucketTable(buckets) : null);
}
