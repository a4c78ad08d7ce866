"""Every SQL statement of search: generations, settings, and the PostgreSQL engine's documents.

`search_documents` holds one row per (workspace, generation, table, row); its weighted tsvector
is a generated column (migration 0040), so PostgreSQL computes it from the stored fields. Every
statement filters by workspace id, and reads by the workspace's active generation.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from morket.models import TableColumn
from morket.search.documents import FieldPlan, SearchDocument
from morket.search.query import deletions
from morket.search.sql_documents import DOMAIN_TERMS, EMAIL_TERMS, LABEL, field_columns

BUILDING = "building"
ACTIVE = "active"
RETIRED = "retired"

_DOC_FIELDS = (
    "table_name",
    "name",
    "email",
    "email_terms",
    "company",
    "domain",
    "domain_terms",
    "title",
    "location",
    "industry",
    "other",
    "label",
    "label_key",
)
# Words shorter than this are not worth a typo (the AUTO rule gives them none).
_MIN_TERM = 3
_MAX_TERM = 40
# The deletion keys of the words a statement just added to the vocabulary (CTE `new`): the word
# and each string with one of its letters deleted (migration 0120, `query.deletions`).
_NEW_KEYS = (
    "INSERT INTO search_term_keys (workspace_id, key, term) "
    "SELECT new.workspace_id, k.key, new.term FROM new, LATERAL (SELECT new.term AS key UNION "
    "SELECT substr(new.term, 1, i - 1) || substr(new.term, i + 1) FROM generate_series(1, length(new.term)) AS i) k "
    "ON CONFLICT DO NOTHING"
)
# The words of the upserted documents (CTE `up`: workspace_id, primary_text (name, company,
# domain), secondary_text (title, location, industry, other cells)), 3-40 letters, no digits.
_WORDS = (
    "words AS MATERIALIZED (SELECT DISTINCT up.workspace_id, x.term, x.is_primary FROM up, LATERAL ("
    "SELECT w AS term, true AS is_primary FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, "
    "coalesce(up.primary_text, '')))) AS w UNION ALL "
    "SELECT w, false FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, "
    "coalesce(up.secondary_text, '')))) AS w) x "
    "WHERE length(x.term) BETWEEN :min AND :max AND x.term !~ '[0-9@]')"
)
# New words join the vocabulary (CTE `new`, for `_NEW_KEYS`), a primary field's the primary words.
_NEW_WORDS = (
    "prim AS (INSERT INTO search_primary_terms (workspace_id, term) SELECT DISTINCT workspace_id, term "
    "FROM words WHERE is_primary ON CONFLICT DO NOTHING), "
    "new AS (INSERT INTO search_terms (workspace_id, term) SELECT DISTINCT workspace_id, term FROM words "
    "ON CONFLICT DO NOTHING RETURNING workspace_id, term)"
)
# Fuzzy variants a word expands to in a query, nearest first.
_VARIANTS = 8


class SearchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- generations -------------------------------------------------------------------------

    async def generations(self, workspace_id: uuid.UUID) -> dict[int, str]:
        rows = await self.session.execute(
            text("SELECT generation, state FROM search_generations WHERE workspace_id = :ws AND state <> 'retired'"),
            {"ws": workspace_id},
        )
        return {int(r.generation): str(r.state) for r in rows}

    async def ensure_active(self, workspace_ids: Sequence[uuid.UUID]) -> None:
        """Generation 1 for workspaces that have none yet (the first document of a workspace)."""
        await self.session.execute(
            text(
                "INSERT INTO search_generations (workspace_id, generation, state, activated_at) "
                "SELECT w, 1, 'active', now() FROM unnest(CAST(:ws AS uuid[])) AS w "
                "WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = w) "
                "ON CONFLICT DO NOTHING"
            ),
            {"ws": list(workspace_ids)},
        )

    async def live_generations(self, workspace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
        """Per workspace, the generations a write must reach (the active one and any being built)."""
        rows = await self.session.execute(
            text(
                "SELECT workspace_id, generation FROM search_generations "
                "WHERE workspace_id = ANY(CAST(:ws AS uuid[])) AND state IN ('active', 'building')"
            ),
            {"ws": list(workspace_ids)},
        )
        found: dict[uuid.UUID, list[int]] = {}
        for row in rows:
            found.setdefault(row.workspace_id, []).append(int(row.generation))
        return found

    async def ensure_live_generations(self, workspace_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[int]]:
        """`ensure_active` then `live_generations` in one round trip (each consumer batch needs both).

        The statement's snapshot cannot see a generation 1 that a concurrent transaction
        committed while this one waited on it (ON CONFLICT DO NOTHING); a workspace that comes
        back without a generation is therefore read again.
        """
        rows = await self.session.execute(
            text(
                "WITH made AS (INSERT INTO search_generations (workspace_id, generation, state, activated_at) "
                "SELECT w, 1, 'active', now() FROM unnest(CAST(:ws AS uuid[])) AS w "
                "WHERE EXISTS (SELECT 1 FROM workspaces WHERE id = w) "
                "ON CONFLICT DO NOTHING RETURNING workspace_id, generation) "
                "SELECT workspace_id, generation FROM search_generations "
                "WHERE workspace_id = ANY(CAST(:ws AS uuid[])) AND state IN ('active', 'building') "
                "UNION ALL SELECT workspace_id, generation FROM made"
            ),
            {"ws": list(workspace_ids)},
        )
        found: dict[uuid.UUID, list[int]] = {}
        for row in rows:
            found.setdefault(row.workspace_id, []).append(int(row.generation))
        missing = [w for w in workspace_ids if w not in found]
        if missing:
            found |= await self.live_generations(missing)
        return found

    async def active_generation(self, workspace_id: uuid.UUID) -> int | None:
        row = (
            await self.session.execute(
                text("SELECT generation FROM search_generations WHERE workspace_id = :ws AND state = 'active'"),
                {"ws": workspace_id},
            )
        ).first()
        return int(row.generation) if row else None

    async def open_generation(self, workspace_id: uuid.UUID) -> int:
        await self.ensure_active([workspace_id])
        # Serialise reindexes of one workspace: the active generation's row is the lock.
        await self.session.execute(
            text("SELECT 1 FROM search_generations WHERE workspace_id = :ws AND state = 'active' FOR UPDATE"),
            {"ws": workspace_id},
        )
        generation = (
            await self.session.execute(
                text(
                    "INSERT INTO search_generations (workspace_id, generation, state) "
                    "SELECT :ws, coalesce(max(generation), 0) + 1, 'building' FROM search_generations "
                    "WHERE workspace_id = :ws RETURNING generation"
                ),
                {"ws": workspace_id},
            )
        ).scalar_one()
        return int(generation)

    async def swap_generation(self, workspace_id: uuid.UUID, generation: int) -> None:
        """The new generation becomes active in one statement order: retire the old, activate the new."""
        await self.session.execute(
            text(
                "DELETE FROM search_documents d USING search_tombstones t "
                "WHERE d.workspace_id = :ws AND d.generation = :g AND t.workspace_id = :ws "
                "AND t.table_id = d.table_id AND (t.row_id = d.row_id OR t.row_id = 0)"
            ),
            {"ws": workspace_id, "g": generation},
        )
        await self.session.execute(
            text(
                "UPDATE search_generations SET state = 'retired' "
                "WHERE workspace_id = :ws AND state = 'active' AND generation <> :g"
            ),
            {"ws": workspace_id, "g": generation},
        )
        await self.session.execute(
            text(
                "UPDATE search_generations SET state = 'active', activated_at = now() "
                "WHERE workspace_id = :ws AND generation = :g"
            ),
            {"ws": workspace_id, "g": generation},
        )
        await self.session.execute(
            text(
                "DELETE FROM search_tombstones WHERE workspace_id = :ws AND NOT EXISTS ("
                "SELECT 1 FROM search_generations WHERE workspace_id = :ws AND state = 'building')"
            ),
            {"ws": workspace_id},
        )

    async def drop_retired(self, workspace_id: uuid.UUID) -> int:
        result = await self.session.execute(
            text("DELETE FROM search_generations WHERE workspace_id = :ws AND state = 'retired'"),
            {"ws": workspace_id},
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # -- settings ----------------------------------------------------------------------------

    async def boosts(self, workspace_id: uuid.UUID) -> dict[str, Any] | None:
        row = (
            await self.session.execute(
                text("SELECT boosts FROM search_settings WHERE workspace_id = :ws"), {"ws": workspace_id}
            )
        ).first()
        return dict(row.boosts) if row else None

    async def save_boosts(self, workspace_id: uuid.UUID, boosts: dict[str, Any]) -> None:
        await self.session.execute(
            text(
                "INSERT INTO search_settings (workspace_id, boosts) VALUES (:ws, CAST(:b AS jsonb)) "
                "ON CONFLICT (workspace_id) DO UPDATE SET boosts = excluded.boosts, updated_at = now()"
            ),
            {"ws": workspace_id, "b": json.dumps(boosts)},
        )

    # -- documents (the PostgreSQL engine) ---------------------------------------------------

    async def upsert_documents(self, docs: Sequence[SearchDocument], generations: dict[uuid.UUID, list[int]]) -> int:
        """Insert or replace documents in the given generations of their workspaces, set-wise.

        A stored document with a higher version is kept (a reindex reading an older row never
        overwrites the consumer's newer one). The words of the new documents join the vocabulary.
        """
        cols: dict[str, list[Any]] = {name: [] for name in ("ws", "gen", "table_id", "row_id", "version")}
        for name in (*_DOC_FIELDS, "providers", "cells", "created", "updated"):
            cols[name] = []
        for doc in docs:
            for generation in generations.get(doc.workspace_id, []):
                cols["ws"].append(doc.workspace_id)
                cols["gen"].append(generation)
                cols["table_id"].append(doc.table_id)
                cols["row_id"].append(doc.row_id)
                cols["version"].append(doc.version)
                label = doc.label
                values = {
                    "table_name": doc.table_name,
                    "name": doc.name,
                    "email": doc.email,
                    "email_terms": doc.email_terms,
                    "company": doc.company,
                    "domain": doc.domain,
                    "domain_terms": doc.domain_terms,
                    "title": doc.title,
                    "location": doc.location,
                    "industry": doc.industry,
                    "other": doc.other,
                    "label": label,
                    "label_key": label.lower()[:200],
                }
                for name in _DOC_FIELDS:
                    cols[name].append(values[name])
                cols["providers"].append("\x1f".join(doc.providers))
                cols["cells"].append(json.dumps(doc.cells, separators=(",", ":")))
                cols["created"].append(doc.row_created_at)
                cols["updated"].append(doc.row_updated_at)
        if not cols["ws"]:
            return 0
        field_list = ", ".join(_DOC_FIELDS)
        unnest_args = ", ".join(f"CAST(:{name} AS text[])" for name in _DOC_FIELDS)
        updates = ", ".join(
            f"{name} = excluded.{name}"
            for name in (
                "version",
                *_DOC_FIELDS,
                "providers",
                "cells",
                "row_created_at",
                "row_updated_at",
            )
        )
        await self.session.execute(
            text(
                f"INSERT INTO search_documents (workspace_id, generation, table_id, row_id, version, {field_list}, "
                "providers, cells, row_created_at, row_updated_at) "
                f"SELECT u.ws, u.gen, u.table_id, u.row_id, u.version, {field_list}, "
                "CASE WHEN u.providers = '' THEN '{}'::text[] ELSE string_to_array(u.providers, chr(31)) END, "
                "CAST(u.cells AS jsonb), u.created, u.updated "
                "FROM unnest(CAST(:ws AS uuid[]), CAST(:gen AS int[]), CAST(:table_id AS uuid[]), "
                f"CAST(:row_id AS bigint[]), CAST(:version AS int[]), {unnest_args}, CAST(:providers AS text[]), "
                "CAST(:cells AS text[]), CAST(:created AS timestamptz[]), CAST(:updated AS timestamptz[])) "
                f"AS u(ws, gen, table_id, row_id, version, {field_list}, providers, cells, created, updated) "
                "ON CONFLICT (workspace_id, generation, table_id, row_id) DO UPDATE SET "
                f"{updates} WHERE search_documents.version <= excluded.version"
            ),
            cols,
        )
        await self.session.execute(
            text(
                # New words join the vocabulary with their deletion keys (the typo lookup's index),
                # and those of a primary field the primary words (typeahead's typos).
                "WITH up AS (SELECT * FROM unnest(CAST(:ws AS uuid[]), CAST(:primary AS text[]), "
                "CAST(:secondary AS text[])) AS u(workspace_id, primary_text, secondary_text)), "
                + _WORDS
                + ", "
                + _NEW_WORDS
                + " "
                + _NEW_KEYS
            ),
            {
                "ws": [d.workspace_id for d in docs],
                # Emails are identifiers (one per row): their words would double the vocabulary
                # for little; names and companies carry the typos.
                "primary": [" ".join(v for v in (d.name, d.company, d.domain_terms) if v) for d in docs],
                "secondary": [" ".join(v for v in (d.title, d.location, d.industry, d.other) if v) for d in docs],
                "min": _MIN_TERM,
                "max": _MAX_TERM,
            },
        )
        return len(cols["ws"])

    async def upsert_from_table(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        table_name: str,
        plan: FieldPlan,
        columns: Sequence[TableColumn],
        generations: Sequence[int],
        *,
        row_ids: Sequence[int] | None = None,
        after: int = 0,
        limit: int = 5_000,
    ) -> tuple[int, int | None]:
        """Documents built by PostgreSQL from the table's rows (`sql_documents`), upserted set-wise.

        The rows are `row_ids`, or the `limit` rows after the id `after` (a reindex page). Returns
        how many documents were written and the last row id read (None: no row). The new words
        join the vocabulary in the same statement.
        """
        if not generations:
            return 0, None
        fields = field_columns(plan, columns)
        if row_ids is not None:
            where, tail = "t._id = ANY(CAST(:ids AS bigint[]))", ""
        else:
            where, tail = "t._id > :after", "ORDER BY t._id LIMIT :limit"
        computed = ", ".join(f"{expr} AS {name}" for name, expr in fields.items())
        doc_fields = ", ".join(f"d.{name}" for name in _DOC_FIELDS if name != "label_key")
        updates = ", ".join(
            f"{name} = excluded.{name}"
            for name in ("version", *_DOC_FIELDS, "providers", "cells", "row_created_at", "row_updated_at")
        )
        row = (
            await self.session.execute(
                text(
                    "WITH f AS MATERIALIZED (SELECT t._id AS row_id, t._version AS version, "
                    f"t._created_at AS created, t._updated_at AS updated, {computed} "
                    f'FROM tabledata."t_{table_id.hex}" t WHERE {where} {tail}), '
                    f"d AS (SELECT f.*, CAST(:table_name AS text) AS table_name, {EMAIL_TERMS} AS email_terms, "
                    f"{DOMAIN_TERMS} AS domain_terms, {LABEL} AS label FROM f), "
                    "up AS (INSERT INTO search_documents (workspace_id, generation, table_id, row_id, version, "
                    f"{', '.join(_DOC_FIELDS)}, providers, cells, row_created_at, row_updated_at) "
                    f"SELECT :ws, g, :table_id, d.row_id, d.version, {doc_fields}, left(lower(d.label), 200), "
                    "d.providers, d.cells, d.created, d.updated FROM d, unnest(CAST(:gens AS int[])) AS g "
                    "ON CONFLICT (workspace_id, generation, table_id, row_id) DO UPDATE SET "
                    f"{updates} WHERE search_documents.version <= excluded.version "
                    "RETURNING workspace_id, concat_ws(' ', name, company, domain_terms) AS primary_text, "
                    "concat_ws(' ', title, location, industry, other) AS secondary_text), "
                    f"{_WORDS}, {_NEW_WORDS}, keys AS ({_NEW_KEYS}) "
                    "SELECT (SELECT count(*) FROM up) AS n, (SELECT max(row_id) FROM f) AS last"
                ),
                {
                    "ws": workspace_id,
                    "table_id": table_id,
                    "table_name": table_name,
                    "gens": list(generations),
                    "ids": list(row_ids or []),
                    "after": after,
                    "limit": limit,
                    "min": _MIN_TERM,
                    "max": _MAX_TERM,
                },
            )
        ).one()
        return int(row.n), (int(row.last) if row.last is not None else None)

    async def delete_documents(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, row_ids: Sequence[int] | None
    ) -> None:
        """Remove rows (or the table) from every generation; remembered while a generation is being built."""
        building = (
            await self.session.execute(
                text("SELECT 1 FROM search_generations WHERE workspace_id = :ws AND state = 'building' LIMIT 1"),
                {"ws": workspace_id},
            )
        ).first()
        ids = list(row_ids) if row_ids is not None else [0]
        if building:
            # A reindex may have read the row before it went: its swap removes it again.
            await self.session.execute(
                text(
                    "INSERT INTO search_tombstones (workspace_id, table_id, row_id) "
                    "SELECT :ws, :t, unnest(CAST(:ids AS bigint[])) ON CONFLICT DO NOTHING"
                ),
                {"ws": workspace_id, "t": table_id, "ids": ids},
            )
        if row_ids is None:
            await self.session.execute(
                text("DELETE FROM search_documents WHERE workspace_id = :ws AND table_id = :t"),
                {"ws": workspace_id, "t": table_id},
            )
        else:
            await self.session.execute(
                text(
                    "DELETE FROM search_documents WHERE workspace_id = :ws AND table_id = :t "
                    "AND row_id = ANY(CAST(:ids AS bigint[]))"
                ),
                {"ws": workspace_id, "t": table_id, "ids": ids},
            )

    async def fuzzy_variants(
        self, workspace_id: uuid.UUID, words: Sequence[tuple[str, int]], *, primary_only: bool = False
    ) -> dict[str, list[str]]:
        """For each (word, max edits): the nearest vocabulary words within that many edits (at most 8).

        Candidates come from the deletion keys (docs/search.md, "Typos"): the word's strings with
        up to `edits` letters deleted, looked up among the terms' strings with up to one deleted, a
        btree probe per key. That finds every word one edit away and most two away; a word that
        finds nothing at all (not even itself) falls back to the trigram scan of the vocabulary.

        `primary_only` (typeahead): only words found in a name, company or domain, and no trigram
        scan (tens of milliseconds at 1M rows, more than typeahead's whole budget).
        """
        if not words:
            return {}
        pairs = [(word, key) for word, edits in words for key in deletions(word, edits)]
        primary = "JOIN search_primary_terms p ON p.workspace_id = :ws AND p.term = k.term " if primary_only else ""
        rows = await self.session.execute(
            text(
                "SELECT DISTINCT q.word, k.term, levenshtein_less_equal(k.term, q.word, q.edits) AS d "
                "FROM unnest(CAST(:words AS text[]), CAST(:keys AS text[]), CAST(:edits AS int[])) "
                "AS q(word, key, edits) "
                "JOIN search_term_keys k ON k.workspace_id = :ws AND k.key = q.key " + primary
            ),
            {
                "ws": workspace_id,
                "words": [w for w, _ in pairs],
                "keys": [k for _, k in pairs],
                "edits": [dict(words)[w] for w, _ in pairs],
            },
        )
        near: dict[str, list[tuple[int, str]]] = {}
        for row in rows:
            near.setdefault(row.word, [])
            if row.term != row.word and row.d <= dict(words)[row.word]:
                near[row.word].append((int(row.d), str(row.term)))
        found = {word: [term for _, term in sorted(options)[:_VARIANTS]] for word, options in near.items() if options}
        unknown = [(w, e) for w, e in words if w not in near]
        if unknown and not primary_only:
            found.update(await self._trigram_variants(workspace_id, unknown))
        return found

    async def _trigram_variants(
        self, workspace_id: uuid.UUID, words: Sequence[tuple[str, int]]
    ) -> dict[str, list[str]]:
        """Vocabulary words within the edits by a trigram scan (`%`, pg_trgm's 0.3 threshold): the slow path."""
        rows = await self.session.execute(
            text(
                "SELECT q.word, v.term FROM unnest(CAST(:words AS text[]), CAST(:edits AS int[])) AS q(word, edits) "
                "CROSS JOIN LATERAL (SELECT term FROM search_terms WHERE workspace_id = :ws AND term % q.word "
                "AND term <> q.word AND levenshtein_less_equal(term, q.word, q.edits) <= q.edits "
                f"ORDER BY levenshtein_less_equal(term, q.word, q.edits), term LIMIT {_VARIANTS}) AS v"
            ),
            {"ws": workspace_id, "words": [w for w, _ in words], "edits": [e for _, e in words]},
        )
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row.word, []).append(row.term)
        return found

    async def normalise_tsqueries(self, *queries: str) -> tuple[str, str]:
        """tsquery texts as the 'simple' parser reads them ('' when nothing is left)."""
        row = (
            await self.session.execute(
                text("SELECT to_tsquery('simple', :a)::text AS a, to_tsquery('simple', :b)::text AS b"),
                {"a": queries[0], "b": queries[1]},
            )
        ).one()
        return str(row.a), str(row.b)

    async def tombstones(self, workspace_id: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
        rows = await self.session.execute(
            text("SELECT table_id, row_id FROM search_tombstones WHERE workspace_id = :ws"), {"ws": workspace_id}
        )
        return [(r.table_id, int(r.row_id)) for r in rows]
