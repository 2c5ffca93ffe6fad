"""The structlog processor that keeps personal data out of logs, whatever a caller passes."""

from __future__ import annotations

import uuid

import pytest

from broker.logging import drop_personal_data

pytestmark = pytest.mark.security


def test_fields_named_for_personal_data_are_redacted() -> None:
    """Names, dates of birth, identifiers, addresses and free text fields never reach the log."""
    event = {"event": "x", "given_name": "Ruby", "family_name": "Ormstead", "date_of_birth": "2018-06-06",
             "nhs_number": "9991707530", "postcode": "QY9 4WE", "summary_text": "bruising", "rationale": "r"}
    out = drop_personal_data(None, "info", dict(event))
    assert all(out[k] == "[redacted]" for k in event if k != "event")


@pytest.mark.parametrize("value", ["9991707530", "999 170 7530", "M931303122001", "QY9 4WE", "QY94WE",
                                   "born 2018-06-06", "NHS 9434765919 seen"])
def test_identifier_and_birth_date_shapes_are_redacted_in_any_field(value: str) -> None:
    """An NHS number, UPN, postcode or bare date in any other field (e.g. an error message)
    is replaced, keeping the rest of the text."""
    out = drop_personal_data(None, "info", {"event": "x", "reason": f"problem: {value}", "ids": [value]})
    assert "[redacted]" in out["reason"] and value not in out["reason"] and value not in out["ids"]


def test_ids_counts_and_timestamps_are_kept() -> None:
    """UUIDs, counts, states and the ISO timestamp stay readable."""
    ident = str(uuid.uuid4())
    event = {"event": "reply_recorded", "enquiry_id": ident, "findings": 3, "state": "complete",
             "timestamp": "2026-11-26T12:00:00.000000Z", "at": "2026-11-26T12:00:00Z"}
    assert drop_personal_data(None, "info", dict(event)) == event
