"""Schema as ordered migrations, tracked in `llmlog_migrations`; an applied migration is never edited.

Several replicas may start at once against one database: each migrates inside one transaction
holding `pg_advisory_xact_lock(MIGRATION_LOCK)`, so the first applies what is missing and the
others, let in after its commit, find nothing left to do.

The columns are SQLite's final schema (store/rows.py CALL_COLUMNS, CONTENT_COLUMNS), so a row
reads back the same from either backend: INTEGER -> bigint, REAL -> double precision, BLOB ->
bytea, JSON kept as text. Ids sort bytewise (COLLATE "C"), as SQLite compares them.

`calls`, `call_content` and `call_tags` are range-partitioned by `started_at`, one partition per
UTC week (store/postgres/partitions.py): retention drops whole weeks, so pruning leaves no dead
rows behind for VACUUM to chase, and only the one week the cutoff falls in is deleted row by row.
The content and tag tables carry `started_at` for that reason (their rows go with the week).
"""

from __future__ import annotations

import logging

import psycopg

from ..interface import StoreError
from .connect import first_line
from .queries import one

log = logging.getLogger("llmlog.store")
MIGRATION_LOCK = 0x6C6C6D6C6F6701  # 'llmlog' + 1: any constant shared by every llmlog process

M001_INITIAL = """
CREATE TABLE calls (
    id text COLLATE "C" NOT NULL,
    started_at bigint NOT NULL,            -- UTC epoch milliseconds
    completed_at bigint,
    duration_ms double precision,
    ttfb_ms double precision,
    provider text,
    method text,
    path text,
    model text,
    response_model text,
    stream integer NOT NULL DEFAULT 0,
    status text NOT NULL,                  -- success | error | timeout | client_closed
    status_code integer,
    error text,
    finish_reason text,
    input_tokens bigint,
    cached_input_tokens bigint,
    cache_write_tokens bigint,
    output_tokens bigint,
    reasoning_tokens bigint,
    total_tokens bigint,
    usage_source text NOT NULL DEFAULT 'none',
    priced integer NOT NULL DEFAULT 0,
    cost_micros bigint,
    input_cost_micros bigint,
    cached_input_cost_micros bigint,
    cache_write_cost_micros bigint,
    output_cost_micros bigint,
    pricing_version text,
    user_id text,
    api_key_hash text,
    api_key_prefix text,
    tags text,                             -- JSON array
    environment text,
    task_type text,
    metadata text,                         -- JSON object
    feedback text,                         -- JSON object
    trace_id text,
    session_id text,
    parent_id text COLLATE "C",
    root_id text COLLATE "C",
    depth integer NOT NULL DEFAULT 0,
    do_not_track integer NOT NULL DEFAULT 0,
    has_content integer NOT NULL DEFAULT 0,
    token_encoding text,
    cache_write_1h_tokens bigint,
    input_audio_tokens bigint,
    output_audio_tokens bigint,
    cost_buckets text,
    cost_nanos bigint,
    service_tier text,
    service_tier_priced integer,
    PRIMARY KEY (id, started_at)
) PARTITION BY RANGE (started_at);
CREATE INDEX calls_started ON calls (started_at, id);
CREATE INDEX calls_model_started ON calls (model, started_at);
CREATE INDEX calls_status_started ON calls (status, started_at);
CREATE INDEX calls_user_started ON calls (user_id, started_at);
CREATE INDEX calls_cost_order ON calls ((coalesce(cost_micros, -1)), id);
CREATE INDEX calls_trace ON calls (trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX calls_session ON calls (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX calls_parent ON calls (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX calls_root ON calls (root_id) WHERE root_id IS NOT NULL;

CREATE TABLE call_tags (
    call_id text COLLATE "C" NOT NULL,
    tag text NOT NULL,
    started_at bigint NOT NULL,
    PRIMARY KEY (tag, call_id, started_at)
) PARTITION BY RANGE (started_at);
CREATE INDEX call_tags_call ON call_tags (call_id);

-- `search` is the text-search document of prompt_text and output_text, made by the writer
-- (store/postgres/search.py) so words split as SQLite's FTS5 unicode61 splits them.
CREATE TABLE call_content (
    call_id text COLLATE "C" NOT NULL,
    started_at bigint NOT NULL,
    request_query text,
    request_headers text,
    request_body bytea,
    request_truncated integer NOT NULL DEFAULT 0,
    response_headers text,
    response_body bytea,
    response_truncated integer NOT NULL DEFAULT 0,
    assembled text,
    events text,
    prompt_text text,
    output_text text,
    chunk_offsets text,
    body_encoding text,
    search tsvector,
    PRIMARY KEY (call_id, started_at)
) PARTITION BY RANGE (started_at);
CREATE INDEX call_content_search ON call_content USING gin (search);

-- Rows of a week that has no partition (yet): only a hand-made change of `started_at` puts one
-- here, or a write racing a retention that drops its week; the writer moves them out when it
-- makes that week's partition (store/postgres/partitions.py), retention deletes them row by row.
CREATE TABLE calls_default PARTITION OF calls DEFAULT;
CREATE TABLE call_content_default PARTITION OF call_content DEFAULT;
CREATE TABLE call_tags_default PARTITION OF call_tags DEFAULT;

CREATE TABLE export_jobs (
    id text COLLATE "C" PRIMARY KEY,
    created_at bigint NOT NULL,
    status text NOT NULL,                  -- draft | running | success | failure
    format text NOT NULL,
    fields text,
    filters text NOT NULL,
    path text,
    rows bigint,
    error text,
    updated_at bigint,
    oldest_started_at bigint,
    holds_content integer
);

-- A finished export file, kept in the database so every replica can serve its download.
CREATE TABLE export_chunks (
    job_id text COLLATE "C" NOT NULL REFERENCES export_jobs (id) ON DELETE CASCADE,
    chunk_index integer NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (job_id, chunk_index)
);
"""

