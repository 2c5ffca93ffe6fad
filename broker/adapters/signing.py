"""The broker's signing key and its published JWKS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.sdk.signing import SigningKey


class BrokerSigner:
    """Signs requests and summaries; publishes its public key (and retired ones) as a JWKS."""

    def __init__(self, key: SigningKey, retired_jwks: list[dict[str, str]] | None = None) -> None:
        self._key = key
        self._retired = retired_jwks or []

    @classmethod
    def from_file(cls, path: Path, passphrase: str | None) -> BrokerSigner:
        if not path.exists():
            raise FileNotFoundError(
                f"no broker signing key at {path}: run `mash-broker keys generate --out {path}`"
            )
        return cls(SigningKey.from_pem_file(path, passphrase))

    @property
    def kid(self) -> str:
        return self._key.kid

    def sign(self, payload: Any, *, typ: str) -> str:
        return self._key.sign(payload, typ=typ)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [self._key.public_jwk(), *self._retired]}
