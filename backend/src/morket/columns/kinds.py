"""Column kinds: a registry of what makes a column compute, and the validation of its config.

A kind is a `KindSpec`: `validate(config, context)` returns the normalised config (stored in
`table_columns.config`) or raises `Unprocessable` with `details` naming each bad part
(`config.waterfall.1`, `config.inputs.domain`, ...). `data` columns keep whatever config they are
given (the grid stores display settings there). Adding a kind: write a spec, add it to `KINDS`.
Kinds in `ColumnKind` without a spec yet are refused (422 `kind_not_available`) rather than
stored as columns that would never compute.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cache
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from morket.columns.formula import MAX_FORMULA, FormulaSyntaxError, compile_formula, rename_reference
from morket.columns.policy import WritePolicy as WritePolicy  # moved (issue 10 items 7-8); still importable here
from morket.core.errors import Conflict, Unprocessable
from morket.enrichment.catalog import ProviderCatalog
from morket.models import ColumnKind, ColumnType, TableColumn
from morket.providers import registry
from morket.providers.fields import CANONICAL_FIELDS
from morket.tables.query import FilterGroup, RowView, compile_view
from morket.tables.storage import sa_table

MAX_WATERFALL = 10
MAX_OUTPUTS = 20


class EnrichmentConfig(BaseModel):
    """An enrichment column: the field it fills from a waterfall of providers."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(min_length=1, max_length=100, description="canonical field this column holds")
    waterfall: list[str] = Field(
        default_factory=list, max_length=MAX_WATERFALL, description="providers in order; empty: the registry's"
    )
    inputs: dict[str, uuid.UUID] = Field(
        default_factory=dict, max_length=50, description="provider input key -> table column id"
    )
    outputs: dict[str, uuid.UUID] = Field(
        default_factory=dict,
        max_length=MAX_OUTPUTS,
        description="further fields the same provider call fills -> their column ids",
    )
    only_if: FilterGroup | None = Field(default=None, description="run only on rows matching this filter tree")
    auto_run: bool = False
    write_policy: WritePolicy = WritePolicy.FILL_EMPTY


@dataclass(frozen=True)
class KindContext:
    """What a kind may check its config against: the table's columns and the column itself."""

    table_id: uuid.UUID
    columns: Sequence[TableColumn]
    column_id: uuid.UUID | None  # None while the column is being created
    # issue 10 items 7-8: facts outside the table that lookup and HTTP columns check against,
    # loaded by `morket.columns.context.prepare` before validation (validation stays synchronous).
    column_type: ColumnType | None = None
    foreign_tables: Mapping[uuid.UUID, Sequence[TableColumn]] = dataclass_field(default_factory=dict)
    secret_names: frozenset[str] = frozenset()


class KindSpec(Protocol):
    kind: ColumnKind

    def validate(self, config: Mapping[str, Any], ctx: KindContext) -> dict[str, Any]: ...


def _invalid(details: list[dict[str, Any]], message: str = "The column's configuration is not valid.") -> Unprocessable:
    return Unprocessable(message, code="invalid_column_config", details=details)


invalid_config = _invalid


