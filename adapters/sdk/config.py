"""A partner adapter's settings: MASH_ADAPTER_* (and MASH_AMQP_URL as a fallback)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class AdapterSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MASH_ADAPTER_", extra="ignore", populate_by_name=True)

    partner_id: str | None = None  # defaults to the adapter's name
    key_file: Path | None = None  # defaults to <dev_dir>/keys/<partner>.pem
    key_passphrase: SecretStr | None = None
    broker_jwks: str | None = None  # a file path or an https URL; default <dev_dir>/keys/broker.jwks.json
    agreements_dir: Path | None = None  # default <dev_dir>/agreements
    amqp_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("MASH_ADAPTER_AMQP_URL", "MASH_AMQP_URL")
    )
    data_dir: Path | None = None  # the reference adapters default to their bundled data
    state_dir: Path | None = None  # default <dev_dir>/state
    dev_dir: Path = Field(
        default=Path("var/dev"), validation_alias=AliasChoices("MASH_ADAPTER_DEV_DIR", "MASH_DEV_DIR")
    )
    prefix: str = "mash"
    prefetch: int = Field(default=16, ge=1, le=1000)
