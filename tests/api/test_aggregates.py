"""Summary and stats figures equal those computed here, independently, from the same seeded entries."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import orjson
import pytest
from click.testing import CliRunner

from llmlog.cli import main
from llmlog.store.figures import bucket_start
from tests.conftest import missing_store, no_store_message
from tests.fakes.seed_aggregates import entry, random_entry, seed

pytestmark = pytest.mark.backends

HOUR, DAY = 3_600_000, 86_400_000
MONDAY = int(datetime(2024, 3, 4, tzinfo=UTC).timestamp() * 1000)
START, END = MONDAY + 30 * 60_000, MONDAY + 2 * DAY  # start not on an hour: the first bucket is partial
SPAN = END - START


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


WINDOW = f"start_date={iso(START)}&end_date={iso(END)}"


def build_entries():
    """Calls in the window (none in hours ≡ 1 mod 3, so some buckets are empty), in the previous
    period, earlier still, and on both edges of the window."""
    rng = random.Random(20240304)
    inside = []
    while len(inside) < 90:
        t = rng.randrange(START, END)
        if ((t - MONDAY) // HOUR) % 3 != 1:
            inside.append(random_entry(rng, t))
    inside.append(entry(START, model="gpt-4o", provider="openai", duration_ms=100.0, input_tokens=1,
                        output_tokens=1, total_tokens=2, cost_micros=7))  # start is inclusive
    # a first byte but no duration (the answer never completed): in TTFB figures, not latency ones
    inside.append(entry(START + 2 * HOUR, model="gpt-4o", provider="openai", status="client_closed", status_code=499,
                        ttfb_ms=0.5, duration_ms=None, input_tokens=1, output_tokens=1, total_tokens=2,
                        cost_micros=3))
    previous = [random_entry(rng, rng.randrange(START - SPAN, START)) for _ in range(40)]
    outside = [random_entry(rng, rng.randrange(START - 3 * SPAN, START - SPAN)) for _ in range(10)]
    outside.append(entry(END, model="gpt-4o", provider="openai", duration_ms=1.0))  # end is exclusive
    return [e.call | {"tag_list": e.tags} for e in inside], [e.call | {"tag_list": e.tags} for e in previous], \
        inside + previous + outside


@pytest.fixture
def seeded(db_path):
    inside, previous, every = build_entries()
    seed(db_path, every)
    return inside, previous


def nearest_rank(values, p):
    """The smallest value with at least p% of the values at or below it (the definition, by brute force)."""
    if not values:
        return None
    return min(v for v in values if sum(x <= v for x in values) * 100 >= p * len(values))


def failed(rows):
    return [r for r in rows if r["status"] != "success"]


def unpriced(rows):
    return sum(1 for r in rows if r["cost_micros"] is None and (r["status"] == "success" or r["model"] is not None))


def expected_cost(rows):
    """Summed USD; None (unknown, not $0) when the group has unpriced calls and no priced one."""
    if unpriced(rows) and all(r["cost_micros"] is None for r in rows):
        return None
    return sum(r["cost_micros"] or 0 for r in rows) / 1_000_000


def scores(rows):
    """The feedback scores of the rows that have feedback."""
    return [orjson.loads(r["feedback"])["score"] for r in rows if r["feedback"] is not None]


def avg_score(rows):
    found = scores(rows)
    return pytest.approx(sum(found) / len(found), abs=1e-6) if found else None


def timed(rows, column):
    """The rows' non-null `duration_ms` or `ttfb_ms` values."""
    return [r[column] for r in rows if r[column] is not None]