# What an export job was asked beyond its filters and fields (Portkey's logs export, seeds/004): a
# row limit and offset, a description, a workspace id; one JSON object, so a new option needs no column.
M002_EXPORT_JOB_OPTIONS = """
ALTER TABLE export_jobs ADD COLUMN options text;
"""

# SQLite's m013 and m014 (store/sqlite/migrations.py says why): who made a call, and measures of
# the whole prompt and output. Adding nullable columns to a partitioned table rewrites no row.
M003_CLIENT_ADDRESS = """
ALTER TABLE calls ADD COLUMN request_ip text, ADD COLUMN user_agent text;
"""

M004_TEXT_MEASURES = """
ALTER TABLE call_content ADD COLUMN prompt_hash text, ADD COLUMN prompt_chars bigint,
    ADD COLUMN output_chars bigint, ADD COLUMN message_count bigint;
"""

# SQLite's m015: the time the upstream itself took (proxy/forward/handler.py); NULL before it.
# Added to the partitioned parent, so every week's partition has it.
M005_UPSTREAM_DURATION = """
ALTER TABLE calls ADD COLUMN upstream_duration_ms double precision;
"""


# Feedback figures in summary and stats (Portkey's logs page, issue 18) read only the calls that
# have feedback, through this index: few calls have any.
M006_FEEDBACK_INDEX = """
CREATE INDEX calls_feedback ON calls (started_at) WHERE feedback IS NOT NULL;
"""


# SQLite's m017 (store/sqlite/migrations.py says why): PromptShuttle's labels, the answer's tool
# call count, its tool calls and citations (content).
M007_PROMPTSHUTTLE_LABELS = """
ALTER TABLE calls ADD COLUMN flow text, ADD COLUMN customer_id text, ADD COLUMN agent_role text,
    ADD COLUMN tool_call_count integer;
ALTER TABLE call_content ADD COLUMN tool_calls text, ADD COLUMN citations text;
CREATE INDEX calls_flow_started ON calls (flow, started_at) WHERE flow IS NOT NULL;
CREATE INDEX calls_customer_started ON calls (customer_id, started_at) WHERE customer_id IS NOT NULL;
"""

