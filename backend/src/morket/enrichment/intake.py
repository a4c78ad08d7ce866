"""The body of a new enrichment job: parsed and checked off the event loop, record by record.

A JSON job may carry 100,000 records (ENRICHMENT_MAX_RECORDS). Parsing, validating and
checking that many on the event loop stalls every other request for the duration, so the route
hands the raw bytes to `parse_job_body` in a worker thread (pure Python work releases the GIL
between bytecodes, so the loop keeps answering while it runs).

Every value must be storable and usable: no NUL character (PostgreSQL text cannot hold it), no
lone surrogate (not encodable as UTF-8), no NaN or Infinity (not JSON), no string longer than its
key allows. A record that breaks a rule is named by its index, so the caller can fix that one.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from morket.core.text import loads_object_in_steps, text_problem
from morket.enrichment.schemas import EnrichmentJobCreate

MAX_RECORD_KEYS = 50
MAX_KEY_CHARS = 100
MAX_DEPTH = 4
# The longest string any input may be (a prompt for the language model column).
MAX_VALUE_CHARS = 20_000
# Inputs a provider puts in a URL or an address: an over-long one must not reach the HTTP client.
KEY_LIMITS: dict[str, int] = {
    "domain": 253,
    "company_domain": 253,
    "email": 320,
    "website": 2_048,
    "linkedin_url": 2_048,
    "company_linkedin_url": 2_048,
}
MAX_DETAILS = 20


class BodyRejected(Exception):
    """The body cannot become a job; `status` is 413 (too many records) or 422."""

    def __init__(self, status: int, code: str, message: str, details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def _value_problem(value: Any, limit: int, depth: int) -> str | None:
    if isinstance(value, str):
        if len(value) > limit:
            return f"is longer than {limit} characters"
        return text_problem(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "is not a finite number"
    if isinstance(value, dict | list):
        if depth >= MAX_DEPTH:
            return f"nests deeper than {MAX_DEPTH} levels"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, inner in items:
            if isinstance(key, str) and (problem := text_problem(key)):
                return f"has a key that {problem}"
            if problem := _value_problem(inner, limit, depth + 1):
                return problem
    return None


def record_problem(record: dict[str, Any]) -> str | None:
    """Why a record cannot be taken, or None."""
    if len(record) > MAX_RECORD_KEYS:
        return f"has more than {MAX_RECORD_KEYS} keys"
    for key, value in record.items():
        if len(key) > MAX_KEY_CHARS:
            return f"has a key longer than {MAX_KEY_CHARS} characters"
        if problem := text_problem(key):
            return f"has a key that {problem}"
        if problem := _value_problem(value, KEY_LIMITS.get(key, MAX_VALUE_CHARS), 1):
            return f"'{key[:40]}' {problem}"
    return None


def parse_job_body(raw: bytes, max_records: int) -> EnrichmentJobCreate:
    """Raw request bytes -> a checked job body, or BodyRejected. Blocking: run it in a thread."""
    try:
        data, count = loads_object_in_steps(raw, "records", max_records)
    except (ValueError, RecursionError) as exc:
        message = str(exc) if "JSON" in str(exc) or "range" in str(exc) else "the body is not valid JSON"
        raise BodyRejected(
            422, "validation_error", "The request is not valid.", [{"field": "body", "message": message}]
        ) from None
    if count > max_records:
        raise BodyRejected(
            413,
            "too_many_records",
            f"A JSON enrichment job takes at most {max_records} records; import larger inputs as a table.",
            {"max_records": max_records, "records": count},
        )
    records = data.get("records") if isinstance(data, dict) else None
    try:
        if isinstance(records, list) and records and all(isinstance(r, dict) for r in records):
            # pydantic checks the rest with one record standing in for all (one long Rust call
            # over 100,000 records would hold the GIL); the records are checked below, in Python.
            head = EnrichmentJobCreate.model_validate({**data, "records": records[:1]})
            body = head.model_copy(update={"records": records})
        else:
            body = EnrichmentJobCreate.model_validate(data)
    except ValidationError as exc:
        raise BodyRejected(422, "validation_error", "The request is not valid.", _clean(exc)) from None
    problems = []
    for index, record in enumerate(body.records):
        problem = record_problem(record)
        if problem is not None:
            problems.append({"field": f"records.{index}", "index": index, "message": f"record {index} {problem}"})
            if len(problems) >= MAX_DETAILS:
                break
    for name in (*body.fields, *(body.waterfall or {})):
        if problem := text_problem(name) or (None if len(name) <= MAX_KEY_CHARS else "is too long"):
            problems.append({"field": "fields", "message": f"a field name {problem}"})
            break
    if problems:
        raise BodyRejected(422, "invalid_records", "Some records cannot be enriched.", problems)
    return body


def _clean(exc: ValidationError) -> list[dict[str, Any]]:
    # Never echo the submitted value.
    return [
        {
            "field": ".".join(str(p) for p in err.get("loc", ())),
            "message": err.get("msg", "invalid"),
            "type": err["type"],
        }
        for err in exc.errors()[:MAX_DETAILS]
    ]


def inline_schema(model: type[EnrichmentJobCreate]) -> dict[str, Any]:
    """The model's JSON schema with its $defs inlined, for a route that declares its body by hand."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
