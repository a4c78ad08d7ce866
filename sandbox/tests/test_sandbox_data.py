"""The fake-data functions: deterministic, consistent across lookups, realistic hit rates."""

from __future__ import annotations

import re

import pytest
from faker import Faker

from morket_sandbox import data
from morket_sandbox.data import HIT_RATES, Lookup


def sample_people(count: int = 500) -> list[tuple[str, str, str]]:
    fake = Faker("en_US")
    fake.seed_instance(20240601)
    domains = [f"{fake.unique.domain_word()}.com" for _ in range(120)]
    return [(fake.first_name(), fake.last_name(), domains[i % len(domains)]) for i in range(count)]


def test_stable_hash_is_process_independent() -> None:
    # Pinned: hash() would change between processes (PYTHONHASHSEED), and so would every fake record.
    assert data.stable_hash("acme.com") == 0x179CBAC01F7203C7
    assert data.stable_hash("a", "b") != data.stable_hash("ab")
    assert 0 <= data.fraction("x") < 1


def test_normalization() -> None:
    assert data.normalize_domain("https://www.Acme.com/about?x=1") == "acme.com"
    assert data.normalize_domain("jane@ACME.com") == "acme.com"
    assert data.normalize_domain("acme.com:443") == "acme.com"
    assert data.normalize_email("  Jane.Doe@Acme.COM ") == "jane.doe@acme.com"
    assert data.normalize_email("not-an-email") is None
    assert data.ascii_token("José-María") == "josemaria"
    assert data.display_name("jane") == "Jane"
    assert data.display_name("McDonald") == "McDonald"


def test_company_is_deterministic_and_input_form_independent() -> None:
    company = data.company_for_domain("acme.com")
    assert data.company_for_domain("https://www.ACME.com/") == company
    assert company.name == "Acme"
    assert company.domain == "acme.com"
    assert company.industry in data.INDUSTRIES
    assert 2 <= company.employees <= 250_000
    assert re.fullmatch(r"[0-9a-f]{24}", company.apollo_id)
    assert data.company_for_domain("globex.com") != company


def test_company_name_and_domain_round_trip() -> None:
    assert data.domain_for_company_name("Acme Corp, Inc.") == "acme.com"
    assert data.domain_for_company_name("Vaughn and Skinner LLC") == "vaughn-and-skinner.com"
    assert data.company_name_from_domain("vaughn-and-skinner.com") == "Vaughn and Skinner"
    assert data.company_name_from_domain("ibm.com") == "IBM"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("{first}.{last}", "jane.doe"),
        ("{f}{last}", "jdoe"),
        ("{first}", "jane"),
        ("{first}{l}", "janed"),
        ("{first}_{last}", "jane_doe"),
        ("{last}", "doe"),
    ],
)
def test_render_email_pattern(pattern: str, expected: str) -> None:
    assert data.render_email_pattern(pattern, "Jane", "Doe") == expected


def test_email_follows_the_domain_pattern() -> None:
    domain = "acme.com"
    local = data.render_email_pattern(data.email_pattern(domain), "Jane", "Doe")
    assert data.email_for("Jane", "Doe", domain) == f"{local}@acme.com"
    assert data.email_for("jane", "DOE", "https://acme.com") == data.email_for("Jane", "Doe", domain)


def test_person_from_name_is_deterministic() -> None:
    first = data.person_from_name("Jane", "Doe", "acme.com")
    again = data.person_from_name("jane", "doe", "www.acme.com")
    assert first == again
    assert first.email == data.email_for("Jane", "Doe", "acme.com")
    assert first.first_name == "Jane"
    assert first.company == data.company_for_domain("acme.com")


def test_person_from_email_agrees_with_person_from_name_for_parseable_addresses() -> None:
    # Find a domain whose pattern is first.last, so the name can be read back from the address.
    domain = next(f"d{n}.com" for n in range(1000) if data.email_pattern(f"d{n}.com") == "{first}.{last}")
    by_name = data.person_from_name("Jane", "Doe", domain)
    assert by_name.email == f"jane.doe@{domain}"
    assert data.person_from_email(f"Jane.Doe@{domain.upper()}") == by_name


def test_person_from_webmail_gets_an_employer() -> None:
    person = data.person_from_email("someone123@gmail.com")
    assert person.email == "someone123@gmail.com"
    assert person.domain != "gmail.com"
    assert data.is_plausible_domain(person.domain)
    with pytest.raises(ValueError, match="not an email"):
        data.person_from_email("nope")


def test_person_from_linkedin_keeps_the_handle() -> None:
    person = data.person_from_linkedin("https://www.linkedin.com/in/Jane-Doe-123/")
    assert person is not None
    assert person.linkedin_handle == "jane-doe-123"
    assert data.person_from_linkedin("https://linkedin.com/in/jane-doe-123") == person
    assert data.person_from_linkedin("https://example.com/profile") is None


def test_company_employees_are_the_same_people_as_name_lookups() -> None:
    employees = data.company_employees("acme.com")
    assert employees
    assert employees == data.company_employees("ACME.com")
    assert len({person.email for person in employees}) == len(employees)
    for person in employees:
        assert data.person_from_name(person.first_name, person.last_name, "acme.com") == person
    assert data.company_employees("gmail.com") == ()


@pytest.mark.parametrize(
    ("lookup", "band"),
    [
        (Lookup.APOLLO_PERSON, (0.68, 0.82)),
        (Lookup.HUNTER_EMAIL_FINDER, (0.52, 0.68)),
        (Lookup.CLEARBIT_PERSON, (0.47, 0.63)),
    ],
)
def test_person_hit_rates(lookup: Lookup, band: tuple[float, float]) -> None:
    people = [data.person_from_name(*identity) for identity in sample_people()]
    rate = sum(data.is_hit(lookup, person.key) for person in people) / len(people)
    assert band[0] <= rate <= band[1], (lookup, rate, HIT_RATES[lookup])


def test_company_hit_rate() -> None:
    domains = [f"company{n}.com" for n in range(500)]
    rate = sum(data.is_hit(Lookup.CLEARBIT_COMPANY, d) for d in domains) / len(domains)
    assert 0.79 <= rate <= 0.91


def test_providers_miss_different_people_so_a_waterfall_helps() -> None:
    keys = [data.person_from_name(*identity).key for identity in sample_people()]
    apollo = {key for key in keys if data.is_hit(Lookup.APOLLO_PERSON, key)}
    hunter = {key for key in keys if data.is_hit(Lookup.HUNTER_EMAIL_FINDER, key)}
    union = len(apollo | hunter) / len(keys)
    assert union > max(len(apollo), len(hunter)) / len(keys) + 0.08
    assert 0.85 <= union <= 0.95  # independent draws: 1 - 0.25 * 0.4 = 0.9


def test_verify_email_rewards_the_right_pattern() -> None:
    statuses = [data.verify_email(data.person_from_name(*identity).email).status for identity in sample_people()]
    assert statuses.count("valid") / len(statuses) > 0.6
    wrong_guesses = [data.verify_email(f"zz{n}.q.x@company{n}.com").status for n in range(300)]
    assert wrong_guesses.count("invalid") > wrong_guesses.count("valid")


def test_verify_email_special_domains() -> None:
    assert data.verify_email("a@mailinator.com").status == "disposable"
    assert data.verify_email("a@gmail.com").status == "webmail"
    invalid = data.verify_email("nope")
    assert invalid.status == "invalid"
    assert invalid.regexp is False
