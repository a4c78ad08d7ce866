"""search: the vocabulary's primary words (name, company, domain), for typeahead's typos

Revision ID: 0131
Revises: 0130
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0131"
down_revision: str | None = "0130"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Typeahead looks for a typo's variants in the primary fields only (`'variant':A`), but GIN does
# not know weights: a variant that is a common word of another field ("paris", "sales", "about")
# made it gather and recheck tens or hundreds of thousands of rows, none of them a match (1.2-1.5 s
# at 1M rows; docs/search.md, fifth session). The words found in a primary field are kept apart,
# and typeahead's variants are taken from them only. Insert-only, like the vocabulary.
PRIMARY_WORDS = """
    INSERT INTO search_primary_terms (workspace_id, term)
    SELECT DISTINCT d.workspace_id, w FROM search_documents d,
    unnest(tsvector_to_array(to_tsvector('simple'::regconfig, concat_ws(' ', d.name, d.company, d.domain_terms)))) AS w
    WHERE length(w) BETWEEN 3 AND 40 AND w !~ '[0-9@]'
    ON CONFLICT DO NOTHING
"""


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE search_primary_terms (
            workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
            term text NOT NULL,
            CONSTRAINT pk_search_primary_terms PRIMARY KEY (workspace_id, term)
        )
        """
    )
    op.execute(PRIMARY_WORDS)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS search_primary_terms")
