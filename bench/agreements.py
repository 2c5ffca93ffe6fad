"""Agreement documents naming N synthetic partners, rendered into a development workspace.

One active agreement, in force from 2025 with no end date, for the default purpose; each
partner `pNN` is party to it with one data category of its own. `init_workspace` replaces
each party's placeholder key with the public key it generates for that partner.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from broker.adapters.dev_workspace import DevWorkspace, init_workspace

# Any 43-character base64url value passes the schema; init_workspace writes the real key.
PLACEHOLDER_X = "A" * 43
SYNTHETIC_ADAPTER = "bench.partner:make_search"


def partner_ids(count: int) -> tuple[str, ...]:
    return tuple(f"p{i:02d}" for i in range(1, count + 1))


def agreement_document(partners: tuple[str, ...]) -> dict[str, object]:
    return {
        "agreement_id": f"bench-{len(partners)}-partners",
        "version": "1.0",
        "title": f"Benchmark agreement with {len(partners)} synthetic partners",
        "tier": 2,
        "status": "active",
        "owner": "Quillsby Borough Council, Children's Services (synthetic)",
        "purposes": ["mash-safeguarding-enquiry"],
        "lawful_bases": [{"code": "UK-GDPR-6(1)(e)", "description": "Public task (synthetic)"}],
        "data_categories": {f"{p}.records": f"Records held by synthetic partner {p}" for p in partners},
        "parties": [
            {
                "partner_id": p,
                "name": f"Synthetic partner {p}",
                "organisation_type": "other",
                "public_jwk": {"kty": "OKP", "crv": "Ed25519", "x": PLACEHOLDER_X},
                "categories": [f"{p}.records"],
                "retention_days": 365,
                "signatory": "Synthetic signatory",
            }
            for p in partners
        ],
        "effective_from": "2025-01-01",
        "effective_to": None,
        "review_due": "2030-01-01",
        "retention_days": 365,
    }


def synthetic_workspace(root: Path, count: int) -> DevWorkspace:
    """A workspace whose only agreement names `count` synthetic partners p01..pNN."""
    partners = partner_ids(count)
    templates = root / "agreement-templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / f"bench-{count}.json").write_text(json.dumps(agreement_document(partners), indent=2))
    workspace = init_workspace(root / "dev", partners=partners, templates=templates)
    # The sample receiving services name the sample agreements' categories, which this
    # workspace does not have (the broker would refuse to start): no downstream delivery here.
    shutil.rmtree(workspace.root / "recipients", ignore_errors=True)
    return workspace