def expected_figures(rows):
    durations, ttfbs = timed(rows, "duration_ms"), timed(rows, "ttfb_ms")
    return {
        "count": len(rows),
        "input_tokens": sum(r["input_tokens"] or 0 for r in rows),
        "output_tokens": sum(r["output_tokens"] or 0 for r in rows),
        "total_tokens": sum(r["total_tokens"] or 0 for r in rows),
        "reasoning_tokens": sum(r["reasoning_tokens"] or 0 for r in rows),
        "cost_usd": expected_cost(rows),
        "unpriced_calls": unpriced(rows),
        "estimated_calls": sum(r["usage_source"] in ("estimated", "rough") for r in rows),
        "error_count": len(failed(rows)),
        # float sums differ in the last bits with summation order: equal to the rounding of 3 decimals
        "avg_latency_ms": pytest.approx(sum(durations) / len(durations), abs=0.0011) if durations else None,
        "feedback_count": len(scores(rows)),
        "avg_feedback_score": avg_score(rows),
        "pii_count": sum(r.get("pii") is not None for r in rows),
        **{f"p{p}_latency_ms": nearest_rank(durations, p) for p in (50, 90, 95, 99)},
        **{f"p{p}_ttfb_ms": nearest_rank(ttfbs, p) for p in (50, 90, 95, 99)},
        "ttfb_count": len(ttfbs),
    }


async def get_json(proxy, url):
    resp = await proxy.get(url)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_summary_equals_independent_figures(seeded, proxy):
    inside, _ = seeded
    body = await get_json(proxy, f"/v1/logs/summary?{WINDOW}")
    assert body["period"] == {"start_date": iso(START), "end_date": iso(END), "days": round(SPAN / DAY, 3)}
    durations, ttfbs = timed(inside, "duration_ms"), timed(inside, "ttfb_ms")
    assert 0 < len(ttfbs) < len(inside) and len(durations) < len(inside)  # some calls lack one or the other
    ok = [r for r in inside if r["status"] == "success"]
    priced = [r for r in inside if r["cost_micros"] is not None]
    cost = sum(r["cost_micros"] for r in priced)
    assert body["summary"] == {
        "total_calls": len(inside), "successful_calls": len(ok), "failed_calls": len(inside) - len(ok),
        "success_rate": round(len(ok) / len(inside), 4),
        "total_cost_usd": cost / 1_000_000,
        "avg_cost_per_call": round(cost * 1000 / len(priced) / 1_000_000_000, 9),  # to the nano-dollar
        "total_tokens": sum(r["total_tokens"] for r in inside),
        "input_tokens": sum(r["input_tokens"] for r in inside),
        "output_tokens": sum(r["output_tokens"] for r in inside),
        "reasoning_tokens": sum(r["reasoning_tokens"] or 0 for r in inside),
        "avg_latency_ms": pytest.approx(sum(durations) / len(durations), abs=0.0011),
        "p50_latency_ms": nearest_rank(durations, 50), "p95_latency_ms": nearest_rank(durations, 95),
        "p99_latency_ms": nearest_rank(durations, 99),
        "p50_ttfb_ms": nearest_rank(ttfbs, 50), "p95_ttfb_ms": nearest_rank(ttfbs, 95),
        "p99_ttfb_ms": nearest_rank(ttfbs, 99), "calls_with_ttfb": len(ttfbs),
        "unpriced_calls": sum(1 for r in inside if r["model"] == "mystery-model"),
        "estimated_calls": sum(1 for r in inside if r["usage_source"] in ("estimated", "rough")),
        "calls_with_feedback": len(scores(inside)),
        "avg_feedback_score": avg_score(inside),
    }
    assert body["summary"]["unpriced_calls"] > 0
    assert body["summary"]["estimated_calls"] > 0 and body["summary"]["reasoning_tokens"] > 0
    given = scores(inside)
    assert body["feedback"] == {
        "calls_with_feedback": len(given), "calls_without_feedback": len(inside) - len(given),
        "feedback_rate": round(len(given) / len(inside), 4), "avg_feedback_score": avg_score(inside),
        "by_score": [{"score": score, "calls": given.count(score)} for score in (1, 0.5, 0, -1)]}  # highest first
    assert min(row["calls"] for row in body["feedback"]["by_score"]) > 0
    for model in {r["model"] for r in inside}:
        rows = [r for r in inside if r["model"] == model]
        assert body["by_model"][model] == {
            "calls": len(rows), "percentage": round(len(rows) / len(inside), 4),
            "total_cost_usd": expected_cost(rows),
            "avg_latency_ms": pytest.approx(sum(timed(rows, "duration_ms")) / len(timed(rows, "duration_ms")),
                                            abs=0.0011)}
    assert body["by_model"]["mystery-model"]["total_cost_usd"] is None  # every call unpriced: unknown, not $0
    assert body["by_provider"]["openai"]["calls"] == sum(1 for r in inside if r["provider"] == "openai")
    for provider in {r["provider"] for r in inside}:
        rows = [r for r in inside if r["provider"] == provider]
        assert body["by_provider"][provider or "unknown"]["total_cost_usd"] == expected_cost(rows)
    assert body["by_status"] == {s: n for s in ("success", "error", "timeout", "client_closed")
                                 if (n := sum(1 for r in inside if r["status"] == s))}
    assert body["by_task_type"]["unknown"] == sum(1 for r in inside if r["task_type"] is None)
    assert list(body["by_model"]) == sorted(body["by_model"], key=lambda m: -body["by_model"][m]["calls"])


