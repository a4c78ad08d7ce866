"""column runs: enrichment jobs over table rows (issue 10)

A job may target a table: `table_id` and `target` (the enrichment column, its output columns and
write policy); each of its records names the row it came from (`row_id`). `budget` caps what
a run may spend.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("enrichment_jobs", sa.Column("table_id", sa.Uuid(), nullable=True))
    op.add_column("enrichment_jobs", sa.Column("target", postgresql.JSONB(astext_type=sa.Text()), nullable=True))
    op.add_column("enrichment_jobs", sa.Column("budget", sa.BigInteger(), nullable=True))
    op.add_column("enrichment_jobs", sa.Column("budget_reached_at", sa.DateTime(timezone=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_enrichment_jobs_table_id_data_tables"),
        "enrichment_jobs",
        "data_tables",
        ["table_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_enrichment_jobs_table_id"), "enrichment_jobs", ["table_id"])
    op.add_column("enrichment_records", sa.Column("row_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("enrichment_records", "row_id")
    op.drop_index(op.f("ix_enrichment_jobs_table_id"), table_name="enrichment_jobs")
    op.drop_constraint(op.f("fk_enrichment_jobs_table_id_data_tables"), "enrichment_jobs", type_="foreignkey")
    op.drop_column("enrichment_jobs", "budget_reached_at")
    op.drop_column("enrichment_jobs", "budget")
    op.drop_column("enrichment_jobs", "target")
    op.drop_column("enrichment_jobs", "table_id")
