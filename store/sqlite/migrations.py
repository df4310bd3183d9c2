"""Schema as ordered migrations, tracked in `PRAGMA user_version`; an applied migration is never edited."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable

log = logging.getLogger("llmlog.store")

# Metrics live in `calls` (list and aggregate queries read only this table); content lives in
# `call_content` so that do-not-track, content retention and erasure touch one place.
M001_INITIAL = """
CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,          -- UTC epoch milliseconds
    completed_at INTEGER,
    duration_ms REAL,
    ttfb_ms REAL,
    provider TEXT,
    method TEXT,
    path TEXT,
    model TEXT,
    response_model TEXT,
    stream INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,                  -- success | error | timeout | client_closed
    status_code INTEGER,
    error TEXT,
    finish_reason TEXT,
    input_tokens INTEGER,
    cached_input_tokens INTEGER,
    cache_write_tokens INTEGER,
    output_tokens INTEGER,
    reasoning_tokens INTEGER,
    total_tokens INTEGER,
    usage_source TEXT NOT NULL DEFAULT 'none',
    priced INTEGER NOT NULL DEFAULT 0,
    cost_micros INTEGER,                   -- NULL when the model has no price
    input_cost_micros INTEGER,
    cached_input_cost_micros INTEGER,
    cache_write_cost_micros INTEGER,
    output_cost_micros INTEGER,
    pricing_version TEXT,
    user_id TEXT,
    api_key_hash TEXT,
    api_key_prefix TEXT,
    tags TEXT,                             -- JSON array
    environment TEXT,
    task_type TEXT,
    metadata TEXT,                         -- JSON object
    feedback TEXT,                         -- JSON object
    trace_id TEXT,
    session_id TEXT,
    parent_id TEXT,
    root_id TEXT,
    depth INTEGER NOT NULL DEFAULT 0,
    do_not_track INTEGER NOT NULL DEFAULT 0,
    has_content INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX calls_started ON calls(started_at, id);
