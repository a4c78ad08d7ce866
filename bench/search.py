"""Search at 1,000,000 indexed rows on the PostgreSQL engine: bulk indexing, search, typeahead, freshness.

Builds a prospect table inside PostgreSQL (name, email, company, title, location, industry,
notes; generated from word pools with `generate_series`), writes the `rows.created` events an
import writes (one per 1,000 rows) and times the search consumer draining them (bulk indexing,
rows/s). Then, through HTTP to an API process (uvicorn, one worker):
- search p50/p95 over a query mix (company, "company title", full name, a typo, a prefix, a
  phrase), facets and highlights on, 20 hits; broad one-word queries reported apart;
- search without words (filters only, newest first) and sorted by a field, with and without words;
- typeahead p50/p95 (prefixes of 2-6 letters of names and companies; typos of companies and of last
  names) per kind and over the mix of them;
- freshness under --rate row edits/s for --seconds: title edits through `update_rows` (the API's
  path), --rows-per-edit distinct rows per call and transaction (a grid paste or a column run; 5
  rows per call at 100 edits/s is 20 calls/s), from --writers processes while `morket search
  consume` follows the outbox in its own process; the time from each edit's commit to its row's
  document being in the index (visible to search: the index is transactional), per edited row.

    .venv/bin/python bench/search.py --keep-database morket_bench_search_1m [--rows 1000000]
        [--parts index,search,suggest,freshness] [--rate 100] [--seconds 10] [--writers 4] [--rows-per-edit 5]
        [--samples 300]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import sys
import time
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from morket.core.db import make_engine, make_sessionmaker, unit_of_work
from morket.devstack import database
from morket.models import ColumnType, OutboxEventType
from morket.outbox.service import OutboxService
from morket.search.backends.postgres import PostgresSearchBackend
from morket.search.indexer import search_consumer
from morket.tables.schemas import ColumnCreate, RowPatch, TableCreate
from morket.tables.service import RowService, TableService
from tables import KEY, api_server, pct

FIRST = [
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "christopher",
    "nancy",
    "daniel",
    "lisa",
    "matthew",
    "betty",
    "anthony",
    "margaret",
    "mark",
    "sandra",
    "donald",
    "ashley",
    "steven",
    "kimberly",
    "paul",
    "emily",
    "andrew",
    "donna",
    "joshua",
    "michelle",
    "kenneth",
    "carol",
    "kevin",
    "amanda",
    "brian",
    "dorothy",
    "george",
    "melissa",
    "timothy",
    "deborah",
    "ronald",
    "stephanie",
    "edward",
    "rebecca",
    "jason",
    "sharon",
    "jeffrey",
    "laura",
    "ryan",
    "cynthia",
    "jacob",
    "kathleen",
    "gary",
    "amy",
    "nicholas",
    "angela",
    "eric",
    "shirley",
    "jonathan",
    "anna",
    "stephen",
    "brenda",
    "larry",
    "pamela",
    "justin",
    "emma",
    "scott",
    "nicole",
    "brandon",
    "helen",
    "benjamin",
    "samantha",
    "samuel",
    "katherine",
    "gregory",
    "christine",
    "alexander",
    "debra",
    "frank",
    "rachel",
    "patrick",
    "carolyn",
    "raymond",
    "janet",
    "jack",
    "catherine",
    "dennis",
    "maria",
    "jerry",
    "heather",
    "tyler",
    "diane",
    "aaron",
    "ruth",
    "jose",
    "julie",
    "adam",
    "olivia",
    "nathan",
    "joyce",
    "henry",
    "virginia",
    "douglas",
    "victoria",
    "zachary",
    "kelly",
    "peter",
    "lauren",
    "kyle",
    "christina",
    "ethan",
    "joan",
    "walter",
    "evelyn",
    "noah",
    "judith",
    "jeremy",
    "megan",
    "christian",
    "andrea",
    "keith",
    "cheryl",
    "roger",
    "hannah",
    "terry",
    "jacqueline",
    "gerald",
    "martha",
    "harold",
    "gloria",
    "sean",
    "teresa",
    "austin",
    "ann",
    "carl",
    "sara",
    "arthur",
    "madison",
    "lawrence",
    "frances",
    "dylan",
    "kathryn",
    "jesse",
    "janice",
    "jordan",
    "jean",
    "bryan",
    "abigail",
    "billy",
    "alice",
    "joe",
    "judy",
    "bruce",
    "sophia",
    "gabriel",
    "grace",
    "logan",
    "denise",
    "albert",
    "amber",
    "willie",
    "doris",
    "alan",
    "marilyn",
    "juan",
    "danielle",
    "wayne",
    "beverly",
    "elijah",
    "isabella",
    "randy",
    "theresa",
    "roy",
    "diana",
    "vincent",
    "natalie",
    "ralph",
    "brittany",
    "eugene",
    "charlotte",
    "russell",
    "marie",
    "bobby",
    "kayla",
    "mason",
    "alexis",
    "philip",
    "lori",
    "louis",
    "priya",
    "wei",
    "olu",
]
SYL = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ve",
    "zu",
    "ti",
    "no",
    "sa",
    "re",
    "qu",
    "ix",
    "on",
    "el",
    "ar",
    "te",
    "ba",
    "ko",
    "lu",
    "fi",
    "da",
    "ne",
    "po",
    "si",
    "ma",
    "go",
    "be",
    "tu",
    "ry",
    "vo",
]
TITLES = [
    "CEO", "CFO", "CTO", "COO", "VP Sales", "VP Engineering", "VP Marketing", "Head of Growth",
    "Head of Sales", "Sales Manager", "Account Executive", "SDR", "Engineer", "Senior Engineer",
    "Staff Engineer", "Product Manager", "Designer", "Data Scientist", "Recruiter", "Founder",
    "Marketing Manager", "Controller", "General Counsel", "Chief of Staff", "Operations Manager",
    "Customer Success Manager", "Solutions Architect", "Analyst", "Consultant", "Director of IT",
    "IT Manager", "HR Director", "Office Manager", "Partner", "Principal", "Research Scientist",
    "Support Engineer", "DevOps Engineer", "Security Engineer", "Procurement Lead",
]  # fmt: skip
CITIES = [
    "San Francisco", "New York", "London", "Berlin", "Paris", "Madrid", "Lagos", "Dublin", "Austin",
    "Seattle", "Toronto", "Sydney", "Singapore", "Tokyo", "Bangalore", "Sao Paulo", "Mexico City",
    "Chicago", "Boston", "Denver", "Amsterdam", "Stockholm", "Zurich", "Tel Aviv", "Dubai",
]  # fmt: skip
INDUSTRIES = [
    "Fintech", "Software", "Logistics", "Healthcare", "Retail", "Manufacturing", "Education",
    "Media", "Energy", "Insurance", "Real Estate", "Telecom", "Biotech", "Gaming", "Security",
]  # fmt: skip
COLUMNS = [
    ("Name", ColumnType.TEXT),
    ("Email", ColumnType.EMAIL),
    ("Company", ColumnType.TEXT),
    ("Title", ColumnType.TEXT),
    ("Location", ColumnType.TEXT),
    ("Industry", ColumnType.SINGLE_SELECT),
    ("Notes", ColumnType.LONG_TEXT),
]
CHUNK = 200_000
SECRET = secrets.token_urlsafe(48)
_SELF = os.path.abspath(__file__)


def _arr(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def _pick(values: list[str]) -> str:
    return f"({_arr(values)})[1 + floor(random() * {len(values)})::int]"


def company_sql() -> str:
    # 30^3 = 27,000 company names: three syllables, capitalised; about 37 rows each at 1M.
    return f"initcap({_pick(SYL)} || {_pick(SYL)} || {_pick(SYL)})"


async def build(sessions: async_sessionmaker[AsyncSession], workspace_id: uuid.UUID, rows: int) -> uuid.UUID:
    async with unit_of_work(sessions) as session:
        out = await TableService(session).create_table(
            workspace_id,
            None,
            TableCreate(
                name="Prospects",
                columns=[ColumnCreate(name=n, type=t) for n, t in COLUMNS],
            ),
        )
        columns = await TableService(session).columns(workspace_id, out.id)
    phys = {c.name: f'"{c.physical_name}"' for c in columns}
    started = time.perf_counter()
    for start in range(0, rows, CHUNK):
        count = min(CHUNK, rows - start)
        async with unit_of_work(sessions) as session:
            await session.execute(text("SELECT setseed(:s)"), {"s": (start % 997) / 997})
            await session.execute(
                text(
                    f"INSERT INTO tabledata.t_{out.id.hex} ({', '.join(phys.values())}) "
                    "SELECT initcap(f) || ' ' || initcap(l), "
                    "CASE WHEN random() < 0.8 THEN f || '.' || l || g || '@' || lower(c) || '.com' END, "
                    f"c, {_pick(TITLES)}, {_pick(CITIES)}, {_pick(INDUSTRIES)}, "
                    f"CASE WHEN random() < 0.5 THEN 'met ' || {_pick(FIRST)} || ' at ' || {company_sql()} "
                    f"|| ' about ' || {_pick(INDUSTRIES)} END "
                    f"FROM (SELECT g, {_pick(FIRST)} AS f, {_pick(FIRST)} || {_pick(SYL)} AS l, "
                    f"{company_sql()} AS c FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) AS g) s"
                ),
                {"a": start + 1, "b": start + count},
            )
            await session.execute(
                text("UPDATE data_tables SET row_count = row_count + :n WHERE id = :id"),
                {"n": count, "id": out.id},
            )
    async with unit_of_work(sessions) as session:
        await TableService(session).build_indexes(workspace_id, out.id)
    print(
        f"build: {rows:,} prospect rows generated in PostgreSQL in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    return out.id


async def bulk_index(sessions: async_sessionmaker[AsyncSession], rows: int) -> None:
    """The search consumer drains the import's events (one `rows.created` per 1,000 rows)."""
    consumer = search_consumer(sessions, PostgresSearchBackend)
    started = time.perf_counter()
    handled = await consumer.drain()
    elapsed = time.perf_counter() - started
    async with sessions() as session:
        indexed = (await session.execute(text("SELECT count(*) FROM search_documents"))).scalar_one()
        size = (
            await session.execute(
                text(
                    "SELECT pg_size_pretty(pg_total_relation_size('search_documents')), "
                    "pg_size_pretty(pg_total_relation_size('search_terms')), (SELECT count(*) FROM search_terms)"
                )
            )
        ).one()
    print(
        f"bulk indexing: {indexed:,} rows ({handled} events) in {elapsed:.1f} s = {indexed / elapsed:,.0f} rows/s; "
        f"search_documents {size[0]}, vocabulary {size[2]:,} words ({size[1]})",
        flush=True,
    )
    # What autovacuum does to a table after a bulk load (statistics, the visibility map), so the
    # queries below run against the steady state rather than a table no vacuum has seen yet.
    started = time.perf_counter()
    engine = sessions.kw["bind"]
    async with engine.connect() as connection:
        autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
        for table in ("search_documents", "search_terms", "search_term_keys", "search_primary_terms"):
            await autocommit.execute(text(f"VACUUM (ANALYZE) {table}"))
    print(f"vacuum (analyze) of the search tables: {time.perf_counter() - started:.1f} s", flush=True)


