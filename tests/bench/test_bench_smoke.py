"""The benchmark harness runs end to end with tiny numbers: the floor, the broker on
PostgreSQL and on SQLite over RabbitMQ, and every summary verified. No timed assertions:
the figures of a 5-enquiry run mean nothing; that the harness works and checks its
answers does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

KEYS = {
    "broker_enquiries_per_s", "floor_enquiries_per_s", "throughput_ratio",
    "sqlite_throughput_ratio", "p50_ms", "p99_ms", "floor_p50_ms", "latency_ratio",
    "peak_rss_mb", "summaries_verified", "summaries_expected", "verified",
}


def test_harness_prints_json_with_every_key_and_verified_summaries(tmp_path: Path) -> None:
    """`python -m bench` with tiny numbers ends with one JSON line holding every figure the
    issue names, and counts a run only when all its summaries verified."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--enquiries", "5", "--latency-enquiries", "3",
         "--warmup", "2", "--single-floor", "--workdir", str(tmp_path / "bench")],
        cwd=REPO, capture_output=True, text=True, timeout=280,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert KEYS <= last.keys(), KEYS - last.keys()
    assert last["verified"] is True
    assert last["summaries_verified"] == last["summaries_expected"] == 2 * (5 + 3)
    for key in KEYS - {"verified"}:
        assert isinstance(last[key], (int, float)) and last[key] > 0, key
