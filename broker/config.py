"""Settings, read from the environment with the prefix MASH_ (pydantic-settings).

Built once by the composition root, never at import time, so tests can make
their own. Unsafe defaults are refused outside development.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urlsplit
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from broker.domain.brag import DEFAULT_TIMESCALES, Brag


class Timescales(BaseModel):
    """How long partners have to reply, by the enquiry's BRAG (ISO 8601 durations or seconds)."""

    red: dt.timedelta = DEFAULT_TIMESCALES[Brag.RED]
    amber: dt.timedelta = DEFAULT_TIMESCALES[Brag.AMBER]
    green: dt.timedelta = DEFAULT_TIMESCALES[Brag.GREEN]
    blue: dt.timedelta = DEFAULT_TIMESCALES[Brag.BLUE]

    def table(self) -> dict[Brag, dt.timedelta]:
        return {Brag.RED: self.red, Brag.AMBER: self.amber, Brag.GREEN: self.green, Brag.BLUE: self.blue}

    @model_validator(mode="after")
    def _positive(self) -> Timescales:
        for brag, span in self.table().items():
            if span <= dt.timedelta(0):
                raise ValueError(f"timescale for {brag.value} must be positive")
        return self


class FrontDoor(BaseModel):
    """The front door: timescales and working calendars per authority, and the case system."""

    config_file: Path | None = None  # default: deploy/config/front_door.json (timescales, calendars)
    authority: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")  # default: the file's
    allocations_file: Path | None = None  # the reference case system; default: adapters/synthetic/allocations.json
    retention_days: int = Field(default=730, ge=1, le=36500)  # contacts that led to no enquiry: purge after
    ack_alert_after_minutes: int = Field(default=240, ge=1, le=60 * 24 * 30)  # "Routed to me": flag unacknowledged


class Signing(BaseModel):
    key_file: Path | None = None  # default: <dev_dir>/keys/broker.pem
    passphrase: SecretStr | None = None


class Auth(BaseModel):
    """The identity provider whose bearer tokens the API accepts (OIDC-compatible)."""

    issuer: str | None = None  # default in development: the dev issuer
    audience: str = "mash-broker"
    jwks: str | None = None  # https URL or file; default in development: <dev_dir>/keys/issuer.jwks.json
    algorithms: list[str] = ["Ed25519", "ES256", "RS256", "PS256"]
    roles_claim: str = "roles"
    leeway_s: int = Field(default=30, ge=0, le=300)

    @model_validator(mode="after")
    def _no_symmetric_or_none(self) -> Auth:
        refused = sorted({a for a in self.algorithms if a.lower() == "none" or a.startswith("HS")})
        if refused:
            raise ValueError(f"auth algorithms {refused} are not allowed (no 'none', no shared secrets)")
        return self


class WebOidc(BaseModel):
    """The web UI's sign-in through the identity provider: OpenID Connect authorization code
    flow with PKCE. The token kept as the session (`token_field`) must be one the API accepts
    (issuer MASH_AUTH__ISSUER, audience MASH_AUTH__AUDIENCE)."""

    client_id: str
    client_secret: SecretStr | None = None  # confidential client (HTTP Basic at the token endpoint)
    authorization_endpoint: str | None = None  # default: from <issuer>/.well-known/openid-configuration
    token_endpoint: str | None = None
    scope: str = "openid"
    token_field: Literal["access_token", "id_token"] = "access_token"
    redirect_base: str | None = None  # e.g. https://mash.example.gov.uk (default: the request's own)


