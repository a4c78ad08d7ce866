"""Business rules of CRM export (docs/crm.md): connect (OAuth), keep tokens fresh, define
exports, start and follow runs (API side), and take, push and settle batches (worker side).

A run's rows are `crm_export_rows`; the workflow's activity takes the next queued ones in row id
order, skips those whose mapped values hash to what the CRM already has from this export,
pushes the rest as one batch upsert, and settles them (row states, write-back cells, records,
counters) in one transaction. A batch retried after a crash or a lost answer pushes the same
rows again: the upsert is keyed on email/domain, so the CRM updates what it created.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client

from morket.columns.repository import ColumnsRepository
from morket.core.config import Settings
from morket.core.errors import AppError, BadRequest, Conflict, NotFound, Unprocessable
from morket.credentials.service import CredentialService
from morket.crm.adapters import adapter_for
from morket.crm.adapters.base import CrmAdapter, CrmEndpoints, RecordResult, TokenRefused, TokenSet, UpsertRecord
from morket.crm.repository import CrmRepository
from morket.crm.schemas import (
    ConnectCallback,
    ConnectionOut,
    ConnectStartOut,
    ExportCreate,
    ExportOut,
    ExportRunOut,
    ExportRunRequest,
    MappingItem,
)
from morket.crm.workflows import CRM_RUN_WORKFLOW
from morket.models import (
    CellSource,
    ColumnType,
    CrmConnection,
    CrmExport,
    CrmExportRun,
    CrmKind,
    CrmOAuthState,
    CrmRowState,
    CrmRunStatus,
    OutboxEventType,
    TableColumn,
)
from morket.outbox.service import OutboxService
from morket.runs import lifecycle
from morket.runs.repository import RunRepository
from morket.tables.schemas import ColumnCreate
from morket.tables.service import RowService, TableService
from morket.tables.types import TEXT_LIKE

STATE_TTL = timedelta(minutes=10)
# How many queued rows a batch looks at to fill itself (the rest may be unchanged, skipped).
SCAN_FACTOR = 5


class CrmUnreachable(AppError):
    status_code = 502
    code = "crm_unreachable"


class ConnectionBroken(Exception):
    """The connection's tokens are gone or refused: the run stops and asks for a reconnect."""


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def workflow_id_of(run_id: uuid.UUID) -> str:
    return f"crm-export-run-{run_id}"


def content_hash(export: CrmExport, properties: Mapping[str, Any]) -> str:
    """The hash of what a row would push to this export's object: equal hashes, nothing to push."""
    payload = {"object": export.object_type, "key": export.key_property, "properties": properties}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def connection_out(connection: CrmConnection) -> ConnectionOut:
    return ConnectionOut(
        id=connection.id,
        crm=connection.crm,
        instance_url=connection.instance_url,
        connected=connection.credential_id is not None,
        created_by=connection.created_by,
        refreshed_at=connection.refreshed_at,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )


def export_out(export: CrmExport, crm: CrmKind, last_run: CrmExportRun | None = None) -> ExportOut:
    return ExportOut(
        id=export.id,
        table_id=export.table_id,
        connection_id=export.connection_id,
        crm=crm,
        object_type=export.object_type,
        key_property=export.key_property,
        mapping=[MappingItem.model_validate(m) for m in export.mapping],
        id_column_id=export.id_column_id,
        status_column_id=export.status_column_id,
        error_column_id=export.error_column_id,
        created_by=export.created_by,
        created_at=export.created_at,
        last_run=None if last_run is None else ExportRunOut.model_validate(last_run),
    )


@dataclass
class BatchWork:
    """One batch's records and what pushing them needs (tokens only in memory)."""

    run: CrmExportRun
    export: CrmExport | None = None
    crm: CrmKind | None = None
    connection_id: uuid.UUID | None = None
    records: list[UpsertRecord] = field(default_factory=list)
    hashes: dict[int, str] = field(default_factory=dict)
    tokens: TokenSet | None = field(default=None, repr=False)
    finished: bool = False
    error: str | None = None


