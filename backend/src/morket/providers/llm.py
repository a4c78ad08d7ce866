"""OpenAI-compatible chat completions: the AI column (one prompt per record).

Quirks handled here (docs/PROVIDERS.md): both "slow down" and "out of money" are 429s, told
apart by `error.code` (`rate_limit_exceeded` vs `insufficient_quota`); reset times come as
durations such as "6m0s" or "20ms" in x-ratelimit-reset-requests.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import httpx
from pydantic import Field

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


class ChatCompletionInput(InputModel):
    prompt: str | None = Field(default=None, max_length=20_000)
    system: str | None = Field(default=None, max_length=20_000)
    model: str = DEFAULT_MODEL
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1, le=4096)
    json_output: bool = False


class AiAnswerFields(OutputModel):
    ai_answer: str | dict[str, Any] | list[Any] | None = None


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
        if inputs.get("json_output"):
            body["response_format"] = {"type": "json_object"}
        response = await http.post(
            f"{self.base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {credential.api_key}"},
        )
        return self._map(operation, response, json_output=bool(inputs.get("json_output")))

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