async def test_summary_honours_filters(seeded, proxy):
    inside, _ = seeded
    body = await get_json(proxy, f"/v1/logs/summary?{WINDOW}&model=gpt-4o,gpt-4o-mini&user_id=u1&tags=alpha")
    rows = [r for r in inside if r["model"] in ("gpt-4o", "gpt-4o-mini") and r["user_id"] == "u1"
            and "alpha" in r["tag_list"]]
    assert body["summary"]["total_calls"] == len(rows) > 0
    assert body["summary"]["total_tokens"] == sum(r["total_tokens"] for r in rows)
    assert body["summary"]["p50_latency_ms"] == nearest_rank([r["duration_ms"] for r in rows], 50)
    assert body["summary"]["p95_ttfb_ms"] == nearest_rank(timed(rows, "ttfb_ms"), 95)


@pytest.mark.parametrize("group_by, column", [("model", "model"), ("user", "user_id"), ("status", "status"),
                                              ("api_key", "api_key_hash"), ("environment", "environment"),
                                              ("task_type", "task_type"), ("flow", "flow")])
async def test_stats_by_dimension(seeded, proxy, group_by, column):
    inside, _ = seeded
    body = await get_json(proxy, f"/v1/logs/stats?group_by={group_by}&{WINDOW}")
    keys = {r[column] for r in inside}
    assert {g["key"] for g in body["groups"]} == keys
    for group in body["groups"]:
        assert group == {"key": group["key"], **expected_figures([r for r in inside if r[column] == group["key"]])}
    assert body["totals"] == expected_figures(inside)
    assert [g["count"] for g in body["groups"]] == sorted((g["count"] for g in body["groups"]), reverse=True)


async def test_stats_by_tag_counts_a_call_in_each_tag_and_once_in_totals(seeded, proxy):
    inside, _ = seeded
    body = await get_json(proxy, f"/v1/logs/stats?group_by=tag&{WINDOW}")
    groups = {g["key"]: g for g in body["groups"]}
    assert set(groups) == {"alpha", "beta", "gamma", None}
    for tag in ("alpha", "beta", "gamma"):
        assert groups[tag] == {"key": tag, **expected_figures([r for r in inside if tag in r["tag_list"]])}
    assert groups[None]["count"] == sum(1 for r in inside if not r["tag_list"])
    assert sum(g["count"] for g in groups.values()) > len(inside)  # some calls carry two tags
    assert body["totals"] == expected_figures(inside)


