"""How often the logs API may be asked (the Perf document's tiers: requests per minute per key, and
the largest page one request may ask for): a token bucket per client, pure, its clock injected; and the
check the guard (proxy/access/guard.py) makes with it of logs API requests, never of proxied calls."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from llmlog.proxy.access.client_address import Network, client_address
from llmlog.proxy.access.keys import presented_key
from llmlog.proxy.http_errors import error_response

# the page-size parameters of the logs API and the seed routes' spellings of it (Perf `limit`,
# AgentRouter `page_size`, PromptShuttle `pageSize`): logs_api.max_limit caps each
PAGE_SIZE_PARAMS = frozenset({"limit", "page_size", "pageSize"})
MAX_BUCKETS = 10_000  # clients remembered; past it, those whose bucket has refilled are forgotten


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # clock reading of the last update, seconds


class RateLimiter:
    """`per_minute` requests a minute per client, in bursts of up to `per_minute`: a bucket of that
    many tokens refilling at per_minute/60 a second. `clock` reads seconds (time.monotonic)."""

    def __init__(self, per_minute: int, clock: Callable[[], float]):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[str, _Bucket] = {}

    def take(self, client: str) -> int | None:
        """Take one request from `client`'s budget: None when allowed, else the whole seconds to
        wait before the next one would be (Retry-After, at least 1)."""
        now = self.clock()
        bucket = self.buckets.get(client)
        if bucket is None:
            if len(self.buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = self.buckets[client] = _Bucket(self.capacity, now)
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def _forget_full(self, now: float) -> None:
        """Drop the buckets that have refilled: forgetting them changes no answer."""
        refill_s = self.capacity / self.rate
        self.buckets = {k: b for k, b in self.buckets.items() if now - b.at < refill_s}


def client_key(request: web.Request, keyed: bool, trusted: tuple[Network, ...]) -> str:
    """Whose budget a request spends: its logs API key's (hashed: the table never holds a key) when
    keys are configured (the guard has checked it by now), else its client address's."""
    if keyed:
        token = presented_key(request)
        return "key:" + hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
    forwarded = request.headers.getall("X-Forwarded-For", [])
    return "ip:" + (client_address(request.remote, forwarded, trusted) or "")


def page_size(value: str) -> int | None:
    """A page size as the routes read it (`int` of the stripped text, so `+500`, ` 500`, `5_00`
    and other scripts' digits are 500 too), or None for what they refuse with a 400 of their own."""
    try:
        return int(value.strip())
    except ValueError:
        return None


def logs_api_limits(limiter: RateLimiter | None, max_limit: int, keyed: bool,
                    trusted: tuple[Network, ...]) -> Callable[[web.Request], web.Response | None]:
    """The check the guard makes of a logs API request it let through (never of a proxied call): a
    page larger than `max_limit` is a 400 naming its parameter, and a client past its budget a 429
    with Retry-After; None when the request may go on."""

    def refusal(request: web.Request) -> web.Response | None:
        if limiter is not None and (wait := limiter.take(client_key(request, keyed, trusted))) is not None:
            return error_response(429, f"too many logs API requests; try again in {wait} s "
                                  f"(logs_api.requests_per_minute = {int(limiter.capacity)})",
                                  headers={"Retry-After": str(wait)})
        for name in PAGE_SIZE_PARAMS & request.query.keys():
            for value in request.query.getall(name):
                if (size := page_size(value)) is not None and size > max_limit:
                    return error_response(400, f"parameter {name} must be at most {max_limit} "
                                          f"(logs_api.max_limit), got {value}", param=name)
        return None

    return refusal
