"""AI columns: a prompt template over the row's cells, a model, and an output schema.

A run of an AI column is an enrichment job like any other (service.py, plan.py): each record's
input is the row's rendered prompt, the model and the answer schema, asked of the OpenAI-compatible
provider (`providers/llm.py`) for the field `ai_answer`; so it is reserved, debited once per
successful call, cached, budgeted and previewed like an enrichment column. The provider checks
the answer against the schema before anything is billed: an answer that does not fit is
`invalid_answer`, a cell error with the reason, never a charged success (docs/columns.md).

The prompt's `{{Column}}` references are column names; the stored config keeps the template as
parts with column ids (`parts`, `refs`), and `prompt` is rendered from them with the current
names, again whenever a referenced column is renamed (`rename_references`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from morket.columns import template
from morket.columns.kinds import (
    KindContext,
    WritePolicy,
    auto_run_loop,
    config_problems,
    filter_problems,
    invalid_config,
)
from morket.columns.plan import ColumnPlan, all_of, target_for
from morket.core.text import json_problem
from morket.enrichment.result import FieldOutcome, FieldStatus
from morket.models import ColumnKind, ColumnType, TableColumn
from morket.providers.llm import DEFAULT_MODEL, MAX_ANSWER_FIELDS, MAX_CHOICES, AnswerSchema, AnswerType, FieldType
from morket.tables.query import Conjunction, FilterCondition, FilterGroup, FilterOperator

FIELD = "ai_answer"  # the canonical field of an AI answer (providers/fields.py)
PROVIDER = "openai"
MAX_PROMPT = 10_000  # the template as written
MAX_RENDERED = 20_000  # the prompt sent, cells included (the provider's input limit)
MAX_REFS = 50
_MODEL = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$"
_FIELD_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"

_NUMERIC = frozenset({ColumnType.NUMBER, ColumnType.CURRENCY, ColumnType.PERCENT})
_TEXT = frozenset({ColumnType.TEXT, ColumnType.LONG_TEXT})
# Which column types can hold each kind of answer without a surprise (a valid answer that the
# column then refuses would be a charged error).
COLUMN_TYPES: dict[AnswerType, frozenset[ColumnType]] = {
    AnswerType.TEXT: _TEXT,
    AnswerType.NUMBER: _NUMERIC | _TEXT,
    AnswerType.BOOLEAN: frozenset({ColumnType.CHECKBOX}) | _TEXT,
    AnswerType.CHOICE: frozenset({ColumnType.SINGLE_SELECT}) | _TEXT,
    AnswerType.JSON: frozenset({ColumnType.JSON}) | _TEXT,
}
# The type of a JSON answer's field, from the column it is written to.
FIELD_TYPES: dict[ColumnType, FieldType] = {
    **dict.fromkeys(_TEXT | {ColumnType.SINGLE_SELECT}, "string"),
    **dict.fromkeys(_NUMERIC, "number"),
    ColumnType.CHECKBOX: "boolean",
}


class AiOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: AnswerType = AnswerType.TEXT
    choices: list[str] | None = Field(
        default=None, min_length=1, max_length=MAX_CHOICES, description="the answers allowed (choice only)"
    )
    fields: dict[str, uuid.UUID] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ANSWER_FIELDS,
        description="JSON only: each named field of the answer -> the column it is written to",
    )

    @model_validator(mode="after")
    def _shape(self) -> AiOutput:
        if self.type is AnswerType.CHOICE:
            if not self.choices:
                raise ValueError("a choice output needs 'choices'")
            for choice in self.choices:
                if not choice.strip() or len(choice) > 200 or "\x00" in choice:
                    raise ValueError("each choice has 1 to 200 characters")
            if len({c.strip().casefold() for c in self.choices}) != len(self.choices):
                raise ValueError("two choices are the same")
        elif self.choices is not None:
            raise ValueError("'choices' are for a choice output")
        if self.type is AnswerType.JSON:
            if not self.fields:
                raise ValueError("a json output needs 'fields' (name -> column id)")
            for name in self.fields:
                if not re.match(_FIELD_NAME, name):
                    raise ValueError(f"field name '{name[:64]}' must be a letter or _ then letters, digits or _")
        elif self.fields is not None:
            raise ValueError("'fields' are for a json output")
        return self


class AiConfig(BaseModel):
    """An AI column as the API takes it (the stored config adds `parts` and `refs`)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT, description="with {{Column name}} references")
    model: str = Field(default=DEFAULT_MODEL, pattern=_MODEL)
    output: AiOutput = Field(default_factory=AiOutput)
    only_if: FilterGroup | None = Field(default=None, description="run only on rows matching this filter tree")
    auto_run: bool = False
    write_policy: WritePolicy = WritePolicy.FILL_EMPTY


