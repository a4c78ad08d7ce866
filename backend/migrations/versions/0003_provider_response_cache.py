"""provider response cache

Revision ID: 0003
Revises: 0002

The per-workspace cache of provider answers (success and no_match only) and the workspace's
provider settings (cache on/off and its TTL).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_response_cache",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=60), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_provider_response_cache_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_response_cache")),
        sa.UniqueConstraint(
            "workspace_id",
            "provider",
            "operation",
            "request_hash",
            name=op.f("uq_provider_response_cache_workspace_id"),
        ),
    )
    op.create_index("ix_provider_response_cache_expires_at", "provider_response_cache", ["expires_at"], unique=False)
    op.create_table(
        "workspace_provider_settings",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("cache_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("cache_ttl_seconds", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("cache_ttl_seconds > 0", name=op.f("ck_workspace_provider_settings_cache_ttl_positive")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_workspace_provider_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspace_provider_settings")),
    )


def downgrade() -> None:
    op.drop_table("workspace_provider_settings")
    op.drop_index("ix_provider_response_cache_expires_at", table_name="provider_response_cache")
    op.drop_table("provider_response_cache")
