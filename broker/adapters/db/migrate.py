"""Running Alembic from code, so `mash-broker migrate` needs no alembic.ini on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from broker.adapters.db.engine import is_sqlite, sync_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    return config


def upgrade(database_url: str) -> None:
    if is_sqlite(database_url):
        # Create the folder of a relative SQLite file (var/ on a fresh checkout).
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    # "heads": features migrate on their own branches from a shared base (no false ordering).
    command.upgrade(alembic_config(database_url), "heads")
