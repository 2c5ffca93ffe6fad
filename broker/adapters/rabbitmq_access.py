"""Least-privilege RabbitMQ identities, generated from the agreements.

Each partner gets its own user that may only consume its own request queue and
publish to the reply exchange (RELIABILITY_SECURITY.md §3.7): it cannot declare,
delete or bind anything, read another partner's queue, or publish requests. The
broker has its own user. Replies carry the AMQP `user_id` property, which RabbitMQ
checks against the connection's user, so the broker knows which partner sent one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from adapters.sdk.transport.topology import Topology

HASHING = "rabbit_password_hashing_sha256"


def broker_user(prefix: str) -> str:
    return f"{prefix}-broker"


def partner_user(prefix: str, partner_id: str) -> str:
    return f"{prefix}-partner-{partner_id}"


def partner_of_user(prefix: str, user: str) -> str | None:
    start = f"{prefix}-partner-"
    return user[len(start):] if user.startswith(start) else None


def service_user(prefix: str, service_id: str) -> str:
    return f"{prefix}-service-{service_id}"


def service_of_user(prefix: str, user: str) -> str | None:
    start = f"{prefix}-service-"
    return user[len(start):] if user.startswith(start) else None


def _users(topology: Topology, prefix: str) -> list[str]:
    return ([broker_user(prefix)] + [partner_user(prefix, p) for p in topology.partners]
            + [service_user(prefix, s) for s in topology.services])


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's salted SHA-256 password hash (base64 of salt + SHA-256(salt + password))."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def _exact(name: str) -> str:
    return "^" + re.escape(name) + "$"


def access_definitions(
    topology: Topology, *, vhost: str, prefix: str, passwords: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Users and permissions for the broker and each partner, merged into the topology's
    definitions. Without passwords the users have none (set them with `rabbitmq apply`, or
    authenticate with client certificates, EXTERNAL)."""
    passwords = passwords or {}
    users = _users(topology, prefix)
    definitions = topology.definitions(vhost)
    definitions["users"] = [
        {
            "name": user,
            "password_hash": password_hash(passwords[user]) if user in passwords else "",
            "hashing_algorithm": HASHING,
            "tags": [],
            "limits": {},
        }
        for user in users
    ]
    owned = "^" + re.escape(topology.prefix) + r"\..*$"
    definitions["permissions"] = [
        {"user": broker_user(prefix), "vhost": vhost, "configure": owned, "write": owned, "read": owned}
    ] + [
        {
            "user": partner_user(prefix, p),
            "vhost": vhost,
            "configure": "^$",
            "write": _exact(topology.replies_exchange),
            "read": _exact(topology.request_queue(p)),
        }
        for p in topology.partners
    ] + [
        # A receiving service reads its own views queue and publishes receipts: nothing else.
        {
            "user": service_user(prefix, s),
            "vhost": vhost,
            "configure": "^$",
            "write": _exact(topology.receipts_exchange),
            "read": _exact(topology.service_queue(s)),
        }
        for s in topology.services
    ]
    return definitions


def generate_passwords(topology: Topology, prefix: str) -> dict[str, str]:
    return {user: secrets.token_urlsafe(24) for user in _users(topology, prefix)}


def apply_definitions(definitions: dict[str, Any], *, rabbitmqctl: str = "rabbitmqctl") -> None:
    """Import into the running RabbitMQ (`rabbitmqctl import_definitions`)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=True) as handle:
        json.dump(definitions, handle)
        handle.flush()
        Path(handle.name).chmod(0o644)  # rabbitmqctl may run as the rabbitmq user
        result = subprocess.run(
            [rabbitmqctl, "-q", "import_definitions", handle.name],
            capture_output=True, text=True, timeout=120,
        )
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl import_definitions failed: {result.stderr.strip()[:500]}")
