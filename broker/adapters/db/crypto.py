"""Encryption at rest, per value: AES-256-GCM with a key ring, bound to where the value lives.

Subject details, consent records, partner replies (findings), summaries and the
request bodies in the outbox are sealed before they reach the database, so a dump
reveals none of them. Each sealed value names its key (`enc1:<kid>:<nonce+ciphertext>`),
so keys rotate without downtime: new values use the current key, old values stay
readable while their key is in the ring, and `mash-broker keys rotate` re-seals them.
The associated data binds each value to its table, column and row id: a ciphertext
moved to another row does not open.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1"


class Undecryptable(Exception):
    """A sealed value cannot be opened: unknown key, wrong place, or tampered."""


@dataclass(frozen=True, slots=True)
class KeyRing:
    current: str
    keys: dict[str, bytes]

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        if not path.exists():
            raise FileNotFoundError(f"no data key ring at {path}: run `mash-broker dev init` "
                                    "or `mash-broker keys rotate --data-keys {path}`")
        document = json.loads(path.read_text(encoding="utf-8"))
        keys = {kid: base64.b64decode(value) for kid, value in document["keys"].items()}
        if document["current"] not in keys or any(len(k) != 32 for k in keys.values()):
            raise ValueError(f"{path}: the current key must be in the ring and every key 32 bytes")
        return cls(current=document["current"], keys=keys)

    @classmethod
    def generate(cls) -> KeyRing:
        kid = secrets.token_hex(4)
        return cls(current=kid, keys={kid: AESGCM.generate_key(bit_length=256)})

    def rotated(self) -> KeyRing:
        kid = secrets.token_hex(4)
        while kid in self.keys:
            kid = secrets.token_hex(4)
        return KeyRing(current=kid, keys={**self.keys, kid: AESGCM.generate_key(bit_length=256)})

    def retaining(self, kids: set[str]) -> KeyRing:
        return KeyRing(current=self.current, keys={k: v for k, v in self.keys.items() if k in kids | {self.current}})

    def save(self, path: Path) -> None:
        document = {"current": self.current,
                    "keys": {kid: base64.b64encode(key).decode() for kid, key in self.keys.items()}}
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.touch(mode=0o600)
        temporary.chmod(0o600)
        temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)


class RowCipher:
    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._aead = {kid: AESGCM(key) for kid, key in ring.keys.items()}

    def seal(self, plaintext: bytes, *, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead[self.ring.current].encrypt(nonce, plaintext, context.encode())
        return f"{PREFIX}:{self.ring.current}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, value: str, *, context: str) -> bytes:
        prefix, _, rest = value.partition(":")
        kid, _, data = rest.partition(":")
        if prefix != PREFIX:
            raise Undecryptable("not a sealed value")
        aead = self._aead.get(kid)
        if aead is None:
            raise Undecryptable(f"sealed with key {kid}, which is not in the key ring")
        raw = base64.b64decode(data)
        try:
            return aead.decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag:
            raise Undecryptable(f"{context}: tampered, or moved from another row") from None

    @staticmethod
    def key_of(value: str) -> str | None:
        prefix, _, rest = value.partition(":")
        return rest.partition(":")[0] if prefix == PREFIX else None

    def seal_json(self, data: Any, *, context: str) -> str:
        return self.seal(json.dumps(data, separators=(",", ":")).encode(), context=context)

    def open_json(self, value: str | None, *, context: str) -> Any:
        if value is None:
            return None
        if not value.startswith(PREFIX + ":"):
            return json.loads(value)  # written before encryption at rest; re-sealed by rotation
        return json.loads(self.open(value, context=context))

    def seal_text(self, text: str | None, *, context: str) -> str | None:
        return None if text is None else self.seal(text.encode(), context=context)

    def open_text(self, value: str | None, *, context: str) -> str | None:
        if value is None or not value.startswith(PREFIX + ":"):
            return value
        return self.open(value, context=context).decode()
