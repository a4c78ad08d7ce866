"""inbound endpoints: a table's secret URL that appends or upserts rows (token stored as SHA-256)

Revision ID: 0061
Revises: 0060
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0061"
down_revision: str | None = "0060"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("table_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_prefix", sa.String(length=16), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("key_column_id", sa.Uuid(), nullable=True),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbound_endpoints_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["table_id"], ["data_tables.id"], name=op.f("fk_inbound_endpoints_table_id_data_tables"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["key_column_id"],
            ["table_columns.id"],
            name=op.f("fk_inbound_endpoints_key_column_id_table_columns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_inbound_endpoints_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_endpoints")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_inbound_endpoints_token_hash")),
    )
    op.create_index(op.f("ix_inbound_endpoints_workspace_id"), "inbound_endpoints", ["workspace_id"], unique=False)
    op.create_index(
        "uq_inbound_endpoints_live_table",
        "inbound_endpoints",
        ["table_id"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_inbound_endpoints_live_table", table_name="inbound_endpoints")
    op.drop_index(op.f("ix_inbound_endpoints_workspace_id"), table_name="inbound_endpoints")
    op.drop_table("inbound_endpoints")
