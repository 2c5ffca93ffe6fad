"""`mash-adapter run NAME`: run a partner adapter against RabbitMQ."""

from __future__ import annotations

import asyncio
import signal
from typing import Annotated

import typer

from adapters.sdk.bootstrap import build_runner
from adapters.sdk.config import AdapterSettings
from adapters.sdk.transport.amqp import AmqpTransport
from adapters.sdk.transport.topology import Topology

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.callback()
def _main() -> None:
    """Partner adapters for the MASH enquiry broker."""


async def _run(name: str, settings: AdapterSettings) -> None:
    assert settings.amqp_url is not None
    partner_id = settings.partner_id or name
    topology = Topology(partners=(partner_id,), prefix=settings.prefix)
    transport = AmqpTransport(
        settings.amqp_url.get_secret_value(),
        topology,
        declare=False,
        prefetch=settings.prefetch,
        connection_name=f"mash-adapter-{partner_id}",
    )
    runner = build_runner(name, settings, transport)
    await transport.start()
    # The broker declares the topology; wait for it rather than fail if we start first.
    for attempt in range(60):
        try:
            await transport.consume(topology.request_queue(partner_id), runner.handle)
            break
        except Exception:
            if attempt == 59:
                raise
            await transport.close()
            await asyncio.sleep(1)
            await transport.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    typer.echo(f"adapter {partner_id} consuming {topology.request_queue(partner_id)}", err=True)
    await stop.wait()
    await transport.close()


@app.command()
def run(
    name: Annotated[str, typer.Argument(help="police | health | education | module:factory")],
) -> None:
    """Consume this partner's request queue and answer each request."""
    from broker.logging import configure_logging

    settings = AdapterSettings()
    if settings.amqp_url is None:
        typer.echo(
            "MASH_AMQP_URL (or MASH_ADAPTER_AMQP_URL) is required; with the embedded in-process "
            "transport the reference adapters run inside `mash-broker serve`",
            err=True,
        )
        raise typer.Exit(2)
    configure_logging()
    asyncio.run(_run(name, settings))


if __name__ == "__main__":
    app()
