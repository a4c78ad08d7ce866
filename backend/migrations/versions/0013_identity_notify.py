"""identity notify: every change that can end or narrow access announces itself (NOTIFY morket_identity)

The API processes cache who a token is for a few seconds (auth/identity_cache.py) and empty that
cache whenever this channel speaks. PostgreSQL delivers a NOTIFY when the writing transaction
commits, so every process hears of a revocation before the revoking request has answered. The
triggers sit on the tables, so no write path (ORM, Core, SQL by hand) can forget to announce.

Revision ID: 0013
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Inserts into users, token_families and workspaces are new identities nobody has cached; a new
# membership is announced too (a non-member's answer is not cached, so this is only belt and braces).
_EVENTS = {
    "users": "UPDATE OR DELETE OR TRUNCATE",
    "token_families": "UPDATE OR DELETE OR TRUNCATE",
    "memberships": "INSERT OR UPDATE OR DELETE OR TRUNCATE",
    "workspaces": "DELETE OR TRUNCATE",
}


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION morket_identity_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('morket_identity', '');
            RETURN NULL;
        END
        $$
        """
    )
    for table, events in _EVENTS.items():
        op.execute(
            f"CREATE TRIGGER {table}_identity_changed AFTER {events} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION morket_identity_changed()"
        )


def downgrade() -> None:
    for table in _EVENTS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_identity_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS morket_identity_changed()")
