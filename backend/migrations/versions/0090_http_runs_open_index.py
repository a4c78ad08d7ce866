"""http column runs: a partial index of the open runs (the reconciler's sweep)

Revision ID: 0090
Revises: 0080
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0090"
down_revision: str | None = "0080"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_http_column_runs_open_created_at",
        "http_column_runs",
        ["created_at"],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index("ix_http_column_runs_open_created_at", table_name="http_column_runs")
