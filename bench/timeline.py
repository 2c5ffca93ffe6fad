"""Where one enquiry's time goes at concurrency 1, from the processes' own log lines.

    python -m bench --databases postgresql --enquiries 20 --latency-enquiries 100 --workdir DIR
    python -m bench.timeline DIR/postgresql

Reads the JSON log lines of the broker and the adapters (their timestamps share one clock)
and, for the last N enquiries (the latency run), reports the median time from
`enquiry_opened` to: the POST's answer leaving the broker, each adapter's `request_answered`
(first and last), each `reply_recorded` by the broker (first, second, last = summary signed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any


def _events(directory: Path) -> list[tuple[dt.datetime, str, dict[str, Any]]]:
    events = []
    for log in directory.glob("*.log"):
        for line in log.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
                at = dt.datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00"))
            except (ValueError, KeyError):
                continue
            events.append((at, log.stem, record))
    events.sort(key=lambda e: e[0])
    return events


def timeline(directory: Path, last: int) -> dict[str, Any]:
    events = _events(directory)
    opened: dict[str, dt.datetime] = {}
    request_to_post: dict[str, str] = {}
    marks: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for at, source, record in events:
        event = record.get("event")
        enquiry = record.get("enquiry_id")
        if event == "enquiry_opened" and source == "broker":
            opened[enquiry] = at
            request_to_post[record.get("http_request_id", "")] = enquiry
            continue
        if enquiry not in opened:
            if event == "http_request" and record.get("route") == "/enquiries" and record.get("method") == "POST":
                enquiry = request_to_post.get(record.get("http_request_id", ""))
                if enquiry:
                    marks[enquiry]["POST answered"].append((at - opened[enquiry]).total_seconds() * 1000)
            continue
        ms = (at - opened[enquiry]).total_seconds() * 1000
        if event == "request_answered" and source.startswith("adapter"):
            marks[enquiry]["adapter answered"].append(ms)
        elif event == "reply_recorded" and source == "broker":
            marks[enquiry]["reply recorded"].append(ms)
    chosen = [e for e in opened if len(marks[e]["reply recorded"]) >= 1][-last:]
    rows: dict[str, list[float]] = defaultdict(list)
    for enquiry in chosen:
        m = marks[enquiry]
        if m["POST answered"]:
            rows["POST answered (after open)"].append(m["POST answered"][0])
        answered = sorted(m["adapter answered"])
        recorded = sorted(m["reply recorded"])
        if answered:
            rows["first adapter answered"].append(answered[0])
            rows["last adapter answered"].append(answered[-1])
        for i, value in enumerate(recorded):
            rows[f"reply {i + 1} recorded" + (" (summary signed)" if i == len(recorded) - 1 else "")].append(value)
    return {
        "enquiries": len(chosen),
        "median_ms_after_enquiry_opened": {k: round(statistics.median(v), 1) for k, v in rows.items()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.timeline", description=__doc__.splitlines()[0])
    ap.add_argument("directory", type=Path, help="a run's directory with broker.log and adapter-*.log")
    ap.add_argument("--last", type=int, default=100, help="how many of the last enquiries")
    args = ap.parse_args(argv)
    result = timeline(args.directory, args.last)
    for name, value in result["median_ms_after_enquiry_opened"].items():
        print(f"{value:8.1f} ms  {name}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
