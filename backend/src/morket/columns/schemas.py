"""Request and response shapes of column runs and cost previews."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from morket.columns.http_run import HttpRunOut
from morket.enrichment.schemas import EnrichmentJobOut
from morket.models import ColumnKind
from morket.tables.query import FilterGroup

MAX_RUN_ROW_IDS = 50_000
MAX_BUDGET = 1_000_000_000


class RunRequest(BaseModel):
    """Which columns to run on which rows. No `row_ids` and no `filter`: every row.

    Any computed column runs here: enrichment and AI columns as enrichment jobs, HTTP columns as
    HTTP runs (the rows chosen the same way), formula and lookup columns are recomputed on every
    row (their values are derived: a selection does not apply); `budget` is for paid columns."""

    model_config = ConfigDict(extra="forbid")

    column_ids: list[uuid.UUID] = Field(min_length=1, max_length=20)
    row_ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(
        default=None, min_length=1, max_length=MAX_RUN_ROW_IDS, description="only these rows (the selection)"
    )
    filter: FilterGroup | None = Field(default=None, description="only rows matching this filter tree")
    only_empty: bool = Field(default=False, description="only rows whose cell in the column is empty")
    budget: int | None = Field(
        default=None, ge=1, le=MAX_BUDGET, description="credits the run may reserve (per column run)"
    )


class ProviderCalls(BaseModel):
    provider: str
    field: str
    cost: int = Field(description="credits per found cell (the registry's price)")
    calls_worst: int = Field(description="calls if every earlier provider misses")
    calls_expected: float
    hit_rate: float | None = Field(description="observed in this workspace; null when there is no history")
    cache_rate: float | None = Field(description="share of this workspace's answers served from the cache")


class ColumnPreview(BaseModel):
    column_id: uuid.UUID
    kind: ColumnKind = Field(default=ColumnKind.ENRICHMENT, description="free kinds (HTTP, formula, lookup): no calls")
    rows: int = Field(description="rows the run would enrich")
    rows_missing_inputs: int = Field(description="selected rows lacking the inputs every provider needs")
    calls: list[ProviderCalls]
    worst_case: int = Field(description="credits if every row is charged the dearest provider")
    expected: float = Field(description="credits expected from observed hit rates")
    expected_cache_hits: float


class RunPreview(BaseModel):
    columns: list[ColumnPreview]
    worst_case: int
    expected: float
    available: int = Field(description="the workspace's available credits")
    affordable: bool = Field(description="whether the worst case (or the budgets) fit the available credits")


class ColumnRun(BaseModel):
    column_id: uuid.UUID
    kind: ColumnKind = Field(default=ColumnKind.ENRICHMENT, description="the column's kind: what ran it")
    rows: int = Field(description="rows the run covers (formula and lookup: every row, recomputed)")
    rows_missing_inputs: int
    job: EnrichmentJobOut | None = Field(
        description="enrichment and AI columns: the enrichment job running it; null when no row qualifies"
    )
    http_run: HttpRunOut | None = Field(
        default=None, description="HTTP columns: the run (`/http-runs/{id}`); completed with 0 rows when none qualifies"
    )
    rows_changed: int | None = Field(
        default=None, description="formula and lookup columns: cells whose value changed (recomputed now)"
    )


class RunOut(BaseModel):
    runs: list[ColumnRun]


# -- issue 10: a computing column's values on the first rows, before it is saved -------------------

MAX_PREVIEW_ROWS = 20


class ValuesPreviewRequest(BaseModel):
    """A formula's values, or an AI column's rendered prompts (the model is not called)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["formula", "ai"]
    config: dict[str, Any]
    limit: int = Field(default=5, ge=1, le=MAX_PREVIEW_ROWS, description="the first rows of the table, in id order")


class PreviewRow(BaseModel):
    row_id: int
    value: Any = Field(description="the formula's value, or the prompt the row would send")
    error: str | None = Field(description="why the cell would be an error (formula), or why a run skips the row (ai)")


class ValuesPreview(BaseModel):
    rows: list[PreviewRow]
