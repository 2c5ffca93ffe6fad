"""`mash-adapter run NAME`: run a partner adapter against RabbitMQ."""

from __future__ import annotations

from typing import Annotated

import typer

from adapters.sdk import event_loop
from adapters.sdk.bootstrap import build_runner
from adapters.sdk.config import AdapterSettings
from adapters.sdk.serve import consume_until_stopped
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
    queue = topology.request_queue(partner_id)
    await consume_until_stopped(
        transport, queue, runner.handle,
        on_ready=lambda: typer.echo(f"adapter {partner_id} consuming {queue}", err=True),
    )


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
    event_loop.run(_run(name, settings))


if __name__ == "__main__":
    app()
