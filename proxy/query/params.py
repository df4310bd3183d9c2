"""Validating logs-API query parameters in one place: names, aliases, types, defaults (DESIGN §6).

An unknown or malformed parameter is a ValidationError naming it (the API's 400, the CLI's usage
error). List filters take repeated parameters and comma lists alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from multidict import MultiMapping

from llmlog.proxy.booleans import parse_bool
from llmlog.proxy.errors import ValidationError
from llmlog.proxy.privacy.detect import KINDS
from llmlog.proxy.query.timeparse import MAX_MS, MIN_MS, TimeRangeError, iso_ms, parse_time
from llmlog.store.filters import FAILED_STATUSES, MAX_SQL_INT, SORT_KEYS, STATUSES, LogFilter, Page

DEFAULT_WINDOW_MS = 7 * 86_400_000
MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    aliases: tuple[str, ...] = ()
    kind: str = "str"  # str | list | int | bool | cost | float | score | time | int_list
    help: str = ""
    required: bool = False


FILTER_PARAMS: tuple[Param, ...] = (
    Param("start_date", ("from", "start_time"), "time", "inclusive start (ISO 8601 or -24h); default -7d"),
    Param("end_date", ("to", "end_time"), "time", "exclusive end (ISO 8601 or relative); default now"),
    Param("model", ("model_name",), "list", "model as requested"),
    Param("provider", (), "list", "provider name"),
    Param("status", ("statuses",), "list", "success, error, timeout, client_closed"),
    Param("status_code", (), "int_list", "HTTP status code"),
    Param("success_only", (), "bool", "only successful calls"),
    Param("failed_only", (), "bool", "only failed calls"),
    Param("user_id", (), "list", "end user id"),
    Param("api_key_id", (), "list", "API key SHA-256 hash or prefix"),
    Param("tags", ("tag",), "list", "any of these tags"),
    Param("environment", (), "list", "environment label"),
    Param("task_type", (), "list", "task type label"),
    Param("flow", (), "list", "flow name (x-llmlog-flow)"),
    Param("customer_id", (), "list", "end-customer id (x-llmlog-customer)"),
    Param("agent_role", (), "list", "agent role (x-llmlog-agent-role)"),
    Param("trace_id", (), "list", "trace id"),
    Param("session_id", (), "list", "session id"),
    Param("parent_id", (), "list", "parent call id"),
    Param("root_only", (), "bool", "only calls without a parent"),
    Param("stream", (), "bool", "streamed calls only (true) or non-streamed only (false)"),
    Param("do_not_track", (), "bool", "do-not-track calls only (true: no content kept) or tracked only (false)"),
    Param("min_cost", (), "cost", "minimum cost in USD"),
    Param("max_cost", (), "cost", "maximum cost in USD"),
    Param("min_duration_ms", (), "float", "minimum duration"),
    Param("max_duration_ms", (), "float", "maximum duration"),
    Param("min_tokens", (), "int", "minimum total tokens"),
    Param("max_tokens", (), "int", "maximum total tokens"),
    Param("q", (), "str", "full-text search in prompt and output"),
    Param("feedback", (), "bool", "calls with feedback (true) or without (false)"),
    Param("min_feedback_score", (), "score", "lowest feedback score, inclusive (calls with feedback only)"),
    Param("max_feedback_score", (), "score", "highest feedback score, inclusive (calls with feedback only)"),
    Param("pii", (), "list", "personal data found: true, false, or kinds (any of: " + ", ".join(KINDS) + ")"),
)
PAGE_PARAMS: tuple[Param, ...] = (
    Param("limit", ("page_size",), "int", "entries per page, 1-1000 (default 50)"),
    Param("offset", (), "int", "entries to skip"),
    Param("cursor", ("page_token",), "str", "keyset cursor from pagination.next_cursor"),
    Param("sort_by", ("order_by",), "str",
          "timestamp, cost, latency, duration_ms, tokens, input_tokens, output_tokens"),
    Param("sort_order", ("order_direction",), "str", "asc or desc (default desc)"),
)
# GET /v1/logs only (the CLI prints its total, the seeds' lists have their own names)
INCLUDE_TOTAL = Param("include_total", (), "bool",
                      "false: total is null, the matches not counted (for a next page; quicker on large stores)")


class Query:
    """The parameters of one request, resolved through aliases; remembers what was consumed."""

    def __init__(self, raw: MultiMapping[str], allowed: tuple[Param, ...]):
        self._by_name: dict[str, Param] = {}
        for p in allowed:
            for name in (p.name, *p.aliases):
                self._by_name[name] = p
        self.values: dict[str, list[str]] = {}
        self.sent_as: dict[str, str] = {}  # canonical name -> the name the client used (errors name it)
        for name in dict.fromkeys(raw.keys()):  # a repeated name is read once, with all its values
            param = self._by_name.get(name)
            if param is None:
                raise ValidationError(f"unknown parameter '{name}'", name)
            self.sent_as.setdefault(param.name, name)
            self.values.setdefault(param.name, []).extend(raw.getall(name))

    def label(self, name: str) -> str:
        return self.sent_as.get(name, name)

    def error(self, name: str, message: str) -> ValidationError:
        """An error naming the parameter as the client spelled it; `{}` in `message` is where the name goes."""
        return ValidationError.naming(self.label(name), message)

    def one(self, name: str) -> str | None:
        values = self.values.get(name)
        if not values:
            return None
        if len(set(values)) > 1:
            raise self.error(name, "parameter {} was given more than once with different values")
        return values[0].strip()

    def many(self, name: str) -> list[str]:
        return [part.strip() for value in self.values.get(name, []) for part in value.split(",") if part.strip()]

    def typed(self, name: str, convert: Callable[[str], object], what: str):
        text = self.one(name)
        if text is None or text == "":
            return None
        try:
            return convert(text)
        except (ValueError, InvalidOperation, OverflowError):
            raise self.error(name, f"parameter {{}} must be {what}, got {text!r}") from None


def _nonneg_int(text: str) -> int:
    value = int(text)
    if not 0 <= value <= MAX_SQL_INT:
        raise ValueError(text)
    return value


def _cost_micros(text: str) -> int:
    value = Decimal(text)
    if not value.is_finite() or value < 0:
        raise ValueError(text)
    micros = int((value * 1_000_000).to_integral_value())
    if micros > MAX_SQL_INT:
        raise ValueError(text)
    return micros


def _nonneg_float(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise ValueError(text)
    return value


def _score(text: str) -> float:
    """A feedback score bound: any finite number (feedback scores may be negative)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


