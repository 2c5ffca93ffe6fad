"""A real partner adapter with one injected fault, for `tests/faults/test_adapter_faults.py`.

    python -m tests.faults.failpoint_adapter NAME FAILPOINT

runs the adapter NAME exactly as `mash-adapter run NAME` does (adapters/sdk/cli.py): the real
reference search, `AmqpTransport(declare=False)`, `build_runner` and the real `AnsweredRequests`
in MASH_ADAPTER_STATE_DIR. One failpoint fires, for the first request only, and kills the
process with SIGKILL (no clean-up, no ack, no close):

- `before_effect`: inside the first search, after the partner's search function ran but before
  it returned: nothing stored in the dedupe store, nothing published, nothing acknowledged.
- `after_publish`: right after the first reply's publish was confirmed by RabbitMQ and before
  the runner returns its ACK verdict: stored and published, never acknowledged.

Before dying it writes one `failpoint_fired` line with the request id.

    mash-adapter run tests.faults.failpoint_adapter:poison_police

(with MASH_ADAPTER_PARTNER_ID=police and MASH_FAULT_POISON_FAMILY=<family name>) is the real
police search, except that it raises for any request naming a subject with that family name.
Every call writes a `failpoint_search_started` line; a poisoned one `poison_search_raised`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

import structlog

from adapters.sdk.bootstrap import build_runner
from adapters.sdk.serve import consume_until_stopped
from adapters.sdk.config import AdapterSettings
from adapters.sdk.messages import Answer, PartnerRequest
from adapters.sdk.registry import load_search
from adapters.sdk.runner import Search
from adapters.sdk.transport.amqp import AmqpTransport
from adapters.sdk.transport.base import OutgoingMessage
from adapters.sdk.transport.topology import Topology

log = structlog.get_logger("mash.faults")

FAILPOINTS = ("before_effect", "after_publish")
POISON_ENV = "MASH_FAULT_POISON_FAMILY"


def _die(failpoint: str, request_id: str) -> None:
    log.warning("failpoint_fired", failpoint=failpoint, request_id=request_id, pid=os.getpid())
    sys.stderr.flush()
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def dying_search(search: Search) -> Search:
    """`before_effect`: the first search runs, then the process dies before it returns."""
    armed = True

    async def wrapped(request: PartnerRequest) -> Answer:
        nonlocal armed
        answer = await search(request)
        if armed:
            armed = False
            _die("before_effect", request.request_id)
        return answer

    return wrapped


class FailpointTransport(AmqpTransport):
    """`after_publish`: the first confirmed reply publish is followed by SIGKILL, so the runner
    never returns its ACK verdict for that request."""

    def __init__(self, *args: object, failpoint: str | None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._armed = failpoint == "after_publish"

    async def publish(self, message: OutgoingMessage) -> None:
        await super().publish(message)  # raises PublishRefused when not confirmed
        if self._armed and message.exchange == "replies":
            self._armed = False
            _die("after_publish", message.correlation_id)


async def _run(name: str, failpoint: str | None, settings: AdapterSettings) -> None:
    """adapters/sdk/cli.py `_run`, with the failpoint's search or transport."""
    assert settings.amqp_url is not None
    partner_id = settings.partner_id or name
    topology = Topology(partners=(partner_id,), prefix=settings.prefix)
    transport = FailpointTransport(
        settings.amqp_url.get_secret_value(),
        topology,
        declare=False,
        prefetch=settings.prefetch,
        connection_name=f"mash-adapter-{partner_id}",
        failpoint=failpoint,
    )
    search = load_search(name, settings.data_dir)
    if failpoint == "before_effect":
        search = dying_search(search)
    runner = build_runner(name, settings, transport, search=search)
    await consume_until_stopped(
        transport, topology.request_queue(partner_id), runner.handle,
        on_ready=lambda: log.info("failpoint_adapter_consuming", partner_id=partner_id,
                                  failpoint=failpoint, pid=os.getpid()),
    )


def poison_police(data_dir: Path | None = None) -> Search:
    """The real police search, raising for a subject whose family name is the poison value."""
    real = load_search("police", data_dir)
    poison = os.environ[POISON_ENV].casefold()

    async def search(request: PartnerRequest) -> Answer:
        log.info("failpoint_search_started", request_id=request.request_id)
        if any(s.family_name.casefold() == poison for s in request.subjects):
            log.warning("poison_search_raised", request_id=request.request_id)
            raise RuntimeError("poison subject (fault test)")
        return await real(request)

    return search


def main(argv: list[str] | None = None) -> None:
    from broker.logging import configure_logging

    parser = argparse.ArgumentParser(prog="failpoint_adapter", description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("failpoint", choices=(*FAILPOINTS, "none"))
    args = parser.parse_args(argv)
    settings = AdapterSettings()
    if settings.amqp_url is None:
        parser.error("MASH_AMQP_URL is required")
    configure_logging()
    asyncio.run(_run(args.name, None if args.failpoint == "none" else args.failpoint, settings))


if __name__ == "__main__":
    main()
