"""crm export runs: a partial index of the open runs (the shared reconciler's sweep, docs/runs.md)

Revision ID: 0150
Revises: 0131
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0150"
down_revision: str | None = "0131"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_crm_export_runs_open_created_at",
        "crm_export_runs",
        ["created_at"],
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )


def downgrade() -> None:
    op.drop_index("ix_crm_export_runs_open_created_at", table_name="crm_export_runs")
