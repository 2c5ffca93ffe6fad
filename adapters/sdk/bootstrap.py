"""Building an adapter runner from settings: used by `mash-adapter run` and the embedded broker."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from joserfc.jwk import KeySet

from adapters.sdk.config import AdapterSettings
from adapters.sdk.dedupe import AnsweredRequests
from adapters.sdk.registry import load_search
from adapters.sdk.runner import AdapterRunner, Search
from adapters.sdk.signing import SigningKey, key_set
from adapters.sdk.transport.base import Transport
from agreements.loader import load_directory


def load_broker_keys(source: str) -> KeySet:
    """The broker's JWKS, from a file or fetched from the broker's /.well-known/jwks.json."""
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=10)
        response.raise_for_status()
        document = response.json()
    else:
        document = json.loads(Path(source).read_text(encoding="utf-8"))
    return key_set(document["keys"])


def build_runner(
    name: str,
    settings: AdapterSettings,
    transport: Transport,
    *,
    search: Search | None = None,
    answered: AnsweredRequests | None = None,
) -> AdapterRunner:
    partner_id = settings.partner_id or name
    dev = settings.dev_dir
    key_file = settings.key_file or dev / "keys" / f"{partner_id}.pem"
    passphrase = settings.key_passphrase.get_secret_value() if settings.key_passphrase else None
    state_dir = settings.state_dir or dev / "state"
    return AdapterRunner(
        partner_id=partner_id,
        search=search or load_search(name, settings.data_dir),
        signing_key=SigningKey.from_pem_file(key_file, passphrase),
        broker_keys=load_broker_keys(settings.broker_jwks or str(dev / "keys" / "broker.jwks.json")),
        agreements=load_directory(settings.agreements_dir or dev / "agreements"),
        transport=transport,
        answered=answered or AnsweredRequests(state_dir / f"{partner_id}.answered.sqlite3"),
        amqp_user=urlsplit(settings.amqp_url.get_secret_value()).username if settings.amqp_url else None,
    )
