"""Each adapter against the sandbox over HTTP: one test per outcome and per documented quirk."""

from __future__ import annotations

import httpx
import pytest
from morket_sandbox import HUNTER_TEST_API_KEY, SandboxServer

from morket.devstack.ports import free_port
from morket.providers.base import Outcome, ProviderAdapter
from morket.providers.clearbit import ClearbitAdapter
from morket.providers.fields import EmailStatus
from morket.providers.hunter import HunterAdapter
from tests.providers.conftest import SANDBOX_KEY, WRONG_KEY, SetFaults, sandbox_calls
from tests.providers.helpers import DOMAINS, find, people

pytestmark = pytest.mark.usefixtures("sandbox_admin")

Adapters = dict[str, ProviderAdapter]


def emails() -> list[dict[str, str]]:
    return [{"email": f"{p['first_name']}.{p['last_name']}@{p['domain']}".lower()} for p in people()]


# --- Apollo --------------------------------------------------------------------------------


async def test_apollo_people_match_success(adapters: Adapters, http: httpx.AsyncClient) -> None:
    inputs, result = await find(adapters["apollo"], "people_match", people(), Outcome.SUCCESS, SANDBOX_KEY, http)
    assert result.cost == 1 and not result.cached and result.http_status == 200
    assert result.fields["first_name"] == inputs["first_name"]
    assert result.fields["company_domain"] == inputs["domain"]
    assert result.fields["linkedin_url"].startswith("https://www.linkedin.com/in/")
    assert result.fields["job_title"] and result.fields["company_name"]
    if "email" in result.fields:
        assert result.fields["email"].endswith("@" + inputs["domain"])
        assert result.fields.get("email_status") in {s.value for s in EmailStatus}
    assert isinstance(result.raw["person"], dict)


async def test_apollo_200_with_null_person_is_no_match(adapters: Adapters, http: httpx.AsyncClient) -> None:
    _, result = await find(adapters["apollo"], "people_match", people(), Outcome.NO_MATCH, SANDBOX_KEY, http)
    # Apollo's quirk: the HTTP status says OK, the body says nobody.
    assert result.http_status == 200 and result.raw["person"] is None
    assert result.fields == {} and result.cost == 0


async def test_apollo_people_match_by_other_identities(adapters: Adapters, http: httpx.AsyncClient) -> None:
    by_name, first = await find(adapters["apollo"], "people_match", people(), Outcome.SUCCESS, SANDBOX_KEY, http)
    again = await adapters["apollo"].call(
        "people_match",
        {"linkedin_url": first.fields["linkedin_url"].upper().replace("HTTPS://", "")},
        SANDBOX_KEY,
        http,
    )
    assert again.outcome in (Outcome.SUCCESS, Outcome.NO_MATCH)
    full_name = {"name": f"{by_name['first_name']} {by_name['last_name']}", "domain": by_name["domain"]}
    assert (await adapters["apollo"].call("people_match", full_name, SANDBOX_KEY, http)).outcome is Outcome.SUCCESS


async def test_apollo_organization_enrich(adapters: Adapters, http: httpx.AsyncClient) -> None:
    candidates = [{"domain": f"https://www.{d}/about"} for d in DOMAINS]
    inputs, hit = await find(adapters["apollo"], "organization_enrich", candidates, Outcome.SUCCESS, SANDBOX_KEY, http)
    assert hit.fields["company_domain"] in inputs["domain"]
    assert isinstance(hit.fields["employee_count"], int) and hit.fields["industry"]
    assert hit.fields["company_linkedin_url"].startswith("https://www.linkedin.com/company/")
    more = [{"domain": f"sandbox-miss-{n}.com"} for n in range(40)]
    _, miss = await find(adapters["apollo"], "organization_enrich", more, Outcome.NO_MATCH, SANDBOX_KEY, http)
    assert miss.raw == {} and miss.http_status == 200


async def test_apollo_bad_key_is_plain_text_401(adapters: Adapters, http: httpx.AsyncClient) -> None:
    result = await adapters["apollo"].call("organization_enrich", {"domain": "acme.com"}, WRONG_KEY, http)
    assert result.outcome is Outcome.AUTH_FAILED and result.http_status == 401
    assert isinstance(result.raw, str) and result.raw.startswith("Invalid API key")
    assert result.error and "Invalid API key" in result.error and result.cost == 0


