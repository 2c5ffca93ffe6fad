"""The composition root: the one place concrete adapters are chosen and wired."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.sdk.bootstrap import build_runner
from adapters.sdk.config import AdapterSettings
from adapters.sdk.dedupe import AnsweredRequests
from adapters.sdk.runner import AdapterRunner
from adapters.sdk.transport.amqp import AmqpTransport
from adapters.sdk.transport.base import IncomingMessage, Transport
from adapters.sdk.transport.inprocess import InProcessBus, InProcessTransport
from adapters.sdk.transport.topology import Topology
from broker.adapters.agreements_fs import DirectoryAgreements
from broker.adapters.auth import TokenVerifier
from broker.adapters.clock import SystemClock
from broker.adapters.delivery_desk import DeliveryDesk, load_directory, policy_from
from broker.adapters.db.audit_store import AuditRepository
from broker.adapters.db.crypto import KeyRing, RowCipher
from broker.adapters.db.engine import is_sqlite, make_engine
from broker.adapters.db.timeliness_queries import TimelinessQueries
from broker.adapters.db.unit_of_work import SqlUnitOfWork
from broker.adapters.db.views import Views
from broker.adapters.messaging.relay import OutboxRelay
from broker.adapters.messaging.reply_consumer import TRANSIENT_DB_ERRORS, reply_handler
from broker.adapters.signing import BrokerSigner
from broker.config import Settings
from broker.adapters.process_lock import ProcessLock
from broker.adapters.rabbitmq_access import partner_of_user
from broker.domain.audit import AuditEntry, Checkpoint
from broker.domain.access import Principal
from broker.domain.timeliness import Period, TimelinessReport
from broker.service.audit import write_checkpoint
from broker.service.chase import chase_drifting
from broker.service.dead_letters import record_dead_letter
from broker.service.deadlines import close_overdue
from broker.service.front_door_retention import purge_expired_contacts
from broker.service.open_enquiry import OpenEnquiry, Opened, open_enquiry
from broker.service.ports import Clock
from broker.service.record_reply import ReplyResult, record_reply
from broker.service.retention import purge_expired
from broker.service.timeliness import read_timeliness

if TYPE_CHECKING:
    from broker.service.front_door import FrontDoor

log = structlog.get_logger("mash.broker")

AUDIT_SEQUENCE_BATCH = 1000  # audit inbox entries moved into the log per transaction
AUDIT_SEQUENCE_POLL_S = 0.2  # how often the sequencer looks at the inbox


def new_uuid() -> str:
    return str(uuid.uuid4())


@dataclass
class Broker:
    """A running broker: database, signer, agreements, transport and background loops."""

    settings: Settings
    engine: AsyncEngine
    signer: BrokerSigner
    agreements: DirectoryAgreements
    topology: Topology
    transport: Transport
    clock: Clock
    new_id: Callable[[], str]
    views: Views
    verifier: TokenVerifier
    cipher: RowCipher
    bus: InProcessBus | None = None
    relay: OutboxRelay | None = None
    deliveries: DeliveryDesk | None = None  # downstream delivery to receiving services
    embedded_adapters: list[AdapterRunner] = field(default_factory=list)
    _writer_lock: asyncio.Lock | None = None
    _singleton: ProcessLock | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _adapter_transports: list[Transport] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.views.before_audit_read = self.sequence_audit

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self.cipher, writer_lock=self._writer_lock)

    def transport_ready(self) -> bool:
        return self.transport.connected

    async def open_enquiry(self, command: OpenEnquiry) -> Opened:
        return await open_enquiry(
            command,
            uow_factory=self.uow,
            agreements=self.agreements,
            signer=self.signer,
            clock=self.clock,
            timescales=self.settings.timescales.table(),
            new_id=self.new_id,
            chase_share=self.settings.chase_share,
            on_commit=self.relay.wake if self.relay else (lambda: None),
        )

    @property
    def front_door(self) -> FrontDoor:
        """The front door's use cases (contacts, screening, decisions, feedback), built once."""
        from broker.front_door_bootstrap import build_front_door

        built = self.__dict__.get("_front_door")
        if built is None:
            built = self.__dict__["_front_door"] = build_front_door(self)
        return built  # type: ignore[no-any-return]

    def accepting(self) -> float:
        """0 when new enquiries are accepted; otherwise seconds to wait (back-pressure)."""
        return self.relay.pressure_remaining(self.clock.now()) if self.relay else 0.0

    async def record_reply(self, message: IncomingMessage) -> ReplyResult:
        return await record_reply(
            message.body,
            message_id=message.message_id,
            queue=self.topology.replies_queue,
            uow_factory=self.uow,
            agreements=self.agreements,
            signer=self.signer,
            clock=self.clock,
            new_id=self.new_id,
            sender=partner_of_user(self.settings.amqp.user_prefix, message.user_id or ""),
            require_sender=self.settings.amqp.require_user_id,
        )

    async def record_dead_letter(self, message: IncomingMessage) -> str:
        async def retry_reply(dead: IncomingMessage) -> str:
            try:
                return (await self.record_reply(dead)).outcome
            except TRANSIENT_DB_ERRORS:
                raise  # wait for the database (reply_handler), do not record it as lost
            except Exception:  # a reply that breaks the handler: record it, do not loop
                log.exception("dead_reply_retry_failed")
                return "failed"

        return await record_dead_letter(
            message, uow_factory=self.uow, signer=self.signer, clock=self.clock,
            new_id=self.new_id, queue=self.topology.dead_letter_queue, retry_reply=retry_reply,
        )

    async def close_overdue(self) -> int:
        return await close_overdue(
            uow_factory=self.uow, signer=self.signer, clock=self.clock, new_id=self.new_id
        )

    async def timeliness_report(self, principal: Principal, period: Period) -> TimelinessReport:
        """The timeliness and thresholds report for a period (managers and auditors)."""
        return await read_timeliness(
            TimelinessQueries(self.engine), principal, period=period, now=self.clock.now(),
            timescales=self.settings.timescales.table(),
        )

    async def chase_drifting(self) -> int:
        return await chase_drifting(
            uow_factory=self.uow, clock=self.clock, new_id=self.new_id,
            on_commit=self.relay.wake if self.relay else (lambda: None),
        )

    async def purge_expired(self) -> int:
        """Partners' findings whose agreement's retention ended, then the front door's contacts
        (with their enquiry, or front_door.retention_days after they finished)."""
        purged = await purge_expired(uow_factory=self.uow, clock=self.clock)
        return purged + await purge_expired_contacts(
            uow_factory=self.uow, clock=self.clock, retention_days=self.settings.front_door.retention_days)

    async def record_audit(self, *entries: AuditEntry) -> None:
        async with self.uow() as uow:
            await uow.audit.append(*entries)
            await uow.commit()

    async def sequence_audit(self) -> int:
        """Give every committed entry waiting in the audit inbox its place in the log, in
        batches (one sequencer at a time: the append lock on PostgreSQL, the writer on SQLite)."""
        total = 0
        while True:
            async with self.uow() as uow:
                moved = await uow.audit.sequence(AUDIT_SEQUENCE_BATCH)
                await uow.commit()
            total += moved
            if moved < AUDIT_SEQUENCE_BATCH:
                return total

    async def _sequence_audit_forever(self) -> None:
        while True:
            try:
                async with self.engine.connect() as connection:  # no lock while it is empty
                    waiting = await AuditRepository(connection).pending()
                if waiting:
                    await self.sequence_audit()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away; the entries wait in the inbox
                log.exception("audit_sequencing_failed")
            await asyncio.sleep(AUDIT_SEQUENCE_POLL_S)

    async def write_audit_checkpoint(self) -> Checkpoint | None:
        """Sign the log's current head, when anything was appended since the last one."""
        await self.sequence_audit()
        async with self.uow() as uow:
            checkpoint = await write_checkpoint(uow.audit, self.signer, self.clock.now())
            await uow.commit()
        return checkpoint

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.close_overdue()
                if self.settings.chase_share:
                    await self.chase_drifting()
                await self.purge_expired()
                if self.deliveries is not None:
                    await self.deliveries.sweep()  # re-send unacknowledged views, retry webhooks
                await self.write_audit_checkpoint()
            except asyncio.CancelledError:
                raise
            except Exception:  # the database may be away; deadlines wait in it
                log.exception("sweep_failed")
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def start(self, *, background: bool = True) -> None:
        _ = self.front_door  # read the front door's configuration now: a bad file stops the start
        await self.transport.start()
        self.relay = OutboxRelay(
            uow_factory=self.uow,
            transport=self.transport,
            clock=self.clock,
            batch=self.settings.relay_batch,
            poll_s=self.settings.relay_poll_s,
            backpressure_s=self.settings.backpressure_s,
        )
        await self.transport.consume(self.topology.replies_queue, reply_handler(self.record_reply))
        await self.transport.consume(self.topology.dead_letter_queue, reply_handler(self._dead_letter))
        if self.deliveries is not None and self.topology.services:
            await self.transport.consume(self.topology.receipts_queue, self.deliveries.on_receipt_message)
        if self.bus is not None:
            # The in-process queues were empty at start: send again what is still awaited.
            async with self.uow() as uow:
                requeued = await uow.outbox.requeue_unanswered_requests()
                await uow.commit()
            if requeued:
                log.info("requests_requeued_after_restart", count=requeued)
            await self._start_embedded_adapters()
        if background and self._singleton is not None and not self._singleton.acquire():
            log.warning(
                "background_loops_not_started",
                reason="another broker process holds them for this SQLite database",
            )
            background = False
        if background:
            self._tasks.append(asyncio.create_task(self.relay.run_forever(), name="outbox-relay"))
            self._tasks.append(asyncio.create_task(self._sweep_forever(), name="deadline-sweeper"))
            self._tasks.append(asyncio.create_task(self._sequence_audit_forever(), name="audit-sequencer"))
        log.info(
            "broker_started",
            transport="amqp" if self.settings.uses_amqp else "in-process",
            database="sqlite" if is_sqlite(self.settings.database_url) else "postgresql",
            partners=list(self.topology.partners),
            embedded_adapters=[r.partner_id for r in self.embedded_adapters],
        )

    async def _start_embedded_adapters(self) -> None:
        assert self.bus is not None
        dev = self.settings.dev_dir
        for name in self.settings.embedded_adapters:
            transport = InProcessTransport(self.bus)
            adapter_settings = AdapterSettings(
                partner_id=name,
                dev_dir=dev,
                agreements_dir=self.settings.agreements_path,
            )
            runner = build_runner(
                name, adapter_settings, transport,
                answered=AnsweredRequests(dev / "state" / f"{name}.answered.sqlite3"),
            )
            await transport.consume(self.topology.request_queue(name), runner.handle)
            self.embedded_adapters.append(runner)
            self._adapter_transports.append(transport)

    async def _dead_letter(self, message: IncomingMessage) -> ReplyResult:
        outcome = await self.record_dead_letter(message)
        return ReplyResult("recorded", outcome)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        for transport in self._adapter_transports:
            await transport.close()
        if self.deliveries is not None:
            await self.deliveries.close()
        await self.transport.close()
        await self.engine.dispose()
        if self._singleton is not None:
            self._singleton.release()


