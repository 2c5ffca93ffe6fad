"""Signed JSON: RFC 8785 canonical payloads in compact JWS (Ed25519), and what verify refuses."""

from __future__ import annotations

import base64
import json
import stat
import warnings
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import example, given, settings
from hypothesis import strategies as st
from joserfc import jws as joserfc_jws
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jws as jwcrypto_jws

from adapters.sdk.signing import (
    ALGORITHM,
    SignatureInvalid,
    SigningKey,
    canonical_json,
    import_public_jwk,
    key_set,
    unverified_claims,
    verify,
)
from broker.domain.brag import Brag
from broker.domain.summary import compose_summary
from broker.service.summaries import SUMMARY_JWS_TYP

from .builders import T0, dispatched_enquiry, reply_to

pytestmark = pytest.mark.security

TYP = "mash-test+jws"
KEY = SigningKey.generate()
OTHER_KEY = SigningKey.generate()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _signed_over(payload: bytes, *, alg: str = ALGORITHM, typ: str = TYP, key: SigningKey = KEY) -> str:
    """A JWS signed correctly by `key` over exactly these payload bytes (bypassing canonicalisation)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that EdDSA is deprecated
        return joserfc_jws.serialize_compact(
            {"alg": alg, "kid": key.kid, "typ": typ}, payload, key.key, algorithms=[alg]
        )


# --- round trip ---------------------------------------------------------------------------------

SAFE_INT = st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
scalars = st.none() | st.booleans() | SAFE_INT | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=6)


@settings(deadline=None)
@given(json_objects)
def test_sign_then_verify_round_trips_any_json_object(payload: dict[str, Any]) -> None:
    """Whatever JSON object is signed, verify returns an equal object with the same canonical bytes."""
    token = KEY.sign(payload, typ=TYP)
    verified = verify(token, KEY.key, typ=TYP)
    assert verified == payload
    assert canonical_json(verified) == canonical_json(payload)
    _, signed_payload, _ = token.split(".")
    assert base64.urlsafe_b64decode(signed_payload + "=" * (-len(signed_payload) % 4)) == canonical_json(payload)


finite_floats = st.floats(allow_nan=False, allow_infinity=False)


@settings(deadline=None)
@given(st.dictionaries(st.text(max_size=5), finite_floats | SAFE_INT, max_size=5))
@example({"n": 1e20})
@example({"n": 9007199254740992.0})
def test_sign_then_verify_round_trips_finite_floats(payload: dict[str, Any]) -> None:
    """A payload with any finite float that sign accepts verifies back to an equal object."""
    token = KEY.sign(payload, typ=TYP)
    assert verify(token, KEY.key, typ=TYP) == payload


def test_verify_with_a_key_set_finds_the_key_by_thumbprint() -> None:
    """A key set built from public JWKs verifies a token whose kid is the signer's thumbprint."""
    keys = key_set([OTHER_KEY.public_jwk(), KEY.public_jwk()])
    assert verify(KEY.sign({"a": 1}, typ=TYP), keys, typ=TYP) == {"a": 1}


def test_public_jwk_names_the_key_by_its_thumbprint() -> None:
    """The public JWK has kid = RFC 7638 thumbprint, alg Ed25519, use sig, and no private part."""
    public = KEY.public_jwk()
    assert public["kid"] == KEY.kid and public["alg"] == "Ed25519" and public["use"] == "sig"
    assert (public["kty"], public["crv"]) == ("OKP", "Ed25519")
    assert "d" not in public


def test_unverified_claims_reads_header_and_payload() -> None:
    """unverified_claims returns the protected header and payload without checking the signature."""
    header, payload = unverified_claims(KEY.sign({"x": [1, 2]}, typ=TYP))
    assert header == {"alg": "Ed25519", "kid": KEY.kid, "typ": TYP}
    assert payload == {"x": [1, 2]}
    with pytest.raises(SignatureInvalid, match="not a compact JWS"):
        unverified_claims("not-a-token")


# --- refusals -----------------------------------------------------------------------------------