async def test_apollo_422_is_invalid_input(adapters: Adapters, http: httpx.AsyncClient) -> None:
    apollo = adapters["apollo"]
    operation = apollo.operation("organization_enrich")
    assert operation is not None
    # Bypass our own validation to see the provider's answer to a missing parameter.
    result = await apollo._send(operation, {}, SANDBOX_KEY, http)
    assert result.outcome is Outcome.INVALID_INPUT and result.http_status == 422
    assert result.error == "Required parameter 'domain' missing"


async def test_invalid_input_never_reaches_the_provider(
    adapters: Adapters, http: httpx.AsyncClient, sandbox_admin: httpx.AsyncClient
) -> None:
    result = await adapters["apollo"].call(
        "people_match", {"first_name": "Jane", "domain": "acme.com"}, SANDBOX_KEY, http
    )
    assert result.outcome is Outcome.INVALID_INPUT and result.http_status is None
    assert "linkedin_url" in (result.error or "")
    bad_domain = await adapters["hunter"].call(
        "email_finder", {"first_name": "Jane", "last_name": "Doe", "domain": "not a domain"}, SANDBOX_KEY, http
    )
    assert bad_domain.outcome is Outcome.INVALID_INPUT
    assert await sandbox_calls(sandbox_admin, "apollo") == {}
    assert await sandbox_calls(sandbox_admin, "hunter") == {}


async def test_apollo_rate_limit_429_has_retry_after(
    adapters: Adapters, http: httpx.AsyncClient, set_faults: SetFaults
) -> None:
    await set_faults(apollo={"rate_limit_per_second": 1})
    results = [
        await adapters["apollo"].call("organization_enrich", {"domain": "acme.com"}, SANDBOX_KEY, http)
        for _ in range(3)
    ]
    limited = [r for r in results if r.outcome is Outcome.RATE_LIMITED]
    assert limited, [r.outcome for r in results]
    assert limited[0].http_status == 429 and limited[0].retry_after is not None and limited[0].retry_after >= 1
    assert limited[0].rate_limit is not None and limited[0].rate_limit.retry_after == limited[0].retry_after
    assert "per minute" in (limited[0].error or "")


async def test_apollo_hourly_429_is_rate_limited_daily_is_quota(
    adapters: Adapters, http: httpx.AsyncClient, set_faults: SetFaults
) -> None:
    await set_faults(apollo={"rate_429": 1.0})
    hourly = await adapters["apollo"].call("organization_enrich", {"domain": "acme.com"}, SANDBOX_KEY, http)
    assert hourly.outcome is Outcome.RATE_LIMITED and "per hour" in (hourly.error or "")
    await set_faults(apollo={"quota": 0})
    daily = await adapters["apollo"].call("organization_enrich", {"domain": "acme.com"}, SANDBOX_KEY, http)
    assert daily.outcome is Outcome.QUOTA_EXHAUSTED and daily.http_status == 429
    assert daily.error_code == "daily_limit" and daily.cost == 0


# --- Clearbit ------------------------------------------------------------------------------


async def test_clearbit_company_person_and_combined(adapters: Adapters, http: httpx.AsyncClient) -> None:
    clearbit = adapters["clearbit"]
    _, company = await find(
        clearbit, "company_find", [{"domain": d} for d in DOMAINS], Outcome.SUCCESS, SANDBOX_KEY, http
    )
    assert company.fields["company_name"] and company.fields["industry"] and company.cost == 1
    assert company.fields["company_linkedin_url"].startswith("https://www.linkedin.com/company/")
    inputs, person = await find(clearbit, "person_find", emails(), Outcome.SUCCESS, SANDBOX_KEY, http)
    assert person.fields["full_name"] and person.fields["job_title"]
    assert person.fields["linkedin_url"].startswith("https://www.linkedin.com/in/")
    assert person.raw["email"] == inputs["email"]
    combined = await clearbit.call("combined_find", inputs, SANDBOX_KEY, http)
    assert combined.outcome is Outcome.SUCCESS and combined.cost == 2
    assert combined.fields["full_name"] == person.fields["full_name"]
    assert set(combined.raw) == {"person", "company"}


