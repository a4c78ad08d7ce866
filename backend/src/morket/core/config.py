"""Settings, read once from the environment and validated at start-up."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator
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
    # Processes of `morket api`; 0 = one per CPU core. `make run` uses one.
    api_workers: int = Field(default=0, ge=0, le=256)
    morket_env: Literal["development", "test", "production"] = "development"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/morket"
    # Connections each API process keeps to PostgreSQL (plus up to half as many again under bursts).
    database_pool_size: int = Field(default=20, ge=1, le=200)
    jwt_secret: str = Field(min_length=32)
    jwt_access_expiry: str = "15m"
    jwt_refresh_expiry: str = "7d"
    jwt_issuer: str = "morket"
    jwt_audience: str = "morket-api"
    # How long a workspace invitation can be accepted.
    invitation_ttl: str = "7d"
    # A refresh token presented again this soon after its rotation, while it is still the login's
    # latest, gets a new pair instead of revoking the login (two tabs refreshing at once); 0 = off.
    refresh_reuse_grace_seconds: int = Field(default=20, ge=0, le=300)
    encryption_master_key: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    # The version the current master key encrypts under; older keys stay readable through
    # ENCRYPTION_PREVIOUS_KEYS ("version:hex,version:hex") until `morket credentials rotate-master-key`.
    encryption_key_version: int = Field(default=1, ge=1, le=1_000_000)
    encryption_previous_keys: str = ""
    # Shared secret of internal services (the scraper) for /api/v1/internal/...; unset disables them.
    service_api_key: str | None = Field(default=None, min_length=32)
    cors_origin: str = "http://localhost:5173"
    # The built web app served at /; empty means web/dist of the source checkout.
    web_dist_dir: str = ""
    redis_url: str | None = None
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)
    # Comma-separated IPs or CIDRs whose X-Forwarded-For header is believed.
    trusted_proxies: str = ""
    rate_limit_auth_per_minute: int = Field(default=5, ge=1)
    # Refreshes per login (token family) a minute; a refresh with a token never issued counts
    # against RATE_LIMIT_AUTH_PER_MINUTE instead (docs/auth.md).
    rate_limit_refresh_per_minute: int = Field(default=60, ge=1)
    rate_limit_general_per_minute: int = Field(default=600, ge=1)
    # A workspace API key's own limit when its creator sets none (docs/api-keys.md).
    api_key_rate_limit_per_minute: int = Field(default=600, ge=1, le=100_000)
    # Inbound webhook tables (docs/inbound.md): a table's default limit, body size and rows a request.
    inbound_rate_limit_per_minute: int = Field(default=6000, ge=1, le=1_000_000)
    inbound_max_body_bytes: int = Field(default=1 << 20, ge=1024)
    inbound_max_rows: int = Field(default=1000, ge=1, le=50_000)
    # How long an API process may reuse a token's identity and role without asking PostgreSQL
    # (auth/identity_cache.py). Revocations and role changes empty it at once by NOTIFY; this is
    # only the safety net should a notification be lost. 0 turns the cache off.
    identity_cache_seconds: float = Field(default=5.0, ge=0, le=60)
    log_level: str = "INFO"
    # One JSON line per request (morket.access). Off by default in production, where the load
    # balancer keeps access logs and each line costs the API about a third of its bare ceiling.
    access_log: bool | None = None
    # Enrichment on Temporal (the worker and the API that starts workflows).
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "morket-enrichment"
    enrichment_chunk_size: int = Field(default=250, ge=1, le=5_000)
    enrichment_parallel_chunks: int = Field(default=4, ge=1, le=200)
    enrichment_chunks_per_run: int = Field(default=200, ge=1, le=1_000)
    enrichment_record_concurrency: int = Field(default=16, ge=1, le=1_000)
    enrichment_write_batch: int = Field(default=50, ge=1, le=5_000)
    # Outbound webhooks: comma-separated retry delays in seconds (3 retries: 5 s, 10 s, 20 s).
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_delays: str = "5,10,20"
    # Loopback ports webhooks may reach, comma-separated ("9000,9001"), for local development and
    # tests only: refused when MORKET_ENV=production. The provider sandbox's port is never allowed.
    webhook_allow_loopback: str = ""
    # Data providers. A base URL left unset goes to PROVIDER_SANDBOX_URL when that is set (local
    # and test), else to the provider's real host. Clearbit's may hold "{product}" (person/company).
    apollo_base_url: str | None = None
    clearbit_base_url: str | None = None
    hunter_base_url: str | None = None
    openai_base_url: str | None = None
    provider_sandbox_url: str | None = None
    # Morket's scraper service (the scraper provider); `make run` starts it on :8001.
    scraper_url: str | None = None
    # Used when a workspace has no key for a provider, in development and test only.
    provider_sandbox_key: str = "sandbox-key"
    provider_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    provider_cache_ttl: str = "30d"
    # Longest a call waits for a rate-limit slot before it returns rate_limited instead.
    provider_max_rate_wait_seconds: float = Field(default=30.0, ge=0, le=600)
    provider_pending_retries: int = Field(default=3, ge=0, le=20)
    provider_pending_backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    # Per-provider limits replacing the documented ones, as JSON: {"hunter": [[15, 1], [500, 60]]}
    # means 15 calls per second and 500 per minute per API key.
    provider_rate_limits: dict[str, list[tuple[int, float]]] = Field(default_factory=dict)
    # Request bodies above this many bytes are answered 413 before they are parsed. Routes may be
    # given their own limit (core.bodylimit.BodyLimits): enrichment jobs get MAX_JOB_BODY_BYTES.
    max_body_bytes: int = Field(default=1_048_576, ge=1_024)
    max_job_body_bytes: int = Field(default=64 * 1_048_576, ge=1_024)
    # Bulk row create/update/delete of a table (tens of thousands of rows a call).
    max_bulk_body_bytes: int = Field(default=64 * 1_048_576, ge=1_024)
    # Records per JSON enrichment job; bigger inputs go through a table import.
    enrichment_max_records: int = Field(default=100_000, ge=1, le=1_000_000)
    # Table imports (docs/tables-io.md): the largest upload accepted (413 above), the rows written
    # per transaction, and how many rejected rows make an import give up as the wrong file.
    import_max_upload_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024)
    import_batch_rows: int = Field(default=10_000, ge=1, le=100_000)
    import_max_rejected_rows: int = Field(default=100_000, ge=0)
    # Uploads never committed are marked failed and their file deleted after this many hours.
    import_upload_ttl_hours: int = Field(default=24, ge=1)
    # Analytics (docs/analytics.md): a ClickHouse server (http(s)://user:password@host:8123/database),
    # or unset for the embedded chDB under .morket/analytics, owned by the single API process.
    clickhouse_url: str | None = None
    # The API process drains the outbox into ClickHouse (events per micro-batch); off for API
    # processes that should only serve queries (another process runs `morket analytics consume`).
    analytics_consumer: bool = True
    analytics_batch_size: int = Field(default=20_000, ge=1, le=100_000)
    # Search (docs/search.md): the PostgreSQL engine unless an OpenSearch URL is given; the API
    # process follows the outbox into the index (several processes: one runs each batch). A batch
    # is one transaction of up to this many events and at most 5,000 rows (indexer.MAX_BATCH_ROWS).
    opensearch_url: str | None = None
    opensearch_index: str = Field(default="morket-search", pattern=r"^[a-z0-9][a-z0-9_\-]{0,60}$")
    search_consumer: bool = True
    search_batch_size: int = Field(default=200, ge=1, le=10_000)
    # After a batch that caught up, the consumer lets new events gather this long before the next
    # one: under a stream of single-cell edits, one transaction per ~0.1 s instead of one per edit.
    search_settle_seconds: float = Field(default=0.1, ge=0, le=2)
    # CRM export (docs/crm.md). The OAuth apps' client ids and secrets; the CRMs' hosts go to the
    # provider sandbox when PROVIDER_SANDBOX_URL is set (with its test client), else to the real
    # ones. The redirect URI is the web app's page that hands the code to the callback route.
    crm_redirect_uri: str = "http://localhost:5173/crm/callback"
    hubspot_client_id: str | None = None
    hubspot_client_secret: str | None = None
    hubspot_auth_url: str | None = None  # https://app.hubspot.com
    hubspot_api_url: str | None = None  # https://api.hubapi.com
    salesforce_client_id: str | None = None
    salesforce_client_secret: str | None = None
    salesforce_login_url: str | None = None  # https://login.salesforce.com
    # Requests per second to one CRM connection, and the longest wait a 429's Retry-After may ask.
    crm_requests_per_second: float = Field(default=8.0, gt=0, le=1000)
    crm_max_retry_wait_seconds: float = Field(default=60.0, ge=0, le=600)

    @field_validator("webhook_retry_delays")
    @classmethod
    def _valid_retry_delays(cls, value: str) -> str:
        try:
            delays = [float(part) for part in value.split(",") if part.strip()]
        except ValueError:
            raise ValueError("must be comma-separated seconds, e.g. 5,10,20") from None
        if any(d < 0 for d in delays):
            raise ValueError("delays must not be negative")
        return value

    @field_validator("webhook_allow_loopback", mode="before")
    @classmethod
    def _loopback_ports(cls, value: object) -> str:
        text = "" if value is None or value is False else str(value).strip()
        if text.lower() in ("", "false", "0", "no"):
            return ""
        ports = [part.strip() for part in text.split(",") if part.strip()]
        if not all(p.isdigit() and 1 <= int(p) <= 65535 for p in ports):
            raise ValueError("list the loopback ports webhooks may reach, e.g. 9000,9001 (no longer true/false)")
        return ",".join(ports)

    @property
    def access_log_enabled(self) -> bool:
        """ACCESS_LOG if set; otherwise on, except in production."""
        return self.access_log if self.access_log is not None else self.morket_env != "production"

    @property
    def webhook_loopback_ports(self) -> frozenset[int]:
        return frozenset(int(p) for p in self.webhook_allow_loopback.split(",") if p)

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.morket_env != "production":
            return self
        problems = production_problems(self)
        if problems:
            raise ValueError("MORKET_ENV=production refuses: " + "; ".join(problems))
        return self

    @property
    def webhook_retry_schedule(self) -> list[float]:
        return [float(part) for part in self.webhook_retry_delays.split(",") if part.strip()]

    @field_validator("provider_rate_limits")
    @classmethod
    def _positive_rate_limits(cls, value: dict[str, list[tuple[int, float]]]) -> dict[str, list[tuple[int, float]]]:
        for provider, windows in value.items():
            if not windows or any(limit < 1 or period <= 0 for limit, period in windows):
                raise ValueError(f"{provider}: give [[calls, seconds], ...] with calls >= 1 and seconds > 0")
        return value

    @field_validator("jwt_access_expiry", "jwt_refresh_expiry", "provider_cache_ttl", "invitation_ttl")
    @classmethod
    def _valid_duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return to_async_url(value)

    @field_validator(
        "apollo_base_url",
        "clearbit_base_url",
        "hunter_base_url",
        "openai_base_url",
        "provider_sandbox_url",
        "scraper_url",
        "hubspot_auth_url",
        "hubspot_api_url",
        "salesforce_login_url",
    )
    @classmethod
    def _empty_url_is_none(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else None

    @field_validator("redis_url", "clickhouse_url")
    @classmethod
    def _empty_redis_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator(
        "hubspot_client_id", "hubspot_client_secret", "salesforce_client_id", "salesforce_client_secret", mode="before"
    )
    @classmethod
    def _empty_client_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("service_api_key", mode="before")
    @classmethod
    def _empty_service_key_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("encryption_previous_keys")
    @classmethod
    def _valid_previous_keys(cls, value: str, info: ValidationInfo) -> str:
        parse_previous_keys(value, info.data.get("encryption_key_version", 1))
        return value

    @property
    def encryption_keys(self) -> dict[int, bytes]:
        """Every master key by version: the previous ones and the current one."""
        keys = parse_previous_keys(self.encryption_previous_keys, self.encryption_key_version)
        keys[self.encryption_key_version] = self.master_key
        return keys

    @property
    def access_ttl(self) -> timedelta:
        return parse_duration(self.jwt_access_expiry)

    @property
    def invitation_ttl_delta(self) -> timedelta:
        return parse_duration(self.invitation_ttl)

    @property
    def refresh_ttl(self) -> timedelta:
        return parse_duration(self.jwt_refresh_expiry)

    @property
    def master_key(self) -> bytes:
        return bytes.fromhex(self.encryption_master_key)

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_origin.split(",") if o.strip()]


def _weak(secret: str | None) -> bool:
    """Blank, one character repeated, or a handful of distinct characters: not a generated secret."""
    return secret is not None and len(set(secret.strip())) < 8


def _loopback_url(url: str | None) -> bool:
    host = (urlsplit(url).hostname or "") if url else ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def production_problems(settings: Settings) -> list[str]:
    """What a production deployment must not run with (each named by its variable)."""
    problems: list[str] = []
    if settings.webhook_allow_loopback:
        problems.append("WEBHOOK_ALLOW_LOOPBACK (loopback webhook destinations are for development and tests)")
    if settings.provider_sandbox_url:
        problems.append("PROVIDER_SANDBOX_URL (the provider sandbox is for development and tests)")
    for name in ("apollo_base_url", "clearbit_base_url", "hunter_base_url", "openai_base_url"):
        if _loopback_url(getattr(settings, name)):
            problems.append(f"{name.upper()} on a loopback address (the provider sandbox)")
    if _weak(settings.jwt_secret):
        problems.append("a weak JWT_SECRET (blank or repeated characters; generate one)")
    if _weak(settings.encryption_master_key) or int(settings.encryption_master_key, 16) == 0:
        problems.append("a weak ENCRYPTION_MASTER_KEY (all zero or repeated characters; generate one)")
    if any(_weak(key.hex()) for key in parse_previous_keys(settings.encryption_previous_keys, 0).values()):
        problems.append("a weak key in ENCRYPTION_PREVIOUS_KEYS")
    if _weak(settings.service_api_key):
        problems.append("a weak SERVICE_API_KEY (blank or repeated characters; generate one)")
    return problems


def parse_previous_keys(value: str, current_version: int) -> dict[int, bytes]:
    """'1:<64 hex>,2:<64 hex>' -> {1: key, 2: key}; the messages never repeat a key."""
    keys: dict[int, bytes] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        version, _, hex_key = part.partition(":")
        if not version.strip().isdigit() or not re.fullmatch(r"[0-9a-fA-F]{64}", hex_key.strip()):
            raise ValueError("must be comma-separated 'version:<64 hex characters>' pairs")
        number = int(version)
        if number < 1 or number in keys or number == current_version:
            raise ValueError(f"version {number} must be >= 1, unique and not ENCRYPTION_KEY_VERSION")
        keys[number] = bytes.fromhex(hex_key.strip())
    return keys


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
            name = str(err["loc"][0]).upper() if err["loc"] else "MORKET_ENV"
            problems.append(f"  {name}: {err['msg']}")
        raise SettingsError("Invalid configuration:\n" + "\n".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