# SQLite's m020 (store/sqlite/migrations.py says why): personal data counts by kind.
M008_PII_COUNTS = """
ALTER TABLE calls ADD COLUMN pii text;
CREATE INDEX calls_pii ON calls (started_at) WHERE pii IS NOT NULL;
"""

# SQLite's m021 (store/sqlite/migrations.py says why): the key that sealed a content row, and the
# key ids the store holds content under.
M009_CONTENT_KEYS = """
ALTER TABLE call_content ADD COLUMN key_id text;
CREATE TABLE content_keys (key_id text COLLATE "C" PRIMARY KEY);
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("m001_initial", M001_INITIAL),
    ("m002_export_job_options", M002_EXPORT_JOB_OPTIONS),
    ("m003_client_address", M003_CLIENT_ADDRESS),
    ("m004_text_measures", M004_TEXT_MEASURES),
    ("m005_upstream_duration", M005_UPSTREAM_DURATION),
    ("m006_feedback_index", M006_FEEDBACK_INDEX),
    ("m007_promptshuttle_labels", M007_PROMPTSHUTTLE_LABELS),
    ("m008_pii_counts", M008_PII_COUNTS),
    ("m009_content_keys", M009_CONTENT_KEYS),
]


def _applied(conn: psycopg.Connection) -> list[str] | None:
    """The names applied so far, or None when the database has no llmlog schema."""
    if one(conn.execute("SELECT to_regclass('llmlog_migrations')"))[0] is None:
        return None
    return [row[0] for row in conn.execute("SELECT name FROM llmlog_migrations ORDER BY name")]


def migrate(conn: psycopg.Connection, *, create: bool, where: str) -> list[str]:
    """Apply what is missing; returns the names applied. With `create=False` a database without
    the schema is an error (a typo in the URL should not silently make an empty llmlog store).
    Whatever the server refuses is a StoreError saying what the user can do about it."""
    try:
        return _migrate(conn, create, where)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(f"cannot create llmlog's tables in {where}: {first_line(exc)} (the user must be "
                         "able to create tables in the database's schema, also later: a week's partition "
                         "is made when its first call is written)") from None
    except psycopg.errors.DuplicateTable as exc:
        raise StoreError(f"cannot create llmlog's tables in {where}: {first_line(exc)}; the database holds "
                         "tables llmlog did not make: give llmlog a database of its own") from None
    except psycopg.Error as exc:
        raise StoreError(f"cannot open the llmlog store in {where}: {first_line(exc)}") from None


def _migrate(conn: psycopg.Connection, create: bool, where: str) -> list[str]:
    applied = _applied(conn)
    if applied is None and not create:
        raise StoreError(f"no llmlog database in {where} (run `llmlog serve` with this URL first)")
    known = [name for name, _ in MIGRATIONS]
    if applied is not None and set(applied) <= set(known) and len(applied) == len(known):
        return []  # the common case: nothing to do, no lock taken
    newer = sorted(set(applied or ()) - set(known))
    if newer:
        raise StoreError(f"the llmlog store in {where} has migrations this llmlog does not know "
                         f"({', '.join(newer)}); upgrade llmlog")
    done: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS llmlog_migrations "
                     "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
        present = {row[0] for row in conn.execute("SELECT name FROM llmlog_migrations")}
        for name, sql in MIGRATIONS:
            if name in present:
                continue
            log.info("migrating %s: %s", where, name)
            conn.execute(sql)
            conn.execute("INSERT INTO llmlog_migrations (name) VALUES (%s)", (name,))
            done.append(name)
    return done
