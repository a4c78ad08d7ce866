"""`SearchBackend`: the one interface the indexer, the API and the reindex command use.

Every method is scoped by a workspace id; a backend must never return another workspace's
documents (the contract suite checks it with two workspaces in one shared index).

Reindex without downtime is three calls: `begin_reindex` opens a new generation (a new table
generation in PostgreSQL, a new index in OpenSearch), `index(..., generation=g)` fills it while
searches keep reading the live one (and live writes go to both), `finish_reindex` swaps.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from morket.models import TableColumn
from morket.search.documents import FieldPlan, SearchDocument
from morket.search.schemas import Boosts, SearchQuery, SearchResults, Suggestion

MAX_SUGGESTIONS = 10


class SearchBackend(Protocol):
    async def index(self, docs: Sequence[SearchDocument], *, generation: int | None = None) -> int:
        """Upsert documents (a document never replaces one with a higher version); returns how many."""
        ...

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
        """Build and upsert the documents of `row_ids` (or of the `limit` rows after the id `after`)
        inside the database, without reading the rows out: (documents written, last row id read).
        None when the engine cannot (its documents are built in Python and sent with `index`)."""
        ...

    async def delete(self, workspace_id: uuid.UUID, table_id: uuid.UUID, row_ids: Sequence[int] | None) -> None:
        """Remove rows from every generation; `row_ids=None` removes the whole table."""
        ...

    async def search(self, workspace_id: uuid.UUID, query: SearchQuery, boosts: Boosts) -> SearchResults: ...

    async def suggest(self, workspace_id: uuid.UUID, q: str, limit: int = MAX_SUGGESTIONS) -> list[Suggestion]: ...

    async def begin_reindex(self, workspace_id: uuid.UUID) -> int:
        """Open a new generation for the workspace; live writes go to it as well from now on."""
        ...

    async def finish_reindex(self, workspace_id: uuid.UUID, generation: int) -> None:
        """Make `generation` the one searches read; the previous one is dropped."""
        ...