async def test_clearbit_404_is_no_match(adapters: Adapters, http: httpx.AsyncClient) -> None:
    _, result = await find(adapters["clearbit"], "person_find", emails(), Outcome.NO_MATCH, SANDBOX_KEY, http)
    assert result.http_status == 404 and result.raw["error"]["type"] == "unknown_record" and result.cost == 0


async def test_clearbit_domain_find(adapters: Adapters, http: httpx.AsyncClient) -> None:
    names = [{"company_name": name} for name in ("Acme", "Globex", "Initech", "Hooli", "Umbrella", "Wonka", "Tyrell")]
    _, hit = await find(adapters["clearbit"], "domain_find", names, Outcome.SUCCESS, SANDBOX_KEY, http)
    assert "." in hit.fields["company_domain"]
    misses = [{"company_name": f"Nowhere Holdings {n}"} for n in range(40)]
    await find(adapters["clearbit"], "domain_find", misses, Outcome.NO_MATCH, SANDBOX_KEY, http)


async def test_clearbit_202_empty_body_is_pending_then_answers(
    adapters: Adapters, http: httpx.AsyncClient, set_faults: SetFaults
) -> None:
    await set_faults(clearbit={"pending_rounds": 1})
    first = await adapters["clearbit"].call("company_find", {"domain": "acme.com"}, SANDBOX_KEY, http)
    assert first.outcome is Outcome.PENDING and first.http_status == 202 and first.raw is None
    assert first.error_code == "lookup_queued" and first.cost == 0
    second = await adapters["clearbit"].call("company_find", {"domain": "acme.com"}, SANDBOX_KEY, http)
    assert second.outcome in (Outcome.SUCCESS, Outcome.NO_MATCH)


async def test_clearbit_streaming_host_never_queues(
    provider_sandbox: SandboxServer, http: httpx.AsyncClient, set_faults: SetFaults
) -> None:
    await set_faults(clearbit={"pending_rounds": 3})
    streaming = ClearbitAdapter(f"{provider_sandbox.url}/clearbit-stream")
    result = await streaming.call("company_find", {"domain": "acme.com"}, SANDBOX_KEY, http)
    assert result.outcome in (Outcome.SUCCESS, Outcome.NO_MATCH)


async def test_clearbit_auth_quota_and_rate_limit(
    adapters: Adapters, http: httpx.AsyncClient, set_faults: SetFaults
) -> None:
    clearbit = adapters["clearbit"]
    bad = await clearbit.call("company_find", {"domain": "acme.com"}, WRONG_KEY, http)
    assert bad.outcome is Outcome.AUTH_FAILED and bad.error_code == "invalid_api_key"
    await set_faults(clearbit={"rate_limit_per_second": 1})
    results = [await clearbit.call("company_find", {"domain": "acme.com"}, SANDBOX_KEY, http) for _ in range(3)]
    limited = [r for r in results if r.outcome is Outcome.RATE_LIMITED]
    assert limited and limited[0].http_status == 429 and (limited[0].retry_after or 0) >= 1
    await set_faults(clearbit={"quota": 0})
    quota = await clearbit.call("company_find", {"domain": "acme.com"}, SANDBOX_KEY, http)
    assert quota.outcome is Outcome.QUOTA_EXHAUSTED and quota.http_status == 402


async def test_clearbit_unknown_route_is_not_a_no_match(
    provider_sandbox: SandboxServer, http: httpx.AsyncClient
) -> None:
    # A 404 for a wrong URL must not read as "this company does not exist".
    misconfigured = ClearbitAdapter(f"{provider_sandbox.url}/clearbit/v9")
    result = await misconfigured.call("company_find", {"domain": "acme.com"}, SANDBOX_KEY, http)
    assert result.outcome is Outcome.TRANSIENT_ERROR and result.http_status == 404


# --- Hunter --------------------------------------------------------------------------------


async def test_hunter_email_finder_success_and_404(adapters: Adapters, http: httpx.AsyncClient) -> None:
    hunter = adapters["hunter"]
    inputs, hit = await find(hunter, "email_finder", people(), Outcome.SUCCESS, SANDBOX_KEY, http)
    assert hit.fields["email"].endswith("@" + inputs["domain"])
    assert 0 <= hit.fields["email_score"] <= 100 and hit.fields["email_status"] in {s.value for s in EmailStatus}
    _, miss = await find(hunter, "email_finder", people(), Outcome.NO_MATCH, SANDBOX_KEY, http)
    assert miss.http_status == 404 and miss.raw["errors"][0]["id"] == "email_not_found"