# -- the template ---------------------------------------------------------------------------------

Part = str | dict[str, str]  # text, or {"column_id": "..."}


def parse_template(prompt: str, columns: Sequence[TableColumn]) -> tuple[list[Part], list[dict[str, Any]]]:
    """The prompt as parts (text and column ids), and the problems with their positions."""
    found = template.Columns(columns)
    parts: list[Part] = []
    problems: list[dict[str, Any]] = []
    for piece in template.split(prompt):
        if isinstance(piece, str):
            parts.append(piece)
            continue
        column = found.get(piece.name)
        if column is None:
            message = f"no column named '{piece.name[:100]}'" if piece.name else "an empty {{}} reference"
            problems.append(
                {
                    "field": "config.prompt",
                    "message": message,
                    "code": "unknown_column",
                    **template.position(prompt, piece.start),
                }
            )
        else:
            parts.append({"column_id": str(column.id)})
    if (offset := template.unclosed(prompt)) is not None:
        problems.append(
            {"field": "config.prompt", "message": "'{{' is never closed with '}}'", **template.position(prompt, offset)}
        )
    if len({p["column_id"] for p in parts if isinstance(p, dict)}) > MAX_REFS:
        problems.append({"field": "config.prompt", "message": f"a prompt reads at most {MAX_REFS} columns"})
    return parts, problems


def prompt_of(parts: Sequence[Part], names: Mapping[uuid.UUID, str]) -> str:
    """The template as a user reads it, with the columns' current names."""
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            column_id = uuid.UUID(part["column_id"])
            out.append(template.reference(names.get(column_id, f"deleted column {column_id}")))
    return "".join(out)


