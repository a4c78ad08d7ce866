"""The PostgreSQL engine (default): weighted tsvector + GIN, pg_trgm for typos and typeahead.

Reads go to the workspace's active generation only; writes (through `SearchRepository`) reach
every live generation. The search statement is composed here from fixed SQL fragments; every
value (the tsquery text included) is a bind parameter.

Ranking: `ts_rank` with the workspace's boosts as the weights of A (name, email, company,
domain), B (title, industry, location, table name) and C (other cells), over the full query
(words, their prefixes and fuzzy variants), plus the same over the words exactly as typed, so
an exact match ranks above a prefix or a typo.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import TableColumn
from morket.search.backends.base import MAX_SUGGESTIONS
from morket.search.documents import MARK_END, MARK_START, FieldPlan, SearchDocument
from morket.search.query import ParsedQuery, Term, lexeme, parse, tsquery_text
from morket.search.repository import SearchRepository
from morket.search.schemas import (
    FACET_SIZE,
    Boosts,
    FacetName,
    FacetValue,
    SearchHit,
    SearchQuery,
    SearchResults,
    SortField,
    SortOrder,
    Suggestion,
)

_HIGHLIGHTED = ("name", "email", "company", "domain", "title", "location", "industry", "table_name", "other")
_SHORT_OPTS = f"StartSel={MARK_START}, StopSel={MARK_END}, HighlightAll=true"
_LONG_OPTS = (
    f'StartSel={MARK_START}, StopSel={MARK_END}, MaxFragments=2, MaxWords=18, MinWords=6, FragmentDelimiter=" … "'
)
_SORT_COLUMN = {
    SortField.NAME: "d.name",
    SortField.COMPANY: "d.company",
    SortField.TITLE: "d.title",
    SortField.LOCATION: "d.location",
    SortField.INDUSTRY: "d.industry",
    SortField.CREATED_AT: "d.row_created_at",
    SortField.UPDATED_AT: "d.row_updated_at",
}
_NOT_NULL = ("d.row_created_at", "d.row_updated_at")
_VALUE_FACETS = (FacetName.COMPANY, FacetName.TITLE, FacetName.LOCATION, FacetName.INDUSTRY)
# Each statement reads the generation active when it runs (its own snapshot): a separate lookup
# first could name a generation that a reindex's swap retires and drops before the search runs.
_ACTIVE = "(SELECT generation FROM search_generations WHERE workspace_id = :ws AND state = 'active')"
# A ranked query scores, facets and totals count, at most this many matching rows: exact below
# it; the first CANDIDATES matches of a broader query, flagged in the answer (`ranked_all`,
# `facets_exact`, `total_exact`: the total is then "at least CANDIDATES").
CANDIDATES = 1_000
# Typeahead looks at this many word-prefix matches and ranks them; bounded work on any corpus.
_SUGGEST_POOL = 50


def marked_html(value: str) -> str:
    """Escape a headline for HTML, then turn the markers into <mark> elements."""
    return html.escape(value, quote=True).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _like_prefix(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class PostgresSearchBackend:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = SearchRepository(session)

    # -- writes ------------------------------------------------------------------------------

    async def index(self, docs: Sequence[SearchDocument], *, generation: int | None = None) -> int:
        if not docs:
            return 0
        workspaces = sorted({d.workspace_id for d in docs})
        if generation is not None:
            targets = {ws: [generation] for ws in workspaces}
        else:
            targets = await self.repo.ensure_live_generations(workspaces)
        return await self.repo.upsert_documents(docs, targets)

    async def index_from_table(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        table_name: str,
        plan: FieldPlan,
        columns: Sequence[TableColumn],
        *,
        row_ids: Sequence[int] | None = None,
        after: int = 0,
        limit: int = 5_000,
        generation: int | None = None,
    ) -> tuple[int, int | None] | None:
        if generation is not None:
            generations = [generation]
        else:
            generations = (await self.repo.ensure_live_generations([workspace_id])).get(workspace_id, [])
        return await self.repo.upsert_from_table(
            workspace_id, table_id, table_name, plan, columns, generations, row_ids=row_ids, after=after, limit=limit
        )

    async def delete(self, workspace_id: uuid.UUID, table_id: uuid.UUID, row_ids: Sequence[int] | None) -> None:
        await self.repo.delete_documents(workspace_id, table_id, row_ids)

    async def begin_reindex(self, workspace_id: uuid.UUID) -> int:
        return await self.repo.open_generation(workspace_id)

    async def finish_reindex(self, workspace_id: uuid.UUID, generation: int) -> None:
        await self.repo.swap_generation(workspace_id, generation)
        await self.repo.drop_retired(workspace_id)

    # -- reads -------------------------------------------------------------------------------

    async def _tsqueries(self, workspace_id: uuid.UUID, parsed: ParsedQuery) -> tuple[str, str]:
        """The full and the exact query, normalised once by the 'simple' parser into tsquery text.

        The statements then take them as `CAST(:tq AS tsquery)`, a constant folded at planning:
        `to_tsquery(...)` is only STABLE and would be parsed again for every matching row (the
        rank, the recheck, each headline).
        """
        fuzzy = [(t.text, t.edits) for t in parsed.terms if t.edits]
        variants = await self.repo.fuzzy_variants(workspace_id, fuzzy)
        full, exact = tsquery_text(parsed, variants), tsquery_text(parsed, {}, exact_only=True)
        return await self.repo.normalise_tsqueries(full, exact or full)

    async def search(self, workspace_id: uuid.UUID, query: SearchQuery, boosts: Boosts) -> SearchResults:
        generation = await self.repo.active_generation(workspace_id)
        if generation is None:
            return SearchResults(hits=[], total=0, facets={} if not query.facets else {f: [] for f in FacetName})
        parsed = parse(query.q)
        params: dict[str, Any] = {"ws": workspace_id}
        where = ["d.workspace_id = :ws", "d.generation = " + _ACTIVE]
        full_q = exact_q = ""
        if not parsed.empty:
            full_q, exact_q = await self._tsqueries(workspace_id, parsed)
            if not full_q:  # nothing the parser keeps (punctuation only): nothing matches
                return SearchResults(hits=[], total=0, facets={f: [] for f in FacetName} if query.facets else {})
            params["tq"] = full_q
            where.append("d.tsv @@ CAST(:tq AS tsquery)")
        self._filters(query, where, params)
        where_sql = " AND ".join(where)

        primary, secondary, other = boosts.normalised()
        params["weights"] = [0.0, other, secondary, primary]
        if full_q:
            params["eq"] = exact_q or full_q
            score = (
                "(ts_rank(CAST(:weights AS float4[]), d.tsv, CAST(:tq AS tsquery)) "
                "+ ts_rank(CAST(:weights AS float4[]), d.tsv, CAST(:eq AS tsquery)))"
            )
        else:
            score = "0.0"
        # Ties: newest first, then table and row id, in the direction of the column sorted last.
        ranked = bool(full_q) and query.sort is SortField.RELEVANCE
        if query.sort is not SortField.RELEVANCE:
            column, descending = _SORT_COLUMN[query.sort], query.order is SortOrder.DESC
        else:  # without words: newest first
            column, descending = "d.row_updated_at", True
        direction = "DESC" if descending else "ASC"
        if ranked:
            order = "score DESC, d.row_updated_at DESC, d.table_id DESC, d.row_id DESC"
            outer = "x.score DESC, x.row_updated_at DESC, x.table_id DESC, x.row_id DESC"
        else:
            order = f"{column} {direction} NULLS LAST, d.table_id {direction}, d.row_id {direction}"
            outer = order.replace("d.", "x.")
        if full_q:
            heads = ", ".join(
                f"CASE WHEN p.{f} IS NOT NULL THEN ts_headline('simple', p.{f}, CAST(:tq AS tsquery), "
                f"{':long_opts' if f == 'other' else ':short_opts'}) END AS h_{f}"
                for f in _HIGHLIGHTED
            )
        else:
            heads = ", ".join(f"NULL AS h_{f}" for f in _HIGHLIGHTED)
        params.update(limit=query.limit, offset=(query.page - 1) * query.limit, upto=query.page * query.limit)
        hit_params = {**params, "short_opts": _SHORT_OPTS, "long_opts": _LONG_OPTS} if full_q else params
        fields = (
            "d.table_id, d.row_id, d.table_name, d.name, d.email, d.company, d.domain, d.title, "
            "d.location, d.industry, d.other, d.providers, d.row_created_at, d.row_updated_at"
        )
        walk = _walk(fields, score, column, descending, where_sql, heads)
        if query.page * query.limit <= CANDIDATES:
            # The first CANDIDATES matches are read once: a ranked query scores only those
            # (bounded work however broad); in a column's order they are all the matches when
            # there are no more, and the page is theirs. Otherwise the page comes from the
            # column's btree (the planner, misled by a tsquery's estimate, walked it for a rare
            # company's 468 matches: 300 ms).
            result = await self._ranked(fields, score, order, outer, where_sql, heads, hit_params, query.facets)
            if ranked or result.total_exact:
                return result
            rows = (await self.session.execute(text(walk), hit_params)).all()
            return SearchResults(
                hits=[self._hit(row) for row in rows],
                total=result.total,
                facets=result.facets,
                facets_exact=False,
                total_exact=False,
            )
        if not ranked:
            statement = walk
        else:  # a ranked page beyond the candidates: every match is scored
            statement = (
                f"SELECT p.*, {heads} FROM (SELECT {fields}, {score} AS score FROM search_documents d "
                f"WHERE {where_sql} ORDER BY {order} LIMIT :limit OFFSET :offset) p "
                "ORDER BY p.score DESC, p.row_updated_at DESC, p.table_id DESC, p.row_id DESC"
            )
        rows = (await self.session.execute(text(statement), hit_params)).all()
        hits = [self._hit(row) for row in rows]
        total, facets, exact = await self._facets(where_sql, params, query.facets)
        return SearchResults(hits=hits, total=total, facets=facets, facets_exact=exact, total_exact=exact)

    async def _ranked(
        self,
        fields: str,
        score: str,
        order: str,
        outer: str,
        where_sql: str,
        heads: str,
        params: dict[str, Any],
        with_facets: bool,
    ) -> SearchResults:
        """A query in one statement: its first CANDIDATES matches are read once (GIN builds the
        whole bitmap of a broad query whatever the LIMIT, so once is what matters), then the page
        of hits (`order`, then `outer` over the alias x) with headlines, the facets and the count
        come from them, as JSON."""
        heads_h = heads.replace("p.", "h.")
        rows = (
            await self.session.execute(
                text(
                    f"WITH d AS MATERIALIZED (SELECT {fields}, d.tsv FROM search_documents d WHERE {where_sql} "
                    f"LIMIT {CANDIDATES + 1}), m AS (SELECT * FROM d), "
                    f"h AS (SELECT {fields}, {score} AS score FROM d ORDER BY {order} LIMIT :limit OFFSET :offset) "
                    f"SELECT (SELECT json_agg(x ORDER BY {outer}) FROM (SELECT h.*, {heads_h} FROM h) x) AS hits, "
                    f"(SELECT json_agg(f) FROM ({' UNION ALL '.join(_facet_branches(with_facets))}) f) AS facets"
                ),
                params,
            )
        ).one()
        hits = [self._hit(SimpleNamespace(**hit)) for hit in rows.hits or []]
        total, facets = _facet_rows([SimpleNamespace(**f) for f in rows.facets or []], with_facets)
        exact = total <= CANDIDATES
        return SearchResults(
            hits=hits,
            total=min(total, CANDIDATES),
            facets=facets,
            facets_exact=exact,
            ranked_all=exact,
            total_exact=exact,
        )

    @staticmethod
    def _filters(query: SearchQuery, where: list[str], params: dict[str, Any]) -> None:
        if query.table_ids:
            where.append("d.table_id = ANY(CAST(:tables AS uuid[]))")
            params["tables"] = query.table_ids
        for name in ("company", "title", "location", "industry"):
            values = getattr(query, name)
            if values:
                where.append(f"d.{name} = ANY(CAST(:f_{name} AS text[]))")
                params[f"f_{name}"] = values
        if query.provider:
            where.append("d.providers && CAST(:providers AS text[])")
            params["providers"] = query.provider
        if query.has_email is not None:
            where.append("d.email IS NOT NULL" if query.has_email else "d.email IS NULL")
        column = "d.row_created_at" if query.date_field.value == "created_at" else "d.row_updated_at"
        if query.date_from:
            where.append(f"{column} >= :date_from")
            params["date_from"] = _day_start(query.date_from)
        if query.date_to and query.date_to < date.max:  # the day after date.max overflows
            where.append(f"{column} < :date_to")
            params["date_to"] = _day_start(query.date_to) + timedelta(days=1)
        for i, cf in enumerate(query.columns):
            where.append(f"lower(d.cells ->> :cf_k{i}) = lower(:cf_v{i})")
            params[f"cf_k{i}"] = str(cf.column_id)
            params[f"cf_v{i}"] = cf.value

    async def _facets(
        self, where_sql: str, params: dict[str, Any], with_facets: bool
    ) -> tuple[int, dict[FacetName, list[FacetValue]], bool]:
        """The total and the facets of the first CANDIDATES matches, and whether that was all of them
        (above it, the total is "at least CANDIDATES", as OpenSearch's `track_total_hits`)."""
        facet_params = {k: v for k, v in params.items() if k not in ("limit", "offset", "upto", "weights", "eq")}
        rows = await self.session.execute(
            text(
                "WITH m AS MATERIALIZED (SELECT d.table_id, d.table_name, d.company, d.title, d.location, "
                f"d.industry, d.providers FROM search_documents d WHERE {where_sql} LIMIT {CANDIDATES + 1}) "
                + " UNION ALL ".join(_facet_branches(with_facets))
            ),
            facet_params,
        )
        total, facets = _facet_rows(list(rows), with_facets)
        return min(total, CANDIDATES), facets, total <= CANDIDATES

    @staticmethod
    def _hit(row: Any) -> SearchHit:
        highlights: dict[str, str] = {}
        for f in _HIGHLIGHTED:
            headline = getattr(row, f"h_{f}")
            if headline and MARK_START in headline:
                highlights[f] = marked_html(headline)
        return SearchHit(
            table_id=row.table_id,
            table_name=row.table_name,
            row_id=row.row_id,
            score=float(row.score),
            name=row.name,
            email=row.email,
            company=row.company,
            domain=row.domain,
            title=row.title,
            location=row.location,
            industry=row.industry,
            providers=list(row.providers or []),
            created_at=row.row_created_at,
            updated_at=row.row_updated_at,
            highlights=highlights,
        )

    async def suggest(self, workspace_id: uuid.UUID, q: str, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]:
        """Rows whose label starts with `q`, then rows with a primary word starting with it, then typos."""
        generation = await self.repo.active_generation(workspace_id)
        parsed = parse(q)
        if generation is None or parsed.empty:
            return []
        limit = min(limit, MAX_SUGGESTIONS)
        # The planner's estimate of a weighted tsquery (`'w':A | ...`) is tens of thousands of rows at
        # 1M documents, so with the `LIMIT` it picks a sequential scan hoping to stop early (500 ms
        # for a typo's 300 matches, 5 ms through the GIN index). For this request's transaction only.
        await self.session.execute(text("SET LOCAL enable_seqscan = off"))
        params: dict[str, Any] = {"ws": workspace_id, "n": limit}
        found: dict[tuple[uuid.UUID, int], Suggestion] = {}
        cols = "table_id, table_name, row_id, label, title, company, name"

        def take(rows: Sequence[Any]) -> None:
            for row in rows:
                key = (row.table_id, int(row.row_id))
                if key not in found and len(found) < limit:
                    found[key] = _suggestion(row)

        prefix = q.strip().lower()
        if prefix:
            take(
                (
                    await self.session.execute(
                        text(
                            f"SELECT {cols} FROM search_documents WHERE workspace_id = :ws AND generation = {_ACTIVE} "
                            "AND label_key LIKE :pat ORDER BY label_key, table_id, row_id LIMIT :n"
                        ),
                        {**params, "pat": _like_prefix(prefix[:200])},
                    )
                ).all()
            )
        *head, last = parsed.terms or (Term(parsed.phrases[0][-1], True),)
        # A word prefix of one or two letters matches too much of a large workspace to rank: the
        # label prefix above serves those.
        if len(found) < limit and (head or len(last.text) >= 3):
            # Every word as typed, the last one also as a prefix, in the primary fields.
            words = " & ".join(f"{lexeme(t.text)}" for t in head)
            tail = f"{lexeme(last.text)}:*A"
            tq = f"{words} & {tail}" if words else tail
            take(await self._by_tsquery(params, tq))
            # Typos only when nothing starts with what was typed.
            if not found and last.edits:
                # Variants from the primary fields' words only: GIN does not know weights, so a
                # variant that is a common word elsewhere ("paris", a city) had it gather and recheck
                # its 40,000 rows for none in a primary field (1.2 s at 1M rows).
                variants = await self.repo.fuzzy_variants(workspace_id, [(last.text, last.edits)], primary_only=True)
                options = variants.get(last.text, [])
                if options:
                    alts = " | ".join(f"{lexeme(v)}:A" for v in options)
                    tq = f"{words} & ({alts})" if words else f"({alts})"
                    take(await self._by_tsquery(params, tq))
        return list(found.values())

    async def _by_tsquery(self, params: dict[str, Any], tq: str) -> Sequence[Any]:
        return (
            await self.session.execute(
                text(
                    "SELECT table_id, table_name, row_id, label, title, company, name FROM ("
                    "SELECT table_id, table_name, row_id, label, title, company, name, tsv FROM search_documents "
                    f"WHERE workspace_id = :ws AND generation = {_ACTIVE} AND tsv @@ to_tsquery('simple', :tq) "
                    f"LIMIT {_SUGGEST_POOL}) s "
                    "ORDER BY ts_rank(s.tsv, to_tsquery('simple', :tq)) DESC, s.label, s.table_id, s.row_id LIMIT :n"
                ),
                {**params, "tq": tq},
            )
        ).all()


def _walk(fields: str, score: str, column: str, descending: bool, where_sql: str, heads: str) -> str:
    """The page of a search ordered by one column, as `ORDER BY ... LIMIT` over its btree index.

    Migration 0130 indexes (workspace_id, generation, column, table_id, row_id): forwards that is
    the ascending order, backwards the descending one, with the ties (table, row) in the same
    direction. Rows without a value come last either way, so they are a second branch of their own
    (a backward scan would give them first); each branch stops after page x limit rows, so the
    work is bounded by the page, not by the number of matches. The planner may still prefer the
    matches of a rare query or filter and sort those: that is bounded too.
    """
    direction = "DESC" if descending else "ASC"
    ties = f"d.table_id {direction}, d.row_id {direction}"
    branch = f"SELECT {fields}, {score} AS score FROM search_documents d WHERE {where_sql}"
    bare = column.removeprefix("d.")
    if column in _NOT_NULL:
        rows = f"{branch} ORDER BY {column} {direction}, {ties} LIMIT :upto"
    else:
        rows = (
            f"({branch} AND {column} IS NOT NULL ORDER BY {column} {direction}, {ties} LIMIT :upto) UNION ALL "
            f"({branch} AND {column} IS NULL ORDER BY {ties} LIMIT :upto)"
        )
    return (
        f"SELECT p.*, {heads} FROM ({rows}) p ORDER BY p.{bare} {direction} NULLS LAST, "
        f"p.table_id {direction}, p.row_id {direction} LIMIT :limit OFFSET :offset"
    )


def _facet_branches(with_facets: bool) -> list[str]:
    """The count and the top values of each facet over the CTE `m` (one UNION ALL branch each)."""
    branches = ["SELECT 'total' AS facet, NULL AS value, NULL AS label, count(*) AS n FROM m"]
    if with_facets:
        for facet in _VALUE_FACETS:
            branches.append(
                f"(SELECT '{facet.value}', {facet.value}, {facet.value}, count(*) FROM m "
                f"WHERE {facet.value} IS NOT NULL GROUP BY {facet.value} ORDER BY 4 DESC, 2 LIMIT {FACET_SIZE})"
            )
        branches.append(
            f"(SELECT 'table', table_id::text, min(table_name), count(*) FROM m GROUP BY table_id "
            f"ORDER BY 4 DESC, 3 LIMIT {FACET_SIZE})"
        )
        branches.append(
            f"(SELECT 'provider', p, p, count(*) FROM m, unnest(m.providers) AS p GROUP BY p "
            f"ORDER BY 4 DESC, 2 LIMIT {FACET_SIZE})"
        )
    return branches


def _facet_rows(rows: Sequence[Any], with_facets: bool) -> tuple[int, dict[FacetName, list[FacetValue]]]:
    total = 0
    facets: dict[FacetName, list[FacetValue]] = {f: [] for f in FacetName} if with_facets else {}
    for row in rows:
        if row.facet == "total":
            total = int(row.n)
        else:
            facets[FacetName(row.facet)].append(FacetValue(value=row.value, label=row.label, count=int(row.n)))
    return total, facets


def _suggestion(row: Any) -> Suggestion:
    detail = " @ ".join(v for v in (row.title, row.company if row.company != row.label else None) if v) or None
    return Suggestion(
        table_id=row.table_id, table_name=row.table_name, row_id=int(row.row_id), label=row.label, detail=detail
    )
