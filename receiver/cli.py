"""`mash-receiver`: run a receiving service's consumer, list what it received."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Annotated

import typer

from adapters.sdk import event_loop
from adapters.sdk.signing import SigningKey

app = typer.Typer(no_args_is_help=True, help="Take in, verify and acknowledge views from the MASH broker.")


@app.command()
def run(
    service: Annotated[str, typer.Option(help="this service's id, as configured at the MASH")],
    amqp_url: Annotated[str, typer.Option(envvar="MASH_RECEIVER_AMQP_URL", help="amqp://user:pass@host/vhost")],
    jwks: Annotated[str, typer.Option(help="the broker's JWKS: a file or an https URL")],
    key: Annotated[Path, typer.Option(help="this service's Ed25519 private key (PKCS#8 PEM): signs receipts")],
    key_passphrase: Annotated[str | None, typer.Option(envvar="MASH_RECEIVER_KEY_PASSPHRASE")] = None,
    db: Annotated[Path, typer.Option(help="where received views are kept (SQLite)")] = Path("var/receiver.sqlite3"),
    prefix: Annotated[str, typer.Option(help="the broker's queue prefix")] = "mash",
    exit_after: Annotated[int | None, typer.Option(help="stop after this many distinct views")] = None,
) -> None:
    """Consume this service's queue until stopped (SIGINT/SIGTERM)."""
    from receiver.consumer import Receiver
    from receiver.core import load_jwks
    from receiver.store import ViewStore

    store = ViewStore(db)
    receiver = Receiver(service_id=service, amqp_url=amqp_url, jwks=load_jwks(jwks),
                        key=SigningKey.from_pem_file(key, key_passphrase), store=store,
                        prefix=prefix, exit_after=exit_after)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, receiver.stop)
        await receiver.run()

    try:
        event_loop.run(main())
    finally:
        store.close()


@app.command()
def show(
    db: Annotated[Path, typer.Option(help="the receiver's SQLite file")] = Path("var/receiver.sqlite3"),
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List the views received: ids, outcome, when, how many copies (no content)."""
    from receiver.store import ViewStore

    store = ViewStore(db)
    try:
        for view in store.all():
            if as_json:
                typer.echo(json.dumps({
                    "view_id": view.view_id, "service_id": view.service_id, "enquiry_id": view.enquiry_id,
                    "summary_id": view.summary_id, "decision_outcome": view.decision_outcome,
                    "received_at": view.received_at, "deliveries": view.deliveries,
                    "view_sha256": view.view_sha256}))
            else:
                typer.echo(f"{view.received_at}  {view.view_id}  {view.decision_outcome}  "
                           f"enquiry {view.enquiry_id}  copies {view.deliveries}")
    finally:
        store.close()
