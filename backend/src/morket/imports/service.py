"""Business rules of imports: upload and preview, commit, the background run, rejects.

The uploaded file is stored in PostgreSQL in 1 MiB chunks (`table_import_chunks`) as it arrives,
so any worker process can read it back with nothing shared but the database; the worker spools it
to a temporary file (openpyxl needs a seekable file) and streams rows from there. The run writes
one batch of rows per transaction together with its rejects and the line it reached, so a worker
that dies resumes after the last committed batch without writing a row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from morket.core.config import Settings
from morket.core.db import unit_of_work
from morket.core.errors import AppError, Conflict, NotFound, Unprocessable
from morket.imports.convert import convert_column
from morket.imports.pipeline import FileRows, Overrides, Preview, UnreadableFile, build_preview
from morket.imports.reader import FileFormat, ReadOptions, RejectedRow, RejectReason, SourceRow
from morket.imports.repository import ImportsRepository
from morket.imports.schemas import (
    ColumnMapping,
    ImportCommit,
    ImportOut,
    ImportProgress,
    ImportTargetMode,
    PreviewColumnOut,
    PreviewOptions,
    PreviewOut,
    ProblemOut,
    RejectOut,
)
from morket.imports.workflows import TableImportInput, TableImportWorkflow, workflow_id_for
from morket.models import CellSource, ColumnType, ImportStatus, TableImport
from morket.tables.bulk import BulkRowService
from morket.tables.dedupe import Normalization
from morket.tables.dedupe_service import DedupeRule, DedupeService
from morket.tables.schemas import ColumnCreate, TableCreate
from morket.tables.service import RowService, TableService

CHUNK_BYTES = 1024 * 1024
UNSTARTED_AFTER = timedelta(seconds=30)


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class ImportFailed(Exception):
    """The run cannot go on (the table is gone, too many rows rejected); the message says why."""


@dataclass(frozen=True)
class MappedColumn:
    source: int
    column_id: str
    name: str  # the table column's, for reject messages


@dataclass(frozen=True)
class ImportPlan:
    """What the worker needs, stored on the import at commit (JSON)."""

    read: dict[str, Any]
    table_id: str
    new_table: bool
    columns: list[dict[str, Any]]  # MappedColumn as dicts
    key_column_id: str | None
    dedupe: dict[str, Any] | None


def _preview_out(preview: Preview) -> dict[str, Any]:
    options = preview.options
    csv = options.format is FileFormat.CSV
    out = PreviewOut(
        format=options.format,
        encoding=options.encoding if csv else None,
        delimiter=options.delimiter if csv else None,
        has_header=options.has_header,
        sheet=options.sheet,
        sheets=preview.sheets,
        columns=[PreviewColumnOut(index=c.index, name=c.name, type=c.type) for c in preview.columns],
        sample_rows=preview.sample_rows,
        scanned_rows=preview.scanned_rows,
        problems=[ProblemOut(code=p.code, message=p.message, line=p.line) for p in preview.problems],
    )
    return out.model_dump(mode="json")


def import_out(item: TableImport) -> ImportOut:
    status = ImportStatus(item.status)
    if status is ImportStatus.COMPLETED:
        fraction = 1.0
    elif item.size_bytes:
        fraction = min(item.bytes_read / item.size_bytes, 0.99)
    else:
        fraction = 0.0
    return ImportOut(
        id=item.id,
        workspace_id=item.workspace_id,
        filename=item.filename,
        size_bytes=item.size_bytes,
        status=status,
        preview=PreviewOut.model_validate(item.preview) if item.preview else None,
        plan=item.plan,
        table_id=item.table_id,
        progress=ImportProgress(
            bytes_read=item.bytes_read,
            size_bytes=item.size_bytes,
            rows_read=item.rows_read,
            rows_inserted=item.rows_inserted,
            rows_updated=item.rows_updated,
            rows_rejected=item.rows_rejected,
            rows_merged=item.rows_merged,
            fraction=round(fraction, 4),
        ),
        error=item.error,
        created_at=item.created_at,
        started_at=item.started_at,
        finished_at=item.finished_at,
    )


class ImportService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.repo = ImportsRepository(session)

    async def _get(self, workspace_id: uuid.UUID, import_id: uuid.UUID, *, lock: bool = False) -> TableImport:
        item = await self.repo.get(workspace_id, import_id, lock=lock)
        if item is None:
            raise NotFound("Import not found.")
        return item

    # upload and preview -------------------------------------------------------------------------

    async def upload(
        self, workspace_id: uuid.UUID, actor_id: uuid.UUID, filename: str, body: AsyncIterator[bytes]
    ) -> ImportOut:
        """Store the body as it arrives (1 MiB chunks), then preview it; 413 past the size limit."""
        limit = self.settings.import_max_upload_bytes
        item = await self.repo.add(
            TableImport(id=uuid.uuid4(), workspace_id=workspace_id, created_by=actor_id, filename=filename, preview={})
        )
        with _temp_file() as (path, handle):
            size = 0
            seq = 0
            pending = bytearray()
            async for part in body:
                size += len(part)
                if size > limit:
                    raise PayloadTooLarge(
                        f"The file is larger than the {limit} byte limit.", details={"limit_bytes": limit}
                    )
                handle.write(part)
                pending += part
                while len(pending) >= CHUNK_BYTES:
                    await self.repo.add_chunk(item.id, seq, bytes(pending[:CHUNK_BYTES]))
                    del pending[:CHUNK_BYTES]
                    seq += 1
            if pending:
                await self.repo.add_chunk(item.id, seq, bytes(pending))
            handle.flush()
            if size == 0:
                raise Unprocessable("The file is empty.", code="empty_file")
            item.size_bytes = size
            item.preview = await self._preview(path, filename, Overrides())
        await self.session.flush()
        return import_out(item)

    async def _preview(self, path: str, filename: str, overrides: Overrides) -> dict[str, Any]:
        try:
            preview = await asyncio.to_thread(build_preview, path, filename, overrides)
        except UnreadableFile as exc:
            raise Unprocessable(str(exc), code="unreadable_file") from None
        return _preview_out(preview)

    async def repreview(self, workspace_id: uuid.UUID, import_id: uuid.UUID, body: PreviewOptions) -> ImportOut:
        """Preview again with the user's overrides (encoding, delimiter, header, sheet)."""
        item = await self._get(workspace_id, import_id, lock=True)
        if ImportStatus(item.status) is not ImportStatus.UPLOADED:
            raise Conflict("The import is already committed.", code="import_committed")
        async with self._spooled(item) as path:
            item.preview = await self._preview(path, item.filename, _overrides(body))
        await self.session.flush()
        return import_out(item)

    @contextlib.asynccontextmanager
    async def _spooled(self, item: TableImport) -> AsyncIterator[str]:
        with _temp_file() as (path, handle):
            async for chunk in self.repo.chunks(item.id):
                handle.write(chunk)
            handle.flush()
            yield path

    # reading ------------------------------------------------------------------------------------

    async def get(self, workspace_id: uuid.UUID, import_id: uuid.UUID) -> ImportOut:
        return import_out(await self._get(workspace_id, import_id))

    async def list_imports(self, workspace_id: uuid.UUID, offset: int, limit: int) -> tuple[list[ImportOut], int]:
        items, total = await self.repo.list_imports(workspace_id, offset, limit)
        return [import_out(i) for i in items], total

    async def rejects(
        self, workspace_id: uuid.UUID, import_id: uuid.UUID, offset: int, limit: int
    ) -> tuple[list[RejectOut], int]:
        item = await self._get(workspace_id, import_id)
        rows, total = await self.repo.rejects(item.id, offset, limit)
        return [RejectOut.model_validate(r) for r in rows], total

    async def stream_rejects(self, workspace_id: uuid.UUID, import_id: uuid.UUID) -> AsyncIterator[list[RejectOut]]:
        item = await self._get(workspace_id, import_id)
        async for batch in self.repo.stream_rejects(item.id):
            yield [RejectOut.model_validate(r) for r in batch]

    # commit -------------------------------------------------------------------------------------

    async def commit(
        self, workspace_id: uuid.UUID, actor_id: uuid.UUID, import_id: uuid.UUID, body: ImportCommit
    ) -> ImportOut:
        """Check the mapping, create the table (a new one), queue the run. The caller starts the workflow."""
        item = await self._get(workspace_id, import_id, lock=True)
        if ImportStatus(item.status) is not ImportStatus.UPLOADED:
            raise Conflict("The import is already committed.", code="import_committed")
        if body.options is not None:
            async with self._spooled(item) as path:
                item.preview = await self._preview(path, item.filename, _overrides(body.options))
        preview = PreviewOut.model_validate(item.preview)
        if not preview.columns:
            raise Unprocessable("The file has no columns to import.", code="empty_file")
        mapping = body.mapping if body.mapping is not None else [ColumnMapping(source=c.index) for c in preview.columns]
        errors = _check_mapping(mapping, preview, body)
        tables = TableService(self.session)
        if body.mode is ImportTargetMode.NEW_TABLE:
            if errors:
                raise Unprocessable("The column mapping is not valid.", code="invalid_mapping", details=errors)
            specs = [
                ColumnCreate(
                    name=m.name or preview.columns[m.source].name, type=m.type or preview.columns[m.source].type
                )
                for m in mapping
            ]
            created = await tables.create_table(
                workspace_id,
                actor_id,
                TableCreate(name=body.table_name or _table_name(item.filename), columns=specs),
                index=False,
            )
            table_id = created.id
            column_ids = [c.id for c in created.columns or []]
            column_names = [c.name for c in created.columns or []]
        else:
            assert body.table_id is not None
            existing = {c.id: c for c in await tables.columns(workspace_id, body.table_id)}
            for position, m in enumerate(mapping):
                if m.column_id is None:
                    errors.append({"mapping": position, "message": "give column_id of the table's column"})
                elif m.column_id not in existing:
                    errors.append({"mapping": position, "message": "no such column in this table"})
            if errors:
                raise Unprocessable("The column mapping is not valid.", code="invalid_mapping", details=errors)
            table_id = body.table_id
            column_ids = [m.column_id for m in mapping if m.column_id is not None]
            column_names = [existing[c].name for c in column_ids]
        by_source = {m.source: str(cid) for m, cid in zip(mapping, column_ids, strict=True)}
        names = dict(zip(mapping_sources := [m.source for m in mapping], column_names, strict=True))
        options = ReadOptions(
            format=preview.format,
            encoding=preview.encoding or "utf-8",
            delimiter=preview.delimiter or ",",
            has_header=preview.has_header,
            sheet=preview.sheet,
        )
        dedupe = None
        if body.dedupe is not None:
            dedupe = {
                "key_column_ids": [by_source[i] for i in body.dedupe.key_columns],
                "normalization": body.dedupe.normalization.value,
                "fuzzy_column_id": by_source[body.dedupe.fuzzy_column]
                if body.dedupe.fuzzy_column is not None
                else None,
                "threshold": body.dedupe.threshold,
            }
        plan = ImportPlan(
            read={k: (v.value if isinstance(v, FileFormat) else v) for k, v in asdict(options).items()},
            table_id=str(table_id),
            new_table=body.mode is ImportTargetMode.NEW_TABLE,
            columns=[asdict(MappedColumn(s, by_source[s], names[s])) for s in mapping_sources],
            key_column_id=by_source[body.key_column] if body.key_column is not None else None,
            dedupe=dedupe,
        )
        item.plan = asdict(plan)
        item.table_id = table_id
        item.status = ImportStatus.QUEUED
        await self.session.flush()
        return import_out(item)

    async def start_workflow(self, client: Client, import_id: uuid.UUID) -> None:
        """Start the run (after the commit that queued it); the id comes from the import, so a repeat is a no-op."""
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await client.start_workflow(
                TableImportWorkflow.run,
                TableImportInput(import_id=str(import_id)),
                id=workflow_id_for(str(import_id)),
                task_queue=self.settings.temporal_task_queue,
            )

    async def expire_uploads(self, now: datetime | None = None, limit: int = 1000) -> int:
        """Uploads never committed within IMPORT_UPLOAD_TTL_HOURS: marked failed (the user sees
        why) and their stored file deleted. Run by the worker's sweep and `morket tables purge`."""
        hours = self.settings.import_upload_ttl_hours
        cutoff = (now or datetime.now(UTC)) - timedelta(hours=hours)
        message = f"The upload was not committed within {hours} hours; its file was deleted. Upload it again."
        expired = await self.repo.expire_uploads(cutoff, message, limit)
        await self.repo.delete_chunks_of(expired)
        return len(expired)

    async def unstarted(self) -> list[uuid.UUID]:
        return [i.id for i in await self.repo.queued_before(datetime.now(UTC) - UNSTARTED_AFTER)]


