"""`mash-broker`: serve, migrate, demo, keys, agreements, verify, dev workspace, topology."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from adapters.sdk.transport.topology import Topology
from broker.config import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
keys_app = typer.Typer(no_args_is_help=True, help="Signing keys.")
agreements_app = typer.Typer(no_args_is_help=True, help="Information sharing agreements.")
dev_app = typer.Typer(no_args_is_help=True, help="Development workspace.")
rabbitmq_app = typer.Typer(no_args_is_help=True, help="RabbitMQ topology.")
app.add_typer(keys_app, name="keys")
app.add_typer(agreements_app, name="agreements")
app.add_typer(dev_app, name="dev")
app.add_typer(rabbitmq_app, name="rabbitmq")


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        # The messages only: pydantic's full text echoes the input, secrets included.
        for problem in error.errors(include_input=False, include_url=False):
            where = ".".join(str(p) for p in problem["loc"]) or "settings"
            typer.echo(f"configuration error: {where}: {problem['msg']}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="port")] = None,
) -> None:
    """Run the HTTP API with the outbox relay, reply consumer and deadline sweeper."""
    import uvicorn

    from broker.entrypoints.api.app import create_app
    from broker.logging import configure_logging

    settings = _settings()
    configure_logging()
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_config=None,
        access_log=False,
        # h11, even where httptools is installed: under sustained POST load uvicorn's
        # httptools protocol closed connections that were in use (its keep-alive timer,
        # uvicorn 0.54; clients saw ReadError after 800-4,000 requests, three runs of
        # three; none with h11). See BENCHMARKS.md.
        http="h11",
    )


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic)."""
    from broker.adapters.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    typer.echo("database schema is up to date")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="where to write summary.jws and jwks.json")] = Path("var/demo"),
    timeout: Annotated[float, typer.Option(help="seconds to wait for the summary")] = 60.0,
) -> None:
    """One enquiry end to end with the police, health and education adapters; exits 0 only
    if the summary verifies."""
    from broker.entrypoints.demo import run_demo
    from broker.logging import configure_logging

    configure_logging(os.environ.get("MASH_LOG_LEVEL", "WARNING"))
    ok = asyncio.run(run_demo(_settings(), out=out, timeout=timeout))
    raise typer.Exit(0 if ok else 1)


@keys_app.command("generate")
def keys_generate(
    out: Annotated[Path | None, typer.Option(help="PKCS#8 PEM file to write")] = None,
    force: Annotated[bool, typer.Option(help="replace an existing key")] = False,
) -> None:
    """Generate the broker's Ed25519 signing key, encrypted with MASH_SIGNING__PASSPHRASE."""
    from adapters.sdk.signing import SigningKey

    settings = _settings()
    path = out or settings.key_path
    if path.exists() and not force:
        typer.echo(f"{path} exists; use --force to replace it (summaries it signed stay "
                   "verifiable only while its public key is published)", err=True)
        raise typer.Exit(1)
    passphrase = settings.signing.passphrase.get_secret_value() if settings.signing.passphrase else None
    if passphrase is None:
        typer.echo("warning: no MASH_SIGNING__PASSPHRASE, the key is written unencrypted", err=True)
    key = SigningKey.generate()
    key.write_pem_file(path, passphrase)
    typer.echo(json.dumps({"written": str(path), "kid": key.kid, "public_jwk": key.public_jwk()}))


