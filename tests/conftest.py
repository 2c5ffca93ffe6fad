"""Shared fixtures: a development workspace, databases and vhosts of each test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.adapters.auth import DevIssuer
from broker.adapters.db.migrate import upgrade
from broker.adapters.dev_workspace import DevWorkspace, init_workspace
from tests.services import fresh_database, fresh_vhost


@pytest.fixture(name="workspace")
def _workspace(tmp_path: Path) -> DevWorkspace:
    """Fresh broker and partner keys, and the sample agreements naming the partner keys."""
    return init_workspace(tmp_path / "dev")


@pytest.fixture(name="sqlite_url")
def _sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'mash.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(name="pg_url")
def _pg_url() -> Iterator[str]:
    with fresh_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(name="amqp_url")
def _amqp_url() -> Iterator[str]:
    with fresh_vhost() as url:
        yield url


def bearer(workspace: DevWorkspace, *roles: str, sub: str = "test.manager") -> dict[str, str]:
    """An Authorization header with a development token for `roles`."""
    token = DevIssuer.from_workspace(workspace.root).issue(subject=sub, roles=roles or ("mash_manager",))
    return {"Authorization": f"Bearer {token}"}