def _overrides(body: PreviewOptions) -> Overrides:
    return Overrides(encoding=body.encoding, delimiter=body.delimiter, has_header=body.has_header, sheet=body.sheet)


def _table_name(filename: str) -> str:
    base = os.path.splitext(os.path.basename(filename))[0].strip()
    return (base or "Imported table")[:200]


def _check_mapping(mapping: list[ColumnMapping], preview: PreviewOut, body: ImportCommit) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    width = len(preview.columns)
    sources = [m.source for m in mapping]
    for position, m in enumerate(mapping):
        if m.source >= width:
            errors.append({"mapping": position, "message": f"the file has {width} columns"})
    if len(set(sources)) != len(sources):
        errors.append({"mapping": None, "message": "a source column is mapped twice"})
    if not mapping:
        errors.append({"mapping": None, "message": "map at least one column"})
    if errors:
        return errors
    if body.mode is ImportTargetMode.NEW_TABLE:
        names = [(m.name or preview.columns[m.source].name).casefold() for m in mapping]
        if len(set(names)) != len(names):
            errors.append({"mapping": None, "message": "column names must be unique"})
    mapped = set(sources)
    if body.key_column is not None and body.key_column not in mapped:
        errors.append({"key_column": body.key_column, "message": "the key column must be mapped"})
    if body.dedupe is not None:
        for index in [*body.dedupe.key_columns, *([body.dedupe.fuzzy_column] if body.dedupe.fuzzy_column else [])]:
            if index not in mapped:
                errors.append({"dedupe": index, "message": "a dedupe column must be mapped"})
    return errors


