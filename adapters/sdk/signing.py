"""Signed JSON documents: RFC 8785 canonical JSON in a compact JWS with alg Ed25519.

Both the broker and partner adapters use this module, so what one side signs the
other verifies byte for byte. The verifier never trusts the header's `alg`: only
Ed25519 (RFC 9864) is allowed, and `typ` must name the expected document.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

ALGORITHM = "Ed25519"
_ALGORITHMS = [ALGORITHM]


class SignatureInvalid(Exception):
    """A signed document failed to verify; the message says why."""


def canonical_json(data: Any) -> bytes:
    """RFC 8785 (JCS) bytes of JSON-ready data.

    Fast path: the C json encoder with sorted keys and no spaces writes exactly RFC 8785 when
    every key is ASCII (code-point order is then UTF-16 order) and every integer is within
    +/-(2**53 - 1); floats are written by rfc8785 (ECMAScript number form) in their place.
    Anything else (non-ASCII keys, big integers, subclasses, NUL characters, lone surrogates)
    goes to the pure-Python rfc8785 serialiser, errors included. Property-tested against it.
    """
    floats: list[float] = []
    try:
        prepared = _prepare(data, floats)
        out = json.dumps(prepared, ensure_ascii=False, separators=(",", ":"), sort_keys=True,
                         allow_nan=False).encode("utf-8")
    except (_NotPlain, UnicodeEncodeError, ValueError, RecursionError):
        return bytes(rfc8785.dumps(data))
    for number, value in enumerate(floats):
        out = out.replace(b'"\\u0000%d\\u0000"' % number, _number(value), 1)
    return out


def _number(value: float) -> bytes:
    """A float as ECMAScript's Number.prototype.toString writes it (RFC 8785 section 3.2.2.3)."""
    if value == 0:
        return b"0"  # and -0 too
    if 1e-4 <= abs(value) < 1e16:
        # Python's repr is the shortest round trip in fixed notation here, as ECMAScript's;
        # only an integral value differs ("5.0" for "5").
        text = repr(value)
        return (text[:-2] if text.endswith(".0") else text).encode()
    return bytes(rfc8785.dumps(value))  # exponent forms (and NaN/infinity refused) by rfc8785


_FAST_INT_LIMIT = 2**53 - 1


class _NotPlain(Exception):
    """The data needs the general RFC 8785 serialiser."""


def _prepare(value: Any, floats: list[float]) -> Any:
    """The data with each float replaced by a placeholder string ("\\0<n>\\0"), or _NotPlain."""
    kind = type(value)
    if kind is str:
        if "\0" in value:  # a NUL could forge a placeholder
            raise _NotPlain
        return value
    if value is None or kind is bool:
        return value
    if kind is int:
        if -_FAST_INT_LIMIT <= value <= _FAST_INT_LIMIT:
            return value
        raise _NotPlain
    if kind is float:
        floats.append(value)
        return f"\0{len(floats) - 1}\0"
    if kind is dict:
        prepared = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or "\0" in key:
                raise _NotPlain
            prepared[key] = _prepare(item, floats)
        return prepared
    if kind is list or kind is tuple:
        return [_prepare(item, floats) for item in value]
    raise _NotPlain


def public_jwk(key: OKPKey) -> dict[str, str]:
    """The public JWK with `kid` = RFC 7638 thumbprint, `alg` and `use`."""
    data = {k: str(v) for k, v in key.as_dict(private=False).items()}
    data.update(kid=key.thumbprint(), alg=ALGORITHM, use="sig")
    return data


def import_public_jwk(jwk: dict[str, Any]) -> OKPKey:
    """An Ed25519 public key from a JWK, refusing anything else."""
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "d" in jwk:
        raise ValueError("expected a public Ed25519 JWK (kty OKP, crv Ed25519, no private part)")
    x = jwk["x"]
    if not isinstance(x, str):
        raise ValueError("the JWK's x must be a base64url string")
    return _ed25519_public_key(x)


