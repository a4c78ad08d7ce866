"""OpenAI-compatible chat completions: the AI column (one prompt per record).

Quirks handled here (docs/PROVIDERS.md): both "slow down" and "out of money" are 429s, told
apart by `error.code` (`rate_limit_exceeded` vs `insufficient_quota`); reset times come as
durations such as "6m0s" or "20ms" in x-ratelimit-reset-requests.

An `answer` schema in the inputs (an AI column's output type) asks for a structured answer
(`response_format: json_schema`, OpenAI's structured outputs) and checks the answer against it
here, before anything is billed: a number that is not a number, a choice outside the list or a
JSON field of the wrong type is `invalid_answer` (not billed, not cached), with the reason.
"""

from __future__ import annotations

import json
import math
import re
from enum import StrEnum
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from morket.providers.base import (
    Operation,
    Outcome,
    ProviderCredential,
    ProviderResult,
    RateLimitFeedback,
    RateLimitWindow,
    key,
    parse_retry_after,
)
from morket.providers.exchange import HttpProviderAdapter, ProviderRequest, Reply, StatusRule, header_feedback
from morket.providers.fields import InputModel, OutputModel, as_dict, first_dict

DEFAULT_MODEL = "gpt-4o-mini"


MAX_CHOICES = 100
MAX_ANSWER_FIELDS = 20


class AnswerType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    JSON = "json"


FieldType = Literal["string", "number", "boolean"]


class AnswerSchema(BaseModel):
    """The shape the answer must have: plain text, a number, a boolean, one of `choices`, or a
    JSON object with `fields` (name -> type; a field may be null when the model does not know)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: AnswerType = AnswerType.TEXT
    choices: list[str] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)
    fields: dict[str, FieldType] | None = Field(default=None, min_length=1, max_length=MAX_ANSWER_FIELDS)


class ChatCompletionInput(InputModel):
    prompt: str | None = Field(default=None, max_length=20_000)
    system: str | None = Field(default=None, max_length=20_000)
    model: str = DEFAULT_MODEL
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1, le=4096)
    json_output: bool = False
    answer: AnswerSchema | None = None


class AiAnswerFields(OutputModel):
    ai_answer: bool | int | float | str | dict[str, Any] | list[Any] | None = None


class InvalidAnswer(ValueError):
    """The model's answer does not fit the answer schema; the message says how."""


