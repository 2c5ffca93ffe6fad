"""Wiring the front door (bootstrap.py's `Broker.front_door`): the authority configuration,
the case system and the use cases bound to the broker's database, clock, signer and enquiries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from broker.adapters.case_system import FileCaseSystem
from broker.adapters.front_door_config import load_authorities
from broker.domain.timescales import InvalidTimescale
from broker.service.front_door import FrontDoor

if TYPE_CHECKING:
    from broker.bootstrap import Broker


def build_front_door(broker: Broker) -> FrontDoor:
    settings = broker.settings.front_door
    default, authorities = load_authorities(settings.config_file)
    chosen = settings.authority or default
    if chosen not in authorities:
        raise InvalidTimescale(f"MASH_FRONT_DOOR__AUTHORITY={chosen!r} is not in the front door configuration")
    return FrontDoor(
        uow_factory=broker.uow,  # type: ignore[arg-type]
        case_system=FileCaseSystem.load(settings.allocations_file),
        authorities=authorities,
        default_authority=chosen,
        clock=broker.clock,
        signer=broker.signer,
        new_id=broker.new_id,
        open_enquiry_fn=broker.open_enquiry,
        purpose=broker.settings.default_purpose,
        on_decided=broker.deliveries.issue_views if broker.deliveries is not None else None,
    )
