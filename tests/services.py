"""Per-test resources on the machine's real RabbitMQ and PostgreSQL: a fresh vhost, a fresh
database. Nothing here mocks a service; every name is unique so runs never touch each other."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def rabbitmqctl(*args: str) -> str:
    result = subprocess.run(
        ["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True, timeout=60
    )
    return result.stdout


@contextmanager
def fresh_vhost() -> Iterator[str]:
    """An AMQP URL on a vhost of its own, deleted afterwards."""
    vhost = f"mash-test-{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        rabbitmqctl("delete_vhost", vhost)


def queue_depths(amqp_url: str) -> dict[str, int]:
    """Messages ready in each queue of the URL's vhost, as RabbitMQ reports them."""
    vhost = amqp_url.rsplit("/", 1)[1]
    out = rabbitmqctl("list_queues", "-p", vhost, "name", "messages_ready", "--no-table-headers")
    depths = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            depths[parts[0]] = int(parts[1])
    return depths


@contextmanager
def fresh_database() -> Iterator[str]:
    """An asyncpg URL to a new, empty PostgreSQL database, dropped afterwards."""
    name = f"mash_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