def cell_text(value: Any) -> str:
    """A cell as prompt text: empty for nothing, lists joined, objects as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(cell_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def render(parts: Sequence[Part], values: Mapping[uuid.UUID, Any]) -> str:
    """The prompt sent for a row (cut at the provider's limit)."""
    text = "".join(p if isinstance(p, str) else cell_text(values.get(uuid.UUID(p["column_id"]))) for p in parts)
    return text[:MAX_RENDERED]


def refs_of(config: Mapping[str, Any]) -> list[uuid.UUID]:
    """The columns a stored AI config reads."""
    return [uuid.UUID(str(c)) for c in config.get("refs", [])]


def writes_of(column_id: uuid.UUID, config: Mapping[str, Any]) -> set[uuid.UUID]:
    """The columns an AI column writes: its own and its JSON fields' columns."""
    fields = (config.get("output") or {}).get("fields") or {}
    return {column_id, *(uuid.UUID(str(c)) for c in fields.values())}


# -- validation -----------------------------------------------------------------------------------


def validate_ai_config(config: Mapping[str, Any], ctx: KindContext) -> dict[str, Any]:
    """The config to store (`prompt` as written, `parts` and `refs` with ids), or 422 with paths."""
    given = {k: v for k, v in config.items() if k not in ("parts", "refs")}
    if problem := json_problem(given):  # stored as JSONB: refuse what PostgreSQL cannot hold
        raise invalid_config([{"field": "config", "message": f"the configuration {problem}"}])
    try:
        # `parts` and `refs` are ours: a client sending back what it read gets them recomputed.
        parsed = AiConfig.model_validate(given)
    except ValidationError as exc:
        raise invalid_config(config_problems(exc)) from None
    by_id = {c.id: c for c in ctx.columns}
    others = [c for c in ctx.columns if c.id != ctx.column_id]
    parts, problems = parse_template(parsed.prompt, others)
    for part in parts:
        if isinstance(part, dict) and ctx.column_id is not None and part["column_id"] == str(ctx.column_id):
            problems.append({"field": "config.prompt", "message": "a column cannot read itself", "code": "run_loop"})
    refs = list(dict.fromkeys(uuid.UUID(p["column_id"]) for p in parts if isinstance(p, dict)))
    output = parsed.output
    if ctx.column_type is not None and ctx.column_type not in COLUMN_TYPES[output.type]:
        allowed = ", ".join(sorted(t.value for t in COLUMN_TYPES[output.type]))
        problems.append(
            {
                "field": "config.output.type",
                "message": f"a {output.type.value} answer cannot go into a {ctx.column_type.value} column "
                f"(column types: {allowed})",
            }
        )
    for name, column_id in (output.fields or {}).items():
        where = f"config.output.fields.{name}"
        target = by_id.get(column_id)
        if target is None:
            problems.append({"field": where, "message": "no such column in this table"})
        elif column_id == ctx.column_id:
            problems.append({"field": where, "message": "the column's own cell holds the whole answer"})
        elif target.kind is not ColumnKind.DATA:
            problems.append({"field": where, "message": "an output column must be a data column"})
        elif target.type not in FIELD_TYPES:
            problems.append(
                {
                    "field": where,
                    "message": f"a JSON field cannot go into a {target.type.value} column "
                    f"(column types: {', '.join(sorted(t.value for t in FIELD_TYPES))})",
                }
            )
        elif column_id in refs:
            problems.append(
                {
                    "field": where,
                    "message": "the prompt reads this column: the run would feed itself",
                    "code": "run_loop",
                }
            )
    if output.fields and len(set(output.fields.values())) != len(output.fields):
        problems.append({"field": "config.output.fields", "message": "two fields cannot write one column"})
    if parsed.only_if is not None:
        problems.extend(filter_problems(parsed.only_if, ctx))
    writes = {*(output.fields or {}).values(), *([ctx.column_id] if ctx.column_id else [])}
    if parsed.auto_run and not problems and auto_run_loop(set(refs), writes, ctx):
        problems.append(
            {
                "field": "config.auto_run",
                "message": "auto-run columns would trigger each other in a loop",
                "code": "autorun_cycle",
            }
        )
    if problems:
        raise invalid_config(problems)
    stored = parsed.model_dump(mode="json", exclude_none=True)
    stored["parts"] = parts
    stored["refs"] = [str(r) for r in refs]
    return stored


def answer_schema(config: AiConfig, columns: Sequence[TableColumn]) -> AnswerSchema:
    """What the provider is asked for: JSON fields are typed by the columns they go to."""
    output = config.output
    if output.type is not AnswerType.JSON:
        return AnswerSchema(type=output.type, choices=output.choices)
    types = {c.id: c.type for c in columns}
    return AnswerSchema(
        type=AnswerType.JSON,
        fields={
            name: FIELD_TYPES.get(types.get(col, ColumnType.TEXT), "string")
            for name, col in (output.fields or {}).items()
        },
    )


# -- running --------------------------------------------------------------------------------------


def run_plan(
    column: TableColumn,
    columns: Sequence[TableColumn],
    table_id: uuid.UUID,
    scope: FilterGroup | None,
    *,
    only_empty: bool,
) -> ColumnPlan:
    """The run of an AI column: rows in scope, only-if and policy; runnable when some referenced
    cell has a value (a prompt with no references runs on every selected row)."""
    stored = validate_ai_config(column.config, KindContext(table_id, columns, column.id, column.type))
    config = AiConfig.model_validate({k: v for k, v in stored.items() if k not in ("parts", "refs")})
    parts: list[Part] = stored["parts"]
    refs = refs_of(stored)
    empty = None
    if only_empty or config.write_policy is WritePolicy.FILL_EMPTY:
        empty = FilterCondition(column_id=column.id, operator=FilterOperator.IS_EMPTY)
    selection = all_of(scope, config.only_if, empty)
    present = None
    if refs:
        present = FilterGroup(
            conjunction=Conjunction.OR,
            conditions=[FilterCondition(column_id=r, operator=FilterOperator.IS_NOT_EMPTY) for r in refs],
        )
    schema = answer_schema(config, columns).model_dump(mode="json", exclude_none=True)

    def record_of(values: Mapping[uuid.UUID, Any]) -> dict[str, Any] | None:
        prompt = render(parts, values)
        if not prompt.strip():
            return None
        return {"prompt": prompt, "model": config.model, "answer": schema}

    outputs = {FIELD: column.id, **{f"{FIELD}.{n}": c for n, c in (config.output.fields or {}).items()}}
    target = target_for(column.id, outputs, config.write_policy)
    # The column's own cell holds a JSON answer as text when it is a text column.
    target["ai"] = {"json_as_text": config.output.type is AnswerType.JSON and column.type is not ColumnType.JSON}
    return ColumnPlan(
        column=column,
        fields=[FIELD],
        waterfall={FIELD: [PROVIDER]},
        selection=selection,
        runnable=all_of(selection, present),
        reads=frozenset(refs),
        record_of=record_of,
        target=target,
    )


def field_of(results: Mapping[str, FieldOutcome], name: str, ai: Mapping[str, Any]) -> FieldOutcome | None:
    """What the sink writes for one output of an AI run: the answer into the column's own cell,
    a JSON field (`ai_answer.<name>`) into its column. The call is paid once, on the own cell;
    field cells show cost 0 with the same provider (the ledger sums to the cells' costs)."""
    answer = results.get(FIELD)
    if answer is None:
        return None
    if name == FIELD:
        if answer.found and ai.get("json_as_text") and not isinstance(answer.value, str):
            return replace(answer, value=json.dumps(answer.value, ensure_ascii=False, sort_keys=True))
        return answer
    key = name.removeprefix(f"{FIELD}.")
    if not answer.found:
        return replace(answer, cost=0)
    value = answer.value.get(key) if isinstance(answer.value, dict) else None
    if value is None:
        return FieldOutcome(FieldStatus.NOT_FOUND, provider=answer.provider)
    return replace(answer, value=value, cost=0)


# -- renames --------------------------------------------------------------------------------------


def rename_references(columns: Sequence[TableColumn], renamed: uuid.UUID) -> list[TableColumn]:
    """AI columns whose prompt reads `renamed`, with `prompt` rendered again from their parts
    (with the new name); returns the columns changed."""
    names = {c.id: c.name for c in columns}
    changed = []
    for column in columns:
        if column.kind is not ColumnKind.AI or renamed not in refs_of(column.config or {}):
            continue
        config = dict(column.config)
        config["prompt"] = prompt_of(config.get("parts", []), names)
        column.config = config
        changed.append(column)
    return changed


# -- preview --------------------------------------------------------------------------------------


def preview_value(
    parts: Sequence[Part], refs: Sequence[uuid.UUID], values: Mapping[uuid.UUID, Any]
) -> tuple[str, str | None]:
    """(rendered prompt, why a run would skip the row or None)."""
    prompt = render(parts, values)
    if refs and all(cell_text(values.get(r)) == "" for r in refs):
        return prompt, "every referenced cell is empty: a run skips this row"
    return prompt, None
