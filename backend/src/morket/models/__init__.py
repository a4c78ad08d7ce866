"""All ORM models, one file per table, imported here so alembic sees them."""

from morket.models.credential import Credential
from morket.models.credential_access_log import CredentialAccessLog
from morket.models.credit_account import CreditAccount
from morket.models.credit_reservation import CreditReservation
from morket.models.credit_transaction import CreditTransaction, CreditTransactionType
from morket.models.enrichment_attempt import EnrichmentAttempt
from morket.models.enrichment_job import EnrichmentJob, JobStatus
from morket.models.enrichment_record import EnrichmentRecord, RecordStatus
from morket.models.membership import Membership, Role
from morket.models.provider_cache import ProviderResponseCache
from morket.models.rate_limit_counter import RateLimitCounter
from morket.models.refresh_token import RefreshToken
from morket.models.token_family import TokenFamily
from morket.models.user import User
from morket.models.webhook_delivery import DeliveryStatus, WebhookDelivery
from morket.models.webhook_delivery_attempt import WebhookDeliveryAttempt
from morket.models.webhook_subscription import WebhookSubscription
from morket.models.workspace import Workspace
from morket.models.workspace_provider_settings import WorkspaceProviderSettings

__all__ = [
    "Credential",
    "CredentialAccessLog",
    "CreditAccount",
    "CreditReservation",
    "CreditTransaction",
    "CreditTransactionType",
    "DeliveryStatus",
    "EnrichmentAttempt",
    "EnrichmentJob",
    "EnrichmentRecord",
    "JobStatus",
    "Membership",
    "ProviderResponseCache",
    "RateLimitCounter",
    "RecordStatus",
    "RefreshToken",
    "Role",
    "TokenFamily",
    "User",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookSubscription",
    "Workspace",
    "WorkspaceProviderSettings",
]
