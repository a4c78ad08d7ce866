"""Running computed columns on table rows, and what a run would cost.

A run of an enrichment column is an enrichment job (docs/enrichment.md) whose records are the
selected rows: the engine keeps every guarantee it has (chunks, continue-as-new, crash resume,
cancel, one debit per found cell) and writes each batch's cells through `morket.columns.sink`
in the transaction of its debits. See docs/columns.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from morket.columns import ai, sink
from morket.columns.kinds import EnrichmentConfig, EnrichmentKind, KindContext, WritePolicy, plan_of
from morket.columns.plan import ColumnPlan, RecordOf, all_of
from morket.columns.repository import ColumnsRepository
from morket.columns.schemas import ColumnPreview, ColumnRun, ProviderCalls, RunPreview, RunRequest
from morket.core.config import Settings
from morket.core.errors import Unprocessable
from morket.credits.service import CreditService
from morket.enrichment.catalog import ProviderCatalog
from morket.enrichment.service import EnrichmentService, TableJobSpec
from morket.models import ColumnKind, EnrichmentJob
from morket.providers import registry
from morket.providers.base import present_keys
from morket.tables.query import Conjunction, FilterCondition, FilterGroup, FilterOperator
from morket.tables.service import TableService

_all = all_of


def _enrichment_record(config: EnrichmentConfig) -> RecordOf:
    """A row's record: its mapped input cells that have a value (None when none has)."""

    def record_of(values: Mapping[uuid.UUID, Any]) -> dict[str, Any] | None:
        record = {key: values[col] for key, col in config.inputs.items() if col in values}
        present = present_keys(record)
        return {k: v for k, v in record.items() if k in present} if present else None

    return record_of


def _inputs_present(config: EnrichmentConfig, waterfall: dict[str, list[str]]) -> FilterGroup:
    """Rows where some provider of the column's field has every input it needs (as a filter tree)."""
    options: list[FilterCondition | FilterGroup] = []
    seen: set[frozenset[str]] = set()
    for slug in waterfall[config.field]:
        for alternative in registry.required_inputs(slug, config.field).alternatives:
            if alternative in seen or not alternative <= frozenset(config.inputs):
                continue
            seen.add(alternative)
            options.append(
                _all(
                    *(
                        FilterCondition(column_id=config.inputs[key], operator=FilterOperator.IS_NOT_EMPTY)
                        for key in sorted(alternative)
                    )
                )
            )
    return FilterGroup(conjunction=Conjunction.OR, conditions=options[:100])


