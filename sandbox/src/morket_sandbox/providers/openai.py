"""OpenAI-compatible chat completions (`https://api.openai.com` -> `/openai`), for the AI column.

The answer is a pure function of the model and the messages, so a cached prompt and a fresh one
give the same content; `json_object` mode returns a JSON object built from the keys the prompt asks for,
`json_schema` mode one that fits the schema's properties (type, enum). A prompt containing
`INVALID_MARKER` gets an answer that breaks its schema (a word for a number, a choice outside
the enum, ...), so tests can see what the caller does with one.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from morket_sandbox import data
from morket_sandbox.config import Provider
from morket_sandbox.gate import ProviderProfile
from morket_sandbox.state import SandboxState, Usage
from morket_sandbox.wire import InvalidBodyError, read_json_object

PREFIX = "/openai"
MINUTE_LIMIT = 10_000
MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1")

INVALID_MARKER = "[[sandbox:invalid-answer]]"

_QUOTED_KEY_RE = re.compile(r'"([A-Za-z_][A-Za-z0-9_]{0,63})"\s*:')
_KEY_LIST_RE = re.compile(r"\b(?:keys|fields|properties)\b\s*:?\s*([^.\n;]+)", re.IGNORECASE)
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def openai_error(status: int, message: str, kind: str, code: str | None, param: str | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "param": param, "code": code}}, status)


def _rate_limit_error(limit: str) -> JSONResponse:
    message = f"Rate limit reached for requests on this organization: Limit {limit}. Please try again later."
    return openai_error(429, message, "requests", "rate_limit_exceeded")


def _masked(key: str) -> str:
    return f"{key[:3]}{'*' * max(0, len(key) - 7)}{key[-4:]}" if len(key) > 7 else "*" * len(key)


class OpenAIProfile(ProviderProfile):
    provider = Provider.OPENAI
    prefixes = (PREFIX,)

    def extract_key(self, request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" else None

    def unauthorized(self, key: str | None) -> Response:
        if key is None:
            return openai_error(
                401,
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                "invalid_request_error",
                None,
            )
        return openai_error(
            401, f"Incorrect API key provided: {_masked(key)}.", "invalid_request_error", "invalid_api_key"
        )

    def rate_limited(self, path: str, per_second: float) -> Response:
        return _rate_limit_error(f"{per_second:g} / sec")

    def too_many_requests(self, path: str) -> Response:
        return _rate_limit_error(f"{MINUTE_LIMIT} / min")

    def quota_exhausted(self, path: str, quota: int) -> Response:
        return openai_error(
            429,
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        )

    def internal_error(self) -> Response:
        return openai_error(
            500, "The server had an error while processing your request. Sorry about that!", "server_error", None
        )

    def usage_headers(self, usage: Usage) -> Iterable[tuple[str, str]]:
        reset = usage.minute_reset
        return (
            ("x-ratelimit-limit-requests", str(MINUTE_LIMIT)),
            ("x-ratelimit-remaining-requests", str(max(0, MINUTE_LIMIT - usage.minute))),
            ("x-ratelimit-reset-requests", f"{int(reset)}s" if reset >= 1 else f"{int(reset * 1000)}ms"),
        )


# --- deterministic completions -------------------------------------------------------------


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message whose content is a string or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def requested_keys(prompt: str) -> list[str]:
    """The keys a prompt asks for: quoted `"key":` examples first, else a "keys: a, b and c" list."""
    quoted = list(dict.fromkeys(_QUOTED_KEY_RE.findall(prompt)))
    if quoted:
        return quoted
    match = _KEY_LIST_RE.search(prompt)
    keys: list[str] = []
    if match:
        for piece in re.split(r"\s*,\s*|\s+and\s+|\s+or\s+", match[1]):
            words = _IDENTIFIER_RE.findall(piece.strip("`'\" "))
            if not words:
                break
            keys.append(words[0])
            if len(words) > 1:
                break
    return list(dict.fromkeys(keys)) or ["answer", "confidence"]


def _value_for(key: str, rng: random.Random, seed: int) -> Any:
    name = key.lower()
    fake = data.seeded_faker(seed)
    if name.startswith(("is_", "has_", "should_", "can_")):
        return rng.random() < 0.5
    if "confidence" in name or "probability" in name:
        return round(rng.uniform(0.5, 0.99), 2)
    if "score" in name:
        return rng.randint(1, 100)
    if any(word in name for word in ("count", "number", "num_", "employees", "year", "size", "age")):
        return rng.randint(1, 500)
    if "email" in name:
        return fake.email()
    if any(word in name for word in ("url", "website", "domain", "link")):
        return fake.url()
    if any(word in name for word in ("tags", "keywords", "categories", "reasons", "items", "list")):
        return fake.words(3)
    if "industry" in name:
        return rng.choice(data.INDUSTRIES).name
    if "name" in name:
        return fake.name()
    if any(word in name for word in ("summary", "description", "reason", "explanation", "answer", "text")):
        return fake.sentence(nb_words=12)
    return fake.sentence(nb_words=4).rstrip(".")


def prompt_seed(model: str, messages: Sequence[Mapping[str, Any]]) -> int:
    return data.stable_hash("openai", model, json.dumps(messages, sort_keys=True, separators=(",", ":")))


def completion_content(model: str, messages: Sequence[Mapping[str, Any]], keys: list[str] | None = None) -> str:
    """The assistant message for this prompt: JSON with `keys` when given, prose otherwise."""
    seed = prompt_seed(model, messages)
    if keys is None:
        return data.seeded_faker(seed).paragraph(nb_sentences=3)
    rng = random.Random(seed)
    return json.dumps({key: _value_for(key, rng, seed + index) for index, key in enumerate(keys)})


def _schema_properties(response_format: Mapping[str, Any]) -> dict[str, Any]:
    schema = response_format.get("json_schema")
    inner = schema.get("schema") if isinstance(schema, dict) else None
    properties = inner.get("properties") if isinstance(inner, dict) else None
    return dict(properties) if isinstance(properties, dict) and properties else {"answer": {}}


def _schema_types(spec: Any) -> list[str]:
    kinds = spec.get("type") if isinstance(spec, dict) else None
    kinds = [kinds] if isinstance(kinds, str) else kinds if isinstance(kinds, list) else []
    return [k for k in kinds if isinstance(k, str) and k != "null"]


def _schema_value(key: str, spec: Any, rng: random.Random, seed: int) -> Any:
    """A value that fits one property's schema (enum, number, integer, boolean, string)."""
    enum = spec.get("enum") if isinstance(spec, dict) else None
    if isinstance(enum, list) and enum:
        return rng.choice(enum)
    kinds = _schema_types(spec)
    if not kinds:
        return _value_for(key, rng, seed)
    if kinds[0] == "integer":
        return rng.randint(1, 500)
    if kinds[0] == "number":
        return rng.choice([rng.randint(1, 500), round(rng.uniform(0, 100), 2)])
    if kinds[0] == "boolean":
        return rng.random() < 0.5
    value = _value_for(key, rng, seed)
    return value if isinstance(value, str) else json.dumps(value) if kinds[0] == "string" else value


