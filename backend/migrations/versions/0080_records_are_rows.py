"""enrichment records are links to table rows: no output/results copy, inline jobs keep no input

Revision ID: 0080
Revises: 0070

The values and their provenance live in the table's cells (`_meta`); an inline job's input is
its row. `enrichment_records` keeps the job's work queue (seq, status, credits, error, row_id)
and a column run's computed provider input (docs/enrichment.md, "One store").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0080"
down_revision: str | None = "0070"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column("enrichment_records", "input", nullable=True)
    # Inline jobs' records (their target names the record keys' columns): the row is the input.
    op.execute(
        "UPDATE enrichment_records r SET input = NULL FROM enrichment_jobs j"
        " WHERE j.id = r.job_id AND r.row_id IS NOT NULL AND j.target -> 'inputs' IS NOT NULL"
    )
    op.drop_column("enrichment_records", "output")
    op.drop_column("enrichment_records", "results")


def downgrade() -> None:
    op.add_column("enrichment_records", sa.Column("results", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("enrichment_records", sa.Column("output", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.execute("UPDATE enrichment_records SET input = '{}'::jsonb WHERE input IS NULL")
    op.alter_column("enrichment_records", "input", nullable=False)