class CrmConnectionService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = CrmRepository(session)
        self.credentials = CredentialService(session, settings)

    def _endpoints(self, adapter: CrmAdapter) -> CrmEndpoints:
        endpoints = adapter.endpoints(self.settings)
        if not endpoints.client_id or not endpoints.client_secret:
            raise Unprocessable(
                f"{adapter.label} is not configured on this server (its OAuth client id and secret).",
                code="crm_not_configured",
            )
        return endpoints

    async def start_connect(self, workspace_id: uuid.UUID, user_id: uuid.UUID, crm: CrmKind) -> ConnectStartOut:
        """A one-time `state` bound to the workspace and the user, and the CRM's authorize URL."""
        adapter = adapter_for(crm)
        endpoints = self._endpoints(adapter)
        now = datetime.now(UTC)
        await self.repo.drop_expired_states(now)
        state = secrets.token_urlsafe(32)
        redirect_uri = self.settings.crm_redirect_uri
        await self.repo.add(
            CrmOAuthState(
                workspace_id=workspace_id,
                user_id=user_id,
                crm=crm,
                state_hash=_state_hash(state),
                redirect_uri=redirect_uri,
                expires_at=now + STATE_TTL,
            )
        )
        return ConnectStartOut(
            crm=crm,
            authorize_url=adapter.authorize_url(endpoints, state, redirect_uri),
            state=state,
            redirect_uri=redirect_uri,
            expires_at=now + STATE_TTL,
        )

    async def complete_connect(
        self, workspace_id: uuid.UUID, user_id: uuid.UUID, body: ConnectCallback, http: httpx.AsyncClient
    ) -> ConnectionOut:
        """Trade the code for tokens and store them in the vault (a reconnect replaces them)."""
        row = await self.repo.take_state(workspace_id, user_id, _state_hash(body.state))
        if row is None or row.expires_at < datetime.now(UTC):
            raise BadRequest(
                "This connect request is unknown, expired, already used or another user's; start again.",
                code="invalid_oauth_state",
            )
        adapter = adapter_for(row.crm)
        endpoints = self._endpoints(adapter)
        try:
            tokens = await adapter.exchange_code(http, endpoints, body.code, row.redirect_uri)
        except TokenRefused as exc:
            raise BadRequest(
                f"{adapter.label} refused the authorization code: {exc}", code="oauth_code_refused"
            ) from None
        except ConnectionError as exc:
            raise CrmUnreachable(f"{adapter.label} could not be reached: {exc}") from None
        connection = await self.repo.connection_of(workspace_id, row.crm, lock=True)
        if connection is None:
            connection = CrmConnection(id=uuid.uuid4(), workspace_id=workspace_id, crm=row.crm, created_by=user_id)
            await self.repo.add(connection)
        connection.credential_id = await self._store(connection, tokens, user_id)
        connection.instance_url = tokens.instance_url
        connection.refreshed_at = datetime.now(UTC)
        await self.session.flush()
        await self.session.refresh(connection)
        return connection_out(connection)

    async def _store(self, connection: CrmConnection, tokens: TokenSet, user_id: uuid.UUID | None) -> uuid.UUID:
        return await self.credentials.store_secret(
            connection.workspace_id,
            user_id,
            connection.credential_id,
            provider=connection.crm.value,
            name=f"{connection.crm.value} connection",
            secret=tokens.access_token,
            extra=tokens.as_extra(),
        )

    async def list_all(self, workspace_id: uuid.UUID) -> list[ConnectionOut]:
        return [connection_out(c) for c in await self.repo.connections(workspace_id)]

    async def delete(self, workspace_id: uuid.UUID, connection_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Forget the connection, its tokens and its exports (runs in flight stop at their next batch)."""
        connection = await self.repo.connection(workspace_id, connection_id, lock=True)
        if connection is None:
            raise NotFound("Connection not found.")
        if connection.credential_id is not None:
            await self.credentials.delete(workspace_id, connection.credential_id, user_id)
        await self.repo.delete(connection)

    # -- tokens (worker side) ---------------------------------------------------------------------

    async def tokens(self, workspace_id: uuid.UUID, connection_id: uuid.UUID) -> TokenSet:
        connection = await self.repo.connection(workspace_id, connection_id)
        if connection is None or connection.credential_id is None:
            raise ConnectionBroken("the CRM connection was deleted; connect again")
        secret = await self.credentials.get_decrypted_by_id(workspace_id, connection.credential_id)
        if secret is None:
            raise ConnectionBroken("the CRM connection's tokens were deleted; connect again")
        return TokenSet.from_vault(secret.api_key, secret.extra)

    async def refresh(
        self, workspace_id: uuid.UUID, connection_id: uuid.UUID, stale: TokenSet, http: httpx.AsyncClient
    ) -> TokenSet:
        """New tokens for a connection whose access token `stale` expired, persisted in the vault.

        The connection row is locked while refreshing: runs refreshing at once get one refresh,
        the later ones find the access token already replaced and use it."""
        connection = await self.repo.connection(workspace_id, connection_id, lock=True)
        if connection is None or connection.credential_id is None:
            raise ConnectionBroken("the CRM connection was deleted; connect again")
        current = await self.tokens(workspace_id, connection_id)
        if current.access_token != stale.access_token and not current.expiring():
            return current
        adapter = adapter_for(connection.crm)
        try:
            fresh = await adapter.refresh(http, self._endpoints(adapter), current)
        except TokenRefused as exc:
            raise ConnectionBroken(
                f"{adapter.label} refused to refresh the connection ({exc}); connect again"
            ) from None
        connection.credential_id = await self._store(connection, fresh, None)
        connection.instance_url = fresh.instance_url or connection.instance_url
        connection.refreshed_at = datetime.now(UTC)
        await self.session.flush()
        return fresh


class CrmExportService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = CrmRepository(session)
        self.runs = RunRepository(session, CrmExportRun)
        self.tables = TableService(session)
        self.outbox = OutboxService(session)

    # -- exports ----------------------------------------------------------------------------------

    async def create(self, workspace_id: uuid.UUID, user_id: uuid.UUID, body: ExportCreate) -> ExportOut:
        connection = await self.repo.connection(workspace_id, body.connection_id)
        if connection is None:
            raise NotFound("Connection not found.")
        adapter = adapter_for(connection.crm)
        columns = await self.tables.columns(workspace_id, body.table_id)
        by_id = {c.id: c for c in columns}
        problems: list[dict[str, str]] = []
        if body.object_type not in adapter.objects:
            problems.append(
                {
                    "field": "object_type",
                    "message": f"{adapter.label} objects are {', '.join(adapter.objects)}",
                }
            )
        seen: set[str] = set()
        for index, item in enumerate(body.mapping):
            if item.column_id not in by_id:
                problems.append({"field": f"mapping.{index}.column_id", "message": "no such column in the table"})
            if item.property.lower() in seen:
                problems.append({"field": f"mapping.{index}.property", "message": "mapped twice"})
            seen.add(item.property.lower())
        key = body.key_property or adapter.objects.get(body.object_type)
        if key is not None and key.lower() not in seen:
            problems.append({"field": "key_property", "message": f"no column is mapped to the upsert key {key!r}"})
        if problems or key is None:
            raise Unprocessable("The export's mapping is not valid.", code="invalid_mapping", details=problems)
        key = next(m.property for m in body.mapping if m.property.lower() == key.lower())
        result_columns = [
            await self._result_column(
                workspace_id, body.table_id, columns, f"{adapter.label} {body.object_type} {part}"
            )
            for part in ("id", "status", "error")
        ]
        export = CrmExport(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            table_id=body.table_id,
            connection_id=connection.id,
            object_type=body.object_type,
            key_property=key,
            mapping=[m.model_dump(mode="json") for m in body.mapping],
            id_column_id=result_columns[0],
            status_column_id=result_columns[1],
            error_column_id=result_columns[2],
            created_by=user_id,
        )
        await self.repo.add(export)
        await self.session.refresh(export)
        return export_out(export, connection.crm)

    async def _result_column(
        self, workspace_id: uuid.UUID, table_id: uuid.UUID, columns: list[TableColumn], name: str
    ) -> uuid.UUID:
        """A text column named `name`: the table's own if it has one (an earlier export's), else a new one."""
        existing = next((c for c in columns if c.name.casefold() == name.casefold()), None)
        if existing is not None:
            if existing.type not in TEXT_LIKE:
                raise Conflict(
                    f"The table has a column {name!r} that is not text; rename it to export.",
                    code="result_column_conflict",
                )
            return existing.id
        created = await self.tables.add_column(workspace_id, table_id, ColumnCreate(name=name, type=ColumnType.TEXT))
        return created.id

    async def _export(self, workspace_id: uuid.UUID, export_id: uuid.UUID) -> tuple[CrmExport, CrmConnection]:
        export = await self.repo.export(workspace_id, export_id)
        connection = None if export is None else await self.repo.connection(workspace_id, export.connection_id)
        if export is None or connection is None:
            raise NotFound("Export not found.")
        return export, connection

    async def get(self, workspace_id: uuid.UUID, export_id: uuid.UUID) -> ExportOut:
        export, connection = await self._export(workspace_id, export_id)
        last = await self.repo.last_runs([export.id])
        return export_out(export, connection.crm, last.get(export.id))

    async def list_all(self, workspace_id: uuid.UUID, table_id: uuid.UUID | None) -> list[ExportOut]:
        crm = {c.id: c.crm for c in await self.repo.connections(workspace_id)}
        exports = await self.repo.exports(workspace_id, table_id)
        last = await self.repo.last_runs([e.id for e in exports])
        return [export_out(e, crm[e.connection_id], last.get(e.id)) for e in exports]

    async def delete(self, workspace_id: uuid.UUID, export_id: uuid.UUID) -> None:
        """The export and its runs; the result columns stay (they are the table's data now)."""
        export, _ = await self._export(workspace_id, export_id)
        await self.repo.delete(export)

    # -- runs (API side) --------------------------------------------------------------------------

    async def start_run(
        self, workspace_id: uuid.UUID, user_id: uuid.UUID, export_id: uuid.UUID, body: ExportRunRequest
    ) -> tuple[ExportRunOut, CrmExportRun | None]:
        """Queue the selected rows and record the run; the caller commits, then starts the
        workflow (`start_workflow`). No row selected: a completed run and no workflow."""
        export, connection = await self._export(workspace_id, export_id)
        if connection.credential_id is None:
            raise Conflict("The CRM connection has no tokens; connect again.", code="crm_not_connected")
        if await self.repo.active_run(export.id) is not None:
            raise Conflict("A run of this export is in progress; cancel it or wait.", code="run_in_progress")
        columns = await self.tables.columns(workspace_id, export.table_id)
        rows = [
            r
            for r, _ in await ColumnsRepository(self.session).run_rows(
                export.table_id, columns, body.filter, body.row_ids, []
            )
        ]
        run = CrmExportRun(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            export_id=export.id,
            status=CrmRunStatus.QUEUED if rows else CrmRunStatus.COMPLETED,
            row_count=len(rows),
            pushed_count=0,
            created_count=0,
            updated_count=0,
            failed_count=0,
            skipped_count=0,
            batches=0,
            force=body.force,
            created_by=user_id,
            finished_at=None if rows else datetime.now(UTC),
        )
        run.workflow_id = workflow_id_of(run.id)
        await self.repo.add(run)
        await self.repo.queue_rows(run.id, rows)
        await self._event(run, export, connection.crm)
        await self.session.refresh(run)
        return ExportRunOut.model_validate(run), (run if rows else None)

    async def start_workflow(self, client: Client, run: CrmExportRun) -> None:
        await lifecycle.start_workflow(client, self.settings, CRM_RUN_WORKFLOW, run)

    async def get_run(self, workspace_id: uuid.UUID, run_id: uuid.UUID) -> ExportRunOut:
        return ExportRunOut.model_validate(await lifecycle.find(self.runs, workspace_id, run_id))

    async def cancel_run(self, workspace_id: uuid.UUID, run_id: uuid.UUID) -> ExportRunOut:
        """Ask the run to stop: no batch starts after this; rows not pushed show `cancelled`."""
        return ExportRunOut.model_validate(await lifecycle.cancel(self.runs, workspace_id, run_id))

    async def _event(self, run: CrmExportRun, export: CrmExport, crm: CrmKind) -> None:
        payload = ExportRunOut.model_validate(run).model_dump(mode="json") | {
            "crm": crm.value,
            "object_type": export.object_type,
            "table_id": str(export.table_id),
        }
        await self.outbox.emit(
            run.workspace_id, OutboxEventType.CRM_EXPORT_RUN, str(run.id), payload, table_id=export.table_id
        )

    # -- worker side ------------------------------------------------------------------------------

    async def begin_batch(self, run_id: uuid.UUID) -> BatchWork:
        """The next batch: queued rows in row id order, minus those unchanged since their last
        push (skipped) and those without a key (failed), up to the CRM's batch size."""
        run = await self.runs.get_for_worker(run_id, lock=True)
        if run is None:
            return BatchWork(run=CrmExportRun(id=run_id), finished=True, error="the run no longer exists")
        work = BatchWork(run=run)
        if lifecycle.is_final(run) or run.cancel_requested_at is not None:
            work.finished = True
            return work
        export = await self.repo.export(run.workspace_id, run.export_id)
        connection = None if export is None else await self.repo.connection(run.workspace_id, export.connection_id)
        if export is None or connection is None:
            work.finished, work.error = True, "the export or its connection was deleted"
            return work
        work.export, work.crm, work.connection_id = export, connection.crm, connection.id
        try:
            columns = await self.tables.columns(run.workspace_id, export.table_id)
        except NotFound:
            work.finished, work.error = True, "the table was deleted"
            return work
        adapter = adapter_for(connection.crm)
        by_id = {c.id: c for c in columns}
        mapping = [(uuid.UUID(m["column_id"]), str(m["property"])) for m in export.mapping]
        if any(column_id not in by_id for column_id, _ in mapping):
            work.finished, work.error = True, "a mapped column was deleted; fix the export's mapping"
            return work
        queued = await self.repo.queued_rows(run.id, adapter.batch_limit * SCAN_FACTOR)
        if not queued:
            work.finished = True
            return work
        read = [by_id[column_id] for column_id, _ in mapping]
        found = dict(await ColumnsRepository(self.session).run_rows(export.table_id, columns, None, queued, read))
        known = {} if run.force else await self.repo.hashes(export.id, queued)
        settled: dict[int, CrmRowState] = {}
        failures: dict[int, str] = {}
        keys: set[str] = set()
        for row_id in queued:
            if len(work.records) >= adapter.batch_limit:
                break
            cells = found.get(row_id)
            if cells is None:  # deleted since the run started
                settled[row_id] = CrmRowState.SKIPPED
                continue
            properties = {prop: cells[column_id] for column_id, prop in mapping}
            key = properties.get(export.key_property)
            key_text = str(key).strip() if key not in (None, "", []) else ""
            if not key_text:
                settled[row_id] = CrmRowState.FAILED
                failures[row_id] = f"no {export.key_property} value to upsert on"
                continue
            digest = content_hash(export, properties)
            if known.get(row_id) == digest:
                settled[row_id] = CrmRowState.SKIPPED
                continue
            if key_text.lower() in keys:  # the same key twice in one batch: the next batch takes it
                continue
            keys.add(key_text.lower())
            values = {p: v for p, v in properties.items() if v not in (None, "", []) and p != export.key_property}
            work.records.append(UpsertRecord(row_id=row_id, key=key_text, properties=values))
            work.hashes[row_id] = digest
        if lifecycle.mark_running(run):
            await self._event(run, export, connection.crm)
        if settled:
            await self.repo.set_row_states(run.id, settled)
            await self.repo.add_counts(run.id, Counter(settled.values()))
        if failures:
            await self._write_back(
                export, {r: RecordResult(r, CrmRowState.FAILED, error=message) for r, message in failures.items()}
            )
        if work.records:
            try:
                work.tokens = await CrmConnectionService(self.session, self.settings).tokens(
                    run.workspace_id, connection.id
                )
            except ConnectionBroken as exc:
                work.finished, work.error, work.records = True, str(exc), []
        await self.session.flush()
        return work

    async def save_batch(self, work: BatchWork, results: list[RecordResult]) -> None:
        """Row states, write-back cells, records (hash + CRM id) and counters of a pushed batch."""
        export = work.export
        if export is None or not results:
            return
        await self.repo.set_row_states(work.run.id, {r.row_id: r.state for r in results})
        await self.repo.save_records(
            export.id,
            {
                r.row_id: (work.hashes[r.row_id], r.crm_id)
                for r in results
                if r.crm_id and r.state is not CrmRowState.FAILED
            },
        )
        await self._write_back(export, {r.row_id: r for r in results})
        await self.repo.add_counts(work.run.id, Counter(r.state for r in results), batches=1)

    async def _write_back(self, export: CrmExport, results: Mapping[int, RecordResult]) -> None:
        values: dict[int, dict[uuid.UUID, Any]] = {}
        for row_id, result in results.items():
            cells: dict[uuid.UUID, Any] = {
                export.status_column_id: result.state.value,
                export.error_column_id: result.error,
            }
            if result.crm_id:
                cells[export.id_column_id] = result.crm_id
            values[row_id] = cells
        await RowService(self.session).write_computed(
            export.workspace_id, export.table_id, values, source=CellSource.CRM
        )

    async def finish(self, run_id: uuid.UUID, error: str | None) -> CrmRunStatus | None:
        """Settle the run: completed, cancelled (cancel asked) or failed (`error`); rows it did not
        reach show `cancelled` (or `failed`). Idempotent."""
        run = await self.runs.get_for_worker(run_id, lock=True)
        if run is None:
            return None
        if not lifecycle.close(run, error):
            return run.status
        left = await self.repo.settle_queued(run.id, CrmRowState.CANCELLED if error is None else CrmRowState.FAILED)
        if error is not None and left:
            await self.repo.add_counts(run.id, {CrmRowState.FAILED: left})
        await self.session.flush()
        await self.session.refresh(run)
        export = await self.repo.export(run.workspace_id, run.export_id)
        connection = None if export is None else await self.repo.connection(run.workspace_id, export.connection_id)
        if export is not None and connection is not None:
            await self._event(run, export, connection.crm)
        return run.status
