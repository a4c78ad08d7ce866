"""All ORM models, one file per table, imported here so alembic sees them."""

from morket.models.analytics_dead_letter import AnalyticsDeadLetter
from morket.models.api_key import ApiKey, ApiKeyScope
from morket.models.cell_history import CellHistory, CellSource
from morket.models.credential import Credential
from morket.models.credential_access_log import CredentialAccessLog
from morket.models.credit_account import CreditAccount
from morket.models.credit_reservation import CreditReservation
from morket.models.credit_transaction import CreditTransaction, CreditTransactionType
from morket.models.crm import (
    FINAL_CRM_RUN_STATUSES,
    CrmConnection,
    CrmExport,
    CrmExportRecord,
    CrmExportRow,
    CrmExportRun,
    CrmKind,
    CrmOAuthState,
    CrmRowState,
    CrmRunStatus,
)
from morket.models.data_table import DataTable, physical_table_name
from morket.models.enrichment_attempt import EnrichmentAttempt
from morket.models.enrichment_job import EnrichmentJob, JobStatus
from morket.models.enrichment_record import EnrichmentRecord, RecordStatus
from morket.models.http_column_run import FINAL_HTTP_RUN_STATUSES, HttpColumnRun, HttpRunStatus
from morket.models.inbound_endpoint import InboundEndpoint
from morket.models.invitation import Invitation, InvitationStatus
from morket.models.membership import Membership, Role
from morket.models.outbox_event import OutboxConsumer, OutboxEvent, OutboxEventType
from morket.models.provider_cache import ProviderResponseCache
from morket.models.rate_limit_counter import RateLimitCounter
from morket.models.refresh_token import RefreshToken
from morket.models.table_column import ColumnKind, ColumnType, TableColumn, physical_column_name
from morket.models.table_import import ImportStatus, TableImport, TableImportChunk, TableImportReject
from morket.models.token_family import TokenFamily
from morket.models.user import User
from morket.models.webhook_delivery import DeliveryStatus, WebhookDelivery
from morket.models.webhook_delivery_attempt import WebhookDeliveryAttempt
from morket.models.webhook_subscription import WebhookSubscription
from morket.models.workspace import Workspace
from morket.models.workspace_provider_settings import WorkspaceProviderSettings

__all__ = [
    "FINAL_CRM_RUN_STATUSES",
    "FINAL_HTTP_RUN_STATUSES",
    "AnalyticsDeadLetter",
    "ApiKey",
    "ApiKeyScope",
    "CellHistory",
    "CellSource",
    "ColumnKind",
    "ColumnType",
    "Credential",
    "CredentialAccessLog",
    "CreditAccount",
    "CreditReservation",
    "CreditTransaction",
    "CreditTransactionType",
    "CrmConnection",
    "CrmExport",
    "CrmExportRecord",
    "CrmExportRow",
    "CrmExportRun",
    "CrmKind",
    "CrmOAuthState",
    "CrmRowState",
    "CrmRunStatus",
    "DataTable",
    "DeliveryStatus",
    "EnrichmentAttempt",
    "EnrichmentJob",
    "EnrichmentRecord",
    "HttpColumnRun",
    "HttpRunStatus",
    "ImportStatus",
    "InboundEndpoint",
    "Invitation",
    "InvitationStatus",
    "JobStatus",
    "Membership",
    "OutboxConsumer",
    "OutboxEvent",
    "OutboxEventType",
    "ProviderResponseCache",
    "RateLimitCounter",
    "RecordStatus",
    "RefreshToken",
    "Role",
    "TableColumn",
    "TableImport",
    "TableImportChunk",
    "TableImportReject",
    "TokenFamily",
    "User",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookSubscription",
    "Workspace",
    "WorkspaceProviderSettings",
    "physical_column_name",
    "physical_table_name",
]