class ColumnRunService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.tables = TableService(session)
        self.repo = ColumnsRepository(session)
        self.catalog = ProviderCatalog()

    async def _plans(self, workspace_id: uuid.UUID, table_id: uuid.UUID, body: RunRequest) -> list[ColumnPlan]:
        columns = await self.tables.columns(workspace_id, table_id)
        by_id = {c.id: c for c in columns}
        problems: list[dict[str, Any]] = []
        plans: list[ColumnPlan] = []
        if len(set(body.column_ids)) != len(body.column_ids):
            problems.append({"field": "column_ids", "message": "a column appears twice"})
        for index, column_id in enumerate(body.column_ids):
            column = by_id.get(column_id)
            if column is None:
                problems.append({"field": f"column_ids.{index}", "message": "no such column in this table"})
                continue
            if column.kind is ColumnKind.AI:  # issue 10, AI columns: morket/columns/ai.py
                try:
                    plans.append(ai.run_plan(column, columns, table_id, body.filter, only_empty=body.only_empty))
                except Unprocessable as exc:
                    details = exc.details if isinstance(exc.details, list) else []
                    problems.extend({**d, "field": f"column_ids.{index}.{d.get('field', 'config')}"} for d in details)
                continue
            if column.kind is not ColumnKind.ENRICHMENT:
                problems.append(
                    {"field": f"column_ids.{index}", "message": f"a {column.kind.value} column does not run"}
                )
                continue
            try:
                # Checked again: an input column may have been deleted since the config was saved.
                stored = EnrichmentKind().validate(column.config, KindContext(table_id, columns, column.id))
            except Unprocessable as exc:
                details = exc.details if isinstance(exc.details, list) else []
                problems.extend({**d, "field": f"column_ids.{index}.{d.get('field', 'config')}"} for d in details)
                continue
            config = EnrichmentConfig.model_validate(stored)
            fields, waterfall = plan_of(config)
            empty = None
            if body.only_empty or config.write_policy is WritePolicy.FILL_EMPTY:
                empty = FilterCondition(column_id=column.id, operator=FilterOperator.IS_EMPTY)
            selection = _all(body.filter, config.only_if, empty)
            plans.append(
                ColumnPlan(
                    column=column,
                    fields=fields,
                    waterfall=waterfall,
                    selection=selection,
                    runnable=_all(selection, _inputs_present(config, waterfall)),
                    reads=frozenset(config.inputs.values()),
                    record_of=_enrichment_record(config),
                    target=sink.target_for(column.id, {config.field: column.id, **config.outputs}, config.write_policy),
                )
            )
        if problems:
            raise Unprocessable("The run cannot start.", code="invalid_run", details=problems)
        return plans

    # -- preview ------------------------------------------------------------------------------

    async def preview(self, workspace_id: uuid.UUID, table_id: uuid.UUID, body: RunRequest) -> RunPreview:
        plans = await self._plans(workspace_id, table_id, body)
        columns = await self.tables.columns(workspace_id, table_id)
        history = await self.repo.hit_rates(workspace_id)
        caches = await self.repo.cache_rates(workspace_id)
        out: list[ColumnPreview] = []
        for plan in plans:
            ids = body.row_ids
            if ids is None:
                selected = await self.repo.count_rows(table_id, columns, plan.selection)
                runnable = await self.repo.count_rows(table_id, columns, plan.runnable)
            else:
                selected = len(await self.repo.run_rows(table_id, columns, plan.selection, ids, []))
                runnable = len(await self.repo.run_rows(table_id, columns, plan.runnable, ids, []))
            out.append(self._cost(plan, runnable, selected - runnable, history, caches))
        account = await CreditService(self.session).account(workspace_id)
        worst = sum(c.worst_case for c in out)
        cap = sum(min(c.worst_case, body.budget) if body.budget else c.worst_case for c in out)
        return RunPreview(
            columns=out,
            worst_case=worst,
            expected=round(sum(c.expected for c in out), 2),
            available=account.available,
            affordable=cap <= account.available,
        )

    def _cost(
        self,
        plan: ColumnPlan,
        rows: int,
        missing: int,
        history: dict[tuple[str, str], tuple[int, int]],
        caches: dict[tuple[str, str], tuple[int, int]],
    ) -> ColumnPreview:
        calls: list[ProviderCalls] = []
        expected = 0.0
        cache_hits = 0.0
        for name in plan.fields:
            reaching = float(rows)  # rows still without a value when this provider is asked
            for slug in plan.waterfall[name]:
                cost = self.catalog.field_cost(slug, name)
                answered, found = history.get((slug, name), (0, 0))
                hit = found / answered if answered else None
                total, cached = caches.get((slug, name), (0, 0))
                cache_rate = cached / total if total else None
                hits = reaching * (1.0 if hit is None else hit)
                expected += hits * cost * (1 - (cache_rate or 0.0))
                cache_hits += hits * (cache_rate or 0.0)
                calls.append(
                    ProviderCalls(
                        provider=slug,
                        field=name,
                        cost=cost,
                        calls_worst=rows,
                        calls_expected=round(reaching, 2),
                        hit_rate=None if hit is None else round(hit, 4),
                        cache_rate=None if cache_rate is None else round(cache_rate, 4),
                    )
                )
                reaching -= hits
        worst = EnrichmentService(self.session, self.settings).estimate(rows, plan.fields, plan.waterfall)
        return ColumnPreview(
            column_id=plan.column.id,
            rows=rows,
            rows_missing_inputs=missing,
            calls=calls,
            worst_case=worst,
            expected=round(expected, 2),
            expected_cache_hits=round(cache_hits, 2),
        )

    # -- running ------------------------------------------------------------------------------

    async def start(
        self, workspace_id: uuid.UUID, user_id: uuid.UUID | None, table_id: uuid.UUID, body: RunRequest
    ) -> list[tuple[ColumnRun, EnrichmentJob | None]]:
        """One enrichment job per column over its rows; cells queued. The caller commits, then
        starts the workflows (EnrichmentService.start_workflow)."""
        plans = await self._plans(workspace_id, table_id, body)
        columns = await self.tables.columns(workspace_id, table_id)
        table = await self.tables.get(workspace_id, table_id)
        enrichment = EnrichmentService(self.session, self.settings)
        runs: list[tuple[ColumnRun, EnrichmentJob | None]] = []
        specs: list[tuple[int, TableJobSpec]] = []  # (index in runs, spec): jobs made together below
        for plan in plans:
            read = [c for c in columns if c.id in plan.reads]
            rows = await self.repo.run_rows(table_id, columns, plan.runnable, body.row_ids, read)
            selected = (
                await self.repo.count_rows(table_id, columns, plan.selection)
                if body.row_ids is None
                else len(await self.repo.run_rows(table_id, columns, plan.selection, body.row_ids, []))
            )
            inputs: list[dict[str, Any]] = []
            row_ids: list[int] = []
            for row_id, values in rows:
                record = plan.record_of(values)
                if record is not None:
                    inputs.append(record)
                    row_ids.append(row_id)
            run = ColumnRun(
                column_id=plan.column.id, rows=len(row_ids), rows_missing_inputs=selected - len(row_ids), job=None
            )
            if not row_ids:
                runs.append((run, None))
                continue
            target = plan.target
            spec = TableJobSpec(
                workspace_id=workspace_id,
                user_id=user_id,
                table_id=table_id,
                label=f"{table.name} / {plan.column.name}",
                fields=plan.fields,
                waterfall=plan.waterfall,
                inputs=inputs,
                row_ids=row_ids,
                target=target,
                budget=body.budget,
            )
            specs.append((len(runs), spec))
            runs.append((run, None))
        # Columns over the same rows may share a job (one call for fields one provider answers together).
        jobs = await enrichment.create_table_jobs([spec for _, spec in specs])
        for (index, spec), job in zip(specs, jobs, strict=True):
            await sink.set_states(
                self.session,
                workspace_id,
                table_id,
                spec.target,
                spec.row_ids,
                lambda job=job: sink.state("queued", job.id),
            )
            runs[index] = (runs[index][0], job)
        return runs


def column_runs_of(runs: Sequence[tuple[ColumnRun, EnrichmentJob | None]]) -> list[ColumnRun]:
    return [run for run, _ in runs]
