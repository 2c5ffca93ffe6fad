"""Received views, once each (SQLite; the view id is the key)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS views (
    view_id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    enquiry_id TEXT,
    summary_id TEXT,
    decision_outcome TEXT,
    issued_at TEXT,
    received_at TEXT NOT NULL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    view_sha256 TEXT NOT NULL,
    jws TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Received:
    view_id: str
    service_id: str
    enquiry_id: str | None
    summary_id: str | None
    decision_outcome: str | None
    issued_at: str | None
    received_at: str
    deliveries: int
    view_sha256: str


class ViewStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)

    def put(self, *, view_id: str, service_id: str, enquiry_id: str | None, summary_id: str | None,
            decision_outcome: str | None, issued_at: str | None, received_at: str, view_sha256: str,
            jws: str) -> tuple[bool, str]:
        """(first time?, received_at of the first copy). A copy must be the same view, byte for byte."""
        row = self._db.execute("SELECT received_at, view_sha256 FROM views WHERE view_id = ?",
                               (view_id,)).fetchone()
        if row is not None:
            if row[1] != view_sha256:
                raise ValueError(f"view {view_id} arrived again with different content")
            self._db.execute("UPDATE views SET deliveries = deliveries + 1 WHERE view_id = ?", (view_id,))
            return False, str(row[0])
        self._db.execute(
            "INSERT INTO views (view_id, service_id, enquiry_id, summary_id, decision_outcome, issued_at,"
            " received_at, view_sha256, jws) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (view_id, service_id, enquiry_id, summary_id, decision_outcome, issued_at, received_at,
             view_sha256, jws),
        )
        return True, received_at

    def all(self) -> list[Received]:
        rows = self._db.execute(
            "SELECT view_id, service_id, enquiry_id, summary_id, decision_outcome, issued_at, received_at,"
            " deliveries, view_sha256 FROM views ORDER BY received_at, view_id").fetchall()
        return [Received(*r) for r in rows]

    def jws(self, view_id: str) -> str | None:
        row = self._db.execute("SELECT jws FROM views WHERE view_id = ?", (view_id,)).fetchone()
        return None if row is None else str(row[0])

    def close(self) -> None:
        self._db.close()
