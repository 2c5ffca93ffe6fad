"""A plain-text rendering of a verified summary, for a person at a terminal."""

from __future__ import annotations

from typing import Any

_SOS = {"worry": "worry", "working_well": "working well", "complicating_factor": "complicating"}


def render_summary(payload: dict[str, Any]) -> str:
    child = next((s for s in payload["subjects"] if s["role"] == "child"), payload["subjects"][0])
    lines = [
        f"Enquiry {payload['enquiry_id']}  (summary v{payload['version']}, {payload['state']}, "
        f"{payload['completion']})",
        f"Child: {child['given_name']} {child['family_name']}, born {child.get('date_of_birth', '?')}"
        f"; {len(payload['subjects']) - 1} household member(s) also searched",
        f"Consent: {payload['consent']['status']} (lawful basis: {payload['consent']['lawful_basis'] or '-'})",
        f"Agreements: {', '.join(a['id'] + ' v' + a['version'] for a in payload['agreements'])}",
        f"Opening BRAG: {payload['initial_brag']}   Highest partner BRAG: {payload['suggested_brag'] or '-'}",
        "",
    ]
    for partner in payload["partners"]:
        head = f"[{partner['outcome']}] {partner['partner_name']} ({partner['partner_id']})"
        if partner.get("brag"):
            head += f"  BRAG {partner['brag']['rating']}: {partner['brag']['rationale']}"
        lines.append(head)
        if partner["outcome"] in ("not_asked",):
            lines.append(f"    reason: {partner.get('reason')}")
        if partner["outcome"] == "declined":
            lines.append(f"    declined: {partner.get('declined_reason')}")
        for finding in partner.get("findings", []):
            match = finding["match"]
            how = match.get("identifier_type") or "name+DOB+postcode"
            lines.append(
                f"    {finding['date']}  {finding['category']:<26} {_SOS[finding['sos_domain']]:<12} "
                f"{finding['summary']}  [{finding['source_reference']}; {match['subject_ref']} by {how} "
                f"{match['confidence']:.2f}; {finding['dissemination']}]"
            )
    return "\n".join(lines)
