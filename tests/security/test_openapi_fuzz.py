"""schemathesis against the live OpenAPI of a real server (uvicorn on 127.0.0.1), with a
valid manager token: no 5xx, and every response conforms to the published schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis.specs.openapi.checks import positive_data_acceptance
from hypothesis import HealthCheck, given, settings

from broker.adapters.db.migrate import upgrade
from broker.adapters.dev_workspace import init_workspace
from tests.conftest import bearer
from tests.e2e.processes import env_with, free_port, started, wait_ready

pytestmark = pytest.mark.security


@pytest.fixture(name="live", scope="module")
def _live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    root: Path = tmp_path_factory.mktemp("fuzz")
    workspace = init_workspace(root / "dev")
    url = f"sqlite+aiosqlite:///{root / 'fuzz.sqlite3'}"
    upgrade(url)
    port = free_port()
    env = env_with(MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=url,
                   MASH_OPEN_RATE_PER_MINUTE="100000", MASH_OPEN_RATE_BURST="100000")
    with started(["mash-broker", "serve", "--port", str(port)], env, root / "broker.log") as server:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, server)
        yield base, bearer(workspace, "mash_manager", sub="fuzz.manager")


def test_no_server_errors_and_responses_match_the_schema(live: tuple[str, dict[str, str]]) -> None:
    """Generated requests for every operation, valid and invalid, never produce a 5xx, an
    undocumented status or a response that breaks the published schema."""
    base, headers = live
    api = schemathesis.openapi.from_url(f"{base}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 6
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def check(case) -> None:  # type: ignore[no-untyped-def]
            # Business rules beyond JSON Schema (identifier check digits, one child per
            # enquiry) rightly refuse some schema-valid bodies with a 422 and a reason.
            case.call_and_validate(base_url=base, headers=headers, excluded_checks=[positive_data_acceptance])

        check()
