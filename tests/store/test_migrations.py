"""A blank database migrated to the newest schema has exactly the columns the code writes."""

from __future__ import annotations

import sqlite3

import pytest

from llmlog.store.rows import CALL_COLUMNS, CONTENT_COLUMNS
from llmlog.store.sqlite.migrations import MIGRATIONS, migrate

pytestmark = pytest.mark.sqlite_only  # SQLite's own schema migrations


def test_blank_database_migrates_to_the_exact_schema(tmp_path):
    conn = sqlite3.connect(tmp_path / "blank.db", isolation_level=None)
    assert migrate(conn) == [name for name, _ in MIGRATIONS]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    columns = lambda table: tuple(row[1] for row in conn.execute(f"PRAGMA table_info({table})"))  # noqa: E731
    assert columns("calls") == CALL_COLUMNS  # m007 appended token_encoding last
    assert columns("calls")[-16:] == ("token_encoding", "cache_write_1h_tokens", "input_audio_tokens",
                                      "output_audio_tokens", "cost_buckets", "cost_nanos",
                                      "service_tier", "service_tier_priced",
                                      "request_ip", "user_agent", "upstream_duration_ms",
                                      "flow", "customer_id", "agent_role",
                                      "tool_call_count", "pii")  # m007-m010, m013, m015, m017, m020
    assert set(columns("call_content")) == set(CONTENT_COLUMNS)
    assert columns("call_content")[-7:] == ("prompt_hash", "prompt_chars", "output_chars", "message_count",
                                           "tool_calls", "citations", "key_id")  # m014, m017, m021
    assert columns("content_keys") == ("key_id",)  # m021
    assert columns("call_tags") == ("call_id", "tag")
    assert columns("export_jobs") == ("id", "created_at", "status", "format", "fields", "filters", "path", "rows",
                                      "error", "updated_at", "oldest_started_at", "holds_content", "options")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"calls", "call_tags", "call_content", "call_search", "export_jobs", "content_keys"} <= tables
    assert migrate(conn) == []  # nothing left to apply


def test_summary_and_stats_over_a_window_read_only_the_covering_index(tmp_path):
    """m011: every column the sums read is in calls_started_sums, so a window's summary and
    bucketed or model stats never read the wide rows (no ANALYZE needed to choose it), their durations
    and TTFBs (m019) included; m016: their
    feedback figures read only the calls with feedback, through calls_feedback; m020: their personal
    data figures only the calls with some, through calls_pii."""
    from llmlog.store.filters import LogFilter
    from llmlog.store.sqlite import aggregates
    from llmlog.store.sqlite.db import connect

    conn = connect(str(tmp_path / "plans.db"))
    plans: list[str] = []
    feedback_plans: list[str] = []
    pii_plans: list[str] = []
    real = conn.execute

    class Recording:
        def execute(self, sql, params=()):
            plan = " ".join(row[3] for row in real(f"EXPLAIN QUERY PLAN {sql}", params))
            (feedback_plans if "feedback IS NOT NULL" in sql
             else pii_plans if "pii IS NOT NULL" in sql else plans).append(plan)
            return real(sql, params)
    window = LogFilter(start_ms=1_000, end_ms=2_000)
    aggregates.summary(Recording(), window)
    for group_by in ("hour", "model", "status"):
        aggregates.stats(Recording(), window, group_by)
    assert plans and all("COVERING INDEX calls_started_sums" in plan for plan in plans), plans
    assert len(feedback_plans) == 4 and all("INDEX calls_feedback" in plan for plan in feedback_plans), feedback_plans
    # the summary's calls and kinds, and each stats' groups
    assert len(pii_plans) == 5 and all("INDEX calls_pii" in plan for plan in pii_plans), pii_plans
