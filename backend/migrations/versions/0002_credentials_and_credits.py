"""credentials and credits

Revision ID: 0002
Revises: 0001

The credential vault (encrypted provider keys and the access audit log) and the credit ledger
(one lockable account row per workspace and an append-only transaction table).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRANSACTION_TYPES = ("purchase", "debit", "refund", "reservation", "release", "auto_recharge", "adjustment")

# The sign of each change follows from its type; the database refuses anything else.
_AMOUNT_MATCHES_TYPE = (
    "(type IN ('purchase', 'refund', 'auto_recharge') AND amount > 0 AND reserved_delta = 0)"
    " OR (type = 'debit' AND amount < 0 AND reserved_delta <= 0 AND reserved_delta >= amount)"
    " OR (type = 'reservation' AND amount = 0 AND reserved_delta > 0)"
    " OR (type = 'release' AND amount = 0 AND reserved_delta < 0)"
    " OR (type = 'adjustment' AND amount <> 0 AND reserved_delta = 0)"
)

_FORBID_CHANGES = """
CREATE FUNCTION morket_forbid_update_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("key_hint", sa.String(length=4), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("octet_length(nonce) = 12", name=op.f("ck_credentials_nonce_is_96_bits")),
        sa.CheckConstraint("key_version >= 1", name=op.f("ck_credentials_key_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_credentials_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_credentials_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
    )
    op.create_index(
        "ix_credentials_workspace_id_provider", "credentials", ["workspace_id", "provider", "created_at"], unique=False
    )
    op.create_index(op.f("ix_credentials_key_version"), "credentials", ["key_version"], unique=False)

    op.create_table(
        "credential_access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_access_log")),
    )
    op.create_index(
        "ix_credential_access_log_workspace_id_created_at",
        "credential_access_log",
        ["workspace_id", "created_at"],
        unique=False,
    )

    op.create_table(
        "credit_accounts",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("reserved", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("auto_recharge_enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("auto_recharge_threshold", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("auto_recharge_amount", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("auto_recharge_armed", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_credit_accounts_balance_nonnegative")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_credit_accounts_reserved_nonnegative")),
        sa.CheckConstraint("reserved <= balance", name=op.f("ck_credit_accounts_available_nonnegative")),
        sa.CheckConstraint(
            "auto_recharge_threshold >= 0 AND auto_recharge_amount >= 0",
            name=op.f("ck_credit_accounts_auto_recharge_nonnegative"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_credit_accounts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_credit_accounts")),
    )

    op.create_table(
        "credit_transactions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        # No foreign key to the workspace: the ledger is kept when a workspace is deleted.
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.Enum(*_TRANSACTION_TYPES, name="credit_transaction_type"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("reserved_after", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("refund_of", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "balance_after >= 0 AND reserved_after >= 0 AND reserved_after <= balance_after",
            name=op.f("ck_credit_transactions_balances_nonnegative"),
        ),
        sa.CheckConstraint(_AMOUNT_MATCHES_TYPE, name=op.f("ck_credit_transactions_amount_matches_type")),
        sa.ForeignKeyConstraint(
            ["refund_of"],
            ["credit_transactions.id"],
            name=op.f("fk_credit_transactions_refund_of_credit_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_transactions")),
        sa.UniqueConstraint("seq", name=op.f("uq_credit_transactions_seq")),
    )
    op.create_index(
        "ix_credit_transactions_workspace_id_seq", "credit_transactions", ["workspace_id", "seq"], unique=False
    )
    op.create_index(
        "uq_credit_transactions_workspace_id_idempotency_key",
        "credit_transactions",
        ["workspace_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(
        "ix_credit_transactions_workspace_id_job_id",
        "credit_transactions",
        ["workspace_id", "job_id"],
        unique=False,
        postgresql_where=sa.text("job_id IS NOT NULL"),
    )
    op.create_index(
        "ix_credit_transactions_refund_of",
        "credit_transactions",
        ["refund_of"],
        unique=False,
        postgresql_where=sa.text("refund_of IS NOT NULL"),
    )

    op.create_table(
        "credit_reservations",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("held", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("held >= 0", name=op.f("ck_credit_reservations_held_nonnegative")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["credit_accounts.workspace_id"],
            name=op.f("fk_credit_reservations_workspace_id_credit_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "job_id", name=op.f("pk_credit_reservations")),
    )

    op.execute(_FORBID_CHANGES)
    for table in ("credit_transactions", "credential_access_log"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION morket_forbid_update_delete()"
        )


def downgrade() -> None:
    for table in ("credit_transactions", "credential_access_log"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    op.execute("DROP FUNCTION IF EXISTS morket_forbid_update_delete()")
    op.drop_index("ix_credit_transactions_refund_of", table_name="credit_transactions")
    op.drop_index("ix_credit_transactions_workspace_id_job_id", table_name="credit_transactions")
    op.drop_index("uq_credit_transactions_workspace_id_idempotency_key", table_name="credit_transactions")
    op.drop_index("ix_credit_transactions_workspace_id_seq", table_name="credit_transactions")
    op.drop_table("credit_transactions")
    op.drop_table("credit_reservations")
    op.drop_table("credit_accounts")
    op.drop_index("ix_credential_access_log_workspace_id_created_at", table_name="credential_access_log")
    op.drop_table("credential_access_log")
    op.drop_index(op.f("ix_credentials_key_version"), table_name="credentials")
    op.drop_index("ix_credentials_workspace_id_provider", table_name="credentials")
    op.drop_table("credentials")
    sa.Enum(name="credit_transaction_type").drop(op.get_bind(), checkfirst=True)
