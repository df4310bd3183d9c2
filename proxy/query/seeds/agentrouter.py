"""AgentRouter's request logs (seed 002) as translations over llmlog's own query layer: the document's
parameters into the `LogFilter`/`Page` that `GET /v1/logs` uses, and llmlog's rows and figures into
the document's `RequestLog`, `QueryRequestLogsResponse` and `RequestLogStatsResponse`. Pure.

Every document parameter is a name or alias of a `/v1/logs` parameter already (`model_name`,
`start_time`, `page_size`, `page_token`, `order_by`, ...), so a request is checked against the
document's names and then read by `parse_filter`/`parse_page` as sent: an error names the
parameter as the client spelled it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from decimal import Decimal
from typing import cast

import orjson
from multidict import MultiDict, MultiMapping

from llmlog.proxy.query.aggregates import cost_usd
from llmlog.proxy.query.params import (
    DEFAULT_WINDOW_MS,
    FILTER_PARAMS,
    PAGE_PARAMS,
    Param,
    Query,
    parse_filter,
    parse_page,
)
from llmlog.proxy.query.present import body_value, key_name
from llmlog.proxy.query.timeparse import iso_ms
from llmlog.store.figures import BUCKETS, PERCENTILES, Figures, Stats
from llmlog.store.filters import LogFilter, Page
from llmlog.store.rows import CallRow, ContentRow

_FILTERS: tuple[Param, ...] = (
    Param("user_id", (), "str", "end user id (x-llmlog-user, or the body's `user`)"),
    Param("api_key_id", (), "str", "provider key: its SHA-256 hash (`api_key_id`, `api_key_hash`) or prefix"),
    Param("model_name", (), "str", "model as requested"),
)
_TIMES: tuple[Param, ...] = (
    Param("start_time", (), "time", "inclusive start (ISO 8601 or relative like -24h); default: no bound"),
    Param("end_time", (), "time", "exclusive end (ISO 8601 or relative); default: no bound"),
)
ORDER_BY = ("timestamp", "duration_ms", "input_tokens", "output_tokens")
LIST_PARAMS: tuple[Param, ...] = (
    *_FILTERS,
    Param("status", (), "str", "success, error, timeout (or llmlog's client_closed)"),
    Param("status_code", (), "int", "HTTP status code answered"),
    *_TIMES,
    Param("min_duration_ms", (), "float", "minimum duration"),
    Param("max_duration_ms", (), "float", "maximum duration"),
    Param("page_size", (), "int", "entries per page, 1-1000 (default 50)"),
    Param("page_token", (), "str", "next_page_token of the previous page (keyset: stable while calls arrive)"),
    Param("order_by", (), "str", f"{', '.join(ORDER_BY)} (default timestamp)"),
    Param("order_direction", (), "str", "asc or desc (default desc)"),
)
GROUP_BY = ("model", "user", "api_key", "status", "hour", "day")  # llmlog's stats groupings of the same names
METRICS = ("count", "tokens", "cost", "latency", "errors")
STATS_PARAMS: tuple[Param, ...] = (
    Param("user_id", (), "str", "end user id"),
    Param("model_name", (), "str", "model as requested"),
    *_TIMES,
    Param("group_by", (), "str", f"{', '.join(GROUP_BY)} (default model)"),
    Param("metric", (), "str", f"{', '.join(METRICS)} (default count): each group's `value`, and its order"),
)
# The sampling parameters of a request body, shown as `llm_parameters` (OpenAI's and Anthropic's names).
LLM_PARAMETERS = ("temperature", "top_p", "top_k", "max_tokens", "max_completion_tokens", "max_output_tokens",
                  "n", "stop", "stop_sequences", "seed", "frequency_penalty", "presence_penalty", "logit_bias",
                  "logprobs", "top_logprobs", "response_format", "reasoning_effort", "thinking")
# `_tokens_cost` buckets from the stored cost buckets (pricing/prices/cost.py names them)
_COST_GROUP = {"input": "input", "input_audio": "input", "cached_input": "cached_input",
               "cache_write": "cache_creation_input", "cache_write_1h": "cache_creation_input",
               "output": "output", "output_audio": "output"}
_MICROS_COLUMN = {"input": "input_cost_micros", "cached_input": "cached_input_cost_micros",
                  "cache_creation_input": "cache_write_cost_micros", "output": "output_cost_micros"}
# RequestLog fields llmlog has no notion of: present, always null
NOT_KEPT = ("api_key_address", "storage_location", "storage_row_index", "storage_batch_id", "use_object_storage")


def list_request(raw: MultiMapping[str], now_ms: int) -> tuple[LogFilter, Page]:
    """`GET /v1/request-logs`'s parameters as the filter and page `GET /v1/logs` would use. No
    default time window: the document has none (`/v1/logs` defaults to the last 7 days)."""
    mine = Query(raw, LIST_PARAMS)  # the document's names only: any other is a 400 naming it
    order_by = mine.one("order_by")
    if order_by and order_by not in ORDER_BY:
        raise mine.error("order_by", f"parameter {{}} must be one of {', '.join(ORDER_BY)}, got {order_by!r}")
    q = Query(raw, FILTER_PARAMS + PAGE_PARAMS)  # every name above is a name or alias there
    return parse_filter(q, now_ms, default_window_ms=None), parse_page(q)


def stats_request(raw: MultiMapping[str], now_ms: int) -> tuple[LogFilter, str, str]:
    """`GET /v1/request-logs/stats`'s filter, group_by and metric. A dimension covers all time unless
    bounded; hour and day buckets need a window: the last 7 days unless given, as `/v1/logs/stats`."""
    mine = Query(raw, STATS_PARAMS)
    group_by = mine.one("group_by") or "model"
    if group_by not in GROUP_BY:
        raise mine.error("group_by", f"parameter {{}} must be one of {', '.join(GROUP_BY)}, got {group_by!r}")
    metric = mine.one("metric") or "count"
    if metric not in METRICS:
        raise mine.error("metric", f"parameter {{}} must be one of {', '.join(METRICS)}, got {metric!r}")
    filters = MultiDict((k, v) for k, v in raw.items() if k not in ("group_by", "metric"))
    window = DEFAULT_WINDOW_MS if group_by in BUCKETS else None
    f = parse_filter(Query(filters, FILTER_PARAMS), now_ms, default_window_ms=window, end_at_now=True)
    return f, group_by, metric


def decimal_usd(nanos: int | None) -> str | None:
    """Nano-dollars as the document's decimal string of USD, exact: 5700 -> "0.0000057"."""
    if nanos is None:
        return None
    text = format(Decimal(nanos).scaleb(-9), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _bucket_nanos(row: CallRow) -> dict[str, int] | None:
    """Each `_tokens_cost` group's exact nano-dollars from the stored buckets; None for an unpriced call."""
    if not row["priced"]:
        return None
    sums = dict.fromkeys(_MICROS_COLUMN, 0)
    buckets = orjson.loads(row["cost_buckets"]) if row["cost_buckets"] else None
    if buckets is None:  # stored before buckets were: its micro-dollar columns
        return {group: (row[column] or 0) * 1000 for group, column in _MICROS_COLUMN.items()}  # type: ignore[literal-required]
    for bucket in buckets:
        group = _COST_GROUP.get(bucket["bucket"])
        if group is not None:
            sums[group] += bucket.get("cost_nanos") or bucket["cost_micros"] * 1000
    return sums


def _costs(row: CallRow) -> dict:
    nanos = _bucket_nanos(row)
    out: dict = {}
    for group, column in _MICROS_COLUMN.items():
        decimal = None if nanos is None else decimal_usd(nanos[group])
        out[f"{group}_tokens_cost_microdollar"] = row[column]  # type: ignore[literal-required]
        out[f"{group}_tokens_cost"] = decimal
        out[f"{group}_tokens_cost_before_fee"] = decimal  # llmlog adds no fee
    return out


def _header_object(text: str | None) -> dict | None:
    """Stored [[name, value]] pairs as the document's JSON object; a repeated name's values joined
    with ", " (RFC 9110 §5.3). Secrets were redacted before they were stored."""
    if text is None:
        return None
    out: dict[str, str] = {}
    for name, value in orjson.loads(text):
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def raw_body(raw: bytes | None) -> tuple[str | None, str | None]:
    """The answer's bytes as kept: (text, "utf-8") when they are UTF-8, else (base64, "base64")."""
    if raw is None:
        return None, None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), "base64"


