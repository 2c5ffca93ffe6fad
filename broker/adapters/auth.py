"""Bearer tokens: verified against the identity provider's JWKS (OIDC-compatible).

Checks the signature with an algorithm allowlist (never the token's own say),
issuer, audience, expiry and not-before, and maps the roles claim to a Principal.
The development issuer signs tokens with a key from the dev workspace; it does
not exist in production mode.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from adapters.sdk.signing import SigningKey, key_set
from broker.domain.access import Principal, valid_role

DEV_ISSUER = "mash-dev-issuer"
DEV_AUDIENCE = "mash-broker"


class Unauthenticated(Exception):
    """No token, or one that does not verify; the message says why (no secrets)."""


class KeysNeeded(Exception):
    """Verifying needs the key set fetched first (blocking I/O), and fetching was not allowed."""


class TokenVerifier:
    def __init__(
        self,
        *,
        jwks_source: str,
        issuer: str,
        audience: str,
        algorithms: Sequence[str],
        roles_claim: str = "roles",
        leeway_s: int = 30,
        cache_s: float = 300.0,
        min_refresh_s: float = 30.0,
    ) -> None:
        self._source = jwks_source
        self._issuer = issuer
        self._audience = audience
        self._algorithms = list(algorithms)
        self._roles_claim = roles_claim
        self._leeway = leeway_s
        self._cache_s = cache_s
        self._min_refresh_s = min_refresh_s
        self._keys: KeySet | None = None
        self._loaded_at = 0.0

    def _key_set(self, *, refresh: bool = False, may_fetch: bool = True) -> KeySet:
        now = time.monotonic()
        stale = self._keys is None or now - self._loaded_at > self._cache_s
        # A refused token may mean rotated keys, but not more than one fetch per interval:
        # otherwise every forged token would make us fetch the JWKS.
        refresh = refresh and now - self._loaded_at > self._min_refresh_s
        if stale or refresh:
            if not may_fetch:
                raise KeysNeeded()
            if self._source.startswith(("https://", "http://")):
                response = httpx.get(self._source, timeout=10)
                response.raise_for_status()
                document: dict[str, Any] = response.json()
            else:
                document = json.loads(Path(self._source).read_text(encoding="utf-8"))
            self._keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
            self._loaded_at = time.monotonic()
        assert self._keys is not None
        return self._keys

    async def verify_async(self, authorization: str | None) -> Principal:
        """`verify` for an event loop: against the cached key set on the loop (a signature
        check, no I/O); in a worker thread only when the key set must be fetched first,
        because the fetch blocks."""
        try:
            return self.verify(authorization, may_fetch=False)
        except KeysNeeded:
            return await asyncio.to_thread(self.verify, authorization)

    def verify(self, authorization: str | None, *, may_fetch: bool = True) -> Principal:
        """The principal a bearer token names, once it verifies (Unauthenticated otherwise).

        With `may_fetch=False` it never blocks: it raises KeysNeeded where it would have
        had to fetch the key set first, so an event loop can verify against the cached keys
        and go to a thread only for the fetch.
        """
        if not authorization:
            raise Unauthenticated("a bearer token is required")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("use the Bearer scheme")
        try:
            try:
                decoded = jwt.decode(token.strip(), self._key_set(may_fetch=may_fetch), algorithms=self._algorithms)
            except JoseError:
                # The provider may have rotated its keys: fetch once more before refusing.
                decoded = jwt.decode(token.strip(), self._key_set(refresh=True, may_fetch=may_fetch),
                                     algorithms=self._algorithms)
            jwt.JWTClaimsRegistry(
                leeway=self._leeway,
                iss={"essential": True, "value": self._issuer},
                aud={"essential": True, "value": self._audience},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as error:
            raise Unauthenticated(f"token refused: {type(error).__name__}") from None
        roles = decoded.claims.get(self._roles_claim, [])
        if isinstance(roles, str):
            roles = roles.split()
        if not isinstance(roles, list):
            raise Unauthenticated("token refused: roles claim is not a list")
        return Principal(
            subject=str(decoded.claims["sub"]),
            roles=frozenset(r for r in roles if isinstance(r, str) and valid_role(r)),
        )


class DevIssuer:
    """Signs development tokens (Ed25519) with the dev workspace's issuer key."""

    def __init__(self, key: SigningKey, *, issuer: str = DEV_ISSUER, audience: str = DEV_AUDIENCE) -> None:
        self._key = key
        self.issuer = issuer
        self.audience = audience

    @classmethod
    def from_workspace(cls, dev_dir: Path) -> DevIssuer:
        return cls(SigningKey.from_pem_file(dev_dir / "keys" / "issuer.pem", None))

    def issue(self, *, subject: str, roles: Sequence[str], ttl_s: int = 3600, now: float | None = None) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer, "aud": self.audience, "sub": subject, "roles": list(roles),
            "iat": issued, "nbf": issued, "exp": issued + ttl_s,
        }
        header = {"alg": "Ed25519", "kid": self._key.kid, "typ": "JWT"}
        return jwt.encode(header, claims, self._key.key, algorithms=["Ed25519"])


def jwks_of(key: SigningKey) -> dict[str, list[dict[str, str]]]:
    return {"keys": [key.public_jwk()]}


__all__ = ["DevIssuer", "KeysNeeded", "TokenVerifier", "Unauthenticated", "jwks_of", "key_set"]
