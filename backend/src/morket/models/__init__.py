"""All ORM models, one file per table, imported here so alembic sees them."""

from morket.models.membership import Membership, Role
from morket.models.refresh_token import RefreshToken
from morket.models.user import User
from morket.models.workspace import Workspace

__all__ = ["Membership", "RefreshToken", "Role", "User", "Workspace"]
