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
    ProviderAdapter,
    ProviderCredential,
    ProviderResult,
    RateLimitFeedback,
    RateLimitWindow,
    header_int,
    key,
    parse_retry_after,
    read_body,
)
from morket.providers.fields import InputModel, OutputModel

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


def rate_limit_feedback(response: httpx.Response) -> RateLimitFeedback | None:
    headers = response.headers
    limit = header_int(headers, "x-ratelimit-limit-requests")
    remaining = header_int(headers, "x-ratelimit-remaining-requests")
    reset = parse_reset(headers.get("x-ratelimit-reset-requests"))
    retry_after = parse_retry_after(headers.get("retry-after"))
    if limit is None and remaining is None and retry_after is None:
        return None
    return RateLimitFeedback(retry_after=retry_after, remaining=remaining, reset_after=reset, limit=limit, period=60.0)


class OpenAIAdapter(ProviderAdapter):
    slug = "openai"
    name = "OpenAI-compatible LLM"
    description = "Any OpenAI-compatible chat completions endpoint; answers a prompt per record."
    website = "https://platform.openai.com"
    default_base_url = "https://api.openai.com/v1"
    sandbox_path = "/openai/v1"
    operations: ClassVar[tuple[Operation, ...]] = (CHAT_COMPLETION,)
    rate_limits: ClassVar[tuple[RateLimitWindow, ...]] = (RateLimitWindow(500, 60.0),)
    rate_limit_notes = "Per model and usage tier (tier 1: 500 requests/min); x-ratelimit-*-requests headers."

    async def _send(
        self, operation: Operation, inputs: dict[str, Any], credential: ProviderCredential, http: httpx.AsyncClient
    ) -> ProviderResult:
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
        answer = AnswerSchema.model_validate(inputs["answer"]) if inputs.get("answer") else None
        if answer is not None and answer.type is not AnswerType.TEXT:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": True, "schema": answer_json_schema(answer)},
            }
        elif inputs.get("json_output"):
            body["response_format"] = {"type": "json_object"}
        response = await http.post(
            f"{self.base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {credential.api_key}"},
        )
        if answer is not None:
            return self._map_answer(operation, response, answer)
        return self._map(operation, response, json_output=bool(inputs.get("json_output")))

    def _map_answer(self, operation: Operation, response: httpx.Response, answer: AnswerSchema) -> ProviderResult:
        """A reply checked against the answer schema: a value, nothing known, or invalid_answer."""
        result = self._map(operation, response, json_output=False)
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
                    return self.result(
                        operation, Outcome.NO_MATCH, raw=result.raw, response=response, rate_limit=result.rate_limit
                    )
                return result.model_copy(update={"fields": {"ai_answer": value}})
        return self.result(
            operation,
            Outcome.INVALID_ANSWER,
            raw=result.raw,
            error=error,
            error_code="invalid_answer",
            response=response,
            rate_limit=result.rate_limit,
        )

    def _map(self, operation: Operation, response: httpx.Response, *, json_output: bool) -> ProviderResult:
        raw = read_body(response)
        feedback = rate_limit_feedback(response)
        status = response.status_code
        if status == 200:
            content = _content(raw)
            if content is None:
                return self.result(
                    operation,
                    Outcome.TRANSIENT_ERROR,
                    raw=raw,
                    error="the model sent no message",
                    error_code="invalid_response",
                    response=response,
                    rate_limit=feedback,
                )
            if not content.strip():
                return self.result(operation, Outcome.NO_MATCH, raw=raw, response=response, rate_limit=feedback)
            answer: Any = content.strip()
            if json_output:
                try:
                    answer = json.loads(content)
                except ValueError:
                    if _finish_reason(raw) == "length":
                        return self.result(
                            operation,
                            Outcome.INVALID_INPUT,
                            raw=raw,
                            error="the answer was cut off at max_tokens before its JSON was complete",
                            error_code="max_tokens_too_small",
                            response=response,
                            rate_limit=feedback,
                        )
                    return self.result(
                        operation,
                        Outcome.TRANSIENT_ERROR,
                        raw=raw,
                        error="the model did not answer with JSON",
                        error_code="invalid_json",
                        response=response,
                        rate_limit=feedback,
                    )
            return self.result(
                operation,
                Outcome.SUCCESS,
                fields={"ai_answer": answer},
                raw=raw,
                response=response,
                rate_limit=feedback,
            )
        error = raw.get("error") if isinstance(raw, dict) else None
        error = error if isinstance(error, dict) else {}
        code = str(error.get("code") or error.get("type") or "")
        message = error.get("message") if isinstance(error.get("message"), str) else None
        if status == 401 or code == "invalid_api_key":
            return self.result(
                operation, Outcome.AUTH_FAILED, raw=raw, error=message or "the API key was rejected", response=response
            )
        if code == "insufficient_quota" or status == 402:
            return self.result(
                operation,
                Outcome.QUOTA_EXHAUSTED,
                raw=raw,
                error=message or "the account is out of quota",
                error_code="insufficient_quota",
                response=response,
            )
        if status == 429:
            retry_after = (feedback.retry_after or feedback.reset_after) if feedback else None
            retry_after = retry_after if retry_after is not None else 1.0
            return self.result(
                operation,
                Outcome.RATE_LIMITED,
                raw=raw,
                error=message or "rate limit reached",
                retry_after=retry_after,
                response=response,
                rate_limit=RateLimitFeedback(retry_after=retry_after, remaining=0),
            )
        if status in (400, 404, 422):
            return self.result(
                operation,
                Outcome.INVALID_INPUT,
                raw=raw,
                error=message or "the request was rejected",
                error_code=code or None,
                response=response,
            )
        if status == 403:
            return self.result(
                operation, Outcome.AUTH_FAILED, raw=raw, error=message or "access denied", response=response
            )
        return self.unexpected(operation, response, raw)


def _content(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    choices = raw.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return None
    content = message.get("content")
    return content if isinstance(content, str) else ("" if content is None else None)


def _finish_reason(raw: Any) -> str | None:
    choices = raw.get("choices") if isinstance(raw, dict) else None
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        reason = choices[0].get("finish_reason")
        return reason if isinstance(reason, str) else None
    return None
