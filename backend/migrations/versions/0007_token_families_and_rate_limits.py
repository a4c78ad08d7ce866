"""token families and shared rate-limit counters

Revision ID: 0007
Revises: 0004

A row per login (refresh-token family) whose `revoked_at` ends every access token of that login
on the next request (logout, reuse detection), and the counters of the PostgreSQL rate limiter
that every API process shares when there is no Redis.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "token_families",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_token_families_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token_families")),
    )
    op.create_index(op.f("ix_token_families_user_id"), "token_families", ["user_id"], unique=False)
    # Families of the tokens issued before this revision; a family with a revoked token was ended.
    op.execute(
        """
        INSERT INTO token_families (id, user_id, created_at, revoked_at)
        SELECT family_id, min(user_id::text)::uuid, min(created_at),
               CASE WHEN bool_or(revoked_at IS NOT NULL) THEN max(revoked_at) END
        FROM refresh_tokens GROUP BY family_id
        """
    )
    op.create_foreign_key(
        op.f("fk_refresh_tokens_family_id_token_families"),
        "refresh_tokens",
        "token_families",
        ["family_id"],
        ["id"],
        ondelete="CASCADE",
    )
    # Unlogged: counters of the last minute are not worth WAL; a crash merely resets them.
    op.create_table(
        "rate_limit_counters",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_counters")),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("rate_limit_counters")
    op.drop_constraint(op.f("fk_refresh_tokens_family_id_token_families"), "refresh_tokens", type_="foreignkey")
    op.drop_index(op.f("ix_token_families_user_id"), table_name="token_families")
    op.drop_table("token_families")
