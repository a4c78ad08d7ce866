"""Column runs started together share a job only when that changes nothing but the number of
calls: same table, same rows in the same order, same write policy, no budget, different fields
and columns, and inputs that agree on every row."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

from morket.enrichment.service import TableJobSpec, merge_specs

TABLE = uuid.uuid4()
WS = uuid.uuid4()


def spec(field: str, column: str, rows: list[int], inputs: list[dict[str, Any]], **kw: Any) -> TableJobSpec:
    values: dict[str, Any] = {
        "workspace_id": WS,
        "user_id": None,
        "table_id": TABLE,
        "label": f"Leads / {column}",
        "fields": [field],
        "waterfall": {field: ["apollo", "hunter"] if field == "email" else ["clearbit"]},
        "inputs": inputs,
        "row_ids": rows,
        "target": {"column_id": column, "columns": {field: column}, "write_policy": "fill_empty"},
        "budget": None,
    }
    values.update(kw)
    return TableJobSpec(**values)


ROWS = [1, 2, 3]
DOMAINS = [{"domain": f"d{i}.com"} for i in ROWS]


def test_same_rows_make_one_job_with_every_field_and_column() -> None:
    # Apollo's extra inputs (names) are nothing Clearbit reads: the runs share a job.
    email = spec("email", "c-email", ROWS, [{**d, "first_name": "A", "last_name": "B"} for d in DOMAINS])
    company = spec("company_name", "c-company", ROWS, DOMAINS)
    industry = spec("industry", "c-industry", ROWS, DOMAINS)
    (merged, members), *rest = merge_specs([email, company, industry])
    assert rest == [] and members == [0, 1, 2]
    assert merged.fields == ["email", "company_name", "industry"]
    assert merged.waterfall == {"email": ["apollo", "hunter"], "company_name": ["clearbit"], "industry": ["clearbit"]}
    assert merged.target["columns"] == {"email": "c-email", "company_name": "c-company", "industry": "c-industry"}
    assert merged.inputs == [{"domain": f"d{i}.com", "first_name": "A", "last_name": "B"} for i in ROWS]
    assert merged.row_ids == ROWS
    assert merged.label == "Leads / c-email + c-company + c-industry"


def test_what_keeps_runs_apart() -> None:
    base = spec("company_name", "c-company", ROWS, DOMAINS)
    apart = [
        spec("industry", "c-industry", [1, 2], DOMAINS[:2]),  # other rows
        spec("industry", "c-industry", [3, 2, 1], DOMAINS[::-1]),  # other order
        spec("industry", "c-industry", ROWS, DOMAINS, budget=10),  # a budget is per column run
        spec("company_name", "c-other", ROWS, DOMAINS),  # the same field twice
        spec("industry", "c-company", ROWS, DOMAINS),  # the same column twice
        spec("industry", "c-industry", ROWS, [{"domain": "x.com"}, *DOMAINS[1:]]),  # inputs disagree
        replace(
            spec("industry", "c-industry", ROWS, DOMAINS),
            target={"column_id": "c-industry", "columns": {"industry": "c-industry"}, "write_policy": "overwrite"},
        ),
        replace(spec("industry", "c-industry", ROWS, DOMAINS), table_id=uuid.uuid4()),
        # Clearbit could use an email the other column brings: its answer might change.
        spec("industry", "c-industry", ROWS, [{**d, "email": "a@b.com"} for d in DOMAINS]),
    ]
    for other in apart:
        groups = merge_specs([base, other])
        assert [members for _, members in groups] == [[0], [1]], other
        assert [g for g, _ in groups] == [base, other]


def test_budgeted_specs_never_merge_and_order_is_kept() -> None:
    a = spec("company_name", "c-a", ROWS, DOMAINS, budget=5)
    b = spec("industry", "c-b", ROWS, DOMAINS, budget=5)
    c = spec("email", "c-c", ROWS, DOMAINS)
    d = spec("industry", "c-d", ROWS, DOMAINS)
    assert [m for _, m in merge_specs([a, b, c, d])] == [[0], [1], [2, 3]]
