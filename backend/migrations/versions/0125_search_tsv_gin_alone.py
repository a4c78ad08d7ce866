"""search: the full-text GIN index on the tsvector alone (no workspace key)

Revision ID: 0125
Revises: 0120
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0125"
down_revision: str | None = "0120"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# With `workspace_id` as the GIN's first key every document also posts under its workspace, and
# every full-text scan intersects the words' postings with the workspace's (1,000,000 entries in a
# 1M-row workspace): the bitmap of `marie:*` (12,473 rows) took a median 19 ms that way and 8.6 ms
# from the words alone (docs/search.md, "Measured"). The workspace is checked on the heap rows; a
# small workspace in a shared table is found by the primary key (workspace_id, generation, ...).


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_search_documents_words ON search_documents USING gin (tsv) WITH (gin_pending_list_limit = 512)"
    )
    op.execute("DROP INDEX ix_search_documents_tsv")
    op.execute("ALTER INDEX ix_search_documents_words RENAME TO ix_search_documents_tsv")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX ix_search_documents_ws_tsv ON search_documents USING gin (workspace_id, tsv) "
        "WITH (gin_pending_list_limit = 512)"
    )
    op.execute("DROP INDEX ix_search_documents_tsv")
    op.execute("ALTER INDEX ix_search_documents_ws_tsv RENAME TO ix_search_documents_tsv")