def llm_parameters(request_body) -> dict | None:
    """The sampling parameters a JSON request body set (temperature, max_tokens, top_p, ...)."""
    if not isinstance(request_body, dict):
        return None
    return {name: request_body[name] for name in LLM_PARAMETERS if name in request_body}


def request_log(row: CallRow, content: ContentRow | None, names: Mapping[str, str]) -> dict:
    """A call as the document's `RequestLog`. `content` None (a list's item, or a do-not-track
    call) leaves the content fields null."""
    log: dict = {
        "id": row["id"],
        "request_id": row["id"],
        "timestamp": iso_ms(row["started_at"]),
        "created_at": iso_ms(row["completed_at"]),
        "user_id": row["user_id"],
        "api_key_id": row["api_key_hash"],
        "api_key_prefix": row["api_key_prefix"],
        "api_key_hash": row["api_key_hash"],
        "api_key_name": key_name(names, row["api_key_hash"], row["api_key_prefix"]),
        "model_name": row["model"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "cached_input_tokens": row["cached_input_tokens"],
        "cache_creation_input_tokens": row["cache_write_tokens"],
        **_costs(row),
        "status": row["status"],
        "status_code": row["status_code"],
        "request_headers": None,
        "request_body": None,
        "response_headers": None,
        "response_body": None,
        "response_body_raw": None,
        "response_body_raw_encoding": None,
        "llm_parameters": None,
        "upstream_duration_ms": row["upstream_duration_ms"],
        "duration_ms": row["duration_ms"],
        **dict.fromkeys(NOT_KEPT),
    }
    if content is not None:
        request_body = body_value(content["request_body"])
        raw, encoding = raw_body(content["response_body"])
        log.update({
            "request_headers": _header_object(content["request_headers"]),
            "request_body": request_body,
            "response_headers": _header_object(content["response_headers"]),
            # a stream's answer as one message, assembled from its events; else the JSON answer
            "response_body": orjson.loads(content["assembled"]) if content["assembled"] else body_value(
                content["response_body"]),
            "response_body_raw": raw,
            "response_body_raw_encoding": encoding,
            "llm_parameters": llm_parameters(request_body),
        })
    return log


def list_json(rows: list[CallRow], total: int, next_cursor: str | None, names: Mapping[str, str]) -> dict:
    """`QueryRequestLogsResponse`: `next_page_token` is "" on the last page, as the document says."""
    return {"logs": [request_log(row, None, names) for row in rows], "next_page_token": next_cursor or "",
            "total_count": total}


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _cost_text(figures: Figures) -> str | None:
    """A group's cost as a decimal string; null when its calls with tokens are all unpriced."""
    return None if cost_usd(figures) is None else decimal_usd(figures.cost_nanos)


def _value(figures: Figures, metric: str) -> float | int | None:
    if metric == "count":
        return figures.count
    if metric == "tokens":
        return figures.input_tokens + figures.output_tokens
    if metric == "cost":
        return cost_usd(figures)
    if metric == "latency":
        return _ms(figures.avg_latency_ms)
    return figures.errors


def stats_json(stats: Stats, metric: str, names: Mapping[str, str],
               prefixes: Mapping[str, str | None] | None = None) -> dict:
    """`RequestLogStatsResponse` from `Store.stats` (the figures `/v1/logs/stats` gives). Each group:
    its key, `value` (the metric), and every figure; dimensions by value, largest first (ties as
    /v1/logs/stats orders them), time buckets in time order, empty ones included. By `api_key`,
    `prefixes` (key hash -> the prefix its calls show) names keys configured by prefix too."""
    is_time = stats.group_by in BUCKETS
    groups: list[tuple[float | int | None, dict]] = []
    for key, figures in stats.groups:
        value = _value(figures, metric)
        group = {
            "key": iso_ms(cast(int | None, key)) if is_time else key,
            "metric": metric,
            "value": value,
            "count": figures.count,
            "input_tokens": figures.input_tokens,
            "output_tokens": figures.output_tokens,
            "total_cost": _cost_text(figures),
            "avg_duration_ms": _ms(figures.avg_latency_ms),
            **{f"p{p}_duration_ms": figures.pct(p) for p in PERCENTILES},
            "error_count": figures.errors,
        }
        if stats.group_by == "api_key":
            key_hash = key if isinstance(key, str) else None
            group["api_key_name"] = key_name(names, key_hash, (prefixes or {}).get(key_hash or ""))
        groups.append((value, group))
    if not is_time:
        groups.sort(key=lambda vg: (vg[0] is None, -(vg[0] or 0)))  # stable: llmlog's order on ties
    t = stats.totals
    return {
        "stats": [group for _, group in groups],
        "total_count": t.count,
        "total_input_tokens": t.input_tokens,
        "total_output_tokens": t.output_tokens,
        "total_cost": _cost_text(t),
        "avg_duration_ms": _ms(t.avg_latency_ms),
        "error_count": t.errors,
        "group_by": stats.group_by,
        "metric": metric,
        "start_time": iso_ms(stats.start_ms),
        "end_time": iso_ms(stats.end_ms),
    }


__all__ = ["GROUP_BY", "LIST_PARAMS", "METRICS", "ORDER_BY", "STATS_PARAMS", "list_json", "list_request",
           "request_log", "stats_json", "stats_request"]
