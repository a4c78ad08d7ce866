"""compose.yaml: valid against the Compose specification's schema (vendored), and complete."""

from __future__ import annotations

import json
import re

import jsonschema

from tests.deploy.infra import ROOT, compose

SCHEMA = ROOT / "deploy" / "compose" / "compose-spec.json"
DOCKERFILES = ROOT / "deploy" / "docker"


def test_compose_file_matches_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, "\n".join(errors)


def test_the_schema_rejects_a_broken_file() -> None:
    """The validation has teeth: a misspelt key and a wrong type are both reported."""
    broken = compose()
    broken["services"]["api"]["depends_onn"] = ["postgres"]
    broken["services"]["postgres"]["volumes"] = "postgres-data:/var/lib/postgresql/data"
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert len(list(validator.iter_errors(broken))) >= 2


def test_the_stack_has_every_engine_and_process() -> None:
    services = set(compose()["services"])
    engines = {"postgres", "temporal", "temporal-ui", "clickhouse", "opensearch", "redis"}
    processes = {"migrate", "api", "worker", "scraper", "web"}
    assert engines | processes <= services


def _image_has_healthcheck(service: dict[str, object]) -> bool:
    build = service.get("build")
    if not isinstance(build, dict):
        return False
    return "HEALTHCHECK" in (ROOT / str(build["dockerfile"])).read_text()


def test_long_running_services_have_healthchecks_and_dependencies_wait_for_them() -> None:
    services = compose()["services"]
    for name, service in services.items():
        if name == "migrate":
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service or _image_has_healthcheck(service), f"{name} has no health check"
        for dependency, rule in (service.get("depends_on") or {}).items():
            condition = rule["condition"]
            expected = "service_completed_successfully" if dependency == "migrate" else "service_healthy"
            assert condition == expected, f"{name} -> {dependency}: {condition}"


def test_state_lives_in_named_volumes() -> None:
    stack = compose()
    declared = set(stack["volumes"])
    for name in ("postgres", "clickhouse", "opensearch", "redis"):
        mounts = [v.split(":")[0] for v in stack["services"][name]["volumes"]]
        assert mounts and set(mounts) <= declared, name


def test_scraper_is_limited_to_two_cpus_and_four_gigabytes() -> None:
    limits = compose()["services"]["scraper"]["deploy"]["resources"]["limits"]
    assert float(limits["cpus"]) == 2 and limits["memory"].upper() in ("4G", "4GB", "4096M")


def test_secrets_are_never_written_in_the_file() -> None:
    secret_name = re.compile(r"(SECRET|PASSWORD|PWD|MASTER_KEY|API_KEY)$")
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if secret_name.search(key):
                assert str(value).startswith("${"), f"{name}.{key} holds a literal secret"