def answer_json_schema(answer: AnswerSchema) -> dict[str, Any]:
    """The JSON schema sent as `response_format` for a structured answer (not for text)."""
    if answer.type is AnswerType.JSON:
        fields = answer.fields or {}
        properties: dict[str, Any] = {name: {"type": [kind, "null"]} for name, kind in fields.items()}
    elif answer.type is AnswerType.CHOICE:
        properties = {"answer": {"type": "string", "enum": list(answer.choices or [])}}
    else:
        properties = {"answer": {"type": "number" if answer.type is AnswerType.NUMBER else "boolean"}}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _number(value: Any) -> int | float:
    if isinstance(value, str):  # OpenAI-compatible servers without structured outputs may quote it
        try:
            value = float(value.strip().replace(",", ""))
        except ValueError:
            raise InvalidAnswer(f"expected a number, got {_short(value)}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidAnswer(f"expected a number, got {_short(value)}")
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 2**53 else value


_TRUE_WORDS = {"true", "yes"}
_FALSE_WORDS = {"false", "no"}


def _boolean(value: Any) -> bool:
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    if not isinstance(value, bool):
        raise InvalidAnswer(f"expected true or false, got {_short(value)}")
    return value


def _typed(kind: str, value: Any) -> Any:
    if kind == "number":
        return _number(value)
    if kind == "boolean":
        return _boolean(value)
    if not isinstance(value, str):
        raise InvalidAnswer(f"expected text, got {_short(value)}")
    return value.strip()


def check_answer(answer: AnswerSchema, content: str) -> Any:
    """The answer as the schema's value (None: the model did not know), or InvalidAnswer."""
    if answer.type is AnswerType.TEXT:
        return content.strip() or None
    try:
        parsed = json.loads(content, parse_constant=lambda name: name)  # NaN/Infinity stay text
    except ValueError:
        raise InvalidAnswer("the answer is not JSON") from None
    if not isinstance(parsed, dict):
        raise InvalidAnswer(f"expected a JSON object, got {_short(parsed)}")
    if answer.type is AnswerType.JSON:
        out: dict[str, Any] = {}
        for name, kind in (answer.fields or {}).items():
            value = parsed.get(name)
            if value is None:
                continue
            try:
                out[name] = _typed(kind, value)
            except InvalidAnswer as exc:
                raise InvalidAnswer(f"field '{name}': {exc}") from None
        return out or None
    if "answer" not in parsed:
        raise InvalidAnswer("the JSON answer has no 'answer'")
    value = parsed["answer"]
    if value is None:
        return None
    if answer.type is AnswerType.NUMBER:
        return _number(value)
    if answer.type is AnswerType.BOOLEAN:
        return _boolean(value)
    choices = answer.choices or []
    if isinstance(value, str):
        folded = value.strip().casefold()
        for choice in choices:
            if choice.casefold() == folded:
                return choice
    raise InvalidAnswer(f"{_short(value)} is not one of the choices ({', '.join(choices)})")


CHAT_COMPLETION = Operation(
    name="chat_completion",
    description="Answer a prompt with a chat model (POST /chat/completions).",
    input_model=ChatCompletionInput,
    output_model=AiAnswerFields,
    requires=key("prompt"),
    cost=1,
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_reset(value: str | None) -> float | None:
    """'6m0s' -> 360.0, '20ms' -> 0.02, '1.5s' -> 1.5."""
    if not value:
        return None
    parts = _DURATION_PART.findall(value.strip())
    if not parts:
        return parse_retry_after(value)
    return sum(float(amount) * _UNIT_SECONDS[unit] for amount, unit in parts)


# Both "slow down" and "out of money" are 429s: `insufficient_quota` tells them apart.
_ERRORS = (
    StatusRule(Outcome.AUTH_FAILED, (401,), {"invalid_api_key"}, "the API key was rejected"),
    StatusRule(
        Outcome.QUOTA_EXHAUSTED,
        (402,),
        {"insufficient_quota"},
        "the account is out of quota",
        error_code="insufficient_quota",
    ),
)
_REFUSALS = (
    StatusRule(Outcome.INVALID_INPUT, (400, 404, 422), message="the request was rejected", body_code=True),
    StatusRule(Outcome.AUTH_FAILED, (403,), message="access denied"),
)


class OpenAIAdapter(HttpProviderAdapter):
    slug = "openai"
    name = "OpenAI-compatible LLM"
    description = "Any OpenAI-compatible chat completions endpoint; answers a prompt per record."
    website = "https://platform.openai.com"
    default_base_url = "https://api.openai.com/v1"
    sandbox_path = "/openai/v1"
    operations: ClassVar[tuple[Operation, ...]] = (CHAT_COMPLETION,)
    rate_limits: ClassVar[tuple[RateLimitWindow, ...]] = (RateLimitWindow(500, 60.0),)
    rate_limit_notes = "Per model and usage tier (tier 1: 500 requests/min); x-ratelimit-*-requests headers."

    def request(self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential) -> ProviderRequest:
        messages = []
        if inputs.get("system"):
            messages.append({"role": "system", "content": inputs["system"]})
        messages.append({"role": "user", "content": inputs["prompt"]})
        body: dict[str, Any] = {
            "model": inputs["model"],
            "messages": messages,
            "temperature": inputs["temperature"],
            "max_tokens": inputs["max_tokens"],
        }
        answer = _answer_schema(inputs)
        if answer is not None and answer.type is not AnswerType.TEXT:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": True, "schema": answer_json_schema(answer)},
            }
        elif inputs.get("json_output"):
            body["response_format"] = {"type": "json_object"}
        return ProviderRequest(
            "POST", f"{self.base_url}/chat/completions", {"Authorization": f"Bearer {credential.api_key}"}, json=body
        )

    def rate_limit_feedback(self, response: httpx.Response) -> RateLimitFeedback | None:
        return header_feedback(
            response.headers,
            limit="x-ratelimit-limit-requests",
            remaining="x-ratelimit-remaining-requests",
            reset_after=parse_reset(response.headers.get("x-ratelimit-reset-requests")),
        )

    def read(self, reply: Reply, inputs: dict[str, Any]) -> ProviderResult:
        answer = _answer_schema(inputs)
        if answer is not None:
            return self._read_answer(reply, answer)
        return self._read(reply, json_output=bool(inputs.get("json_output")))

    def _read_answer(self, reply: Reply, answer: AnswerSchema) -> ProviderResult:
        """A reply checked against the answer schema: a value, nothing known, or invalid_answer."""
        result = self._read(reply, json_output=False)
        if result.outcome is not Outcome.SUCCESS:
            return result
        content = _content(result.raw) or ""
        if answer.type is not AnswerType.TEXT and _finish_reason(result.raw) == "length":
            error = "the answer was cut off at max_tokens"
        else:
            try:
                value = check_answer(answer, content)
            except InvalidAnswer as exc:
                error = f"the answer does not fit the {answer.type.value} output: {exc}"
            else:
                if value is None:
                    return reply.no_match()
                return result.model_copy(update={"fields": {"ai_answer": value}})
        return reply.failure(Outcome.INVALID_ANSWER, error, "invalid_answer", rate_limit=reply.feedback)

    def _read(self, reply: Reply, *, json_output: bool) -> ProviderResult:
        status, raw, feedback = reply.status, reply.raw, reply.feedback
        if status == 200:
            content = _content(raw)
            if content is None:
                return reply.invalid_response("the model sent no message")
            if not content.strip():
                return reply.no_match()
            answer: Any = content.strip()
            if json_output:
                try:
                    answer = json.loads(content)
                except ValueError:
                    if _finish_reason(raw) == "length":
                        error = "the answer was cut off at max_tokens before its JSON was complete"
                        return reply.failure(Outcome.INVALID_INPUT, error, "max_tokens_too_small", rate_limit=feedback)
                    error = "the model did not answer with JSON"
                    return reply.failure(Outcome.TRANSIENT_ERROR, error, "invalid_json", rate_limit=feedback)
            return reply.success({"ai_answer": answer})
        body_error = as_dict(as_dict(raw).get("error"))
        code = str(body_error.get("code") or body_error.get("type") or "")
        message = body_error.get("message") if isinstance(body_error.get("message"), str) else None
        refused = reply.by_rules(_ERRORS, code, message)
        if refused is not None:
            return refused
        if status == 429:
            return reply.rate_limited(message or "rate limit reached", reply.throttle_wait(), remaining=0)
        return reply.by_rules(_REFUSALS, code, message) or reply.unexpected()


def _answer_schema(inputs: dict[str, Any]) -> AnswerSchema | None:
    return AnswerSchema.model_validate(inputs["answer"]) if inputs.get("answer") else None


def _content(raw: Any) -> str | None:
    message = first_dict(as_dict(raw).get("choices")).get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    return content if isinstance(content, str) else ("" if content is None else None)


def _finish_reason(raw: Any) -> str | None:
    reason = first_dict(as_dict(raw).get("choices")).get("finish_reason")
    return reason if isinstance(reason, str) else None