def _invalid_value(spec: Any) -> Any:
    """A value that breaks one property's schema."""
    if isinstance(spec, dict) and isinstance(spec.get("enum"), list):
        return "none of the above"
    kinds = _schema_types(spec)
    if kinds and kinds[0] in ("number", "integer", "boolean"):
        return "not sure"
    return 42


def schema_content(model: str, messages: Sequence[Mapping[str, Any]], properties: Mapping[str, Any]) -> str:
    """A JSON object fitting `properties` (or, with the invalid marker, breaking its first one)."""
    seed = prompt_seed(model, messages)
    rng = random.Random(seed)
    answer = {key: _schema_value(key, spec, rng, seed + i) for i, (key, spec) in enumerate(properties.items())}
    if any(INVALID_MARKER in message_text(m) for m in messages):
        first = next(iter(properties))
        answer[first] = _invalid_value(properties[first])
    return json.dumps(answer)


def _tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def build_router(state: SandboxState) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["openai"])

    @router.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        """A deterministic chat completion; honours `response_format` and `max_tokens`."""
        try:
            body = await read_json_object(request)
        except InvalidBodyError:
            return openai_error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None)
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(model, str) or not model:
            return openai_error(400, "you must provide a model parameter", "invalid_request_error", None)
        if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
            return openai_error(
                400,
                "'messages' must be a non-empty array of message objects.",
                "invalid_request_error",
                None,
                "messages",
            )
        prompt = "\n".join(message_text(m) for m in messages)
        response_format = body.get("response_format")
        format_type = response_format.get("type") if isinstance(response_format, dict) else None
        keys: list[str] | None = None
        content: str | None = None
        if format_type == "json_object":
            if "json" not in prompt.lower():
                return openai_error(
                    400,
                    "'messages' must contain the word 'json' in some form, to use 'response_format' of type "
                    "'json_object'.",
                    "invalid_request_error",
                    None,
                    "messages",
                )
            keys = requested_keys(prompt)
        elif format_type == "json_schema" and isinstance(response_format, dict):
            content = schema_content(model, messages, _schema_properties(response_format))
        if content is None:
            content = completion_content(model, messages, keys)
        completion_tokens, finish_reason = _tokens(content), "stop"
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if isinstance(max_tokens, int) and 0 < max_tokens < completion_tokens:
            # Like the real API, a cut-off answer is returned as is, even when that breaks the JSON.
            content, completion_tokens, finish_reason = content[: max_tokens * 4], max_tokens, "length"
        prompt_tokens = _tokens(prompt) + 3 * len(messages)
        completion_id = data.hex_id("openai-completion", f"{prompt_seed(model, messages)}:{state.next_sequence()}", 29)
        return JSONResponse(
            {
                "id": f"chatcmpl-{completion_id}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_sandbox",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    @router.get("/v1/models")
    async def list_models() -> Response:
        """The models the sandbox answers for (any model name is accepted)."""
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "sandbox"}
                    for model in MODELS
                ],
            }
        )

    return router
