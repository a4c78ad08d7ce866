"""Dedupe over a stored table: find the duplicate groups (preview), merge them.

Reads the key columns of every row through the tables storage API (a server-side cursor, one
batch in memory plus one small tuple per row), groups them with the pure rules of
`morket.tables.dedupe`, and merges through `RowService.merge_rows`, which records the filled
cells in the cell history with source `dedupe`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from morket.core.errors import Unprocessable
from morket.models import TableColumn
from morket.tables.dedupe import Candidate, FuzzyRule, KeyRule, Normalization, group_duplicates, normalization_for
from morket.tables.io_schemas import DedupePreview, DedupeResult, DuplicateGroup
from morket.tables.service import RowService, TableService


@dataclass(frozen=True)
class DedupeRule:
    key_column_ids: list[uuid.UUID]
    normalization: Normalization = Normalization.AUTO
    fuzzy_column_id: uuid.UUID | None = None
    threshold: float = 90.0


class DedupeService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.rows = RowService(session)
        self.tables = TableService(session)

    async def _columns(self, workspace_id: uuid.UUID, table_id: uuid.UUID, rule: DedupeRule) -> list[TableColumn]:
        columns = {c.id: c for c in await self.tables.columns(workspace_id, table_id)}
        wanted = [*rule.key_column_ids, *([rule.fuzzy_column_id] if rule.fuzzy_column_id else [])]
        missing = [str(c) for c in wanted if c not in columns]
        if missing:
            raise Unprocessable("Some dedupe columns are not in this table.", code="invalid_columns", details=missing)
        if not wanted:
            raise Unprocessable("Choose key columns, a fuzzy column, or both.", code="invalid_rule")
        return [columns[c] for c in wanted]

    async def groups(self, workspace_id: uuid.UUID, table_id: uuid.UUID, rule: DedupeRule) -> list[list[int]]:
        """Every duplicate group's row ids, oldest first within a group, groups by their oldest row."""
        columns = await self._columns(workspace_id, table_id, rule)
        keys = [
            KeyRule(i, normalization_for(columns[i].type, rule.normalization)) for i in range(len(rule.key_column_ids))
        ]
        fuzzy = FuzzyRule(len(keys), rule.threshold) if rule.fuzzy_column_id else None
        wanted = [str(c.id) for c in columns]
        candidates: list[Candidate] = []
        async for _, batch in self.rows.stream_rows(workspace_id, table_id, batch_size=5000):
            candidates.extend(Candidate(row.id, [row.cells.get(k) for k in wanted]) for row in batch)
        return group_duplicates(candidates, keys, fuzzy)

    async def preview(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, rule: DedupeRule, limit: int
    ) -> DedupePreview:
        """The duplicate groups with their rows (the first `limit` groups), and the totals."""
        groups = await self.groups(workspace_id, table_id, rule)
        shown = groups[:limit]
        rows = {r.id: r for r in await self.rows.get_rows(workspace_id, table_id, [i for g in shown for i in g])}
        return DedupePreview(
            group_count=len(groups),
            duplicate_rows=sum(len(g) - 1 for g in groups),
            groups=[DuplicateGroup(keep_id=g[0], row_ids=g, rows=[rows[i] for i in g if i in rows]) for g in shown],
        )

    async def merge(
        self,
        workspace_id: uuid.UUID,
        table_id: uuid.UUID,
        rule: DedupeRule,
        *,
        actor_id: uuid.UUID | None,
        keep_ids: Collection[int] | None = None,
    ) -> DedupeResult:
        """Merge the groups (those kept by `keep_ids`, else all) into their oldest rows."""
        result = DedupeResult(groups_merged=0, rows_merged=0)
        for group in await self.groups(workspace_id, table_id, rule):
            if keep_ids is not None and group[0] not in keep_ids:
                continue
            await self.rows.merge_rows(workspace_id, table_id, group[0], group[1:], actor_id=actor_id)
            result.groups_merged += 1
            result.rows_merged += len(group) - 1
        return result
