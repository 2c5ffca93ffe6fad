"""A development workspace: fresh keys and agreements that name them.

No private key is ever committed. `mash-broker dev init` generates the broker's
key and one key per reference partner, and renders the sample agreements from
`agreements/documents/` with each reference partner's public key in place of the
sample's, so the embedded demo runs with real signatures end to end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from adapters.sdk.signing import SigningKey
from broker.adapters.db.crypto import KeyRing

SAMPLE_AGREEMENTS = Path(__file__).resolve().parents[2] / "agreements" / "documents"
SAMPLE_RECIPIENTS = Path(__file__).resolve().parents[2] / "agreements" / "recipients"


@dataclass(frozen=True, slots=True)
class DevWorkspace:
    root: Path

    @property
    def agreements_dir(self) -> Path:
        return self.root / "agreements"

    @property
    def broker_key(self) -> Path:
        return self.root / "keys" / "broker.pem"

    @property
    def broker_jwks(self) -> Path:
        return self.root / "keys" / "broker.jwks.json"

    @property
    def data_keys(self) -> Path:
        return self.root / "keys" / "data-keys.json"

    @property
    def issuer_key(self) -> Path:
        return self.root / "keys" / "issuer.pem"

    @property
    def issuer_jwks(self) -> Path:
        return self.root / "keys" / "issuer.jwks.json"

    def partner_key(self, partner_id: str) -> Path:
        return self.root / "keys" / f"{partner_id}.pem"

    def partner_state(self, partner_id: str) -> Path:
        return self.root / "state" / f"{partner_id}.answered.sqlite3"

    @property
    def recipients_dir(self) -> Path:
        return self.root / "recipients"

    def service_key(self, service_id: str) -> Path:
        """A receiving service's key: signs its receipts (`mash-receiver --key`)."""
        return self.root / "keys" / f"service-{service_id}.pem"


def init_workspace(
    root: Path,
    *,
    partners: tuple[str, ...] = ("police", "health", "education"),
    broker_passphrase: str | None = None,
    templates: Path = SAMPLE_AGREEMENTS,
    force: bool = False,
) -> DevWorkspace:
    """Create keys and agreements under `root`; keep existing ones unless `force`."""
    workspace = DevWorkspace(root)
    if force or not workspace.broker_key.exists():
        broker = SigningKey.generate()
        broker.write_pem_file(workspace.broker_key, broker_passphrase)
    else:
        broker = SigningKey.from_pem_file(workspace.broker_key, broker_passphrase)
    workspace.broker_jwks.write_text(json.dumps({"keys": [broker.public_jwk()]}, indent=2) + "\n")

    # The key ring that seals personal data at rest.
    if force or not workspace.data_keys.exists():
        KeyRing.generate().save(workspace.data_keys)

    # The development identity provider's key: `mash-broker token issue` signs with it.
    if force or not workspace.issuer_key.exists():
        SigningKey.generate().write_pem_file(workspace.issuer_key, None)
    issuer = SigningKey.from_pem_file(workspace.issuer_key, None)
    workspace.issuer_jwks.write_text(json.dumps({"keys": [issuer.public_jwk()]}, indent=2) + "\n")

    public: dict[str, dict[str, str]] = {}
    for partner in partners:
        path = workspace.partner_key(partner)
        key = SigningKey.generate() if force or not path.exists() else SigningKey.from_pem_file(path, None)
        if force or not path.exists():
            key.write_pem_file(path, None)
        jwk = key.public_jwk()
        public[partner] = {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"]}

    workspace.agreements_dir.mkdir(parents=True, exist_ok=True)
    for template in sorted(templates.glob("*.json")):
        document = json.loads(template.read_text(encoding="utf-8"))
        document.pop("$schema", None)
        for party in document.get("parties", []):
            if party.get("partner_id") in public:
                party["public_jwk"] = public[party["partner_id"]]
        (workspace.agreements_dir / template.name).write_text(json.dumps(document, indent=2) + "\n")
    _render_recipients(workspace, force=force)
    return workspace


def _render_recipients(workspace: DevWorkspace, *, force: bool) -> None:
    """The sample receiving services, each with a fresh key of its own in place of the sample's."""
    workspace.recipients_dir.mkdir(parents=True, exist_ok=True)
    for template in sorted(SAMPLE_RECIPIENTS.glob("*.json")):
        document = json.loads(template.read_text(encoding="utf-8"))
        document.pop("$schema", None)
        path = workspace.service_key(document["service_id"])
        key = SigningKey.generate() if force or not path.exists() else SigningKey.from_pem_file(path, None)
        if force or not path.exists():
            key.write_pem_file(path, None)
        jwk = key.public_jwk()
        document["public_jwk"] = {"kty": jwk["kty"], "crv": jwk["crv"], "x": jwk["x"]}
        (workspace.recipients_dir / template.name).write_text(json.dumps(document, indent=2) + "\n")