CREATE INDEX calls_model_started ON calls(model, started_at);
CREATE INDEX calls_status_started ON calls(status, started_at);
CREATE INDEX calls_user_started ON calls(user_id, started_at);
CREATE INDEX calls_cost ON calls(cost_micros);
CREATE INDEX calls_trace ON calls(trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX calls_session ON calls(session_id) WHERE session_id IS NOT NULL;
CREATE INDEX calls_parent ON calls(parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX calls_root ON calls(root_id) WHERE root_id IS NOT NULL;

CREATE TABLE call_tags (
    call_id TEXT NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    PRIMARY KEY (tag, call_id)
) WITHOUT ROWID;
CREATE INDEX call_tags_call ON call_tags(call_id);

CREATE TABLE call_content (
    call_id TEXT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    request_query TEXT,                    -- query string, credential parameters redacted
    request_headers TEXT,                  -- JSON [[name, value]], secrets redacted
    request_body BLOB,
    request_truncated INTEGER NOT NULL DEFAULT 0,
    response_headers TEXT,
    response_body BLOB,                    -- for streams: the raw SSE bytes
    response_truncated INTEGER NOT NULL DEFAULT 0,
    assembled TEXT,                        -- for streams: the message assembled from the events
    events TEXT,                           -- JSON [[offset_ms, event, data]]
    prompt_text TEXT,
    output_text TEXT
);

-- Full-text search over prompt and output; rowid = call_content.rowid.
CREATE VIRTUAL TABLE call_search USING fts5(prompt_text, output_text, tokenize = 'unicode61');

CREATE TABLE export_jobs (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    status TEXT NOT NULL,                  -- draft | running | success | failure
    format TEXT NOT NULL,
    fields TEXT,
    filters TEXT NOT NULL,
    path TEXT,
    rows INTEGER,
    error TEXT,
    updated_at INTEGER
);
"""


# Chosen with EXPLAIN QUERY PLAN on bench/bench_queries.py's million entries:
# - a cost-sorted page walks this index in order instead of sorting a week of rows (sort key of SORT_KEYS);
# - summary and stats over a time window read only this covering index, never the wide rows.
M002_QUERY_INDEXES = """
CREATE INDEX calls_cost_order ON calls(coalesce(cost_micros, -1), id);
CREATE INDEX calls_started_metrics ON calls(
    started_at, model, provider, status, task_type, duration_ms,
    input_tokens, output_tokens, total_tokens, cost_micros, priced);
"""

# A stream's events are re-split from its stored body at these chunk ends (proxy/query/stream_events.py)
# instead of being stored a second time, parsed, in `events` (issue #7); older rows keep `events`.
M003_CHUNK_OFFSETS = """
ALTER TABLE call_content ADD COLUMN chunk_offsets TEXT;  -- JSON [[arrival_offset_ms, end_byte]]
"""

# Large bodies are stored zlib-compressed (store/bodies.py): the bytes written per row dominate the
# writer (issue #7). NULL = request_body and response_body as sent; 'zlib' = each compressed.
M004_BODY_ENCODING = """
ALTER TABLE call_content ADD COLUMN body_encoding TEXT;
"""

# What a finished export file holds, so retention can remove it once calls of that age are pruned
# (store/export_jobs.expire_files): the earliest call it can contain, and whether it quotes content.
M005_EXPORT_SPAN = """
ALTER TABLE export_jobs ADD COLUMN oldest_started_at INTEGER;
ALTER TABLE export_jobs ADD COLUMN holds_content INTEGER;
"""

# A call's content and search rows take the call's own rowid (they had rowids of their own), so a
# text search filters calls by an integer set instead of joining text ids: `q=` on a word in one
# prompt in five took 440 ms at 300k entries, 166 ms of it for the count; aligned, the count takes
# 63 ms (bench/bench_queries.py). The content rows are copied, in rowid order, into a table made
# from call_content's own definition (an UPDATE of every rowid left pages half full: the table
# doubled), then the search index is built anew from them, one search row per content row as the
# writer keeps it (dropping it rather than deleting its rows halves the time).
def _m006_shared_rowids(conn: sqlite3.Connection) -> None:
    create = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'call_content'").fetchone()[0]
    columns = [row[1] for row in conn.execute("PRAGMA table_info(call_content)")]
    conn.execute(re.sub(r'^CREATE TABLE "?call_content"?', "CREATE TABLE call_content_m006", create))
    conn.execute(f"INSERT INTO call_content_m006 (rowid, {', '.join(columns)}) "
                 f"SELECT calls.rowid, {', '.join('cc.' + c for c in columns)} "
                 "FROM call_content cc JOIN calls ON calls.id = cc.call_id ORDER BY calls.rowid")
    conn.execute("DROP TABLE call_content")
    conn.execute("ALTER TABLE call_content_m006 RENAME TO call_content")
    conn.execute("DROP TABLE call_search")
    conn.execute("CREATE VIRTUAL TABLE call_search USING fts5(prompt_text, output_text, tokenize = 'unicode61')")
    conn.execute("INSERT INTO call_search (rowid, prompt_text, output_text) "
                 "SELECT rowid, prompt_text, output_text FROM call_content")


# How an estimated token count was made (issue 15): the tiktoken encoding it was counted with
# ("o200k_base", "cl100k_base", "chars/4"); NULL for the provider's own counts and older rows.
M007_TOKEN_ENCODING = """
ALTER TABLE calls ADD COLUMN token_encoding TEXT;
"""


# Buckets billed at their own rates (issue 15): the counts, so `llmlog reprice` can price them
# again, and each bucket's tokens, cost and rate as JSON, for the entry to show.
M008_COST_BUCKETS = """
ALTER TABLE calls ADD COLUMN cache_write_1h_tokens INTEGER;
ALTER TABLE calls ADD COLUMN input_audio_tokens INTEGER;
ALTER TABLE calls ADD COLUMN output_audio_tokens INTEGER;
ALTER TABLE calls ADD COLUMN cost_buckets TEXT;
"""


# The exact cost in nano-dollars (issue 15): a call worth $0.0000123 is that, not $0.000013, and
# sums over many small calls stay exact. Calls written before keep their micro-dollar figure.
M009_COST_NANOS = """
ALTER TABLE calls ADD COLUMN cost_nanos INTEGER;
UPDATE calls SET cost_nanos = cost_micros * 1000 WHERE cost_micros IS NOT NULL;
"""


# The service tier that served a call (issue 15: OpenAI's flex, priority…), so `llmlog reprice`
# prices it again at that tier; and whether its own rates billed it (0: the model has none for
# that tier and the standard rates were used; NULL: the standard tier).
M010_SERVICE_TIER = """
ALTER TABLE calls ADD COLUMN service_tier TEXT;
ALTER TABLE calls ADD COLUMN service_tier_priced INTEGER;
"""


# Summary and stats read only a covering index over a time window (as m002 meant), but m009's
# cost_nanos, which their sums read since, was not in it, so they read the wide rows again: the
# 24 h summary at 1M entries took 228 ms (p50, bench_queries, no ANALYZE), its grouped query
# 155 ms of it. The same index with cost_nanos added replaces it. Building it reads every row
# once (seconds per million entries).
M011_METRICS_INDEX_COST_NANOS = """
CREATE INDEX calls_started_sums ON calls(
    started_at, model, provider, status, task_type, duration_ms,
    input_tokens, output_tokens, total_tokens, cost_nanos, cost_micros, priced);
DROP INDEX calls_started_metrics;
"""


# What an export job was asked beyond its filters and fields (Portkey's logs export, seeds/004): a
# row limit and offset, a description, a workspace id; one JSON object, so a new option needs no column.
M012_EXPORT_JOB_OPTIONS = """
ALTER TABLE export_jobs ADD COLUMN options TEXT;
"""

# Who made a call (issue 18, the Perf document's `metadata.request_ip` and `user_agent`): the
# client's address as the proxy saw it and its User-Agent. NULL under do-not-track and for older rows.
M013_CLIENT_ADDRESS = """
ALTER TABLE calls ADD COLUMN request_ip TEXT;
ALTER TABLE calls ADD COLUMN user_agent TEXT;
"""


# Measures of the whole prompt and output (issue 18: the Perf document's `prompt.hash`, `length`,
# `message_count`, `output.length`), written with the content so a list shows them beside a preview
# without reading whole texts. Adding nullable columns rewrites no row; older rows have NULL.
M014_TEXT_MEASURES = """
ALTER TABLE call_content ADD COLUMN prompt_hash TEXT;
ALTER TABLE call_content ADD COLUMN prompt_chars INTEGER;
ALTER TABLE call_content ADD COLUMN output_chars INTEGER;
ALTER TABLE call_content ADD COLUMN message_count INTEGER;
"""


# The time the upstream itself took (proxy/forward/handler.py): from the request handed to the
# upstream client to the answer's last byte read, without llmlog's own work before and after.
# NULL for calls before it and calls whose answer never completed.
M015_UPSTREAM_DURATION = """
ALTER TABLE calls ADD COLUMN upstream_duration_ms REAL;
"""


# Feedback figures in summary and stats (Portkey's logs page, issue 18) read only the calls that
# have feedback, through this index: few calls have any, and calls_started_sums has no feedback.
M016_FEEDBACK_INDEX = """
CREATE INDEX calls_feedback ON calls(started_at) WHERE feedback IS NOT NULL;
"""


# PromptShuttle's call labels (issue 18, DESIGN §3): a flow name, the end customer and the agent's
# role, set by control headers like task type; the number of tool calls in the answer, a metric
# kept under do-not-track; the tool calls and URL citations themselves, content. Flow and customer
# are looked up like user ids (per flow statistics, a customer's calls): indexed with the time,
# only where set, so calls without them cost the writer nothing.
M017_PROMPTSHUTTLE_LABELS = """
ALTER TABLE calls ADD COLUMN flow TEXT;
ALTER TABLE calls ADD COLUMN customer_id TEXT;
ALTER TABLE calls ADD COLUMN agent_role TEXT;
ALTER TABLE calls ADD COLUMN tool_call_count INTEGER;
ALTER TABLE call_content ADD COLUMN tool_calls TEXT;   -- JSON [{id, type, name, arguments}]
ALTER TABLE call_content ADD COLUMN citations TEXT;    -- JSON [{url, title, start_index, end_index}]
CREATE INDEX calls_flow_started ON calls(flow, started_at) WHERE flow IS NOT NULL;
CREATE INDEX calls_customer_started ON calls(customer_id, started_at) WHERE customer_id IS NOT NULL;
"""


# The dashboard's figures (issue 19) add thinking tokens and calls with estimated token counts to
# the sums summary and stats read: the covering index gains their columns, so a window's figures
# still never read the wide rows. Building it reads every row once (seconds per million entries).
M018_SUMS_INDEX_THINKING_ESTIMATED = """
DROP INDEX calls_started_sums;
CREATE INDEX calls_started_sums ON calls(
    started_at, model, provider, status, task_type, duration_ms,
    input_tokens, output_tokens, total_tokens, cost_nanos, cost_micros, priced, reasoning_tokens, usage_source);
"""


# TTFB percentiles in summary and stats (the dashboard's TTFB chart, issue 19) are read with the
# durations, in the same query: the covering index gains ttfb_ms, so that query still reads only the
# index. Building it reads every row once (seconds per million entries).
M019_SUMS_INDEX_TTFB = """
DROP INDEX calls_started_sums;
CREATE INDEX calls_started_sums ON calls(
    started_at, model, provider, status, task_type, duration_ms, ttfb_ms,
    input_tokens, output_tokens, total_tokens, cost_nanos, cost_micros, priced, reasoning_tokens, usage_source);
"""


# Personal data found in a call's stored text (issue 21): a JSON object of counts by kind, NULL
# when none was found (and for do-not-track calls, whose text is not read). Few calls have any, so
# `pii=` filters read them through a partial index, like feedback.
M020_PII_COUNTS = """
ALTER TABLE calls ADD COLUMN pii TEXT;                -- JSON {kind: count}
CREATE INDEX calls_pii ON calls(started_at) WHERE pii IS NOT NULL;
"""


# Content encrypted at rest (issue 21, store/sealing.py): the id of the key that sealed a row's
# content columns (NULL = in clear), and the ids the store holds content under, kept by the writer
# (and `llmlog rekey`), so the check at start that every one has its key is one small read, not a scan.
M021_CONTENT_KEYS = """
ALTER TABLE call_content ADD COLUMN key_id TEXT;
CREATE TABLE content_keys (key_id TEXT PRIMARY KEY) WITHOUT ROWID;
"""


Migration = str | Callable[[sqlite3.Connection], None]

MIGRATIONS: list[tuple[str, Migration]] = [
    ("m001_initial", M001_INITIAL),
    ("m002_query_indexes", M002_QUERY_INDEXES),
    ("m003_chunk_offsets", M003_CHUNK_OFFSETS),
    ("m004_body_encoding", M004_BODY_ENCODING),
    ("m005_export_span", M005_EXPORT_SPAN),
    ("m006_shared_rowids", _m006_shared_rowids),
    ("m007_token_encoding", M007_TOKEN_ENCODING),
    ("m008_cost_buckets", M008_COST_BUCKETS),
    ("m009_cost_nanos", M009_COST_NANOS),
    ("m010_service_tier", M010_SERVICE_TIER),
    ("m011_metrics_index_cost_nanos", M011_METRICS_INDEX_COST_NANOS),
    ("m012_export_job_options", M012_EXPORT_JOB_OPTIONS),
    ("m013_client_address", M013_CLIENT_ADDRESS),
    ("m014_text_measures", M014_TEXT_MEASURES),
    ("m015_upstream_duration", M015_UPSTREAM_DURATION),
    ("m016_feedback_index", M016_FEEDBACK_INDEX),
    ("m017_promptshuttle_labels", M017_PROMPTSHUTTLE_LABELS),
    ("m018_sums_index_thinking_estimated", M018_SUMS_INDEX_THINKING_ESTIMATED),
    ("m019_sums_index_ttfb", M019_SUMS_INDEX_TTFB),
    ("m020_pii_counts", M020_PII_COUNTS),
    ("m021_content_keys", M021_CONTENT_KEYS),
]


def schema_version(conn: sqlite3.Connection) -> int:
    version: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return version


def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration newer than the database's `user_version`, each in its own transaction.

    The connection must be in autocommit mode (`isolation_level=None`). Returns the names applied.
    """
    current = schema_version(conn)
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"database schema version {current} is newer than this llmlog ({len(MIGRATIONS)}); upgrade llmlog")
    applied = []
    for number, (name, step) in enumerate(MIGRATIONS, start=1):
        if number <= current:
            continue
        started = time.monotonic()
        if current:  # an existing database: some steps rewrite every row, so say what is going on
            log.info("migrating the database: %s", name)
        try:
            if isinstance(step, str):
                # executescript commits any open transaction first, so the script carries its own.
                conn.executescript(f"BEGIN IMMEDIATE;\n{step}\nPRAGMA user_version = {number};\nCOMMIT;")
            else:
                conn.execute("BEGIN IMMEDIATE")
                step(conn)
                conn.execute(f"PRAGMA user_version = {number}")
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(name)
        if current:
            log.info("migrated the database: %s in %.1f s", name, time.monotonic() - started)
    if applied and current:
        # a step that moved every row left free pages behind and a WAL as large as the database
        conn.executescript("PRAGMA incremental_vacuum;")  # stepped to completion (store/sqlite/removal.py)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    return applied