@contextlib.contextmanager
def _temp_file() -> Any:
    directory = None
    handle = tempfile.NamedTemporaryFile(prefix="morket-import-", dir=directory, delete=False)  # noqa: SIM115
    try:
        yield handle.name, handle
    finally:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(handle.name)


# the run (worker side) ----------------------------------------------------------------------------

Heartbeat = Callable[[int], None]


class ImportRunner:
    """Runs one import in the worker: units of work of its own, one per batch."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    async def run(self, import_id: uuid.UUID, heartbeat: Heartbeat) -> ImportOut:
        async with unit_of_work(self.sessions) as session:
            item = await ImportsRepository(session).get_for_worker(import_id, lock=True)
            if item is None:
                raise ImportFailed("the import no longer exists")
            status = ImportStatus(item.status)
            if status.is_final:
                return import_out(item)
            if item.plan is None:
                raise ImportFailed("the import was never committed")
            item.status = ImportStatus.RUNNING
            item.started_at = item.started_at or datetime.now(UTC)
            snapshot = _Snapshot(item)
        plan = ImportPlan(**snapshot.plan)
        with _temp_file() as (path, handle):
            async with unit_of_work(self.sessions) as session:
                async for chunk in ImportsRepository(session).chunks(import_id):
                    handle.write(chunk)
            handle.flush()
            await self._load(snapshot, plan, path, heartbeat)
        if plan.new_table:
            async with unit_of_work(self.sessions) as session:
                await TableService(session).build_indexes(snapshot.workspace_id, uuid.UUID(plan.table_id))
        merged = 0
        if plan.dedupe is not None:
            rule = DedupeRule(
                key_column_ids=[uuid.UUID(c) for c in plan.dedupe["key_column_ids"]],
                normalization=Normalization(plan.dedupe["normalization"]),
                fuzzy_column_id=uuid.UUID(plan.dedupe["fuzzy_column_id"]) if plan.dedupe["fuzzy_column_id"] else None,
                threshold=float(plan.dedupe["threshold"]),
            )
            async with unit_of_work(self.sessions) as session:
                outcome = await DedupeService(session).merge(
                    snapshot.workspace_id, uuid.UUID(plan.table_id), rule, actor_id=snapshot.actor_id
                )
                merged = outcome.rows_merged
        async with unit_of_work(self.sessions) as session:
            repo = ImportsRepository(session)
            item = await repo.get_for_worker(import_id, lock=True)
            assert item is not None
            item.rows_merged = merged
            item.status = ImportStatus.COMPLETED
            item.finished_at = datetime.now(UTC)
            item.bytes_read = item.size_bytes
            await repo.delete_chunks(import_id)
            return import_out(item)

    async def _load(self, snapshot: _Snapshot, plan: ImportPlan, path: str, heartbeat: Heartbeat) -> None:
        """Read, convert and write the file batch by batch, each batch in its own transaction.

        Reading and converting (Python, in a thread) overlap with writing (PostgreSQL, another
        process): while batch N is COPYed and committed, batch N+1 is parsed. Without a key
        column the converted columns go in by COPY (`BulkRowService.append_columns`); an upsert
        goes through `RowService.append_rows`, which finds the existing rows by key.
        """
        read = dict(plan.read)
        options = ReadOptions(
            format=FileFormat(read["format"]),
            encoding=read["encoding"],
            delimiter=read["delimiter"],
            has_header=read["has_header"],
            sheet=read["sheet"],
        )
        mapped = [MappedColumn(**c) for c in plan.columns]
        table_id = uuid.UUID(plan.table_id)
        key = uuid.UUID(plan.key_column_id) if plan.key_column_id else None
        async with unit_of_work(self.sessions) as session:
            try:
                found = await TableService(session).columns(snapshot.workspace_id, table_id)
                table_columns = {str(c.id): c for c in found}
            except NotFound as exc:
                raise ImportFailed(f"{exc.message} It was deleted while the import ran") from exc
        missing = [m.name for m in mapped if m.column_id not in table_columns]
        if missing:
            raise ImportFailed(f"the column '{missing[0]}' was deleted while the import ran")
        types = [table_columns[m.column_id].type for m in mapped]
        rows = FileRows(path, options)
        reader = _BatchReader(
            iter(rows.rows),
            rows,
            options,
            mapped,
            types,
            snapshot.resume_line,
            self.settings.import_batch_rows,
            convert=key is None,
        )
        pending: asyncio.Future[_Batch] | None = asyncio.ensure_future(asyncio.to_thread(reader.next_batch))
        try:
            while pending is not None:
                batch = await pending
                # Parse the next batch while this one is written.
                pending = None if batch.done else asyncio.ensure_future(asyncio.to_thread(reader.next_batch))
                await self._write_batch(snapshot, table_id, key, mapped, options, batch)
                heartbeat(batch.last_line)
        finally:
            if pending is not None:
                # The reader thread must be done with the file before it is closed.
                with contextlib.suppress(BaseException):
                    await pending
            rows.close()

    async def _write_batch(
        self,
        snapshot: _Snapshot,
        table_id: uuid.UUID,
        key: uuid.UUID | None,
        mapped: list[MappedColumn],
        options: ReadOptions,
        batch: _Batch,
    ) -> None:
        """One batch's rows, rejects and progress (the line reached) in one transaction."""
        rejects = batch.rejects
        names = {m.column_id: m.name for m in mapped}
        async with unit_of_work(self.sessions) as session:
            # The batch and the line it reached commit together or not at all, so a lost commit
            # (a database crash) is redone on resume: no need to wait for the WAL flush.
            await session.execute(sa.text("SET LOCAL synchronous_commit = off"))
            try:
                if batch.values is not None:
                    ids = await BulkRowService(session).append_columns(
                        snapshot.workspace_id,
                        table_id,
                        [uuid.UUID(m.column_id) for m in mapped],
                        batch.values,
                        actor_id=snapshot.actor_id,
                        source=CellSource.IMPORT,
                    )
                    inserted, updated = len(ids), 0
                else:
                    cells = [
                        {m.column_id: (v if (v := row.values[m.source]).strip() else None) for m in mapped}
                        for row in batch.rows
                    ]
                    result = await RowService(session).append_rows(
                        snapshot.workspace_id,
                        table_id,
                        cells,
                        actor_id=snapshot.actor_id,
                        source=CellSource.IMPORT,
                        key_column_id=key,
                        reject_invalid=True,
                        batch_size=max(len(cells), 1),
                    )
                    inserted, updated = result.inserted, result.updated
                    bad: dict[int, list[str]] = {}
                    for error in result.rejected:
                        bad.setdefault(error.row, []).append(_cell_error(error.column_id, error.message, names))
                    for index, messages in bad.items():
                        row = batch.rows[index]
                        rejects.append(
                            (row.line, RejectReason.INVALID_VALUE.value, "; ".join(messages), _raw(row, options))
                        )
            except NotFound as exc:
                # The table (or a column) was deleted while the import ran: no retry helps.
                raise ImportFailed(f"{exc.message} It was deleted while the import ran") from exc
            repo = ImportsRepository(session)
            await repo.add_rejects(snapshot.import_id, rejects)
            item = await repo.get_for_worker(snapshot.import_id, lock=True)
            if item is None:
                raise ImportFailed("the import was deleted while it ran")
            item.rows_read += batch.read_count
            item.rows_inserted += inserted
            item.rows_updated += updated
            item.rows_rejected += len(rejects)
            item.resume_line = batch.last_line
            if batch.position is not None:
                item.bytes_read = batch.position
            if item.rows_rejected > self.settings.import_max_rejected_rows:
                raise ImportFailed(
                    f"more than {self.settings.import_max_rejected_rows} rows were rejected "
                    f"(by line {batch.last_line}); the file does not look like a table of this shape"
                )

    async def fail(self, import_id: uuid.UUID, message: str) -> None:
        """Mark the import failed, saying exactly what was written before it stopped."""
        async with unit_of_work(self.sessions) as session:
            repo = ImportsRepository(session)
            item = await repo.get_for_worker(import_id, lock=True)
            if item is None or ImportStatus(item.status).is_final:
                return
            written = item.rows_inserted + item.rows_updated
            if written:
                where = (
                    f" {item.rows_inserted} rows were added and {item.rows_updated} updated (source lines up to"
                    f" {item.resume_line}) before it stopped; nothing after line {item.resume_line} was imported."
                )
            else:
                where = " No row was imported."
            item.status = ImportStatus.FAILED
            item.error = f"{message}.{where}"
            item.finished_at = datetime.now(UTC)
            await repo.delete_chunks(import_id)