def build_broker(
    settings: Settings,
    *,
    clock: Clock | None = None,
    new_id: Callable[[], str] = new_uuid,
    connection_name: str = "mash-broker",
) -> Broker:
    """Wire a broker from settings. Nothing connects until `start()`."""
    agreements = DirectoryAgreements.load(settings.agreements_path)
    passphrase = settings.signing.passphrase.get_secret_value() if settings.signing.passphrase else None
    signer = BrokerSigner.from_file(settings.key_path, passphrase)
    directory = load_directory(
        settings, known_categories=frozenset(c for a in agreements.all() for c in a.data_categories)
    )
    topology = Topology(
        partners=agreements.partner_ids(),
        delivery_limit=settings.amqp.delivery_limit,
        queue_max_length=settings.amqp.queue_max_length,
        services=directory.ids(),
    )
    bus = None
    transport: Transport
    if settings.amqp_url is not None:
        transport = AmqpTransport(
            settings.amqp_url.get_secret_value(),
            topology,
            declare=True,
            prefetch=settings.amqp.prefetch,
            publish_timeout_s=settings.amqp.publish_timeout_s,
            connection_name=connection_name,
        )
    else:
        bus = InProcessBus(topology)
        transport = InProcessTransport(bus)
    engine = make_engine(settings.database_url, **(
        {} if is_sqlite(settings.database_url)
        else {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
    ))
    cipher = RowCipher(KeyRing.load(settings.data_keys_path))
    broker = Broker(
        settings=settings,
        engine=engine,
        signer=signer,
        agreements=agreements,
        topology=topology,
        transport=transport,
        clock=clock or SystemClock(),
        new_id=new_id,
        views=Views(engine, cipher),
        cipher=cipher,
        verifier=TokenVerifier(
            jwks_source=str(settings.auth.jwks),
            issuer=str(settings.auth.issuer),
            audience=settings.auth.audience,
            algorithms=settings.auth.algorithms,
            roles_claim=settings.auth.roles_claim,
            leeway_s=settings.auth.leeway_s,
        ),
        bus=bus,
        _writer_lock=asyncio.Lock() if is_sqlite(settings.database_url) else None,
        _singleton=ProcessLock.for_sqlite(settings.database_url),
    )
    broker.deliveries = DeliveryDesk(
        directory=directory, policy=policy_from(settings), uow_factory=broker.uow,
        signer=signer, clock=broker.clock, new_id=new_id, user_prefix=settings.amqp.user_prefix,
        require_user_id=settings.amqp.require_user_id,
        wake_relay=lambda: broker.relay.wake() if broker.relay else None,
    )
    return broker
