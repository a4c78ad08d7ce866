"""The shared half of every HTTP adapter (exchange.py) and the field readers (fields.py), on real
httpx responses: what a status table, a reply and the rate-limit headers turn into."""

from __future__ import annotations

from typing import Any

import httpx

from morket.providers.base import Outcome, RateLimitFeedback
from morket.providers.exchange import Reply, StatusRule, header_feedback
from morket.providers.fields import as_dict, as_int, canonical_domain, canonical_linkedin_url, first_dict
from morket.providers.hunter import EMAIL_VERIFIER, HunterAdapter

ADAPTER = HunterAdapter("http://unused")
FEEDBACK = RateLimitFeedback(remaining=3, limit=10, period=60.0)
RULES = (
    StatusRule(Outcome.NO_MATCH, (404,), {"not_found"}),
    StatusRule(Outcome.AUTH_FAILED, (401,), {"bad_key"}, "key refused", body_code=True),
    StatusRule(Outcome.RATE_LIMITED, (403,), message="slow down", retry_after=2.5),
    StatusRule(Outcome.QUOTA_EXHAUSTED, (402,), message="plan used up", error_code="plan_limit"),
)


def reply(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Reply:
    response = httpx.Response(status, json=body, headers=headers)
    return Reply(ADAPTER, EMAIL_VERIFIER, response, body, FEEDBACK)


def test_the_first_matching_rule_wins_by_status_or_by_body_code() -> None:
    by_status = reply(401).by_rules(RULES, "", None)
    assert by_status is not None and by_status.outcome is Outcome.AUTH_FAILED
    assert by_status.error == "key refused" and by_status.error_code == "auth_failed" and by_status.http_status == 401
    # A 400 whose body says "bad_key" is the key's fault; the body's own code and words are kept.
    by_code = reply(400, {"e": 1}).by_rules(RULES, "bad_key", "Your key is wrong")
    assert by_code is not None and by_code.outcome is Outcome.AUTH_FAILED
    assert by_code.error == "Your key is wrong" and by_code.error_code == "bad_key" and by_code.raw == {"e": 1}
    fixed = reply(402).by_rules(RULES, "whatever", None)
    assert fixed is not None and fixed.error_code == "plan_limit" and fixed.error == "plan used up"
    assert reply(418).by_rules(RULES, "", None) is None
    assert reply(418).by_rules(RULES, "unknown_code", "x") is None


def test_only_answers_about_the_data_carry_the_rate_limit_feedback() -> None:
    no_match = reply(404).by_rules(RULES, "", None)
    assert no_match is not None and no_match.outcome is Outcome.NO_MATCH and no_match.rate_limit == FEEDBACK
    assert no_match.cost == 0 and no_match.error_code == "no_match"
    success = reply(200, {"data": {}}).success({"email_status": "valid"})
    assert success.rate_limit == FEEDBACK and success.cost == EMAIL_VERIFIER.cost
    assert success.fields == {"email_status": "valid"}
    pending = reply(202).pending("later", "queued", 4.0)
    assert pending.rate_limit == FEEDBACK and pending.retry_after == 4.0 and pending.error_code == "queued"
    unreadable = reply(200, "<html>").invalid_response("no record")
    assert unreadable.outcome is Outcome.TRANSIENT_ERROR and unreadable.error_code == "invalid_response"
    assert unreadable.rate_limit == FEEDBACK
    refused = reply(401).by_rules(RULES, "", None)
    assert refused is not None and refused.rate_limit is None and refused.fields == {}


def test_a_throttle_rule_waits_for_retry_after_or_its_own_default() -> None:
    told = reply(403, headers={"retry-after": "7"}).by_rules(RULES, "", None)
    assert told is not None and told.outcome is Outcome.RATE_LIMITED and told.retry_after == 7.0
    assert told.rate_limit == RateLimitFeedback(retry_after=7.0) and told.error == "slow down"
    untold = reply(403).by_rules(RULES, "", None)
    assert untold is not None and untold.retry_after == 2.5 and untold.rate_limit == RateLimitFeedback(retry_after=2.5)


def test_an_unknown_status_is_the_adapters_unexpected() -> None:
    server = reply(503, {"oops": True}).unexpected()
    assert server.outcome is Outcome.TRANSIENT_ERROR and server.error_code == "provider_error"
    odd = reply(418).unexpected()
    assert odd.outcome is Outcome.TRANSIENT_ERROR and odd.error_code == "unexpected_status"


def test_header_feedback_reads_the_named_headers() -> None:
    headers = httpx.Headers({"x-limit": "600", "x-left": "12", "retry-after": "3"})
    feedback = header_feedback(headers, limit="x-limit", remaining="x-left", reset_after=30.0, period=3600.0)
    assert feedback == RateLimitFeedback(retry_after=3.0, remaining=12, reset_after=30.0, limit=600, period=3600.0)
    assert header_feedback(httpx.Headers({"x-other": "1"}), limit="x-limit", remaining="x-left") is None
    only_left = header_feedback(httpx.Headers({"x-left": "0"}), limit="x-limit", remaining="x-left")
    assert only_left == RateLimitFeedback(remaining=0, period=60.0)


def test_field_readers_turn_wrong_types_into_nothing() -> None:
    assert as_dict({"a": 1}) == {"a": 1} and as_dict(["a"]) == {} and as_dict(None) == {}
    assert as_int(12) == 12 and as_int("12") is None and as_int(1.5) is None
    assert first_dict([{"id": "x"}, {"id": "y"}]) == {"id": "x"}
    assert first_dict([]) == {} and first_dict(["x"]) == {} and first_dict({"id": "x"}) == {}
    assert canonical_domain("http://www.Acme.com/about") == "acme.com"
    assert canonical_domain("not a domain") is None and canonical_domain(42) is None
    assert canonical_linkedin_url("linkedin.com/in/jane/") == "https://www.linkedin.com/in/jane"
    assert canonical_linkedin_url("https://example.com/jane") is None and canonical_linkedin_url(None) is None


def test_a_throttled_answer_waits_for_retry_after_then_the_reset_then_the_default() -> None:
    response = httpx.Response(429)
    both = Reply(ADAPTER, EMAIL_VERIFIER, response, None, RateLimitFeedback(retry_after=3.0, reset_after=20.0))
    assert both.throttle_wait() == 3.0
    reset_only = Reply(ADAPTER, EMAIL_VERIFIER, response, None, RateLimitFeedback(reset_after=20.0))
    assert reset_only.throttle_wait() == 20.0
    assert Reply(ADAPTER, EMAIL_VERIFIER, response, None, None).throttle_wait(5.0) == 5.0
    assert Reply(ADAPTER, EMAIL_VERIFIER, response, None, RateLimitFeedback(remaining=0)).throttle_wait() == 1.0