async def test_hunter_full_name_and_company_inputs(adapters: Adapters, http: httpx.AsyncClient) -> None:
    candidates = [{"full_name": f"{p['first_name']} {p['last_name']}", "company_name": "Acme"} for p in people(20)]
    _, result = await find(adapters["hunter"], "email_finder", candidates, Outcome.SUCCESS, SANDBOX_KEY, http)
    assert "@" in result.fields["email"]


async def test_hunter_202_is_pending_then_answers(
    adapters: Adapters, http: httpx.AsyncClient, set_faults: SetFaults
) -> None:
    await set_faults(hunter={"pending_rounds": 1})
    first = await adapters["hunter"].call("email_verifier", {"email": "jane.doe@acme.com"}, SANDBOX_KEY, http)
    assert first.outcome is Outcome.PENDING and first.http_status == 202
    assert first.error_code == "verification_in_progress"
    second = await adapters["hunter"].call("email_verifier", {"email": "jane.doe@acme.com"}, SANDBOX_KEY, http)
    assert second.outcome is Outcome.SUCCESS and second.fields["email_status"] in {s.value for s in EmailStatus}


async def test_hunter_222_smtp_failure_is_pending_with_a_longer_wait(
    adapters: Adapters, http: httpx.AsyncClient
) -> None:
    result = await adapters["hunter"].call("email_verifier", {"email": "jane@smtp-failure.test"}, SANDBOX_KEY, http)
    assert result.outcome is Outcome.PENDING and result.http_status == 222
    assert result.error_code == "smtp_unavailable" and (result.retry_after or 0) >= 30


async def test_hunter_451_restricted_person_is_no_match(adapters: Adapters, http: httpx.AsyncClient) -> None:
    inputs = {"first_name": "Jane", "last_name": "Doe", "domain": "restricted.test"}
    result = await adapters["hunter"].call("email_finder", inputs, SANDBOX_KEY, http)
    assert result.outcome is Outcome.NO_MATCH and result.http_status == 451
    assert result.error_code == "personal_data_restricted"


async def test_hunter_403_is_rate_limit_and_429_is_quota(
    adapters: Adapters, http: httpx.AsyncClient, set_faults: SetFaults
) -> None:
    hunter = adapters["hunter"]
    await set_faults(hunter={"rate_limit_per_second": 1})
    results = [await hunter.call("email_verifier", {"email": "jane@acme.com"}, SANDBOX_KEY, http) for _ in range(3)]
    throttled = [r for r in results if r.outcome is Outcome.RATE_LIMITED]
    assert throttled and throttled[0].http_status == 403 and (throttled[0].retry_after or 0) >= 1
    await set_faults(hunter={"quota": 0})
    quota = await hunter.call("email_verifier", {"email": "jane@acme.com"}, SANDBOX_KEY, http)
    assert quota.outcome is Outcome.QUOTA_EXHAUSTED and quota.http_status == 429


async def test_hunter_bad_key_and_documented_test_key(adapters: Adapters, http: httpx.AsyncClient) -> None:
    hunter = adapters["hunter"]
    bad = await hunter.call("email_verifier", {"email": "jane@acme.com"}, WRONG_KEY, http)
    assert bad.outcome is Outcome.AUTH_FAILED and bad.http_status == 401
    test_key = type(SANDBOX_KEY)(api_key=HUNTER_TEST_API_KEY)
    fixed = await hunter.call("email_finder", {"full_name": "Anyone Here", "domain": "anything.com"}, test_key, http)
    assert fixed.outcome is Outcome.SUCCESS and fixed.fields["email"] == "alexis@reddit.com"


async def test_hunter_domain_search(adapters: Adapters, http: httpx.AsyncClient) -> None:
    hunter = adapters["hunter"]
    domains = [{"domain": d} for d in DOMAINS]
    _, hit = await find(hunter, "domain_search", domains, Outcome.SUCCESS, SANDBOX_KEY, http)
    assert hit.fields["email_pattern"] and hit.fields["emails"]
    assert all("@" in item["email"] for item in hit.fields["emails"])
    misses = [{"domain": f"sandbox-miss-{n}.com"} for n in range(40)]
    _, miss = await find(hunter, "domain_search", misses, Outcome.NO_MATCH, SANDBOX_KEY, http)
    assert miss.http_status == 200 and miss.raw["data"]["emails"] == []