def config_problems(exc: ValidationError) -> list[dict[str, Any]]:
    """A config's pydantic errors as details, each `field` a path into the request."""
    return [
        {"field": ".".join(["config", *(str(p) for p in e["loc"])]), "message": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


@cache
def input_keys() -> frozenset[str]:
    """Every input key some provider reads (the keys an input mapping may use)."""
    keys: set[str] = set()
    for adapter in registry.REGISTRY.values():
        for name in adapter.supplies:
            requirement = adapter.requirement_for(name)
            if requirement is not None:
                keys |= requirement.keys
    return frozenset(keys)


def plan_of(config: EnrichmentConfig) -> tuple[list[str], dict[str, list[str]]]:
    """The engine's fields and waterfall for a column: its own field first, then its further outputs
    (each asked of the providers of the column's waterfall that supply it, in the same order)."""
    catalog = ProviderCatalog()
    chain = list(config.waterfall) or catalog.default_waterfall(config.field)
    fields = [config.field, *(f for f in config.outputs if f != config.field)]
    waterfall: dict[str, list[str]] = {config.field: chain}
    for name in fields[1:]:
        waterfall[name] = [s for s in chain if (a := catalog.adapter(s)) is not None and a.operations_for(name)]
    return fields, waterfall


class EnrichmentKind:
    kind = ColumnKind.ENRICHMENT

    def validate(self, config: Mapping[str, Any], ctx: KindContext) -> dict[str, Any]:
        try:
            parsed = EnrichmentConfig.model_validate(config)
        except ValidationError as exc:
            raise _invalid(
                [
                    {"field": ".".join(["config", *(str(p) for p in e["loc"])]), "message": e["msg"]}
                    for e in exc.errors(include_url=False, include_context=False, include_input=False)
                ]
            ) from None
        problems: list[dict[str, Any]] = []
        by_id = {c.id: c for c in ctx.columns}
        catalog = ProviderCatalog()
        if parsed.field not in CANONICAL_FIELDS:
            problems.append(
                {
                    "field": "config.field",
                    "message": f"unknown field '{parsed.field}'",
                    "known": sorted(CANONICAL_FIELDS),
                }
            )
            raise _invalid(problems)
        fields, waterfall = plan_of(parsed)
        for problem in catalog.validate_plan(fields, waterfall):
            where = problem.location.replace(f"waterfall.{parsed.field}", "config.waterfall")
            for name in parsed.outputs:
                where = where.replace(f"waterfall.{name}", f"config.outputs.{name}")
            problems.append({**problem.as_dict(), "field": where.replace("fields", "config.outputs")})
        written = {ctx.column_id, *parsed.outputs.values()} - {None}
        for key, column_id in parsed.inputs.items():
            if key not in input_keys():
                problems.append(
                    {
                        "field": f"config.inputs.{key}",
                        "message": f"no provider reads '{key}'",
                        "known": sorted(input_keys()),
                    }
                )
            if column_id not in by_id:
                problems.append({"field": f"config.inputs.{key}", "message": "no such column in this table"})
            elif column_id in written:
                problems.append(
                    {
                        "field": f"config.inputs.{key}",
                        "message": "a column cannot read a column it writes (the run would feed itself)",
                        "code": "run_loop",
                    }
                )
        for name, column_id in parsed.outputs.items():
            if column_id not in by_id:
                problems.append({"field": f"config.outputs.{name}", "message": "no such column in this table"})
            elif column_id == ctx.column_id:
                problems.append({"field": f"config.outputs.{name}", "message": "the column's own field is 'field'"})
            elif by_id[column_id].kind is not ColumnKind.DATA:
                problems.append(
                    {"field": f"config.outputs.{name}", "message": "an output column must be a data column"}
                )
        if len(set(parsed.outputs.values())) != len(parsed.outputs):
            problems.append({"field": "config.outputs", "message": "two fields cannot write one column"})
        if not problems:
            problems.extend(self._inputs_suffice(fields, waterfall, parsed))
        if parsed.only_if is not None:
            problems.extend(_filter_problems(parsed.only_if, ctx))
        if parsed.auto_run and not problems and _auto_run_cycle(parsed, ctx):
            problems.append(
                {
                    "field": "config.auto_run",
                    "message": "auto-run columns would trigger each other in a loop",
                    "code": "autorun_cycle",
                }
            )
        if problems:
            raise _invalid(problems)
        return parsed.model_dump(mode="json", exclude_none=True)

    @staticmethod
    def _inputs_suffice(
        fields: Sequence[str], waterfall: Mapping[str, Sequence[str]], config: EnrichmentConfig
    ) -> list[dict[str, Any]]:
        """Each field needs one provider whose inputs the mapping can give; say which ones they need."""
        mapped = frozenset(config.inputs)
        problems: list[dict[str, Any]] = []
        for name in fields:
            needs = {slug: registry.required_inputs(slug, name) for slug in waterfall[name]}
            if any(any(alt <= mapped for alt in req.alternatives) for req in needs.values()):
                continue
            problems.append(
                {
                    "field": "config.inputs",
                    "message": f"no provider of '{name}' can run on the mapped inputs",
                    "required_inputs": {slug: req.as_lists() for slug, req in needs.items()},
                }
            )
        return problems


def _auto_run_cycle(config: EnrichmentConfig, ctx: KindContext) -> bool:
    own = {*config.outputs.values(), *([ctx.column_id] if ctx.column_id else [])}
    return auto_run_loop(set(config.inputs.values()), own, ctx)


def reads_writes(column: TableColumn) -> tuple[set[uuid.UUID], set[uuid.UUID]] | None:
    """The columns an auto-run column reads and writes (None when it does not auto-run)."""
    config = column.config or {}
    if not config.get("auto_run"):
        return None
    if column.kind is ColumnKind.ENRICHMENT:
        outputs = {uuid.UUID(str(c)) for c in config.get("outputs", {}).values()}
        return {uuid.UUID(str(c)) for c in config.get("inputs", {}).values()}, {column.id, *outputs}
    if column.kind is ColumnKind.AI:  # issue 10, AI columns (morket/columns/ai.py)
        fields = (config.get("output") or {}).get("fields") or {}
        return {uuid.UUID(str(c)) for c in config.get("refs", [])}, {
            column.id,
            *(uuid.UUID(str(c)) for c in fields.values()),
        }
    if column.kind is ColumnKind.HTTP:  # issue 10 item 8: the template's references (columns/http.py)
        return {uuid.UUID(str(c)) for c in (config.get("refs") or {}).values()}, {column.id}
    return None


def auto_run_loop(reads: set[uuid.UUID], writes: set[uuid.UUID], ctx: KindContext) -> bool:
    """Whether a column reading `reads` and writing `writes` closes a loop with the table's
    other auto-run columns: a column's writes trigger every auto-run column that reads them."""
    edges: dict[uuid.UUID, set[uuid.UUID]] = {}  # column read -> columns written by its readers

    def add(inputs: set[uuid.UUID], written: set[uuid.UUID]) -> None:
        for column in inputs:
            edges.setdefault(column, set()).update(written)

    for column in ctx.columns:
        if column.id == ctx.column_id:
            continue
        other = reads_writes(column)
        if other is not None:
            add(*other)
    add(reads, writes)
    # A loop exists when something this column writes leads back to one of its inputs.
    seen: set[uuid.UUID] = set()
    stack = list(writes)
    while stack:
        node = stack.pop()
        if node in reads:
            return True
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    return False


def filter_problems(group: FilterGroup, ctx: KindContext) -> list[dict[str, Any]]:
    """An only-if filter tree's problems, each under `config.only_if`."""
    return _filter_problems(group, ctx)


def _filter_problems(group: FilterGroup, ctx: KindContext) -> list[dict[str, Any]]:
    try:
        compile_view(RowView(filter=group), ctx.columns, sa_table(ctx.table_id, ctx.columns))
    except Unprocessable as exc:
        details = exc.details if isinstance(exc.details, list) else []
        return [
            {**d, "field": "config.only_if" + str(d.get("field", "filter")).removeprefix("filter")} for d in details
        ] or [{"field": "config.only_if", "message": exc.message}]
    return []


class FormulaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(min_length=1, max_length=MAX_FORMULA)


class FormulaKind:
    """A formula over other columns of the row (morket/columns/formula.py). Stored with its
    references resolved to column ids (`refs`), so the recompute knows what it reads."""

    kind = ColumnKind.FORMULA

    def validate(self, config: Mapping[str, Any], ctx: KindContext) -> dict[str, Any]:
        try:
            parsed = FormulaConfig.model_validate({k: v for k, v in config.items() if k != "refs"})
        except ValidationError as exc:
            raise _invalid(
                [
                    {"field": ".".join(["config", *(str(p) for p in e["loc"])]), "message": e["msg"]}
                    for e in exc.errors(include_url=False, include_context=False, include_input=False)
                ]
            ) from None
        by_name = {c.name: c.id for c in ctx.columns}
        try:
            compiled = compile_formula(parsed.expression, by_name)
        except FormulaSyntaxError as exc:
            raise Unprocessable(
                f"The formula is not valid: {exc.message}.",
                code="invalid_formula",
                details=[
                    {
                        "field": "config.expression",
                        "message": exc.message,
                        "line": exc.line,
                        "column": exc.column,
                        "offset": exc.offset,
                    }
                ],
            ) from None
        kinds = {c.id: c.kind for c in ctx.columns}
        problems = []
        for name, column_id in compiled.refs.items():
            if column_id == ctx.column_id:
                problems.append({"field": "config.expression", "message": f"{{{name}}} is this column itself"})
            elif kinds.get(column_id) is ColumnKind.FORMULA:
                problems.append(
                    {"field": "config.expression", "message": f"{{{name}}} is a formula: formulas read data columns"}
                )
        if problems:
            raise Unprocessable("The formula is not valid.", code="invalid_formula", details=problems)
        return {"expression": parsed.expression, "refs": {n: str(c) for n, c in compiled.refs.items()}}


def rename_formula_references(columns: Sequence[TableColumn], renamed: TableColumn) -> list[TableColumn]:
    """Formula columns that read `renamed`, with their expression written with its new name
    (`renamed.name`), as AI prompts are (ai.rename_references); returns the columns changed.
    Conflict (409) when a formula cannot hold the new name: the rename is refused as a whole."""
    changed = []
    for column in columns:
        if column.kind is not ColumnKind.FORMULA or column.id == renamed.id:
            continue
        config = column.config or {}
        refs = {name: uuid.UUID(str(c)) for name, c in (config.get("refs") or {}).items()}
        if renamed.id not in refs.values():
            continue
        try:
            expression, refs = rename_reference(str(config.get("expression", "")), refs, renamed.id, renamed.name)
        except FormulaSyntaxError as exc:
            raise Conflict(
                f"The formula column {column.name!r} reads this column: {exc.message}.",
                code="column_name_in_formula",
                details=[{"field": "name", "message": exc.message, "column_id": str(column.id)}],
            ) from None
        column.config = {**config, "expression": expression, "refs": {n: str(c) for n, c in refs.items()}}
        changed.append(column)
    return changed


class AiKind:
    """issue 10, AI columns: the rules are in morket/columns/ai.py (imported here when used: it
    builds on this module)."""

    kind = ColumnKind.AI

    def validate(self, config: Mapping[str, Any], ctx: KindContext) -> dict[str, Any]:
        from morket.columns.ai import validate_ai_config

        return validate_ai_config(config, ctx)


KINDS: dict[ColumnKind, KindSpec] = {
    ColumnKind.ENRICHMENT: EnrichmentKind(),
    ColumnKind.FORMULA: FormulaKind(),
    ColumnKind.AI: AiKind(),  # issue 10, AI columns
}

# -- issue 10 items 7-8: lookup and HTTP columns (columns/lookup.py, columns/http.py) -------------
from morket.columns.http import HttpKind  # noqa: E402
from morket.columns.lookup import LookupKind  # noqa: E402

KINDS[ColumnKind.LOOKUP] = LookupKind()
KINDS[ColumnKind.HTTP] = HttpKind()
# -- end issue 10 items 7-8 -----------------------------------------------------------------------


def validate_column_config(kind: ColumnKind, config: Mapping[str, Any], ctx: KindContext) -> dict[str, Any]:
    """The config to store for a column of `kind`, or a 422 naming what is wrong."""
    if kind is ColumnKind.DATA:
        return dict(config)
    spec = KINDS.get(kind)
    if spec is None:
        raise Unprocessable(
            f"Columns of kind '{kind.value}' are not available yet.",
            code="kind_not_available",
            details=[{"field": "kind", "message": f"available kinds: data, {', '.join(k.value for k in KINDS)}"}],
        )
    return spec.validate(config, ctx)
