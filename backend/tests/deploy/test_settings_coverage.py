"""Every environment variable our settings classes read is set by every deployment of their package."""

from __future__ import annotations

import re

import pytest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from tests.deploy.infra import SettingsClass, compose_containers, ecs_containers, env_names, settings_classes

SETTINGS = settings_classes()


def test_settings_classes_are_found() -> None:
    # The API's own settings must be among them, or discovery is broken and the checks below are empty.
    assert "morket.core.config.Settings" in {s.qualname for s in SETTINGS}
    assert all(s.variables for s in SETTINGS)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.qualname)
def test_every_setting_is_in_the_ecs_task_definitions(settings: SettingsClass) -> None:
    containers = [c for c in ecs_containers() if c.package == settings.package]
    assert containers, f"no ECS task definition runs {settings.package} (python_package = {settings.package!r})"
    for container in containers:
        missing = sorted(settings.variables - container.variables)
        assert not missing, f"{container.where} lacks {missing} read by {settings.qualname}"


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.qualname)
def test_every_setting_is_in_the_compose_services(settings: SettingsClass) -> None:
    containers = [c for c in compose_containers() if c.package == settings.package]
    assert containers, f"no compose service is labelled app.morket.python-package: {settings.package}"
    for container in containers:
        missing = sorted(settings.variables - container.variables)
        assert not missing, f"{container.where} lacks {missing} read by {settings.qualname}"


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.qualname)
def test_a_setting_whose_secret_may_be_absent_has_a_default(settings: SettingsClass) -> None:
    """An optional secret (a CRM app's, when that CRM is configured) leaves its variable unset
    otherwise: the setting must then have a default, or the tasks would not start."""
    for container in ecs_containers():
        if container.package == settings.package:
            required = sorted(container.optional & settings.required)
            assert not required, f"{container.where}: {required} may be unset but {settings.qualname} requires them"


def test_secrets_are_secret_references_not_environment_values() -> None:
    """Client secrets, passwords and tokens come from Secrets Manager in every task definition,
    never as a literal environment value (the CRM apps' secrets once were empty literals)."""
    secretive = re.compile(r"(SECRET|PASSWORD|TOKEN)(_|$)")
    containers = ecs_containers()
    for container in containers:
        literal = sorted(n for n in container.environment if secretive.search(n))
        assert not literal, f"{container.where} sets {literal} as plain environment values"
    api = next(c for c in containers if c.where.endswith("module.api"))
    assert {"HUBSPOT_CLIENT_SECRET", "SALESFORCE_CLIENT_SECRET"} <= api.optional <= api.variables - api.environment


def test_api_worker_and_migrations_all_get_the_settings() -> None:
    """The three commands of the API image each have a task definition and a compose service."""
    ecs = {c.where.rsplit(".", 1)[-1] for c in ecs_containers() if c.package == "morket"}
    services = {c.where.rsplit(".", 1)[-1] for c in compose_containers() if c.package == "morket"}
    assert {"api", "worker", "migrate"} <= ecs
    assert {"api", "worker", "migrate"} <= services


def test_env_names_follow_prefix_alias_and_case() -> None:
    """A scraper-style class with a prefix and an alias reads the names the deployment must set."""

    class ScraperLike(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="scraper_")
        port: int = 8001
        service_key: str = Field(default="", validation_alias="SERVICE_API_KEY")

    assert env_names(ScraperLike) == {"SCRAPER_PORT", "SERVICE_API_KEY"}

    class Required(BaseSettings):
        needed: str
        optional: str | None = None

    assert env_names(Required, required_only=True) == {"NEEDED"}
