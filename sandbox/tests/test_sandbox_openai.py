"""OpenAI-compatible chat completions: determinism, JSON mode, error codes."""

from __future__ import annotations

import json

import httpx

from morket_sandbox import SANDBOX_API_KEY
from morket_sandbox.providers.openai import completion_content, requested_keys

URL = "/openai/v1/chat/completions"
AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


def chat(client: httpx.Client, content: str, **extra: object) -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": content}], **extra}
    return client.post(URL, json=body, headers=AUTH)


def test_completion_is_deterministic_per_prompt(sandbox_http: httpx.Client) -> None:
    first = chat(sandbox_http, "Describe acme.com in two sentences.")
    again = chat(sandbox_http, "Describe acme.com in two sentences.")
    other = chat(sandbox_http, "Describe globex.com in two sentences.")
    assert first.status_code == 200
    body = first.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] == "stop"
    content = body["choices"][0]["message"]["content"]
    assert content == again.json()["choices"][0]["message"]["content"]
    assert content != other.json()["choices"][0]["message"]["content"]
    assert body["id"] != again.json()["id"]
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0


def test_json_object_mode_returns_the_requested_keys(sandbox_http: httpx.Client) -> None:
    prompt = "Return JSON with keys industry, summary, employee_count and is_b2b for acme.com."
    response = chat(sandbox_http, prompt, response_format={"type": "json_object"})
    assert response.status_code == 200
    parsed = json.loads(response.json()["choices"][0]["message"]["content"])
    assert list(parsed) == ["industry", "summary", "employee_count", "is_b2b"]
    assert isinstance(parsed["employee_count"], int)
    assert isinstance(parsed["is_b2b"], bool)
    messages = [{"role": "user", "content": prompt}]
    assert response.json()["choices"][0]["message"]["content"] == completion_content(
        "gpt-4o-mini", messages, requested_keys(prompt)
    )


def test_json_object_mode_reads_quoted_example_keys(sandbox_http: httpx.Client) -> None:
    prompt = 'Answer in JSON like {"score": 0, "reason": "..."}'
    parsed = json.loads(
        chat(sandbox_http, prompt, response_format={"type": "json_object"}).json()["choices"][0]["message"]["content"]
    )
    assert set(parsed) == {"score", "reason"}
    assert 1 <= parsed["score"] <= 100


def test_json_schema_mode_uses_schema_properties(sandbox_http: httpx.Client) -> None:
    schema = {"name": "x", "schema": {"type": "object", "properties": {"headline": {}, "confidence": {}}}}
    response = chat(sandbox_http, "Summarize.", response_format={"type": "json_schema", "json_schema": schema})
    parsed = json.loads(response.json()["choices"][0]["message"]["content"])
    assert set(parsed) == {"headline", "confidence"}
    assert 0 <= parsed["confidence"] <= 1


def test_json_object_requires_the_word_json(sandbox_http: httpx.Client) -> None:
    response = chat(sandbox_http, "Give me keys a and b", response_format={"type": "json_object"})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert response.json()["error"]["param"] == "messages"


def test_max_tokens_truncates_with_finish_reason_length(sandbox_http: httpx.Client) -> None:
    response = chat(sandbox_http, "Write a paragraph about sales.", max_tokens=3)
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "length"
    assert len(choice["message"]["content"]) <= 12
    assert response.json()["usage"]["completion_tokens"] == 3


def test_invalid_api_key(sandbox_http: httpx.Client) -> None:
    response = sandbox_http.post(
        URL, json={"model": "m", "messages": []}, headers={"Authorization": "Bearer sk-wrong-1234"}
    )
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert set(error) == {"message", "type", "param", "code"}
    assert "1234" in error["message"] and "sk-wrong-1234" not in error["message"]


def test_missing_model_or_messages(sandbox_http: httpx.Client) -> None:
    assert (
        sandbox_http.post(URL, json={"messages": [{"role": "user", "content": "x"}]}, headers=AUTH).status_code == 400
    )
    assert sandbox_http.post(URL, json={"model": "m", "messages": []}, headers=AUTH).status_code == 400


def test_rate_limit_and_quota_codes(sandbox_http: httpx.Client) -> None:
    sandbox_http.put("/_admin/faults", json={"providers": {"openai": {"rate_429": 1.0}}}).raise_for_status()
    limited = chat(sandbox_http, "hi")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert limited.headers["retry-after"] == "1"

    sandbox_http.put("/_admin/faults", json={"providers": {"openai": {"quota": 0}}}).raise_for_status()
    exhausted = chat(sandbox_http, "hi")
    assert exhausted.status_code == 429
    assert exhausted.json()["error"]["code"] == "insufficient_quota"
    assert exhausted.json()["error"]["type"] == "insufficient_quota"


def test_rate_limit_headers(sandbox_http: httpx.Client) -> None:
    response = chat(sandbox_http, "hi")
    assert response.headers["x-ratelimit-limit-requests"] == "10000"
    assert int(response.headers["x-ratelimit-remaining-requests"]) < 10000
    assert response.headers["x-ratelimit-reset-requests"].endswith("s")
