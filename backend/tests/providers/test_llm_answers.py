"""The OpenAI adapter's answer schema, against the sandbox's emulator over HTTP: each output type
is asked with `json_schema` and checked before anything is billed; an answer that breaks the
schema is `invalid_answer` (cost 0), with the reason. Plus the checks themselves, value by value."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from morket_sandbox.providers.openai import INVALID_MARKER

from morket.providers.base import Outcome, ProviderAdapter
from morket.providers.llm import AnswerSchema, AnswerType, InvalidAnswer, check_answer
from tests.providers.conftest import SANDBOX_KEY

pytestmark = pytest.mark.usefixtures("sandbox_admin")

Adapters = dict[str, ProviderAdapter]

SCHEMAS: list[dict[str, Any]] = [
    {"type": "text"},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "choice", "choices": ["SMB", "Mid-market", "Enterprise"]},
    {"type": "json", "fields": {"industry": "string", "employees": "number", "is_b2b": "boolean"}},
]


def _fits(schema: dict[str, Any], value: Any) -> bool:
    kind = schema["type"]
    if kind == "text":
        return isinstance(value, str) and bool(value)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "choice":
        return value in schema["choices"]
    types = {"string": str, "number": (int, float), "boolean": bool}
    return isinstance(value, dict) and all(isinstance(value[k], types[t]) for k, t in schema["fields"].items())


@pytest.mark.parametrize("schema", SCHEMAS, ids=[s["type"] for s in SCHEMAS])
async def test_each_output_type_is_answered_and_billed_once(
    adapters: Adapters, http: httpx.AsyncClient, schema: dict[str, Any]
) -> None:
    llm = adapters["openai"]
    inputs = {"prompt": "Tell me about Ada at acme.com", "answer": schema}
    first = await llm.call("chat_completion", inputs, SANDBOX_KEY, http)
    assert first.outcome is Outcome.SUCCESS, first
    assert first.cost == 1 and _fits(schema, first.fields["ai_answer"]), first.fields
    # Deterministic from the prompt: the same question, the same answer.
    again = await llm.call("chat_completion", inputs, SANDBOX_KEY, http)
    assert again.fields == first.fields


@pytest.mark.parametrize("schema", SCHEMAS[1:], ids=[s["type"] for s in SCHEMAS[1:]])
async def test_an_answer_that_breaks_the_schema_is_invalid_and_free(
    adapters: Adapters, http: httpx.AsyncClient, schema: dict[str, Any]
) -> None:
    llm = adapters["openai"]
    inputs = {"prompt": f"Tell me about Ada {INVALID_MARKER}", "answer": schema}
    result = await llm.call("chat_completion", inputs, SANDBOX_KEY, http)
    assert result.outcome is Outcome.INVALID_ANSWER, result
    assert result.cost == 0 and result.fields == {} and result.error_code == "invalid_answer"
    assert result.error and f"does not fit the {schema['type']} output" in result.error
    assert not result.outcome.cacheable and not result.outcome.billable and not result.outcome.retryable


def test_checks_value_by_value() -> None:
    number = AnswerSchema(type=AnswerType.NUMBER)
    assert check_answer(number, '{"answer": 12}') == 12
    assert check_answer(number, '{"answer": 12.0}') == 12
    assert check_answer(number, '{"answer": "1,250.5"}') == 1250.5
    assert check_answer(number, '{"answer": null}') is None
    for bad in ('{"answer": "many"}', '{"answer": true}', '{"answer": NaN}', '{"answer": [1]}', "12", "{}"):
        with pytest.raises(InvalidAnswer):
            check_answer(number, bad)
    boolean = AnswerSchema(type=AnswerType.BOOLEAN)
    assert check_answer(boolean, '{"answer": false}') is False
    assert check_answer(boolean, '{"answer": "Yes"}') is True
    with pytest.raises(InvalidAnswer):
        check_answer(boolean, '{"answer": 1}')
    choice = AnswerSchema(type=AnswerType.CHOICE, choices=["SMB", "Enterprise"])
    assert check_answer(choice, '{"answer": " enterprise "}') == "Enterprise"
    with pytest.raises(InvalidAnswer, match="not one of the choices"):
        check_answer(choice, '{"answer": "Startup"}')
    fields = AnswerSchema(type=AnswerType.JSON, fields={"size": "number", "name": "string"})
    assert check_answer(fields, '{"size": "40", "name": " Acme ", "extra": 1}') == {"size": 40, "name": "Acme"}
    assert check_answer(fields, '{"size": null}') is None  # nothing known: not a charged success
    with pytest.raises(InvalidAnswer, match="field 'name'"):
        check_answer(fields, '{"size": 4, "name": 5}')
    with pytest.raises(InvalidAnswer, match="JSON object"):
        check_answer(fields, "[1, 2]")
    assert check_answer(AnswerSchema(), "  a line  ") == "a line"
