"""tables, columns, cell history, outbox

Revision ID: 0008
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from morket.models.outbox_event import Xid8

revision: str = "0008"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Conversions for a column type change: NULL when the text does not convert (PostgreSQL 15 has no
# pg_input_is_valid). The caller keeps the original text aside before casting, so nothing is lost.
_TRY_CASTS = {
    "numeric": "numeric",
    "boolean": "boolean",
    "date": "date",
    "timestamptz": "timestamptz",
    "jsonb": "jsonb",
}


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS tabledata")
    for name, pg_type in _TRY_CASTS.items():
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION tabledata.try_{name}(value text) RETURNS {pg_type}
            LANGUAGE plpgsql IMMUTABLE AS $$
            BEGIN
                RETURN value::{pg_type};
            EXCEPTION WHEN others THEN
                RETURN NULL;
            END $$
            """
        )
    op.create_table(
        "data_tables",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_data_tables_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by"], ["users.id"], name=op.f("fk_data_tables_deleted_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_data_tables_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_tables")),
    )
    op.create_index("ix_data_tables_workspace_id_created_at", "data_tables", ["workspace_id", "created_at"])
    op.create_index(
        "ix_data_tables_deleted_at", "data_tables", ["deleted_at"], postgresql_where=sa.text("deleted_at IS NOT NULL")
    )
    op.create_table(
        "table_columns",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("table_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["table_id"], ["data_tables.id"], name=op.f("fk_table_columns_table_id_data_tables"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_table_columns_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_table_columns")),
    )
    op.create_index("ix_table_columns_table_id_position", "table_columns", ["table_id", "position"])
    op.create_table(
        "cell_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("table_id", sa.Uuid(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("column_id", sa.Uuid(), nullable=False),
        sa.Column("old_value", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_value", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_cell_history_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["table_id"], ["data_tables.id"], name=op.f("fk_cell_history_table_id_data_tables"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_cell_history_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cell_history")),
    )
    op.create_index(
        "ix_cell_history_table_id_row_id_column_id", "cell_history", ["table_id", "row_id", "column_id", "id"]
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("table_id", sa.Uuid(), nullable=True),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("aggregate_id", sa.String(length=200), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("xid", Xid8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    op.create_index("ix_outbox_events_xid_id", "outbox_events", ["xid", "id"])
    op.create_index("ix_outbox_events_table_id_xid_id", "outbox_events", ["table_id", "xid", "id"])
    op.create_table(
        "outbox_consumers",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position_xid", Xid8(), server_default=sa.text("'0'::xid8"), nullable=False),
        sa.Column("position_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_outbox_consumers")),
    )


def downgrade() -> None:
    op.drop_table("outbox_consumers")
    op.drop_index("ix_outbox_events_table_id_xid_id", table_name="outbox_events")
    op.drop_index("ix_outbox_events_xid_id", table_name="outbox_events")
    op.drop_table("outbox_events")
    op.drop_index("ix_cell_history_table_id_row_id_column_id", table_name="cell_history")
    op.drop_table("cell_history")
    op.drop_index("ix_table_columns_table_id_position", table_name="table_columns")
    op.drop_table("table_columns")
    op.drop_index("ix_data_tables_deleted_at", table_name="data_tables")
    op.drop_index("ix_data_tables_workspace_id_created_at", table_name="data_tables")
    op.drop_table("data_tables")
    op.execute("DROP SCHEMA IF EXISTS tabledata CASCADE")
