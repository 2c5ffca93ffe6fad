"""One process at a time per SQLite database runs the relay and the sweeper.

SQLite has no SKIP LOCKED, so two relays would publish the same rows; an
exclusive file lock beside the database file makes the second process serve
the API only. (On PostgreSQL row locks let any number of processes run them.)
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from broker.adapters.db.engine import is_sqlite


class ProcessLock:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    @classmethod
    def for_sqlite(cls, database_url: str) -> ProcessLock | None:
        if not is_sqlite(database_url):
            return None
        database = database_url.split("///", 1)[-1]
        if not database or database == ":memory:":
            return None
        return cls(Path(f"{database}.background.lock"))

    def acquire(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
