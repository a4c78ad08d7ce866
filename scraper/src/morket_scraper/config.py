"""The scraper's settings, read once from the environment (names are the variables, SCRAPER_ prefixed)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ScraperSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCRAPER_", env_file=None, extra="ignore", case_sensitive=False)

    port: int = Field(default=8001, ge=1, le=65535)
    # Its own tables live in the schema `scraper` of this database (created at start-up).
    database_url: str = "postgresql://postgres@127.0.0.1:5432/morket"
    # The same shared secret as the API's SERVICE_API_KEY: callers send it as X-Service-Key.
    service_api_key: str = Field(min_length=32)
    # The API, for provider credentials (GET /api/v1/internal/workspaces/{id}/credentials/{provider}).
    api_url: str | None = None
    credential_cache_seconds: float = Field(default=300.0, ge=0)
    # Browser: Debian's Chromium, driven by Playwright; never a downloaded browser.
    chromium_path: Path = Path("/usr/bin/chromium")
    browser_pool_size: int = Field(default=5, ge=1, le=20)
    browser_recycle_pages: int = Field(default=100, ge=1)
    # A context whose renderer grew past this many MB since it opened is replaced.
    browser_recycle_memory_mb: int = Field(default=512, ge=16)
    # Queue.
    workers: int = Field(default=8, ge=1, le=200)
    browser_workers: int = Field(default=5, ge=1, le=20)
    task_timeout_seconds: float = Field(default=45.0, gt=0, le=600)
    sync_timeout_seconds: float = Field(default=60.0, gt=0, le=600)
    max_page_bytes: int = Field(default=5_000_000, ge=1_000)
    fetch_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    batch_max_targets: int = Field(default=100, ge=1, le=1000)
    # Politeness.
    respect_robots: bool = True
    default_rate_per_second: float = Field(default=2.0, gt=0)
    default_burst: int = Field(default=4, ge=1)
    policy_file: Path | None = None
    breaker_window_seconds: float = Field(default=60.0, gt=0)
    breaker_min_calls: int = Field(default=5, ge=1)
    breaker_failure_ratio: float = Field(default=0.5, gt=0, le=1)
    breaker_cooldown_seconds: float = Field(default=120.0, ge=0)
    human_delays: bool = False
    user_agent_product: str = "MorketBot/0.1 (+https://github.com/morket)"
    # Proxies: comma-separated http://host:port URLs, rotated; empty means direct.
    proxies: str = ""
    proxy_cooldown_seconds: float = Field(default=60.0, ge=0)
    proxy_health_interval_seconds: float = Field(default=30.0, gt=0)
    # SSRF: targets on private networks are refused unless listed here (comma-separated hosts,
    # IPs or CIDRs). Tests and `make run` list loopback.
    allow_hosts: str = ""
    # DNS servers the SSRF check asks (comma-separated ip or ip:port); empty: the system's resolver.
    # Every connection (HTTP path, and each request of a browser page) goes to an address it checked.
    dns_servers: str = ""
    # Outbound webhooks: same retry schedule as the API's (5 s, 10 s, 20 s).
    webhook_retry_delays: str = "5,10,20"
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    log_level: str = "INFO"

    @field_validator("webhook_retry_delays")
    @classmethod
    def _valid_delays(cls, value: str) -> str:
        try:
            delays = [float(p) for p in value.split(",") if p.strip()]
        except ValueError:
            raise ValueError("must be comma-separated seconds, e.g. 5,10,20") from None
        if any(d < 0 for d in delays):
            raise ValueError("delays must not be negative")
        return value

    @property
    def webhook_retry_schedule(self) -> list[float]:
        return [float(p) for p in self.webhook_retry_delays.split(",") if p.strip()]

    @property
    def proxy_list(self) -> list[str]:
        return [p.strip() for p in self.proxies.split(",") if p.strip()]

    @property
    def dns_server_list(self) -> list[str]:
        return [p.strip() for p in self.dns_servers.split(",") if p.strip()]

    @property
    def allow_list(self) -> list[str]:
        return [p.strip() for p in self.allow_hosts.split(",") if p.strip()]

    @property
    def asyncpg_dsn(self) -> str:
        for prefix in ("postgresql+asyncpg://", "postgres://"):
            if self.database_url.startswith(prefix):
                return "postgresql://" + self.database_url[len(prefix) :]
        return self.database_url


@lru_cache(maxsize=1)
def get_settings() -> ScraperSettings:
    return ScraperSettings()
