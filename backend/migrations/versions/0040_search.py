"""search: documents per workspace row (weighted tsvector, trigram), terms, generations, settings

Revision ID: 0040
Revises: 0035
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0040"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The weighted document, computed by PostgreSQL from the stored fields (docs/search.md):
# A name/email/company/domain, B title/industry/location/table name, C every other text cell.
# 'simple': names and companies are not English words, so no stemming and no stop words.
_TSV = """
    setweight(to_tsvector('simple'::regconfig, coalesce(name, '')), 'A')
 || setweight(to_tsvector('simple'::regconfig, coalesce(email_terms, '')), 'A')
 || setweight(to_tsvector('simple'::regconfig, coalesce(company, '')), 'A')
 || setweight(to_tsvector('simple'::regconfig, coalesce(domain_terms, '')), 'A')
 || setweight(to_tsvector('simple'::regconfig, coalesce(title, '')), 'B')
 || setweight(to_tsvector('simple'::regconfig, coalesce(industry, '')), 'B')
 || setweight(to_tsvector('simple'::regconfig, coalesce(location, '')), 'B')
 || setweight(to_tsvector('simple'::regconfig, coalesce(table_name, '')), 'B')
 || setweight(to_tsvector('simple'::regconfig, coalesce(other, '')), 'C')
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(
        """
        CREATE TABLE search_generations (
            workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
            generation integer NOT NULL,
            state varchar(16) NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            activated_at timestamptz,
            CONSTRAINT pk_search_generations PRIMARY KEY (workspace_id, generation),
            CONSTRAINT ck_search_generations_state CHECK (state IN ('building', 'active', 'retired'))
        )
        """
    )
    op.execute(
        "CREATE UNIQUE INDEX uq_search_generations_active ON search_generations (workspace_id) WHERE state = 'active'"
    )
    op.execute(
        f"""
        CREATE TABLE search_documents (
            workspace_id uuid NOT NULL,
            generation integer NOT NULL,
            table_id uuid NOT NULL,
            row_id bigint NOT NULL,
            version integer NOT NULL,
            table_name text NOT NULL,
            name text,
            email text,
            email_terms text,
            company text,
            domain text,
            domain_terms text,
            title text,
            location text,
            industry text,
            other text,
            label text NOT NULL,
            label_key text COLLATE "C" NOT NULL,
            providers text[] NOT NULL DEFAULT '{{}}',
            cells jsonb NOT NULL DEFAULT '{{}}',
            row_created_at timestamptz NOT NULL,
            row_updated_at timestamptz NOT NULL,
            tsv tsvector GENERATED ALWAYS AS ({_TSV}) STORED,
            CONSTRAINT pk_search_documents PRIMARY KEY (workspace_id, generation, table_id, row_id),
            CONSTRAINT fk_search_documents_generation FOREIGN KEY (workspace_id, generation)
                REFERENCES search_generations (workspace_id, generation) ON DELETE CASCADE
        ) WITH (fillfactor = 90)
        """
    )
    # Full text within one workspace: btree_gin puts the tenant into the same GIN index.
    op.execute("CREATE INDEX ix_search_documents_tsv ON search_documents USING gin (workspace_id, tsv)")
    # Typeahead: a prefix range on the lower-cased label ("C" collation: LIKE 'ab%' is a range).
    op.execute("CREATE INDEX ix_search_documents_label ON search_documents (workspace_id, generation, label_key)")
    op.execute(
        """
        CREATE TABLE search_terms (
            workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
            term text NOT NULL,
            CONSTRAINT pk_search_terms PRIMARY KEY (workspace_id, term)
        )
        """
    )
    # Typo tolerance: the workspace's vocabulary, candidates by trigram similarity (GIN: cheap to
    # insert into and to probe; a GiST KNN scan was 100 ms a word at 200,000 words), then edit distance.
    op.execute("CREATE INDEX ix_search_terms_trgm ON search_terms USING gin (workspace_id, term gin_trgm_ops)")
    op.execute(
        """
        CREATE TABLE search_tombstones (
            workspace_id uuid NOT NULL,
            table_id uuid NOT NULL,
            row_id bigint NOT NULL,
            CONSTRAINT pk_search_tombstones PRIMARY KEY (workspace_id, table_id, row_id)
        )
        """
    )
    op.execute(
        """
        CREATE TABLE search_settings (
            workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
            boosts jsonb NOT NULL,
            updated_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_search_settings PRIMARY KEY (workspace_id)
        )
        """
    )


def downgrade() -> None:
    for table in ("search_settings", "search_tombstones", "search_terms", "search_documents", "search_generations"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
