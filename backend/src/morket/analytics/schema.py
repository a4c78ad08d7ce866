"""The ClickHouse schema: fact tables (ReplacingMergeTree, by month, workspace first) and daily rollups.

Facts keep one row per fact identity (see docs/analytics.md): a replayed insert that slipped past
the consumer's check is folded away by the merge, and queries over facts use FINAL. Rollups are
SummingMergeTree tables filled by materialized views at insert time; queries re-aggregate them
with sum() (merges are lazy), so they stay exact as long as each fact is inserted once, which
the consumer guarantees (it checks which events are already in before inserting).
"""

from __future__ import annotations

from morket.analytics.facts import SCRAPE_OUTCOMES

FACT_TABLES = ("enrichment_attempts", "credit_transactions", "jobs", "scrape_tasks")
ROLLUP_TABLES = ("enrichment_daily", "credit_daily", "jobs_daily", "scrape_daily")
# The consumer's fast path (docs/analytics.md, "Ingest"): outbox events as JSON lines go into a
# Null table per event type, typed and checked by ClickHouse's JSON reader; a materialized view
# turns them into the fact rows (the same rows facts.py builds). Null tables keep nothing.
INGEST_TABLES = {
    "credit.transactions": "ingest_credit_transactions",
    "enrichment.attempts": "ingest_enrichment_attempts",
    "scrape.tasks": "ingest_scrape_tasks",
}
# What the JSON reader must refuse rather than default (a refused block goes to the consumer's
# slower path, which dead-letters what it cannot read either): a missing key, a null where a
# value is required; timestamps are ISO 8601 with an offset (PostgreSQL's JSON output).
INGEST_SETTINGS = {
    "input_format_skip_unknown_fields": 1,
    "input_format_json_ignore_unknown_keys_in_named_tuple": 1,
    "input_format_json_defaults_for_missing_elements_in_named_tuple": 0,
    "input_format_null_as_default": 0,
    "date_time_input_format": "best_effort",
}
_EVENT = "event_id UInt64, workspace_id UUID, created_at DateTime64(6, 'UTC')"

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
    f"""
    CREATE TABLE IF NOT EXISTS ingest_credit_transactions (
        {_EVENT},
        payload Tuple(rows Array(Tuple(
            seq Nullable(Int64), type String, amount Nullable(Int64), reserved_delta Nullable(Int64),
            balance_after Nullable(Int64), job_id Nullable(String), field Nullable(String),
            key Nullable(String), created_at Nullable(DateTime64(6, 'UTC')))))
    ) ENGINE = Null
    """,
    # facts.credit_row: the provider of a debit or refund is the 4th part of its key
    # `[refund:]<job>:<record>:<field>:<provider>` when it has a job.
    """
    CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_credit_transactions_mv TO credit_transactions AS
    SELECT workspace_id, toDateTime64(ifNull(r.created_at, created_at), 3, 'UTC') AS ts,
           assumeNotNull(r.seq) AS seq, event_id, r.type AS type, assumeNotNull(r.amount) AS amount,
           assumeNotNull(r.reserved_delta) AS reserved_delta, assumeNotNull(r.balance_after) AS balance_after,
           if(ifNull(r.job_id, '') = '', NULL, toUUID(assumeNotNull(r.job_id))) AS job_id,
           ifNull(r.field, '') AS field,
           if(r.type IN ('debit', 'refund') AND ifNull(r.key, '') != '' AND ifNull(r.job_id, '') != '',
              arrayElement(splitByChar(':', if(startsWith(assumeNotNull(r.key), 'refund:'),
                                              substring(assumeNotNull(r.key), 8), assumeNotNull(r.key))) AS parts,
                           if(length(parts) = 4, 4, 0)),
              '') AS provider
    FROM ingest_credit_transactions ARRAY JOIN payload.rows AS r
    WHERE throwIf(r.seq IS NULL OR r.amount IS NULL OR r.reserved_delta IS NULL OR r.balance_after IS NULL,
                  'a ledger row needs seq, amount, reserved_delta and balance_after') = 0
    """,
    f"""
    CREATE TABLE IF NOT EXISTS ingest_enrichment_attempts (
        {_EVENT},
        payload Tuple(job_id String, attempts Array(Tuple(
            record_id String, field String, provider String, outcome String, cost Nullable(Int64),
            cached Nullable(Bool), latency_ms Nullable(Int64))))
    ) ENGINE = Null
    """,
    """
    CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_enrichment_attempts_mv TO enrichment_attempts AS
    SELECT workspace_id, toDateTime64(created_at, 3, 'UTC') AS ts, event_id, n - 1 AS item,
           toUUID(payload.job_id) AS job_id, toUUID(a.record_id) AS record_id, a.field AS field,
           a.provider AS provider, a.outcome AS outcome, a.outcome = 'success' AS found,
           assumeNotNull(a.cost) AS cost, ifNull(a.cached, false) AS cached,
           greatest(0, assumeNotNull(a.latency_ms)) AS latency_ms
    FROM ingest_enrichment_attempts ARRAY JOIN payload.attempts AS a, arrayEnumerate(payload.attempts) AS n
    WHERE throwIf(a.cost IS NULL OR a.latency_ms IS NULL, 'an attempt needs cost and latency_ms') = 0
    """,
    f"""
    CREATE TABLE IF NOT EXISTS ingest_scrape_tasks (
        {_EVENT},
        payload Tuple(job_id String, tasks Array(Tuple(
            record_id String, field String, domain String, outcome String, fetched_with Nullable(String),
            latency_ms Nullable(Int64))))
    ) ENGINE = Null
    """,
    f"""
    CREATE MATERIALIZED VIEW IF NOT EXISTS ingest_scrape_tasks_mv TO scrape_tasks AS
    SELECT workspace_id, toDateTime64(created_at, 3, 'UTC') AS ts, event_id, n - 1 AS item,
           toUUID(payload.job_id) AS job_id, toUUID(t.record_id) AS record_id, t.domain AS domain,
           t.field AS field, t.outcome AS outcome, ifNull(t.fetched_with, '') AS fetched_with,
           greatest(0, assumeNotNull(t.latency_ms)) AS latency_ms
    FROM ingest_scrape_tasks ARRAY JOIN payload.tasks AS t, arrayEnumerate(payload.tasks) AS n
    WHERE throwIf(t.latency_ms IS NULL OR t.outcome NOT IN {SCRAPE_OUTCOMES!r},
                  'a scrape task needs latency_ms and a known outcome') = 0
    """,
)
