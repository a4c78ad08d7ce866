"""crm export: connections (tokens in the vault), OAuth states, exports, runs and their rows, pushed records

Revision ID: 0070
Revises: 0061
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0070"
down_revision: str | None = "0061"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "crm_oauth_states",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _fk("crm_oauth_states", "workspace_id", "workspaces", "CASCADE"),
        _fk("crm_oauth_states", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_oauth_states")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_crm_oauth_states_state_hash")),
    )
    op.create_table(
        "crm_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("crm", sa.String(length=20), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=True),
        sa.Column("instance_url", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _fk("crm_connections", "workspace_id", "workspaces", "CASCADE"),
        _fk("crm_connections", "credential_id", "credentials", "SET NULL"),
        _fk("crm_connections", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_connections")),
        sa.UniqueConstraint("workspace_id", "crm", name=op.f("uq_crm_connections_workspace_id")),
    )
    op.create_table(
        "crm_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("table_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("object_type", sa.String(length=40), nullable=False),
        sa.Column("key_property", sa.String(length=100), nullable=False),
        sa.Column("mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("id_column_id", sa.Uuid(), nullable=False),
        sa.Column("status_column_id", sa.Uuid(), nullable=False),
        sa.Column("error_column_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        *_timestamps(),
        _fk("crm_exports", "workspace_id", "workspaces", "CASCADE"),
        _fk("crm_exports", "table_id", "data_tables", "CASCADE"),
        _fk("crm_exports", "connection_id", "crm_connections", "CASCADE"),
        _fk("crm_exports", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_exports")),
    )
    op.create_index(op.f("ix_crm_exports_workspace_id"), "crm_exports", ["workspace_id"])
    op.create_table(
        "crm_export_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("pushed_count", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("updated_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("workflow_id", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _fk("crm_export_runs", "workspace_id", "workspaces", "CASCADE"),
        _fk("crm_export_runs", "export_id", "crm_exports", "CASCADE"),
        _fk("crm_export_runs", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_export_runs")),
    )
    op.create_index(op.f("ix_crm_export_runs_export_id"), "crm_export_runs", ["export_id"])
    op.create_index("ix_crm_export_runs_workspace_id_created_at", "crm_export_runs", ["workspace_id", "created_at"])
    op.create_table(
        "crm_export_rows",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["crm_export_runs.id"],
            name=op.f("fk_crm_export_rows_run_id_crm_export_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "row_id", name=op.f("pk_crm_export_rows")),
    )
    op.create_table(
        "crm_export_records",
        sa.Column("export_id", sa.Uuid(), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("crm_id", sa.String(length=100), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["crm_exports.id"],
            name=op.f("fk_crm_export_records_export_id_crm_exports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("export_id", "row_id", name=op.f("pk_crm_export_records")),
    )


def downgrade() -> None:
    op.drop_table("crm_export_records")
    op.drop_table("crm_export_rows")
    op.drop_index("ix_crm_export_runs_workspace_id_created_at", table_name="crm_export_runs")
    op.drop_index(op.f("ix_crm_export_runs_export_id"), table_name="crm_export_runs")
    op.drop_table("crm_export_runs")
    op.drop_index(op.f("ix_crm_exports_workspace_id"), table_name="crm_exports")
    op.drop_table("crm_exports")
    op.drop_table("crm_connections")
    op.drop_table("crm_oauth_states")
