"""search: deletion keys of the vocabulary (typo lookup by btree), a smaller GIN pending list

Revision ID: 0120
Revises: 0090
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0120"
down_revision: str | None = "0090"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The keys of a term: the term itself and each string with one of its letters deleted
# (docs/search.md, "Typos"). The same rule as `morket.search.query.deletions`.
KEYS_OF_NEW_TERMS = """
    INSERT INTO search_term_keys (workspace_id, key, term)
    SELECT t.workspace_id, k.key, t.term FROM search_terms t,
    LATERAL (SELECT t.term AS key UNION
             SELECT substr(t.term, 1, i - 1) || substr(t.term, i + 1) FROM generate_series(1, length(t.term)) AS i) k
    ON CONFLICT DO NOTHING
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE search_term_keys (
            workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
            key text NOT NULL,
            term text NOT NULL,
            CONSTRAINT pk_search_term_keys PRIMARY KEY (workspace_id, key, term)
        )
        """
    )
    op.execute(KEYS_OF_NEW_TERMS)
    # Edits reach the full-text index through its pending list; at the default 4 MB a flush (done
    # by the writing transaction) stalls one consumer batch for seconds on a large index.
    op.execute("ALTER INDEX ix_search_documents_tsv SET (gin_pending_list_limit = 512)")


def downgrade() -> None:
    op.execute("ALTER INDEX ix_search_documents_tsv RESET (gin_pending_list_limit)")
    op.execute("DROP TABLE IF EXISTS search_term_keys")
