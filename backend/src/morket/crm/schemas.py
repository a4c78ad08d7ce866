"""CRM export schemas: connections, the OAuth connect handshake, exports (mappings) and runs."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from morket.models import CrmKind, CrmRunStatus
from morket.tables.query import FilterGroup

# CRM property and field names: HubSpot internal names (lower-case, digits, _) and Salesforce
# API names (Email, Custom__c); anything else cannot be a property.
PROPERTY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
PropertyName = Annotated[str, Field(min_length=1, max_length=100, pattern=PROPERTY_RE.pattern)]


class ConnectStart(BaseModel):
    model_config = ConfigDict(extra="forbid")

    crm: CrmKind


class ConnectStartOut(BaseModel):
    crm: CrmKind
    authorize_url: str = Field(description="send the user's browser here; the CRM redirects back with code and state")
    state: str
    redirect_uri: str
    expires_at: datetime


class ConnectCallback(BaseModel):
    """What the CRM's redirect carried back (the web app's callback page posts it)."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    code: str = Field(min_length=1, max_length=2000, pattern=r"^[\x21-\x7e]+$")
    state: str = Field(min_length=16, max_length=200, pattern=r"^[A-Za-z0-9_\-]+$")


class ConnectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    crm: CrmKind
    instance_url: str | None
    connected: bool = Field(description="its tokens are in the vault")
    created_by: uuid.UUID | None
    refreshed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MappingItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    column_id: uuid.UUID
    property: PropertyName


class ExportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table_id: uuid.UUID
    connection_id: uuid.UUID
    object_type: str = Field(
        min_length=1, max_length=40, description="HubSpot: contacts, companies; Salesforce: Lead, Contact, Account"
    )
    mapping: list[MappingItem] = Field(min_length=1, max_length=200)
    key_property: PropertyName | None = Field(
        default=None,
        description="the upsert key; default email (contacts), domain (companies), Email (Lead, Contact), "
        "Website (Account). It must be one of the mapped properties.",
    )


class ExportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    table_id: uuid.UUID
    connection_id: uuid.UUID
    crm: CrmKind
    object_type: str
    key_property: str
    mapping: list[MappingItem]
    id_column_id: uuid.UUID
    status_column_id: uuid.UUID
    error_column_id: uuid.UUID
    created_by: uuid.UUID | None
    created_at: datetime
    last_run: ExportRunOut | None = Field(default=None, description="the export's newest run, if any")


class ExportRunRequest(BaseModel):
    """Which rows to push. No `row_ids` and no `filter`: every row."""

    model_config = ConfigDict(extra="forbid")

    row_ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(default=None, min_length=1, max_length=50_000)
    filter: FilterGroup | None = None
    force: bool = Field(default=False, description="push rows whose mapped values did not change too")


class ExportRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    export_id: uuid.UUID
    status: CrmRunStatus
    row_count: int
    pushed_count: int
    created_count: int
    updated_count: int
    failed_count: int
    skipped_count: int
    batches: int
    error: str | None
    cancel_requested_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime


class Deleted(BaseModel):
    id: uuid.UUID
    deleted: bool = True


ExportOut.model_rebuild()