TIME_RANGE = f"from {iso_ms(MIN_MS)} to {iso_ms(MAX_MS)} (UTC, offsets applied)"


def _time(q: Query, name: str, now_ms: int) -> int | None:
    text = q.one(name)
    if not text:
        return None
    try:
        return parse_time(text, now_ms)
    except TimeRangeError:  # well-formed, but no datetime (or iso_ms) could hold it
        raise q.error(name, f"parameter {{}} must be a time {TIME_RANGE}, got {text!r}") from None
    except ValueError:
        raise q.error(name, f"parameter {{}} must be an ISO 8601 time or relative like -24h, got {text!r}") from None


def parse_filter(q: Query, now_ms: int, *, default_window_ms: int | None = DEFAULT_WINDOW_MS,
                 end_at_now: bool = False) -> LogFilter:
    """`end_at_now`: a period with no end_date ends at `now_ms` (aggregates and exports use a fixed
    period, so calls arriving while they run do not stretch it); otherwise it is open.

    Times are UTC epoch ms from MIN_MS to MAX_MS; a default window reaching before MIN_MS starts
    there."""
    f = LogFilter()
    end = _time(q, "end_date", now_ms)
    start = _time(q, "start_date", now_ms)
    f.end_ms = now_ms if end is None and end_at_now else end
    f.start_ms = start if start is not None else (
        None if default_window_ms is None else max(MIN_MS, (end if end is not None else now_ms) - default_window_ms))
    if f.start_ms is not None and f.end_ms is not None and f.start_ms > f.end_ms:
        raise q.error("start_date", "parameter {} must not be after the end of the period")
    f.models, f.providers = q.many("model"), q.many("provider")
    statuses = q.many("status")
    for status in statuses:
        if status not in STATUSES:
            raise q.error("status", f"parameter {{}} must be one of {', '.join(STATUSES)}, got {status!r}")
    success_only = q.typed("success_only", parse_bool, "true or false")
    failed_only = q.typed("failed_only", parse_bool, "true or false")
    if success_only and failed_only:
        raise q.error("failed_only", "success_only and failed_only cannot both be true")
    if success_only:
        statuses = [s for s in statuses if s == "success"] if statuses else ["success"]
        statuses = statuses or ["__none__"]
    if failed_only:
        statuses = [s for s in statuses if s in FAILED_STATUSES] if statuses else list(FAILED_STATUSES)
        statuses = statuses or ["__none__"]
    f.statuses = statuses
    try:
        f.status_codes = [int(v) for v in q.many("status_code")]
    except ValueError:
        raise q.error("status_code", "parameter {} must be HTTP status codes (integers)") from None
    if any(not 100 <= code <= 999 for code in f.status_codes):
        raise q.error("status_code", "parameter {} must be HTTP status codes from 100 to 999")
    f.user_ids, f.api_key_ids, f.tags = q.many("user_id"), q.many("api_key_id"), q.many("tags")
    f.environments, f.task_types = q.many("environment"), q.many("task_type")
    f.flows, f.customer_ids, f.agent_roles = q.many("flow"), q.many("customer_id"), q.many("agent_role")
    f.trace_ids, f.session_ids, f.parent_ids = q.many("trace_id"), q.many("session_id"), q.many("parent_id")
    f.root_only = bool(q.typed("root_only", parse_bool, "true or false"))
    f.stream = q.typed("stream", parse_bool, "true or false")
    f.do_not_track = q.typed("do_not_track", parse_bool, "true or false")
    f.min_cost_micros = q.typed("min_cost", _cost_micros, "a non-negative number of USD")
    f.max_cost_micros = q.typed("max_cost", _cost_micros, "a non-negative number of USD")
    f.min_duration_ms = q.typed("min_duration_ms", _nonneg_float, "a non-negative number")
    f.max_duration_ms = q.typed("max_duration_ms", _nonneg_float, "a non-negative number")
    f.min_tokens = q.typed("min_tokens", _nonneg_int, "a non-negative integer")
    f.max_tokens = q.typed("max_tokens", _nonneg_int, "a non-negative integer")
    text = q.one("q")
    f.text = text if text else None
    if f.text is not None and "\x00" in f.text:  # FTS5 reads its query as a C string: NUL ends it
        raise q.error("q", "parameter {} must not contain NUL characters")
    if f.text is not None and len(f.text) > 1000:
        raise q.error("q", "parameter {} is longer than 1000 characters")
    f.has_feedback = q.typed("feedback", parse_bool, "true or false")
    f.min_feedback_score = q.typed("min_feedback_score", _score, "a finite number")
    f.max_feedback_score = q.typed("max_feedback_score", _score, "a finite number")
    if (f.min_feedback_score is not None and f.max_feedback_score is not None
            and f.min_feedback_score > f.max_feedback_score):
        raise q.error("min_feedback_score", "parameter {} must not be above max_feedback_score")
    f.has_pii, f.pii_kinds = _pii(q)
    return f


