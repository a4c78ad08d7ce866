"""MORKET_ENV=production refuses development allowances and weak secrets at settings validation."""

from __future__ import annotations

import secrets

import pytest

from morket.core.config import Settings, SettingsError, load_settings

STRONG = {
    "MORKET_ENV": "production",
    "JWT_SECRET": secrets.token_urlsafe(48),
    "ENCRYPTION_MASTER_KEY": secrets.token_hex(32),
}


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key in ("WEBHOOK_ALLOW_LOOPBACK", "PROVIDER_SANDBOX_URL", "SERVICE_API_KEY", "HUNTER_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    for key, value in {**STRONG, **env}.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def test_strong_production_settings_load(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _load(monkeypatch).morket_env == "production"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"WEBHOOK_ALLOW_LOOPBACK": "9000"}, "WEBHOOK_ALLOW_LOOPBACK"),
        ({"PROVIDER_SANDBOX_URL": "http://127.0.0.1:8010"}, "PROVIDER_SANDBOX_URL"),
        ({"HUNTER_BASE_URL": "http://localhost:8010/hunter/v2"}, "HUNTER_BASE_URL"),
        ({"JWT_SECRET": "x" * 64}, "JWT_SECRET"),
        ({"JWT_SECRET": "ab" * 32}, "JWT_SECRET"),
        ({"ENCRYPTION_MASTER_KEY": "0" * 64}, "ENCRYPTION_MASTER_KEY"),
        ({"ENCRYPTION_MASTER_KEY": "ab" * 32}, "ENCRYPTION_MASTER_KEY"),
        ({"ENCRYPTION_PREVIOUS_KEYS": "1:" + "0" * 64, "ENCRYPTION_KEY_VERSION": "2"}, "ENCRYPTION_PREVIOUS_KEYS"),
        ({"SERVICE_API_KEY": "k" * 40}, "SERVICE_API_KEY"),
    ],
)
def test_production_refuses_with_a_message_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        _load(monkeypatch, **env)
    assert named in str(refused.value)
    assert "production" in str(refused.value)


def test_development_keeps_its_allowances(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch, MORKET_ENV="development", WEBHOOK_ALLOW_LOOPBACK="9000, 9001", JWT_SECRET="x" * 64)
    assert settings.webhook_loopback_ports == frozenset({9000, 9001})


@pytest.mark.parametrize("value", ["true", "127.0.0.1:*", "70000"])
def test_loopback_allowance_must_list_ports(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(SettingsError) as refused:
        _load(monkeypatch, MORKET_ENV="development", WEBHOOK_ALLOW_LOOPBACK=value)
    assert "WEBHOOK_ALLOW_LOOPBACK" in str(refused.value)
