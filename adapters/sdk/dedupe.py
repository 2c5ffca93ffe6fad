"""Requests already answered, so a redelivered request never runs a partner's search twice."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path


class AnsweredRequests:
    """A small SQLite table: request id -> the exact reply body we sent.

    On redelivery the stored reply is published again (the first publish may
    have been lost with the connection), so the partner's search runs once and
    the broker, which dedupes on request id, records one outcome.
    """

    def __init__(self, path: Path | str) -> None:
        if isinstance(path, Path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS answered ("
                " request_id TEXT PRIMARY KEY, message_id TEXT, reply_body BLOB NOT NULL,"
                " reply_message_id TEXT NOT NULL, answered_at TEXT DEFAULT CURRENT_TIMESTAMP)"
            )

    def get(self, request_id: str) -> tuple[bytes, str] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT reply_body, reply_message_id FROM answered WHERE request_id = ?",
                (request_id,),
            ).fetchone()
        return (bytes(row[0]), str(row[1])) if row else None

    def put(self, request_id: str, message_id: str | None, body: bytes, reply_message_id: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO answered (request_id, message_id, reply_body, reply_message_id)"
                " VALUES (?, ?, ?, ?)",
                (request_id, message_id, body, reply_message_id),
            )

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM answered").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
