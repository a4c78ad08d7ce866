"""The ClickHouse schema: fact tables (ReplacingMergeTree, by month, workspace first) and daily rollups.

Facts keep one row per fact identity (see docs/analytics.md): a replayed insert that slipped past
the consumer's check is folded away by the merge, and queries over facts use FINAL. Rollups are
SummingMergeTree tables filled by materialized views at insert time; queries re-aggregate them
with sum() (merges are lazy), so they stay exact as long as each fact is inserted once, which
the consumer guarantees (it checks which events are already in before inserting).
"""

from __future__ import annotations

FACT_TABLES = ("enrichment_attempts", "credit_transactions", "jobs", "scrape_tasks")
ROLLUP_TABLES = ("enrichment_daily", "credit_daily", "jobs_daily", "scrape_daily")

# Deduplication of a repeated insert of the same block (insert_deduplication_token) needs a
# window on non-replicated tables; replicated tables on a cluster have one by default.
_DEDUP = "SETTINGS non_replicated_deduplication_window = 1000"

DDL: tuple[str, ...] = (
    f"""
    CREATE TABLE IF NOT EXISTS enrichment_attempts (
        workspace_id UUID,
        ts DateTime64(3, 'UTC'),
        event_id UInt64,
        item UInt64,
        job_id UUID,
        record_id UUID,
        field LowCardinality(String),
        provider LowCardinality(String),
        outcome LowCardinality(String),
        found UInt8,
        cost Int64,
        cached UInt8,
        latency_ms UInt32,
        INDEX ix_event_id event_id TYPE minmax GRANULARITY 1
    ) ENGINE = ReplacingMergeTree(event_id)
    PARTITION BY toYYYYMM(ts)
    ORDER BY (workspace_id, ts, event_id, item)
    {_DEDUP}
    """,
    f"""
    CREATE TABLE IF NOT EXISTS credit_transactions (
        workspace_id UUID,
        ts DateTime64(3, 'UTC'),
        seq UInt64,
        event_id UInt64,
        type LowCardinality(String),
        amount Int64,
        reserved_delta Int64,
        balance_after Int64,
        job_id Nullable(UUID),
        field LowCardinality(String),
        provider LowCardinality(String),
        INDEX ix_event_id event_id TYPE minmax GRANULARITY 1
    ) ENGINE = ReplacingMergeTree(event_id)
    PARTITION BY toYYYYMM(ts)
    ORDER BY (workspace_id, ts, seq)
    {_DEDUP}
    """,
    f"""
    CREATE TABLE IF NOT EXISTS jobs (
        workspace_id UUID,
        ts DateTime64(3, 'UTC'),
        event_id UInt64,
        job_id UUID,
        kind LowCardinality(String),
        status LowCardinality(String),
        record_count UInt64,
        completed UInt64,
        failed UInt64,
        cancelled UInt64,
        credits_spent Int64,
        duration_ms UInt64,
        queue_ms UInt64 DEFAULT 0,
        INDEX ix_event_id event_id TYPE minmax GRANULARITY 1
    ) ENGINE = ReplacingMergeTree(event_id)
    PARTITION BY toYYYYMM(ts)
    ORDER BY (workspace_id, ts, job_id, status)
    {_DEDUP}
    """,
    # Added after the first release of this table: a chDB directory made before it gets the column.
    "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS queue_ms UInt64 DEFAULT 0",
    """
    CREATE TABLE IF NOT EXISTS enrichment_daily (
        workspace_id UUID,
        day Date,
        provider LowCardinality(String),
        field LowCardinality(String),
        attempts UInt64,
        found UInt64,
        cached UInt64,
        failed UInt64,
        cost Int64,
        latency_ms UInt64
    ) ENGINE = SummingMergeTree
    PARTITION BY toYYYYMM(day)
    ORDER BY (workspace_id, day, provider, field)
    """,
    """
    CREATE MATERIALIZED VIEW IF NOT EXISTS enrichment_daily_mv TO enrichment_daily AS
    SELECT workspace_id, toDate(ts) AS day, provider, field,
           count() AS attempts, sum(found) AS found, sum(cached) AS cached,
           countIf(outcome NOT IN ('success', 'no_match', 'no_value')) AS failed,
           sum(cost) AS cost, sum(latency_ms) AS latency_ms
    FROM enrichment_attempts GROUP BY workspace_id, day, provider, field
    """,
    """
    CREATE TABLE IF NOT EXISTS credit_daily (
        workspace_id UUID,
        day Date,
        type LowCardinality(String),
        provider LowCardinality(String),
        amount Int64,
        transactions UInt64
    ) ENGINE = SummingMergeTree
    PARTITION BY toYYYYMM(day)
    ORDER BY (workspace_id, day, type, provider)
    """,
    """
    CREATE MATERIALIZED VIEW IF NOT EXISTS credit_daily_mv TO credit_daily AS
    SELECT workspace_id, toDate(ts) AS day, type, provider, sum(amount) AS amount, count() AS transactions
    FROM credit_transactions GROUP BY workspace_id, day, type, provider
    """,
    """
    CREATE TABLE IF NOT EXISTS jobs_daily (
        workspace_id UUID,
        day Date,
        kind LowCardinality(String),
        status LowCardinality(String),
        jobs UInt64,
        records UInt64,
        completed UInt64,
        failed UInt64,
        credits_spent Int64,
        duration_ms UInt64
    ) ENGINE = SummingMergeTree
    PARTITION BY toYYYYMM(day)
    ORDER BY (workspace_id, day, kind, status)
    """,
    """
    CREATE MATERIALIZED VIEW IF NOT EXISTS jobs_daily_mv TO jobs_daily AS
    SELECT workspace_id, toDate(ts) AS day, kind, status, count() AS jobs, sum(record_count) AS records,
           sum(completed) AS completed, sum(failed) AS failed, sum(credits_spent) AS credits_spent,
           sum(duration_ms) AS duration_ms
    FROM jobs GROUP BY workspace_id, day, kind, status
    """,
    f"""
    CREATE TABLE IF NOT EXISTS scrape_tasks (
        workspace_id UUID,
        ts DateTime64(3, 'UTC'),
        event_id UInt64,
        item UInt64,
        job_id UUID,
        record_id UUID,
        domain LowCardinality(String),
        field LowCardinality(String),
        outcome LowCardinality(String),
        fetched_with LowCardinality(String),
        latency_ms UInt32,
        INDEX ix_event_id event_id TYPE minmax GRANULARITY 1
    ) ENGINE = ReplacingMergeTree(event_id)
    PARTITION BY toYYYYMM(ts)
    ORDER BY (workspace_id, ts, event_id, item)
    {_DEDUP}
    """,
    """
    CREATE TABLE IF NOT EXISTS scrape_daily (
        workspace_id UUID,
        day Date,
        domain LowCardinality(String),
        tasks UInt64,
        succeeded UInt64,
        no_data UInt64,
        refused UInt64,
        failed UInt64,
        browser UInt64,
        latency_ms UInt64
    ) ENGINE = SummingMergeTree
    PARTITION BY toYYYYMM(day)
    ORDER BY (workspace_id, day, domain)
    """,
    """
    CREATE MATERIALIZED VIEW IF NOT EXISTS scrape_daily_mv TO scrape_daily AS
    SELECT workspace_id, toDate(ts) AS day, domain, count() AS tasks,
           countIf(outcome = 'success') AS succeeded, countIf(outcome = 'no_data') AS no_data,
           countIf(outcome = 'refused') AS refused,
           countIf(outcome NOT IN ('success', 'no_data', 'refused')) AS failed,
           countIf(fetched_with = 'browser') AS browser, sum(latency_ms) AS latency_ms
    FROM scrape_tasks GROUP BY workspace_id, day, domain
    """,
)
