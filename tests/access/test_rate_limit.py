"""The logs API's token bucket, on a clock the test moves: no sleeping."""

from __future__ import annotations

from llmlog.proxy.access.rate_limit import MAX_BUCKETS, PAGE_SIZE_PARAMS, RateLimiter


def test_a_burst_of_the_budget_then_one_per_interval():
    now = [0.0]
    limiter = RateLimiter(30, lambda: now[0])  # the document's Free tier: 30 a minute, one every 2 s
    assert [limiter.take("k") for _ in range(30)] == [None] * 30
    assert limiter.take("k") == 2
    now[0] += 1.5
    assert limiter.take("k") == 1  # 0.75 of a token: 0.5 s to go, said as a whole second
    now[0] += 0.5
    assert limiter.take("k") is None and limiter.take("k") == 2
    assert limiter.take("other") is None  # a budget per client
    now[0] += 3600
    assert [limiter.take("k") for _ in range(31)][-2:] == [None, 2]  # refilled to the budget, no further


def test_refilled_buckets_are_forgotten_when_many_clients_came():
    now = [0.0]
    limiter = RateLimiter(60, lambda: now[0])
    for i in range(MAX_BUCKETS):
        limiter.take(f"c{i}")
    now[0] += 61
    limiter.take("new")
    assert list(limiter.buckets) == ["new"]


def test_page_size_parameters_are_the_seeds_spellings():
    assert PAGE_SIZE_PARAMS == {"limit", "page_size", "pageSize"}
