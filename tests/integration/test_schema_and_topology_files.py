"""Generated artefacts stay in step with their source: the Alembic migrations with the table
definitions (on SQLite and PostgreSQL), and deploy/rabbitmq/definitions.json with the topology."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from adapters.sdk.transport.topology import Topology
from agreements.recipients import load_recipients
from broker.adapters.agreements_fs import DirectoryAgreements
from broker.adapters.rabbitmq_access import access_definitions
from broker.adapters.db.engine import sync_url
import broker.adapters.db.audit_store  # noqa: F401 - registers the audit tables on the metadata
import broker.adapters.db.front_door_tables  # noqa: F401 - registers the front door's tables
import broker.adapters.db.delivery_tables  # noqa: F401 - registers the delivery tables
from broker.adapters.db.tables import metadata
from broker.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def drift(url: str) -> list[object]:
    engine = create_engine(sync_url(url))
    with engine.connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    return diffs


def test_migrations_match_tables_on_sqlite(sqlite_url: str) -> None:
    """`alembic upgrade head` on SQLite gives exactly the schema tables.py declares."""
    assert drift(sqlite_url) == []


@pytest.mark.integration
def test_migrations_match_tables_on_postgres(pg_url: str) -> None:
    """`alembic upgrade head` on PostgreSQL gives exactly the schema tables.py declares."""
    assert drift(pg_url) == []


def test_committed_rabbitmq_definitions_match_the_topology() -> None:
    """deploy/rabbitmq/definitions.json (topology, users, permissions) is what `mash-broker
    rabbitmq definitions` generates from the sample agreements (regenerate: `make definitions`)."""
    settings = Settings(agreements_dir=ROOT / "agreements" / "documents")
    topology = Topology(
        partners=DirectoryAgreements.load(settings.agreements_path).partner_ids(),
        delivery_limit=settings.amqp.delivery_limit,
        queue_max_length=settings.amqp.queue_max_length,
        services=tuple(sorted(s.service_id for s in load_recipients(ROOT / "agreements" / "recipients"))),
    )
    committed = json.loads((ROOT / "deploy" / "rabbitmq" / "definitions.json").read_text())
    assert committed == access_definitions(topology, vhost="/mash", prefix=settings.amqp.user_prefix)