class Amqp(BaseModel):
    delivery_limit: int = Field(default=5, ge=1, le=100)
    queue_max_length: int = Field(default=100_000, ge=1)
    prefetch: int = Field(default=64, ge=1, le=1000)
    publish_timeout_s: float = Field(default=10.0, gt=0)
    user_prefix: str = Field(default="mash", pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    require_user_id: bool = False  # replies must carry the partner's validated AMQP user_id


class Delivery(BaseModel):
    """Downstream delivery to receiving services (MASH_DELIVERY__*)."""

    ack_timeout: dt.timedelta = dt.timedelta(hours=1)  # re-send a view not acknowledged by then
    max_sends: int = Field(default=3, ge=1, le=50)  # then it is shown undelivered
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff_base_s: float = Field(default=2.0, gt=0)
    webhook_backoff_max_s: float = Field(default=600.0, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MASH_", env_nested_delimiter="__", extra="ignore", case_sensitive=False
    )

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///var/mash.sqlite3"
    # PostgreSQL connections this process keeps open, and how many more it may open under a
    # burst (each closed again after use: reconnecting costs far more than a statement).
    db_pool_size: int = Field(default=10, ge=1, le=500)
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    amqp_url: SecretStr | None = None
    amqp: Amqp = Amqp()
    agreements_dir: Path | None = None  # default: <dev_dir>/agreements
    recipients_dir: Path | None = None  # receiving services; default: <dev_dir>/recipients
    delivery: Delivery = Delivery()
    signing: Signing = Signing()
    data_keys: Path | None = None  # AES-GCM key ring for data at rest; default <dev_dir>/keys/data-keys.json
    auth: Auth = Auth()
    timescales: Timescales = Timescales()
    front_door: FrontDoor = FrontDoor()
    default_purpose: str = "mash-safeguarding-enquiry"
    relay_poll_s: float = Field(default=0.5, gt=0)
    relay_batch: int = Field(default=100, ge=1, le=5000)
    sweep_interval_s: float = Field(default=5.0, gt=0)
    chase_share: float | None = Field(
        default=0.5, gt=0, lt=1,
        description="chase a partner still silent when this share of its time has passed",
    )
    backpressure_s: float = Field(default=5.0, gt=0, description="how long to refuse new enquiries after RabbitMQ refused a publish")
    embedded_adapters: list[str] = ["police", "health", "education"]
    dev_dir: Path = Path("var/dev")
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_json_depth: int = Field(default=16, ge=4, le=256)
    open_rate_per_minute: float = Field(default=60.0, gt=0, description="enquiries one principal may open per minute")
    open_rate_burst: int = Field(default=20, ge=1)
    host: str = "127.0.0.1"
    port: int = 8000
    web_csrf_key: SecretStr | None = Field(
        default=None,
        description="key for the web UI's CSRF tokens; set the same value on every process serving /ui "
        "(default: a random key per process, so forms opened before a restart must be reloaded)",
    )
    web_oidc: WebOidc | None = None  # sign-in to the web UI through the identity provider

    @property
    def uses_amqp(self) -> bool:
        return self.amqp_url is not None

    @model_validator(mode="after")
    def _development_defaults(self) -> Settings:
        # Development defaults live in the dev workspace (`mash-broker dev init`);
        # production must name its paths (checked first, below).
        self._refuse_unsafe_defaults()
        if self.agreements_dir is None:
            self.agreements_dir = self.dev_dir / "agreements"
        if self.signing.key_file is None:
            self.signing.key_file = self.dev_dir / "keys" / "broker.pem"
        if self.data_keys is None:
            self.data_keys = self.dev_dir / "keys" / "data-keys.json"
        if self.auth.issuer is None:
            self.auth.issuer = "mash-dev-issuer"
        if self.auth.jwks is None:
            self.auth.jwks = str(self.dev_dir / "keys" / "issuer.jwks.json")
        return self

    @property
    def agreements_path(self) -> Path:
        assert self.agreements_dir is not None
        return self.agreements_dir

    @property
    def recipients_path(self) -> Path:
        return self.recipients_dir if self.recipients_dir is not None else self.dev_dir / "recipients"

    @property
    def data_keys_path(self) -> Path:
        assert self.data_keys is not None
        return self.data_keys

    @property
    def key_path(self) -> Path:
        assert self.signing.key_file is not None
        return self.signing.key_file

    def _refuse_unsafe_defaults(self) -> None:
        if self.env != "production":
            return
        problems = []
        if self.amqp_url is None:
            problems.append("MASH_AMQP_URL is required (the in-process transport is for development)")
        elif urlsplit(self.amqp_url.get_secret_value()).username in (None, "", "guest"):
            problems.append("the RabbitMQ guest user (or none) is for development only")
        if self.database_url.startswith("sqlite"):
            problems.append("use PostgreSQL in production (MASH_DATABASE_URL=postgresql+asyncpg://...)")
        if self.agreements_dir is None or self.signing.key_file is None or self.data_keys is None:
            problems.append("set MASH_AGREEMENTS_DIR, MASH_SIGNING__KEY_FILE and MASH_DATA_KEYS explicitly")
        if self.auth.issuer in (None, "mash-dev-issuer") or self.auth.jwks is None:
            problems.append("set MASH_AUTH__ISSUER and MASH_AUTH__JWKS to your identity provider")
        if self.signing.passphrase is None:
            problems.append("MASH_SIGNING__PASSPHRASE is required: the signing key must be encrypted")
        if not self.amqp.require_user_id:
            problems.append("MASH_AMQP__REQUIRE_USER_ID must be true: per-partner RabbitMQ users")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