async def test_stats_hour_buckets_cover_the_window_with_empty_ones(seeded, proxy):
    inside, _ = seeded
    body = await get_json(proxy, f"/v1/logs/stats?group_by=hour&{WINDOW}")
    starts = list(range(MONDAY, END, HOUR))  # the first bucket starts before START: floor to the hour
    assert [g["key"] for g in body["groups"]] == [iso(s) for s in starts]
    for start, group in zip(starts, body["groups"], strict=True):
        rows = [r for r in inside if start <= r["started_at"] < start + HOUR]
        assert group == {"key": iso(start), **expected_figures(rows)}
        if ((start - MONDAY) // HOUR) % 3 == 1:
            assert group["count"] == 0 and group["p50_latency_ms"] is None and group["cost_usd"] == 0
            assert group["p50_ttfb_ms"] is None and group["ttfb_count"] == 0
    assert body["totals"] == expected_figures(inside)


async def test_stats_day_and_week_buckets(seeded, proxy):
    inside, _ = seeded
    days = await get_json(proxy, f"/v1/logs/stats?group_by=day&{WINDOW}")
    assert [(g["key"], g["count"]) for g in days["groups"]] == [
        (iso(d), sum(1 for r in inside if d <= r["started_at"] < d + DAY)) for d in (MONDAY, MONDAY + DAY)]
    weeks = await get_json(proxy, f"/v1/logs/stats?group_by=week&{WINDOW}")
    assert [(g["key"], g["count"]) for g in weeks["groups"]] == [(iso(MONDAY), len(inside))]


def test_week_buckets_start_on_monday_utc():
    sunday_night = MONDAY + 6 * DAY + 23 * HOUR
    assert bucket_start(sunday_night, "week") == MONDAY
    assert bucket_start(MONDAY + 7 * DAY, "week") == MONDAY + 7 * DAY
    assert bucket_start(MONDAY + 7 * 60_000 + 5, "5m") == MONDAY + 5 * 60_000


async def test_stats_compare_previous_adds_the_period_before(seeded, proxy):
    inside, previous = seeded
    body = await get_json(proxy, f"/v1/logs/stats?group_by=day&compare=previous&{WINDOW}")
    assert body["totals"] == expected_figures(inside)
    prior = body["previous"]
    assert prior["period"] == {"start_date": iso(START - SPAN), "end_date": iso(START),
                               "days": round(SPAN / DAY, 3)}
    assert prior["totals"] == expected_figures(previous)
    first = bucket_start(START - SPAN, "day")
    assert [g["key"] for g in prior["groups"]] == [iso(d) for d in range(first, START, DAY)]
    assert sum(g["count"] for g in prior["groups"]) == len(previous)
    by_model = await get_json(proxy, f"/v1/logs/stats?group_by=model&compare=previous&{WINDOW}")
    assert {g["key"]: g["count"] for g in by_model["previous"]["groups"]} == {
        m: sum(1 for r in previous if r["model"] == m) for m in {r["model"] for r in previous}}


@pytest.mark.parametrize("query, param", [
    ("group_by=colour", "group_by"), ("", "group_by"), ("group_by=model&compare=next", "compare"),
    ("group_by=model&bogus=1", "bogus"), ("group_by=5m&start_date=-400d", "group_by"),
    ("group_by=day&status=broken", "status"),
])
async def test_stats_rejects_bad_parameters(proxy, query, param):
    resp = await proxy.get(f"/v1/logs/stats?{query}")
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["param"] == param
    if query == "group_by=colour":
        assert "colour" in error["message"]


async def test_summary_of_an_empty_window(proxy):
    body = await get_json(proxy, "/v1/logs/summary?start_date=-1h")
    assert body["summary"]["total_calls"] == 0 and body["summary"]["success_rate"] is None
    assert body["summary"]["p99_latency_ms"] is None and body["by_model"] == {}
    assert body["summary"]["p50_ttfb_ms"] is None and body["summary"]["calls_with_ttfb"] == 0


def run_cli(*args):
    result = CliRunner().invoke(main, list(args))
    return result


async def test_cli_json_equals_the_api(seeded, proxy, db_path):
    api_summary = await get_json(proxy, f"/v1/logs/summary?{WINDOW}&model=gpt-4o&model=claude-sonnet-4-5")
    result = run_cli("summary", "--db", db_path, "--from", iso(START), "--to", iso(END),
                     "--model", "gpt-4o", "--model", "claude-sonnet-4-5", "--json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output) == api_summary
    api_stats = await get_json(proxy, f"/v1/logs/stats?group_by=hour&compare=previous&{WINDOW}&status=success")
    result = run_cli("stats", "--db", db_path, "--group-by", "hour", "--compare", "--from", iso(START),
                     "--to", iso(END), "--status", "success", "--json")
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output) == api_stats


async def test_cli_offers_every_filter_the_api_takes(seeded, proxy, db_path):
    """summary and stats take the same filters as `llmlog logs` and GET /v1/logs, not a subset."""
    query = f"{WINDOW}&success_only=true&min_tokens=100&max_duration_ms=2000&root_only=true"
    options = ["--from", iso(START), "--to", iso(END), "--success-only", "--min-tokens", "100",
               "--max-duration-ms", "2000", "--root-only", "--json"]
    api_summary = await get_json(proxy, f"/v1/logs/summary?{query}")
    assert 0 < api_summary["summary"]["total_calls"] < len(seeded[0])  # the filters narrowed it
    result = run_cli("summary", "--db", db_path, *options)
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output) == api_summary
    api_stats = await get_json(proxy, f"/v1/logs/stats?group_by=model&{query}")
    result = run_cli("stats", "--db", db_path, "--group-by", "model", *options)
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.output) == api_stats
    result = run_cli("summary", "--db", db_path, "--min-cost", "lots")
    assert result.exit_code != 0 and "--min-cost" in result.output


