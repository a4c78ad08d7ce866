"""search: btree indexes for filter-only and field-sorted searches (ORDER BY ... LIMIT walks one)

Revision ID: 0130
Revises: 0125
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0130"
down_revision: str | None = "0125"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A search without words (filters only, newest first) or sorted by a field used to order every
# match of the workspace before its LIMIT (0.5-1 s at 1M rows: a sequential scan of the table).
# With the sort column after the tenant and generation, and the tie-breakers (table, row) after
# it, `ORDER BY <column>, table_id, row_id LIMIT n` walks the index, forwards or backwards
# (ties follow the direction of the sort: docs/search.md, "Sorting and filters without words").
# The company, title, location and industry indexes also serve those filters (`= ANY`).
SORT_COLUMNS = ("row_updated_at", "row_created_at", "name", "company", "title", "location", "industry")


def _index(column: str) -> str:
    return f"ix_search_documents_by_{column.removeprefix('row_')}"


def upgrade() -> None:
    for column in SORT_COLUMNS:
        op.execute(
            f"CREATE INDEX {_index(column)} ON search_documents (workspace_id, generation, {column}, table_id, row_id)"
        )


def downgrade() -> None:
    for column in SORT_COLUMNS:
        op.execute(f"DROP INDEX {_index(column)}")