def _pii(q: Query) -> tuple[bool | None, list[str]]:
    """`pii=true|false` (any personal data found, or none), or `pii=email,card` (any of those kinds)."""
    kinds = [kind.lower() for kind in q.many("pii")]
    if len(kinds) == 1:
        try:
            return parse_bool(kinds[0]), []
        except ValueError:
            pass
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        raise q.error("pii", f"parameter {{}} must be true, false or kinds among {', '.join(KINDS)}, "
                             f"got {unknown[0]!r}")
    return None, list(dict.fromkeys(kinds))


def parse_page(q: Query) -> Page:
    page = Page()
    limit = q.typed("limit", _nonneg_int, "an integer from 1 to 1000")
    if limit is not None:
        if not 1 <= limit <= MAX_LIMIT:
            raise q.error("limit", f"parameter {{}} must be from 1 to {MAX_LIMIT}, got {limit}")
        page.limit = limit
    page.offset = q.typed("offset", _nonneg_int, "a non-negative integer") or 0
    sort_by = q.one("sort_by")
    if sort_by:
        if sort_by not in SORT_KEYS:
            raise q.error("sort_by", f"parameter {{}} must be one of {', '.join(SORT_KEYS)}, got {sort_by!r}")
        page.sort_by = sort_by
    order = q.one("sort_order")
    if order:
        if order.lower() not in ("asc", "desc"):
            raise q.error("sort_order", f"parameter {{}} must be asc or desc, got {order!r}")
        page.descending = order.lower() == "desc"
    page.cursor = q.one("cursor") or None
    page.count_total = q.typed("include_total", parse_bool, "true or false") is not False
    if page.cursor and page.offset:
        raise q.error("cursor", "use either cursor or offset, not both")
    return page