def test_verify_refuses_another_key() -> None:
    """A token signed by one key does not verify with another."""
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify(KEY.sign({"a": 1}, typ=TYP), OTHER_KEY.key, typ=TYP)


def test_verify_refuses_a_key_set_without_the_signer() -> None:
    """A key set that does not hold the signer's key refuses the token."""
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify(KEY.sign({"a": 1}, typ=TYP), key_set([OTHER_KEY.public_jwk()]), typ=TYP)


def test_verify_refuses_another_typ() -> None:
    """A token signed as one document type is refused as another."""
    token = KEY.sign({"a": 1}, typ="mash-partner-reply+jws")
    with pytest.raises(SignatureInvalid, match=r"expected typ 'mash-partner-request\+jws', got 'mash-partner-reply\+jws'"):
        verify(token, KEY.key, typ="mash-partner-request+jws")


@pytest.mark.parametrize("header", [{"alg": "none"}, {"alg": "none", "typ": TYP}, {"alg": "None", "typ": TYP}])
def test_verify_refuses_an_unsigned_alg_none_token(header: dict[str, str]) -> None:
    """A hand-built token with alg none and an empty signature is refused."""
    token = f"{b64url(json.dumps(header).encode())}.{b64url(canonical_json({'a': 1}))}."
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify(token, KEY.key, typ=TYP)


def test_verify_refuses_an_eddsa_header_even_with_a_valid_signature() -> None:
    """Only alg Ed25519 is accepted: a token correctly signed with alg EdDSA is refused."""
    token = _signed_over(canonical_json({"a": 1}), alg="EdDSA")
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify(token, KEY.key, typ=TYP)


def test_verify_refuses_a_tampered_payload() -> None:
    """Swapping in another (canonical) payload under the same signature is refused."""
    header, _, signature = KEY.sign({"brag": "red"}, typ=TYP).split(".")
    tampered = f"{header}.{b64url(canonical_json({'brag': 'blue'}))}.{signature}"
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify(tampered, KEY.key, typ=TYP)


def test_verify_refuses_a_tampered_header() -> None:
    """Changing the protected header (here the typ) breaks the signature."""
    _, payload, signature = KEY.sign({"a": 1}, typ="one+jws").split(".")
    header = b64url(json.dumps({"alg": "Ed25519", "kid": KEY.kid, "typ": TYP}).encode())
    with pytest.raises(SignatureInvalid, match="signature does not verify"):
        verify(f"{header}.{payload}.{signature}", KEY.key, typ=TYP)


@pytest.mark.parametrize("payload", [b'{"b":1, "a":2}', b'{"b":1,"a":2}', b'{"a": 2}', b'{"a":1.0}', b'{"a":"\\u0041"}'])
def test_verify_refuses_a_correctly_signed_non_canonical_payload(payload: bytes) -> None:
    """A payload that is not its own RFC 8785 form is refused even with a good signature."""
    with pytest.raises(SignatureInvalid, match="not RFC 8785 canonical JSON"):
        verify(_signed_over(payload), KEY.key, typ=TYP)


def test_verify_refuses_a_signed_payload_that_is_not_json() -> None:
    """A correctly signed payload that is not JSON is refused."""
    with pytest.raises(SignatureInvalid, match="not JSON"):
        verify(_signed_over(b"not json"), KEY.key, typ=TYP)


def test_verify_refuses_a_signed_payload_that_is_not_an_object() -> None:
    """Only JSON objects are documents: a signed array is refused."""
    with pytest.raises(SignatureInvalid, match="not a JSON object"):
        verify(KEY.sign([1, 2], typ=TYP), KEY.key, typ=TYP)


@pytest.mark.parametrize("payload", [b'{"n":9007199254740993}', b'{"n":NaN}', b'{"n":Infinity}'])
def test_verify_refuses_a_signed_payload_with_numbers_json_cannot_canonicalise(payload: bytes) -> None:
    """A correctly signed payload whose numbers have no RFC 8785 form is refused with SignatureInvalid, not a crash."""
    with pytest.raises(SignatureInvalid):
        verify(_signed_over(payload), KEY.key, typ=TYP)


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!!.???.***", "\u00e9.x.y"])
def test_verify_refuses_garbage(token: str) -> None:
    """Strings that are not compact JWS are refused with SignatureInvalid."""
    with pytest.raises(SignatureInvalid):
        verify(token, KEY.key, typ=TYP)


