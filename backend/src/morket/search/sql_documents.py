"""The PostgreSQL engine's documents built by PostgreSQL itself, straight from a table's rows.

The same rules as `documents.build_document` (the `FieldPlan` decides which column feeds which
field; this module only renders those decisions as SQL), so a batch of rows becomes documents in
one `INSERT ... SELECT` with no row crossing the wire: the Python path read every row through
`RowService`, built each document and sent it back, two thirds of the bulk indexing time
(docs/search.md, "Indexing from the outbox"). `tests/search/test_documents.py` checks that both
paths build the same document from the same cells.

One difference, on purpose: a JSON cell's nested values are rendered as JSON text (`true`,
`{"a": 1}`), where the Python path uses Python's `str` (`True`, `{'a': 1}`); the words are the same.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from morket.models import ColumnType, TableColumn
from morket.search.documents import MAX_FIELD_CHARS, MAX_OTHER_CHARS, FieldPlan

# What `str.strip()` removes (control characters are spaces by then): kept identical so both
# paths store the same text.
_WHITESPACE = "".join(ch for ch in map(chr, range(sys.maxunicode + 1)) if ch.isspace() and ch not in "\x00")
_STRIP = "'" + _WHITESPACE.replace("'", "''") + "'"
_CONTROL = r"'[\x01-\x08\x0b\x0c\x0e-\x1f]'"
_CELL_CHARS = 500


def clean(expr: str, limit: int = MAX_FIELD_CHARS) -> str:
    """`documents.clean_text` of a text expression: control characters out, trimmed, bounded, '' -> NULL."""
    return f"nullif(left(btrim(regexp_replace({expr}, {_CONTROL}, ' ', 'g'), {_STRIP}), {limit}), '')"


def cell_text(column: TableColumn) -> str:
    """A cell of the physical row `t` as text (lists joined with ', ', an object's scalar values with ' ')."""
    col = f't."{column.physical_name}"'
    if column.type is ColumnType.MULTI_SELECT:
        return f"array_to_string({col}, ', ')"
    if column.type is ColumnType.JSON:
        return (
            f"CASE jsonb_typeof({col}) WHEN 'array' THEN (SELECT string_agg(e #>> '{{}}', ', ') "
            f"FROM jsonb_array_elements({col}) AS e WHERE jsonb_typeof(e) <> 'null') "
            f"WHEN 'object' THEN (SELECT string_agg(e #>> '{{}}', ' ') FROM jsonb_each({col}) AS x(k, e) "
            f"WHERE jsonb_typeof(e) IN ('string', 'number', 'boolean')) ELSE {col} #>> '{{}}' END"
        )
    return f"CAST({col} AS text)"


def _joined(parts: Sequence[str], separator: str, limit: int) -> str:
    if len(parts) == 1:
        return parts[0] if limit >= MAX_FIELD_CHARS else clean(parts[0], limit)
    return clean(f"concat_ws('{separator}', {', '.join(parts)})", limit)


def field_columns(plan: FieldPlan, columns: Sequence[TableColumn]) -> dict[str, str]:
    """SQL per document column (name ... other, cells, providers), over the physical row `t`."""
    by_id = {str(c.id): c for c in columns}
    cleaned = {key: clean(cell_text(by_id[key])) for key in plan.types if key in by_id}
    out: dict[str, str] = {}
    for name in ("name", "email", "company", "domain", "title", "location", "industry"):
        keys = [k for k in plan.fields.get(name, []) if k in cleaned]
        out[name] = _joined([cleaned[k] for k in keys], " ", MAX_FIELD_CHARS) if keys else "NULL"
    others = [cleaned[k] for k in plan.other if k in cleaned]
    out["other"] = clean(f"concat_ws(' \n ', {', '.join(others)})", MAX_OTHER_CHARS) if others else "NULL"
    pairs = [
        f"'{key}', {clean(cell_text(by_id[key]), _CELL_CHARS)}"
        for key in (*(k for keys in plan.fields.values() for k in keys), *plan.other)
        if key in by_id
    ]
    # jsonb_build_object takes at most 100 arguments: 50 cells a call.
    chunks = [f"jsonb_build_object({', '.join(pairs[i : i + 50])})" for i in range(0, len(pairs), 50)]
    out["cells"] = f"jsonb_strip_nulls({' || '.join(chunks)})" if chunks else "'{}'::jsonb"
    out["providers"] = (
        "ARRAY(SELECT DISTINCT left(m.v ->> 'provider', 64) COLLATE \"C\" FROM jsonb_each("
        "CASE WHEN jsonb_typeof(t._meta) = 'object' THEN t._meta END) AS m(k, v) "
        "WHERE jsonb_typeof(m.v -> 'provider') = 'string' AND m.v ->> 'provider' <> '' ORDER BY 1)"
    )
    return out


# Over the fields computed above (`f`): the email's and the domain's words, the label.
EMAIL_TERMS = (
    "(SELECT CASE WHEN e IS NOT NULL THEN concat_ws(' ', e, "
    r"nullif(btrim(regexp_replace(split_part(e, '@', 1), '[._+\-]+', ' ', 'g')), ''), "
    "host, nullif(split_part(host, '.', 1), '')) END FROM (SELECT e, CASE WHEN strpos(e, '@') > 0 "
    "THEN nullif(substr(e, strpos(e, '@') + 1), '') END AS host FROM (SELECT lower(f.email COLLATE \"default\") "
    "AS e) AS a) AS b)"
)
_HOST = (
    "(SELECT CASE WHEN h LIKE 'www.%' THEN substr(h, 5) ELSE h END FROM (SELECT split_part(split_part("
    'regexp_replace(lower(f.domain COLLATE "default"), '
    r"'^[a-z][a-z0-9+.\-]*://', ''), '/', 1), '?', 1) AS h) AS x)"
)
DOMAIN_TERMS = (
    f"(SELECT CASE WHEN split_part(host, '.', 1) <> '' AND split_part(host, '.', 1) <> host "
    f"THEN host || ' ' || split_part(host, '.', 1) ELSE nullif(host, '') END FROM (SELECT {_HOST} AS host) AS y)"
)
LABEL = "coalesce(f.name, f.company, f.email, f.domain, 'Row ' || f.row_id) COLLATE \"default\""
