"""Settings, read once from the environment and validated at start-up."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> timedelta:
    """Parse '15m', '7d', '3600s' or a bare number of seconds."""
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"'{value}' is not a duration such as 15m, 7d or 3600s")
    amount, unit = match.groups()
    seconds = int(amount) * _UNITS[unit]
    if seconds <= 0:
        raise ValueError("duration must be positive")
    return timedelta(seconds=seconds)


class Settings(BaseSettings):
    """Every setting of the API and the worker. Names are the environment variables."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    port: int = Field(default=8000, ge=1, le=65535)
    morket_env: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/morket"
    jwt_secret: str = Field(min_length=32)
    jwt_access_expiry: str = "15m"
    jwt_refresh_expiry: str = "7d"
    jwt_issuer: str = "morket"
    jwt_audience: str = "morket-api"
    encryption_master_key: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    cors_origin: str = "http://localhost:5173"
    redis_url: str | None = None
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    # Comma-separated IPs or CIDRs whose X-Forwarded-For header is believed.
    trusted_proxies: str = ""
    rate_limit_auth_per_minute: int = Field(default=5, ge=1)
    rate_limit_general_per_minute: int = Field(default=600, ge=1)
    log_level: str = "INFO"

    @field_validator("jwt_access_expiry", "jwt_refresh_expiry")
    @classmethod
    def _valid_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return to_async_url(value)

    @field_validator("redis_url")
    @classmethod
    def _empty_redis_is_none(cls, value: str | None) -> str | None:
        return value or None

    @property
    def access_ttl(self) -> timedelta:
        return parse_duration(self.jwt_access_expiry)

    @property
    def refresh_ttl(self) -> timedelta:
        return parse_duration(self.jwt_refresh_expiry)

    @property
    def master_key(self) -> bytes:
        return bytes.fromhex(self.encryption_master_key)

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origin.split(",") if o.strip()]


def to_async_url(url: str) -> str:
    """Accept plain postgres:// URLs and use the asyncpg driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


class SettingsError(RuntimeError):
    """Raised with a message that names every bad variable."""


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            problems.append(f"  {name}: {err['msg']}")
        raise SettingsError("Invalid configuration:\n" + "\n".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