def test_import_public_jwk_refuses_private_and_non_ed25519_keys() -> None:
    """Only public Ed25519 JWKs are imported; a private part or another curve is refused."""
    private = {k: str(v) for k, v in KEY.key.as_dict(private=True).items()}
    with pytest.raises(ValueError, match="expected a public Ed25519 JWK"):
        import_public_jwk(private)
    with pytest.raises(ValueError, match="expected a public Ed25519 JWK"):
        import_public_jwk({**KEY.public_jwk(), "crv": "X25519"})
    imported = import_public_jwk({**KEY.public_jwk(), "kid": "chosen-by-attacker"})
    assert imported.kid == KEY.kid


# --- a second JOSE library ------------------------------------------------------------------------


def test_signed_summary_verifies_with_jwcrypto() -> None:
    """A summary signed by SigningKey verifies with jwcrypto (alg Ed25519) and carries the same JSON."""
    enquiry = dispatched_enquiry(asked=2, not_asked=1)
    enquiry.record_reply(reply_to(enquiry, enquiry.requests[0], brag=Brag.RED), T0)
    enquiry.expire(enquiry.deadline_at)
    summary = compose_summary(enquiry, summary_id="sum-1", version=1, issued_at=enquiry.deadline_at)
    token = KEY.sign(summary, typ=SUMMARY_JWS_TYP)

    key = jwcrypto_jwk.JWK(**KEY.public_jwk())
    signed = jwcrypto_jws.JWS()
    signed.deserialize(token)
    signed.verify(key, alg="Ed25519")
    assert json.loads(signed.payload) == summary
    assert signed.payload == canonical_json(summary)
    assert signed.jose_header["typ"] == SUMMARY_JWS_TYP
    assert signed.jose_header["kid"] == key.thumbprint()

    other = jwcrypto_jws.JWS()
    other.deserialize(token)
    with pytest.raises(jwcrypto_jws.InvalidJWSSignature):
        other.verify(jwcrypto_jwk.JWK(**OTHER_KEY.public_jwk()), alg="Ed25519")


# --- PEM files ---------------------------------------------------------------------------------------


def test_encrypted_pem_round_trip(tmp_path: Path) -> None:
    """A key written with a passphrase loads back as the same key, from a file only its owner can read."""
    path = tmp_path / "keys" / "broker.pem"
    KEY.write_pem_file(path, "correct horse battery staple")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    loaded = SigningKey.from_pem_file(path, "correct horse battery staple")
    assert loaded.kid == KEY.kid
    assert verify(loaded.sign({"a": 1}, typ=TYP), KEY.key, typ=TYP) == {"a": 1}


def test_encrypted_pem_with_wrong_or_missing_passphrase_is_refused(tmp_path: Path) -> None:
    """The wrong passphrase, or none, does not open an encrypted key, and the error names the file."""
    path = tmp_path / "broker.pem"
    KEY.write_pem_file(path, "right")
    with pytest.raises(ValueError, match=f"cannot load the signing key {path}"):
        SigningKey.from_pem_file(path, "wrong")
    with pytest.raises(ValueError, match="cannot load the signing key"):
        SigningKey.from_pem_file(path, None)


def test_unencrypted_pem_round_trip(tmp_path: Path) -> None:
    """Without a passphrase the PEM is plain PKCS#8 and loads back as the same key."""
    path = tmp_path / "dev.pem"
    KEY.write_pem_file(path, None)
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert SigningKey.from_pem_file(path, None).kid == KEY.kid


def test_pem_holding_another_kind_of_key_is_refused(tmp_path: Path) -> None:
    """A PEM file with an EC key is refused as not Ed25519."""
    path = tmp_path / "ec.pem"
    path.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="does not hold an Ed25519 private key"):
        SigningKey.from_pem_file(path, None)