async def samples(sessions: async_sessionmaker[AsyncSession], n: int) -> list[tuple[str, Any]]:
    async with sessions() as session:
        rows = (
            await session.execute(
                text("SELECT name, company, title FROM search_documents ORDER BY random() LIMIT :n"),
                {"n": n},
            )
        ).all()
    return [(r.name, r) for r in rows]


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


async def timed(client: httpx.AsyncClient, url: str, params: dict[str, Any], headers: dict[str, str]) -> float:
    started = time.perf_counter()
    response = await client.get(url, params=params, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


async def bench_queries(
    client: httpx.AsyncClient,
    base: str,
    headers: dict[str, str],
    picks: list[tuple[str, Any]],
    n: int,
) -> None:
    rng = random.Random(7)
    url = f"{base}/search"
    mixes: dict[str, list[str]] = {
        "company": [],
        "company + title": [],
        "full name": [],
        "typo": [],
        "prefix": [],
    }
    mixes["phrase"] = []
    mixes["broad: one title word"] = []
    for name, row in picks[:n]:
        mixes["company"].append(row.company)
        mixes["company + title"].append(f"{row.company} {row.title.split()[-1]}")
        mixes["full name"].append(name)
        mixes["typo"].append(f"{_typo(row.company.lower(), rng)}")
        mixes["prefix"].append(f"{name.split()[1][:5]}*")
        mixes["phrase"].append(f'"{name}"')
        mixes["broad: one title word"].append(row.title.split()[-1])
    for query in mixes["company"][:20]:  # warm up
        await timed(client, url, {"q": query}, headers)
    everything: list[float] = []
    for label, queries in mixes.items():
        times = [await timed(client, url, {"q": q}, headers) for q in queries]
        if not label.startswith("broad"):
            everything += times
        print(f"search {label:24} p50 {pct(times, 0.5):6.1f} ms  p95 {pct(times, 0.95):6.1f} ms  ({len(times)})")
    print(f"search (mix, facets+highlights) p50 {pct(everything, 0.5):.1f} ms  p95 {pct(everything, 0.95):.1f} ms")
    # Without words, or sorted by a field: a page of a btree walk (migration 0130), not every match.
    # Each kind runs over 20 different values where it takes one (a company, a title, a page).
    other: dict[str, list[dict[str, Any]]] = {
        "no query, facets only": [{}] * 20,
        "filter company + has_email": [{"company": row.company, "has_email": "true"} for _, row in picks[:20]],
        "filter title, newest first": [{"title": row.title} for _, row in picks[:20]],
        "no query, sort by company desc": [{"sort": "company", "order": "desc"}] * 20,
        "no query, sort by name, page 1-20": [{"sort": "name", "order": "asc", "page": p} for p in range(1, 21)],
        "sort by name, q=title word": [{"q": row.title.split()[-1], "sort": "name"} for _, row in picks[:20]],
        "sort by updated_at, q=company": [{"q": row.company, "sort": "updated_at"} for _, row in picks[:20]],
    }
    for label, runs in other.items():
        times = [await timed(client, url, params, headers) for params in runs]
        print(f"search {label:34} p50 {pct(times, 0.5):6.1f} ms  p95 {pct(times, 0.95):6.1f} ms  ({len(times)})")


async def stage_times(
    sessions: async_sessionmaker[AsyncSession],
    workspace_id: uuid.UUID,
    queries: list[str],
) -> None:
    """Where a search spends its time, in-process (no HTTP): typo lookup, then the whole search."""
    from morket.search.query import parse
    from morket.search.schemas import Boosts, SearchQuery

    fuzzy: list[float] = []
    whole: list[float] = []
    variants = 0
    async with sessions() as session:
        backend = PostgresSearchBackend(session)
        for q in queries:
            words = [(t.text, t.edits) for t in parse(q).terms if t.edits]
            started = time.perf_counter()
            found = await backend.repo.fuzzy_variants(workspace_id, words)
            fuzzy.append((time.perf_counter() - started) * 1000)
            variants += sum(len(v) for v in found.values())
            started = time.perf_counter()
            await backend.search(workspace_id, SearchQuery(q=q), Boosts())
            whole.append((time.perf_counter() - started) * 1000)
    print(
        f"  in-process: typo lookup p50 {pct(fuzzy, 0.5):.1f} / p95 {pct(fuzzy, 0.95):.1f} ms "
        f"({variants / max(1, len(queries)):.1f} variants a query); whole search p50 {pct(whole, 0.5):.1f} / "
        f"p95 {pct(whole, 0.95):.1f} ms"
    )


async def bench_suggest(
    client: httpx.AsyncClient,
    base: str,
    headers: dict[str, str],
    picks: list[tuple[str, Any]],
    n: int,
) -> None:
    """Typeahead ("prefix + fuzzy", issue 14): prefixes, and whole words with a typo (two letters
    swapped) of companies and of last names; each kind, and the mix of all of them."""
    rng = random.Random(11)
    url = f"{base}/search/suggest"
    kinds: dict[str, list[str]] = {"prefix 2-6 letters": [], "typo of a company": [], "typo of a last name": []}
    for name, row in picks[:n]:
        source = rng.choice([name, row.company, name.split()[1]])
        kinds["prefix 2-6 letters"].append(source[: rng.randint(2, 6)])
    for name, row in picks[: max(1, n // 3)]:
        kinds["typo of a company"].append(_typo(row.company.lower(), rng))
        kinds["typo of a last name"].append(_typo(name.split()[1].lower(), rng))
    for q in kinds["prefix 2-6 letters"][:20]:
        await timed(client, url, {"q": q}, headers)
    mix: list[float] = []
    for label, queries in kinds.items():
        times = [await timed(client, url, {"q": q}, headers) for q in queries]
        mix += times
        print(f"typeahead {label:28} p50 {pct(times, 0.5):5.1f} ms  p95 {pct(times, 0.95):6.1f} ms  ({len(times)})")
    label = "mix (prefix + typo)"
    print(f"typeahead {label:28} p50 {pct(mix, 0.5):5.1f} ms  p95 {pct(mix, 0.95):6.1f} ms  ({len(mix)})")


POLL = 0.025  # the freshness watcher's interval, seconds
START_SECONDS = 12.0  # from launching the writer processes to their common start


async def bench_freshness(
    sessions: async_sessionmaker[AsyncSession],
    url: str,
    workspace_id: uuid.UUID,
    table_id: uuid.UUID,
    rows: int,
    rate: int,
    seconds: float,
    writers: int = 4,
    rows_per_edit: int = 5,
) -> None:
    """Title edits at `rate` rows a second, `rows_per_edit` rows per `update_rows` call (one
    transaction each), while `morket search consume`
    follows the outbox in its own process, as in a deployment; the time from each edit's commit to
    its document in the index (visible to search: the index is transactional)."""
    async with sessions() as session:
        title = next(c for c in await TableService(session).columns(workspace_id, table_id) if c.name == "Title")
    env = dict(os.environ, DATABASE_URL=url, JWT_SECRET=SECRET, ENCRYPTION_MASTER_KEY=KEY, LOG_LEVEL="WARNING")
    consumer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "morket.cli", "search", "consume", env=env, start_new_session=True
    )
    committed: dict[int, tuple[str, float]] = {}
    seen: dict[int, float] = {}
    stop = asyncio.Event()

    # In every title written: a run that repeated an earlier run's values would write nothing (an
    # unchanged cell is skipped) and find its titles already indexed.
    run = secrets.token_hex(3)

    async def writer() -> None:
        # Writer processes (the bench's own event loop alone topped out near 60 edits/s on this
        # machine): each edits at its share of the rate and prints every commit as it happens.
        share = [rate // writers + (1 if k < rate % writers else 0) for k in range(writers)]
        # One start for all: each process imports, connects its pool, then waits for it. (Before,
        # each began as soon as it had started, a second or two apart under load, and the rate
        # from the first commit to the last counted that skew as writers falling behind.)
        start_at = time.time() + START_SECONDS
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                _SELF,
                "--writer",
                url,
                str(workspace_id),
                str(table_id),
                str(title.id),
                str(rows),
                str(share[k]),
                str(seconds),
                str(k),
                str(rows_per_edit),
                run,
                str(start_at),
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            for k in range(writers)
            if share[k]
        ]
        commits: list[float] = []

        async def follow(proc: asyncio.subprocess.Process) -> None:
            assert proc.stdout is not None
            async for line in proc.stdout:
                row_id, token, at = line.decode().split()
                committed[int(row_id)] = (token, float(at))
                commits.append(float(at))
            await proc.wait()

        await asyncio.gather(*(follow(p) for p in procs))
        # The rate the commits came at (first to last), not counting the writers' start-up.
        achieved = len(commits) / max(1e-9, max(commits) - min(commits))
        print(
            f"freshness: {len(commits)} row edits ({rows_per_edit} rows per update_rows call) by {len(procs)} "
            f"writer processes at {achieved:.0f} row edits/s ({achieved / rows_per_edit:.0f} calls/s)"
        )

    async def watcher() -> None:
        # The index is transactional: a document with the new title is what a search would find.
        # One autocommit statement every POLL seconds (no BEGIN/COMMIT: the watcher is the bench's
        # cost, not the product's, and shares the machine with both); a lag is overstated by at
        # most POLL.
        engine = make_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                while not stop.is_set() or len(seen) < len(committed):
                    waiting = [r for r, (token, _) in list(committed.items()) if r not in seen]
                    if waiting:
                        found = await conn.execute(
                            text(
                                "SELECT row_id, title FROM search_documents WHERE workspace_id = :ws "
                                "AND table_id = :t AND row_id = ANY(CAST(:ids AS bigint[]))"
                            ),
                            {"ws": workspace_id, "t": table_id, "ids": waiting},
                        )
                        now = time.time()
                        for row in found:
                            token, at = committed[row.row_id]
                            if row.title == token:
                                seen[row.row_id] = now - at
                    await asyncio.sleep(POLL)
                    if stop.is_set() and time.perf_counter() > deadline:
                        break
        finally:
            await engine.dispose()

    try:
        await asyncio.sleep(2)  # the consumer process starts and catches up
        deadline = time.perf_counter() + seconds + 60
        watch = asyncio.create_task(watcher())
        await writer()
        stop.set()
        await watch
    finally:
        consumer.send_signal(signal.SIGTERM)
        await consumer.wait()
    lags = [v * 1000 for v in seen.values()]
    print(
        f"freshness under {rate} row edits/s ({rows_per_edit} per call): {len(lags)} of {len(committed)} rows "
        "seen (same-row repeats count once); "
        f"commit -> indexed p50 {pct(lags, 0.5):.0f} ms, p95 {pct(lags, 0.95):.0f} ms, max {max(lags):.0f} ms",
        flush=True,
    )


async def edit_titles(argv: list[str]) -> None:
    """A writer process of the freshness bench: `per_call` rows edited per `update_rows` call (one
    transaction), `rate` rows a second; one line per edited row at the call's commit."""
    url, ws, table, column, rows, rate, seconds, k, per_call_arg, run, start_arg = argv
    per_call = int(per_call_arg)
    calls = int(rate) / per_call  # calls a second
    # A connection for every edit in flight: with fewer, edits queue for the pool (a 5-connection
    # pool capped two writers near 60 edits/s), and overflow connections reconnect on every edit.
    engine = make_engine(url, pool_size=max(4, int(calls) // 2 + 1), max_overflow=0)
    sessions = make_sessionmaker(engine)
    rng = random.Random(5 + int(k))
    workspace_id, table_id = uuid.UUID(ws), uuid.UUID(table)

    async def edit(patches: list[RowPatch]) -> None:
        async with unit_of_work(sessions) as session:
            await RowService(session).update_rows(workspace_id, table_id, patches, actor_id=None)
        at = time.time()
        sys.stdout.write("".join(f"{p.id} {p.cells[column]} {at}\n" for p in patches))
        sys.stdout.flush()

    async def connect() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    await asyncio.gather(*(connect() for _ in range(engine.pool.size())))  # type: ignore[attr-defined]
    started = float(start_arg)
    if time.time() > started:
        print(f"writer {k} ready {time.time() - started:.2f} s after the start", file=sys.stderr)
    pending: set[asyncio.Task[None]] = set()
    for i in range(round(calls * float(seconds))):
        delay = started + i / calls - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        ids = rng.sample(range(1, int(rows) + 1), per_call)  # distinct rows, as a paste's
        patches = [RowPatch(id=r, cells={column: f"fresh{run}w{k}n{i}r{j}x"}) for j, r in enumerate(ids)]
        task = asyncio.create_task(edit(patches))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    await engine.dispose()


BENCH_EMAIL = "bench-search@example.com"
BENCH_PASSWORD = "bench-password-1"
PARTS = ("index", "search", "suggest", "freshness")


async def corpus_owner(
    client: httpx.AsyncClient, base: str, sessions: async_sessionmaker[AsyncSession]
) -> tuple[uuid.UUID, dict[str, str], uuid.UUID | None]:
    """The bench's user, workspace and prospect table: registered on first use, logged in on reuse."""
    auth = {"email": BENCH_EMAIL, "password": BENCH_PASSWORD}
    login = await client.post(f"{base}/api/v1/auth/login", json=auth)
    if login.status_code != 200:
        reg = await client.post(f"{base}/api/v1/auth/register", json=auth)
        reg.raise_for_status()
        headers = {"Authorization": f"Bearer {reg.json()['data']['tokens']['access_token']}"}
        ws = await client.post(f"{base}/api/v1/workspaces", json={"name": "Bench"}, headers=headers)
        ws.raise_for_status()
        return uuid.UUID(ws.json()["data"]["id"]), headers, None
    headers = {"Authorization": f"Bearer {login.json()['data']['tokens']['access_token']}"}
    async with sessions() as session:
        found = (
            await session.execute(
                text(
                    "SELECT t.workspace_id, t.id FROM data_tables t JOIN workspaces w ON w.id = t.workspace_id "
                    "WHERE w.name = 'Bench' AND t.name = 'Prospects' AND t.deleted_at IS NULL "
                    "ORDER BY t.created_at DESC LIMIT 1"
                )
            )
        ).first()
    if found is None:
        raise SystemExit("the kept database has the bench user but no prospect table: drop it and start again")
    return found.workspace_id, headers, found.id


async def reset_index(sessions: async_sessionmaker[AsyncSession], workspace_id: uuid.UUID) -> None:
    """Empty the index and move the search consumer back to the start: bulk indexing measured again.

    The kept database holds the bench's workspace only, so the search tables are truncated.
    """
    async with unit_of_work(sessions) as session:
        await session.execute(
            text(
                "TRUNCATE search_documents, search_terms, search_term_keys, search_primary_terms, search_tombstones, "
                "search_generations"
            )
        )
        await session.execute(
            text("UPDATE outbox_consumers SET position_xid = '0', position_id = 0 WHERE name = 'search'")
        )
        await session.execute(
            text("DELETE FROM outbox_events WHERE workspace_id = :ws AND event_type <> 'rows.created'"),
            {"ws": workspace_id},
        )


async def main(args: argparse.Namespace, url: str) -> None:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    os.environ["SEARCH_CONSUMER"] = "false"
    os.environ["ANALYTICS_CONSUMER"] = "false"
    parts = set(args.parts.split(","))
    try:
        async with api_server(url) as (client, base):
            workspace_id, headers, table_id = await corpus_owner(client, base, sessions)
            if table_id is None:
                table_id = await build(sessions, workspace_id, args.rows)
                async with unit_of_work(sessions) as session:
                    await OutboxService(session).emit_row_batches(
                        workspace_id,
                        table_id,
                        OutboxEventType.ROWS_CREATED,
                        list(range(1, args.rows + 1)),
                        {"source": "import"},
                    )
            else:
                async with sessions() as session:
                    args.rows = (
                        await session.execute(
                            text("SELECT row_count FROM data_tables WHERE id = :id"),
                            {"id": table_id},
                        )
                    ).scalar_one()
                print(f"reusing the kept corpus: {args.rows:,} rows", flush=True)
            if "index" in parts:
                await reset_index(sessions, workspace_id)
                await bulk_index(sessions, args.rows)
            picks = await samples(sessions, args.samples)
            ws_url = f"{base}/api/v1/workspaces/{workspace_id}"
            if "search" in parts:
                await bench_queries(client, ws_url, headers, picks, args.samples // 2)
                await stage_times(sessions, workspace_id, [row.company for _, row in picks[:50]])
            if "suggest" in parts:
                await bench_suggest(client, ws_url, headers, picks, args.samples)
            if "freshness" in parts:
                await bench_freshness(
                    sessions,
                    url,
                    workspace_id,
                    table_id,
                    args.rows,
                    args.rate,
                    args.seconds,
                    args.writers,
                    args.rows_per_edit,
                )
    finally:
        await engine.dispose()


if __name__ == "__main__" and sys.argv[1:2] == ["--writer"]:
    asyncio.run(edit_titles(sys.argv[2:]))
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--writers", type=int, default=4, help="freshness: writer processes sharing --rate")
    parser.add_argument(
        "--rows-per-edit",
        type=int,
        default=5,
        help="freshness: distinct rows per update_rows call (one transaction), as a grid paste; --rate counts rows",
    )
    parser.add_argument(
        "--keep-database",
        metavar="NAME",
        help="build the corpus once into this database and keep it; later runs reuse it (--rows is ignored)",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help="what to measure: index (empties the index and drains the import events again), search, suggest, "
        "freshness (edits titles of the corpus)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    name = args.keep_database or f"morket_bench_search_{os.getpid()}"
    scratch = database.with_database(args.database_url, name)
    database.ensure_database(scratch, drop_first=not args.keep_database)
    database.upgrade(scratch)
    try:
        asyncio.run(main(args, scratch))
    finally:
        if not args.keep_database:
            asyncio.run(database.drop_database(scratch))
