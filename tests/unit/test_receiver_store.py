"""mash-receiver keeps each view once, by view id, and refuses a copy whose bytes differ."""

from __future__ import annotations

from pathlib import Path

import pytest

from receiver.store import ViewStore


def test_a_view_delivered_twice_is_stored_once_and_counted(tmp_path: Path) -> None:
    """The second copy of a view (a re-send) is recognised: one row, two deliveries, the first
    received_at kept (so the receipt for the copy states when the view really arrived)."""
    store = ViewStore(tmp_path / "r.sqlite3")
    fields = dict(view_id="v1", service_id="early-help", enquiry_id="e1", summary_id="s1",
                  decision_outcome="early_help", issued_at="2026-11-02T09:00:00Z", view_sha256="a" * 64,
                  jws="x.y.z")
    assert store.put(**fields, received_at="2026-11-02T09:00:01+00:00") == (True, "2026-11-02T09:00:01+00:00")
    assert store.put(**fields, received_at="2026-11-02T10:00:00+00:00") == (False, "2026-11-02T09:00:01+00:00")
    [row] = store.all()
    assert row.deliveries == 2 and row.view_id == "v1"
    with pytest.raises(ValueError, match="different content"):
        store.put(**{**fields, "view_sha256": "b" * 64}, received_at="2026-11-02T11:00:00+00:00")
    store.close()