@dataclass
class _Batch:
    rows: list[SourceRow]  # the good rows (kept only for the upsert path)
    rejects: list[tuple[int, str, str, str]]  # (line, reason, message, raw)
    read_count: int
    last_line: int
    values: list[list[Any]] | None  # converted columns, aligned with the mapping (COPY path)
    position: int | None  # bytes of the file consumed
    done: bool


class _BatchReader:
    """Takes the file's records a batch at a time and converts them column by column (runs in a
    thread, one batch at a time: the calls never overlap)."""

    def __init__(
        self,
        records: Iterator[SourceRow | RejectedRow],
        rows: FileRows,
        options: ReadOptions,
        mapped: list[MappedColumn],
        types: list[ColumnType],
        resume_line: int,
        batch_rows: int,
        convert: bool,
    ) -> None:
        self.records = records
        self.rows = rows
        self.options = options
        self.mapped = mapped
        self.types = types
        self.resume_line = resume_line
        self.last_line = resume_line
        self.batch_rows = batch_rows
        self.convert = convert

    def next_batch(self) -> _Batch:
        lines: list[SourceRow] = []
        rejects: list[tuple[int, str, str, str]] = []
        read_count = 0
        last_line = self.last_line
        resume = self.resume_line
        done = True
        for record in self.records:
            if record.line <= resume:
                continue  # written before the worker was restarted
            read_count += 1
            if record.line > last_line:
                last_line = record.line
            if isinstance(record, RejectedRow):
                rejects.append((record.line, record.reason.value, record.message, record.raw))
            else:
                lines.append(record)
            if read_count >= self.batch_rows:
                done = False
                break
        self.last_line = last_line
        values = None
        if self.convert:
            values, bad = self._converted(lines)
            for index in sorted(bad):
                row = lines[index]
                rejects.append(
                    (row.line, RejectReason.INVALID_VALUE.value, "; ".join(bad[index]), _raw(row, self.options))
                )
            lines = []
        return _Batch(lines, rejects, read_count, last_line, values, self.rows.position(), done)

    def _converted(self, lines: list[SourceRow]) -> tuple[list[list[Any]], dict[int, list[str]]]:
        """The mapped columns' stored values, and the messages of the rows that do not convert."""
        by_source = list(zip(*(row.values for row in lines), strict=True)) if lines else []
        bad: dict[int, list[str]] = {}
        columns: list[list[Any]] = []
        for column, column_type in zip(self.mapped, self.types, strict=True):
            source = by_source[column.source] if by_source else ()
            errors: dict[int, str] = {}
            # A blank cell is an empty one, whatever the type (as the preview and parse_value read it).
            columns.append(convert_column(column_type, [v if v and not v.isspace() else None for v in source], errors))
            for index, message in errors.items():
                bad.setdefault(index, []).append(f"column '{column.name}': {message}")
        if bad:
            keep = [i for i in range(len(lines)) if i not in bad]
            columns = [[values[i] for i in keep] for values in columns]
        return columns, bad


class _Snapshot:
    def __init__(self, item: TableImport) -> None:
        self.import_id = item.id
        self.workspace_id = item.workspace_id
        self.actor_id = item.created_by
        self.plan: dict[str, Any] = dict(item.plan or {})
        self.resume_line = item.resume_line
        self.rows_rejected = item.rows_rejected


def _cell_error(column_id: str | None, message: str, names: dict[str, str]) -> str:
    if column_id is None:
        return message
    return f"column '{names.get(column_id, column_id)}': {message}"


def _raw(row: SourceRow, options: ReadOptions) -> str:
    return row.raw or (options.delimiter if options.format is FileFormat.CSV else ",").join(row.values)[:2000]