def _reseal(settings: Settings, ring: object) -> tuple[dict[str, int], set[str]]:
    from broker.adapters.db.crypto import KeyRing, RowCipher
    from broker.adapters.db.engine import make_engine
    from broker.adapters.db.rekey import keys_in_use, reseal_all

    assert isinstance(ring, KeyRing)

    async def run() -> tuple[dict[str, int], set[str]]:
        engine = make_engine(settings.database_url)
        try:
            return await reseal_all(engine, RowCipher(ring)), await keys_in_use(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new data key, make it current and re-seal every stored value under it. Old keys
    stay in the ring: restart the broker processes (they then seal with the new key), then
    run `keys retire`. Safe to run again if interrupted."""
    from broker.adapters.db.crypto import KeyRing

    settings = _settings()
    ring = KeyRing.load(settings.data_keys_path).rotated()
    ring.save(settings.data_keys_path)
    counts, used = _reseal(settings, ring)
    typer.echo(json.dumps({"current_key": ring.current, "resealed": counts, "keys_in_use": sorted(used)}))


@keys_app.command("retire")
def keys_retire() -> None:
    """Re-seal anything still under an old data key, then drop the keys nothing uses."""
    from broker.adapters.db.crypto import KeyRing

    settings = _settings()
    ring = KeyRing.load(settings.data_keys_path)
    counts, used = _reseal(settings, ring)
    ring.retaining(used).save(settings.data_keys_path)
    typer.echo(json.dumps({"current_key": ring.current, "resealed": counts,
                           "keys_kept": sorted(used | {ring.current})}))


@agreements_app.command("check")
def agreements_check(
    directory: Annotated[Path | None, typer.Argument(help="defaults to MASH_AGREEMENTS_DIR")] = None,
) -> None:
    """Validate agreement documents and say what is wrong, where."""
    from agreements.loader import check_directory

    target = directory or _settings().agreements_path
    agreements, problems = check_directory(target)
    for problem in problems:
        typer.echo(str(problem), err=True)
    for agreement in agreements:
        typer.echo(
            f"ok {agreement.agreement_id} v{agreement.version}: {len(agreement.parties)} parties, "
            f"{agreement.effective_from} to {agreement.effective_to or 'open-ended'}"
        )
    raise typer.Exit(1 if problems else 0)


@agreements_app.command("recipients")
def agreements_recipients(
    directory: Annotated[Path | None, typer.Argument(help="defaults to MASH_RECIPIENTS_DIR")] = None,
) -> None:
    """Validate receiving-service documents (against the agreements' data categories) and say
    what is wrong, where."""
    from agreements.loader import check_directory
    from agreements.recipients import check_recipients

    settings = _settings()
    agreements, _ = check_directory(settings.agreements_path)
    known = frozenset(c for a in agreements for c in a.data_categories) or None
    services, problems = check_recipients(directory or settings.recipients_path, known_categories=known)
    for problem in problems:
        typer.echo(str(problem), err=True)
    for service in services:
        typer.echo(f"ok {service.service_id}: {', '.join(sorted(service.outcomes))}; "
                   f"{len(service.categories)} categories; {'webhook' if service.webhook else 'queue only'}")
    raise typer.Exit(1 if problems else 0)


@app.command()
def verify(
    summary: Annotated[Path, typer.Argument(help="a summary.jws file")],
    jwks: Annotated[str, typer.Option(help="the broker's JWKS: a file or an https URL")],
    agreements: Annotated[Path | None, typer.Option(
        help="also verify each partner's embedded reply against the keys in these agreements")] = None,
) -> None:
    """Verify a signed summary (and, with --agreements, every partner reply inside it)."""
    from broker.entrypoints.verification import verify_summary_file

    report = verify_summary_file(summary, jwks, agreements)
    typer.echo(json.dumps(report, indent=2))
    raise typer.Exit(0 if report["verified"] else 1)


token_app = typer.Typer(no_args_is_help=True, help="Development bearer tokens.")
app.add_typer(token_app, name="token")


@token_app.command("issue")
def token_issue(
    role: Annotated[list[str], typer.Option(help="screening_officer | mash_manager | auditor | admin | service:NAME")],
    sub: Annotated[str, typer.Option(help="the user or system the token is for")],
    ttl: Annotated[int, typer.Option(help="lifetime in seconds")] = 3600,
) -> None:
    """Print a token from the development issuer (MASH_ENV=development only) on the last line."""
    from broker.adapters.auth import DevIssuer
    from broker.domain.access import valid_role

    settings = _settings()
    if settings.env != "development":
        typer.echo("the development issuer is refused outside MASH_ENV=development", err=True)
        raise typer.Exit(2)
    unknown = [r for r in role if not valid_role(r)]
    if unknown:
        typer.echo(f"unknown role(s): {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    if not (settings.dev_dir / "keys" / "issuer.pem").exists():
        typer.echo("no development issuer key: run `mash-broker dev init` first", err=True)
        raise typer.Exit(1)
    typer.echo(DevIssuer.from_workspace(settings.dev_dir).issue(subject=sub, roles=role, ttl_s=ttl))


@dev_app.command("init")
def dev_init(
    force: Annotated[bool, typer.Option(help="regenerate keys")] = False,
) -> None:
    """Create the development workspace: broker and partner keys, agreements naming them."""
    from broker.adapters.dev_workspace import init_workspace

    settings = _settings()
    passphrase = settings.signing.passphrase.get_secret_value() if settings.signing.passphrase else None
    workspace = init_workspace(settings.dev_dir, broker_passphrase=passphrase, force=force)
    from broker.entrypoints.demo import scenario_enquiry

    example = workspace.root / "example-enquiry.json"
    example.write_text(json.dumps(scenario_enquiry(), indent=2) + "\n", encoding="utf-8")
    typer.echo(f"development workspace ready in {workspace.root}; example enquiry: {example}")


def _topology(settings: Settings) -> Topology:
    from agreements.recipients import load_recipients
    from broker.adapters.agreements_fs import DirectoryAgreements

    return Topology(
        partners=DirectoryAgreements.load(settings.agreements_path).partner_ids(),
        delivery_limit=settings.amqp.delivery_limit,
        queue_max_length=settings.amqp.queue_max_length,
        services=tuple(sorted(s.service_id for s in load_recipients(settings.recipients_path))),
    )


@rabbitmq_app.command("definitions")
def rabbitmq_definitions(
    out: Annotated[Path, typer.Option(help="file to write")] = Path("deploy/rabbitmq/definitions.json"),
    vhost: Annotated[str, typer.Option()] = "/mash",
) -> None:
    """Export the topology and least-privilege users (no passwords) as RabbitMQ definitions."""
    from broker.adapters.rabbitmq_access import access_definitions

    settings = _settings()
    definitions = access_definitions(_topology(settings), vhost=vhost, prefix=settings.amqp.user_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(definitions, indent=2) + "\n")
    typer.echo(f"wrote {out}")


@rabbitmq_app.command("apply")
def rabbitmq_apply(
    vhost: Annotated[str, typer.Option()] = "/mash",
    passwords: Annotated[Path | None, typer.Option(
        help="JSON {user: password}; default: <dev_dir>/rabbitmq-credentials.json, created if missing")] = None,
) -> None:
    """Create the vhost, exchanges, quorum queues, bindings, users and permissions in the
    running RabbitMQ (rabbitmqctl import_definitions)."""
    from broker.adapters.rabbitmq_access import access_definitions, apply_definitions, generate_passwords

    settings = _settings()
    topology = _topology(settings)
    path = passwords or settings.dev_dir / "rabbitmq-credentials.json"
    if path.exists():
        credentials = json.loads(path.read_text(encoding="utf-8"))
    elif passwords is None:
        credentials = generate_passwords(topology, settings.amqp.user_prefix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(credentials, indent=2) + "\n", encoding="utf-8")
    else:
        typer.echo(f"no such file {path}", err=True)
        raise typer.Exit(1)
    apply_definitions(access_definitions(topology, vhost=vhost, prefix=settings.amqp.user_prefix,
                                         passwords=credentials))
    typer.echo(f"applied to vhost {vhost}: users {', '.join(sorted(credentials))}; passwords in {path}")


audit_app = typer.Typer(no_args_is_help=True, help="The tamper-evident audit log.")
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    checkpoint: Annotated[list[Path], typer.Option(
        help="signed checkpoint(s) held outside the database (e.g. from a summary's audit_checkpoint.jws)")] = [],  # noqa: B006
) -> None:
    """Recompute the Merkle log from the database and check it against every signed
    checkpoint, stored and given; report the first bad index. Exit 1 if anything is wrong."""
    from broker.adapters.db.audit_store import AuditLogCorrupt, AuditRepository
    from broker.adapters.db.engine import make_engine
    from broker.adapters.signing import BrokerSigner
    from broker.service.audit import verify_audit

    settings = _settings()
    passphrase = settings.signing.passphrase.get_secret_value() if settings.signing.passphrase else None
    jwks = BrokerSigner.from_file(settings.key_path, passphrase).jwks()

    async def load() -> tuple[list, list[str]]:  # type: ignore[type-arg]
        engine = make_engine(settings.database_url)
        try:
            # Entries still waiting in the audit inbox join the log first, as on every read.
            with contextlib.suppress(AuditLogCorrupt):  # a broken tail: the verifier reports it
                while True:
                    async with engine.begin() as connection:
                        if await AuditRepository(connection).sequence() == 0:
                            break
            async with engine.connect() as connection:
                repo = AuditRepository(connection)
                return await repo.all(), await repo.checkpoints()
        finally:
            await engine.dispose()

    records, stored = asyncio.run(load())
    held = [path.read_text(encoding="ascii").strip() for path in checkpoint]
    report = verify_audit(records, stored + held, jwks)
    typer.echo(json.dumps({k: (str(v) if k == "problem" and v is not None else v)
                           for k, v in dataclasses.asdict(report).items()}, default=str, indent=2))
    raise typer.Exit(0 if report.ok else 1)


def main() -> None:  # pragma: no cover - console script
    app(prog_name="mash-broker")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