@functools.lru_cache(maxsize=1024)
def _ed25519_public_key(x: str) -> OKPKey:
    """Parsed once per key: every reply is verified against one of a few partner keys."""
    fields = {"kty": "OKP", "crv": "Ed25519", "x": x}
    # The kid is always the RFC 7638 thumbprint we compute, never one we are told.
    return OKPKey.import_key(fields, {"kid": OKPKey.import_key(fields).thumbprint()})


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private Ed25519 key and its RFC 7638 thumbprint."""

    key: OKPKey

    @property
    def kid(self) -> str:
        return self.key.thumbprint()

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(OKPKey.import_key(Ed25519PrivateKey.generate()))

    @classmethod
    def from_pem_file(cls, path: Path, passphrase: str | None) -> SigningKey:
        """Load a PKCS#8 PEM file, encrypted when a passphrase is given."""
        password = passphrase.encode() if passphrase else None
        try:
            private = serialization.load_pem_private_key(path.read_bytes(), password=password)
        except (ValueError, TypeError) as error:
            raise ValueError(f"cannot load the signing key {path}: {error}") from error
        if not isinstance(private, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return cls(OKPKey.import_key(private))

    def write_pem_file(self, path: Path, passphrase: str | None) -> None:
        """Write PKCS#8 PEM, encrypted with the passphrase when there is one, mode 0600."""
        private = self.key.private_key
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase.encode())
            if passphrase
            else serialization.NoEncryption()
        )
        pem = private.private_bytes(  # type: ignore[union-attr]
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_bytes(pem)

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.key)

    def sign(self, payload: Any, *, typ: str) -> str:
        """Compact JWS over the canonical JSON of `payload`."""
        header = {"alg": ALGORITHM, "kid": self.kid, "typ": typ}
        return jws.serialize_compact(header, canonical_json(payload), self.key, algorithms=_ALGORITHMS)


def key_set(jwks: Iterable[dict[str, Any]]) -> KeySet:
    return KeySet([import_public_jwk(jwk) for jwk in jwks])


def unverified_claims(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload WITHOUT verifying: only to find which key should verify it."""
    try:
        obj = jws.extract_compact(token.encode("ascii"))
        payload = json.loads(obj.payload)
    except (JoseError, ValueError, UnicodeError) as error:
        raise SignatureInvalid(f"not a compact JWS with a JSON payload: {error}") from error
    if not isinstance(payload, dict):
        raise SignatureInvalid("the JWS payload is not a JSON object")
    return dict(obj.protected), payload


_EXACT_INTEGERS = 2**53


def _parse_int(text: str) -> int | float:
    # RFC 8785 numbers are IEEE 754 doubles (I-JSON): an integer beyond 2^53 was
    # written by the canonicaliser from a float, so read it back as one.
    value = int(text)
    return value if abs(value) < _EXACT_INTEGERS else float(value)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_i_json(data: bytes) -> Any:
    return json.loads(data, parse_int=_parse_int, parse_constant=_refuse_constant)


def verify(token: str, keys: OKPKey | KeySet, *, typ: str) -> dict[str, Any]:
    """Verify a compact JWS made by `sign` and return its JSON payload.

    Refuses another algorithm, another `typ`, a bad signature and a payload that
    is not the canonical form of itself (so two byte strings never verify as one
    document).
    """
    try:
        obj = jws.deserialize_compact(token.encode("ascii"), keys, algorithms=_ALGORITHMS)
    except (JoseError, ValueError, UnicodeError) as error:
        raise SignatureInvalid(f"signature does not verify: {type(error).__name__}") from error
    header = obj.protected
    if header.get("alg") != ALGORITHM:
        raise SignatureInvalid(f"algorithm {header.get('alg')!r} is not allowed")
    if header.get("typ") != typ:
        raise SignatureInvalid(f"expected typ {typ!r}, got {header.get('typ')!r}")
    try:
        payload = _parse_i_json(obj.payload)
        canonical = canonical_json(payload)
    except ValueError as error:  # rfc8785's domain errors are ValueErrors too
        raise SignatureInvalid(f"the signed payload is not JSON within I-JSON limits: {type(error).__name__}") from error
    if canonical != obj.payload:
        raise SignatureInvalid("the signed payload is not RFC 8785 canonical JSON")
    if not isinstance(payload, dict):
        raise SignatureInvalid("the signed payload is not a JSON object")
    return payload