# --- OpenAI-compatible ---------------------------------------------------------------------


async def test_llm_text_and_json_answers(adapters: Adapters, http: httpx.AsyncClient) -> None:
    llm = adapters["openai"]
    text = await llm.call("chat_completion", {"prompt": "Describe acme.com in one sentence."}, SANDBOX_KEY, http)
    assert text.outcome is Outcome.SUCCESS and isinstance(text.fields["ai_answer"], str) and text.cost == 1
    prompt = "Classify acme.com. Answer in JSON with keys: industry, is_b2b"
    structured = await llm.call("chat_completion", {"prompt": prompt, "json_output": True}, SANDBOX_KEY, http)
    assert structured.outcome is Outcome.SUCCESS and set(structured.fields["ai_answer"]) == {"industry", "is_b2b"}


async def test_llm_errors(adapters: Adapters, http: httpx.AsyncClient, set_faults: SetFaults) -> None:
    llm = adapters["openai"]
    no_json_word = await llm.call(
        "chat_completion", {"prompt": "Classify acme.com", "json_output": True}, SANDBOX_KEY, http
    )
    assert no_json_word.outcome is Outcome.INVALID_INPUT and no_json_word.http_status == 400
    cut_off = await llm.call(
        "chat_completion",
        {"prompt": "Answer in JSON with keys: summary, reasons, industry", "json_output": True, "max_tokens": 3},
        SANDBOX_KEY,
        http,
    )
    assert cut_off.outcome is Outcome.INVALID_INPUT and cut_off.error_code == "max_tokens_too_small"
    bad = await llm.call("chat_completion", {"prompt": "hi"}, WRONG_KEY, http)
    assert bad.outcome is Outcome.AUTH_FAILED and bad.http_status == 401
    await set_faults(openai={"rate_limit_per_second": 1})
    results = [await llm.call("chat_completion", {"prompt": "hi"}, SANDBOX_KEY, http) for _ in range(3)]
    assert any(r.outcome is Outcome.RATE_LIMITED and r.http_status == 429 for r in results)
    await set_faults(openai={"quota": 0})
    quota = await llm.call("chat_completion", {"prompt": "hi"}, SANDBOX_KEY, http)
    assert quota.outcome is Outcome.QUOTA_EXHAUSTED and quota.http_status == 429


# --- every provider ------------------------------------------------------------------------

_ONE_CALL = {
    "apollo": ("organization_enrich", {"domain": "acme.com"}),
    "clearbit": ("company_find", {"domain": "acme.com"}),
    "hunter": ("email_verifier", {"email": "jane@acme.com"}),
    "openai": ("chat_completion", {"prompt": "hi"}),
}


@pytest.mark.parametrize("slug", sorted(_ONE_CALL))
async def test_server_errors_are_transient(
    slug: str, adapters: Adapters, http: httpx.AsyncClient, set_faults: SetFaults
) -> None:
    await set_faults(**{slug: {"error_rate": 1.0, "seed": 7}})
    operation, inputs = _ONE_CALL[slug]
    statuses = set()
    for _ in range(8):
        result = await adapters[slug].call(operation, inputs, SANDBOX_KEY, http)
        assert result.outcome is Outcome.TRANSIENT_ERROR and result.cost == 0
        assert result.error_code == "provider_error"
        statuses.add(result.http_status)
    assert statuses <= {500, 502, 503}


async def test_timeout_is_transient(adapters: Adapters, set_faults: SetFaults) -> None:
    await set_faults(hunter={"latency_ms": 400})
    async with httpx.AsyncClient(timeout=0.1) as impatient:
        result = await adapters["hunter"].call("email_verifier", {"email": "jane@acme.com"}, SANDBOX_KEY, impatient)
    assert result.outcome is Outcome.TRANSIENT_ERROR and result.error_code == "timeout"


async def test_unreachable_provider_is_transient(http: httpx.AsyncClient) -> None:
    nobody = HunterAdapter(f"http://127.0.0.1:{free_port()}/hunter/v2")
    result = await nobody.call("email_verifier", {"email": "jane@acme.com"}, SANDBOX_KEY, http)
    assert result.outcome is Outcome.TRANSIENT_ERROR and result.error_code == "network_error"
