"""Agreements loaded from a directory of JSON documents, validated once at start-up."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agreements.loader import load_directory
from agreements.model import Agreement


class DirectoryAgreements:
    def __init__(self, agreements: Sequence[Agreement]) -> None:
        self._agreements = tuple(agreements)
        self._keys = {
            (a.agreement_id, a.version, p.partner_id): p.public_jwk
            for a in self._agreements
            for p in a.parties
        }

    @classmethod
    def load(cls, directory: Path) -> DirectoryAgreements:
        return cls(load_directory(directory))

    def all(self) -> Sequence[Agreement]:
        return self._agreements

    def partner_jwk(self, agreement_id: str, version: str, partner_id: str) -> dict[str, str] | None:
        return self._keys.get((agreement_id, version, partner_id))

    def partner_ids(self) -> tuple[str, ...]:
        return tuple(sorted({p.partner_id for a in self._agreements for p in a.parties}))
