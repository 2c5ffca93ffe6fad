"""Fault-test fixtures: a throw-away RabbitMQ node per module (never the shared one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.throwaway import RabbitNode, rabbit_node


@pytest.fixture(name="node", scope="module")
def _node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitNode]:
    with rabbit_node(tmp_path_factory.mktemp("rabbit")) as node:
        yield node


@pytest.fixture(name="node_vhost")
def _node_vhost(node: RabbitNode) -> Iterator[str]:
    """A fresh vhost on the throw-away node, so tests in one module never share queues."""
    import uuid

    vhost = f"fault-{uuid.uuid4().hex[:8]}"
    node.ctl("add_vhost", vhost)
    node.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield f"{node.url}{vhost}"
    node.ctl("delete_vhost", vhost)


@pytest.fixture(name="logs")
def _logs(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