def test_cli_tables_show_the_figures(seeded, db_path):
    inside, _ = seeded
    result = run_cli("summary", "--db", db_path, "--from", iso(START), "--to", iso(END))
    assert result.exit_code == 0, result.output
    ok = sum(1 for r in inside if r["status"] == "success")
    assert f"{len(inside):,} ({ok:,} ok, {len(inside) - ok:,} failed" in result.output
    assert f"{sum(r['total_tokens'] for r in inside):,} (" in result.output
    usd = f"{sum(r['cost_micros'] or 0 for r in inside) / 1e6:,.6f}".rstrip("0")  # exact, zeros trimmed
    assert f"${usd.ljust(len(usd.split('.')[0]) + 3, '0')} (avg" in result.output
    ttfbs = timed(inside, "ttfb_ms")
    assert (f"p50 {nearest_rank(ttfbs, 50):,.1f}, p95 {nearest_rank(ttfbs, 95):,.1f}, "
            f"p99 {nearest_rank(ttfbs, 99):,.1f} ({len(ttfbs):,} calls)") in result.output
    mystery = next(line.split() for line in result.output.splitlines() if line.startswith("mystery-model "))
    assert mystery[3] == "unpriced"  # no call of it has a price: not $0.00
    result = run_cli("stats", "--db", db_path, "--group-by", "user", "--from", iso(START), "--to", iso(END))
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.output.splitlines()[2:]}
    for user in ("u1", "u2", "u3"):
        rows = [r for r in inside if r["user_id"] == user]
        assert lines[user][1] == f"{len(rows):,}"
        assert lines[user][2] == f"{len(failed(rows)):,}"
    assert lines["(none)"][1] == str(sum(1 for r in inside if r["user_id"] is None))
    assert lines["total"][1] == str(len(inside))


def test_cli_errors_are_plain(db_path):
    result = run_cli("summary", "--db", db_path, "--status", "broken")
    # a clean error, not a crash: click exits; an uncaught exception would be kept in result.exception
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit) and "--status" in result.output
    result = run_cli("summary", "--db", missing_store(db_path))
    assert result.exit_code != 0 and no_store_message(db_path) in result.output
    for command in ("summary", "stats"):
        help_text = run_cli(command, "--help").output
        assert "Example:" in help_text and f"llmlog {command}" in help_text
