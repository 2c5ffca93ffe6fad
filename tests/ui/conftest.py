"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium; never
`playwright install`) against a real `mash-broker serve` on 127.0.0.1, on PostgreSQL and a
RabbitMQ vhost of the test's own, with the police, health and education adapters as separate
processes. Run in their own pytest process: `pytest -m ui`.

Screenshots go to tests/ui/artifacts/ (git-ignored), one per test at least.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api

from broker.adapters.dev_workspace import DevWorkspace
from tests.e2e.processes import env_with, free_port, started, wait_ready

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
ADAPTERS = ("police", "health", "education")


@dataclass
class Stack:
    """The running broker (base URL) and a way to start the adapter processes when wanted."""

    base: str
    env: dict[str, str]
    workspace: DevWorkspace
    amqp_url: str
    logs: Path
    _stack: ExitStack
    adapters_started: list[str] = field(default_factory=list)

    def start_adapters(self, *names: str) -> None:
        for name in names or ADAPTERS:
            self._stack.enter_context(
                started(["mash-adapter", "run", name], self.env, self.logs / f"{name}.log")
            )
            self.adapters_started.append(name)


@pytest.fixture(name="stack")
def _stack(workspace: DevWorkspace, pg_url: str, amqp_url: str, tmp_path: Path) -> Iterator[Stack]:
    """`mash-broker serve` on a free port; adapters are started by the test (so it can watch
    outcomes arrive on a page that is already open)."""
    port = free_port()
    env = env_with(
        MASH_ENV="development", MASH_DEV_DIR=str(workspace.root), MASH_DATABASE_URL=pg_url,
        MASH_AMQP_URL=amqp_url, MASH_SWEEP_INTERVAL_S="1",
    )
    with ExitStack() as stack:
        broker = stack.enter_context(
            started(["mash-broker", "serve", "--host", "127.0.0.1", "--port", str(port)], env,
                    tmp_path / "broker.log")
        )
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, broker)
        yield Stack(base=base, env=env, workspace=workspace, amqp_url=amqp_url, logs=tmp_path, _stack=stack)


@pytest.fixture(name="browser", scope="session")
def _browser() -> Iterator[object]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does this)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture(name="new_page")
def _new_page(browser: object, request: pytest.FixtureRequest) -> Iterator[Callable[..., object]]:
    """Pages in fresh browser contexts (one per person); each page's console messages and CSP
    violations are collected on `page.console`; a screenshot of each is saved at the end."""
    contexts = []
    pages = []

    def make(**options: object) -> object:
        context = browser.new_context(viewport={"width": 1280, "height": 860}, **options)  # type: ignore[attr-defined]
        contexts.append(context)
        page = context.new_page()
        page.console = []  # type: ignore[attr-defined]
        page.on("console", lambda m: page.console.append(f"{m.type}: {m.text}"))  # type: ignore[attr-defined]
        pages.append(page)
        return page

    yield make
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for index, page in enumerate(pages):
        try:
            page.screenshot(path=str(ARTIFACTS / f"{name}-{index}-end.png"), full_page=True)  # type: ignore[attr-defined]
        except Exception:  # the page may be closed; the screenshot is a convenience
            pass
    for context in contexts:
        context.close()


def shot(page: object, request: pytest.FixtureRequest, label: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    path = ARTIFACTS / f"{name}-{label}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def sign_in(page: object, base: str, role_label: str, subject: str) -> None:
    """Through the sign-in page, as a person would (development issuer)."""
    page.goto(f"{base}/ui/sign-in")  # type: ignore[attr-defined]
    page.get_by_label(role_label, exact=True).check()  # type: ignore[attr-defined]
    page.get_by_label("Your name (user id)").fill(subject)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]
    page.get_by_test_id("who").wait_for()  # type: ignore[attr-defined]


UNLABELLED = """() => Array.from(document.querySelectorAll(
  'main input:not([type=hidden]), main select, main textarea'))
  .filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)"""


def assert_accessible_basics(page: object) -> None:
    """Every form control in the page's main content has a label, and there is one h1."""
    assert page.evaluate(UNLABELLED) == [], page.url  # type: ignore[attr-defined]
    assert page.locator("h1").count() == 1, page.url  # type: ignore[attr-defined]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/ui is a browser test: it runs in the `-m ui` process only,
    even if its module forgets `pytestmark` (the dashboard's did, and ran in the other one)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.ui)
