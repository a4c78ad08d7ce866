"""one debit per (job, record, field) in the ledger itself

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable and without a default: adding it rewrites nothing (the ledger refuses UPDATEs anyway).
    op.add_column("credit_transactions", sa.Column("field", sa.String(length=100), nullable=True))
    op.create_index(
        "uq_credit_transactions_debit_cell",
        "credit_transactions",
        ["job_id", "record_id", "field"],
        unique=True,
        postgresql_where=sa.text("type = 'debit' AND field IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_credit_transactions_debit_cell", table_name="credit_transactions")
    op.drop_column("credit_transactions", "field")
