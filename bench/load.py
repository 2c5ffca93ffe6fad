"""Driving the broker over HTTP, as a manager's client would, and checking every answer.

Throughput: POST N enquiries with at most `concurrency` requests in flight, then wait until
none is still dispatched; the run ends at the last summary's `issued_at` (the broker's own
clock, the same wall clock as ours). Latency at concurrency 1: one enquiry at a time; each
summary's `issued_at - opened_at` (both in the signed payload), and what the client saw
(POST sent to the summary readable, polled).

Nothing counts until it verifies: every summary must exist, verify against the broker's
published JWKS with typ `mash-enquiry-summary+jws`, belong to its enquiry, be complete with
every asked partner's expected outcome, and embed partner replies that verify against the
partner keys in the agreements.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from adapters.sdk.messages import REPLY_JWS_TYP
from adapters.sdk.signing import SignatureInvalid, import_public_jwk, key_set, verify
from agreements.loader import load_directory
from broker.entrypoints.demo import scenario_enquiry
from broker.service.summaries import SUMMARY_JWS_TYP

assert SUMMARY_JWS_TYP == "mash-enquiry-summary+jws"

# The reference adapters' answers for three scenario households (as tests/e2e expects).
REFERENCE_SCENARIOS: dict[str, dict[str, str]] = {
    "no_trace": {"police": "no_trace", "health": "no_trace", "education": "no_trace"},
    "all_sources_high_risk": {"police": "findings", "health": "findings", "education": "findings"},
    "police_only": {"police": "findings", "health": "no_trace", "education": "no_trace"},
}


@dataclass(frozen=True)
class Workload:
    """Which request bodies to send, in rotation, and what each summary must then say."""

    bodies: list[dict[str, Any]]
    expected: list[dict[str, str]]  # partner_id -> outcome, per body

    @classmethod
    def reference(cls) -> Workload:
        names = list(REFERENCE_SCENARIOS)
        return cls([scenario_enquiry(n, household=True) for n in names],
                   [REFERENCE_SCENARIOS[n] for n in names])

    @classmethod
    def synthetic(cls, partners: tuple[str, ...]) -> Workload:
        # The synthetic partners hold nothing: every one of them answers no trace.
        return cls([scenario_enquiry("no_trace", household=True)], [dict.fromkeys(partners, "no_trace")])

    def body(self, index: int) -> dict[str, Any]:
        return self.bodies[index % len(self.bodies)]

    def outcomes(self, index: int) -> dict[str, str]:
        return self.expected[index % len(self.expected)]


def quantile(values: list[float], q: float) -> float:
    """Percentile as the floor computes it (statistics.quantiles, exclusive method)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100)[round(q * 100) - 1]


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def auth_headers(dev_dir: Path) -> dict[str, str]:
    """A development bearer token for a MASH manager, when the broker asks for one.

    Read with the workspace's development issuer (`mash-broker token issue` does the same);
    a broker without HTTP authentication gets no header.
    """
    try:
        from broker.adapters.auth import DevIssuer
    except ImportError:
        return {}
    if not (dev_dir / "keys" / "issuer.pem").exists():
        return {}
    token = DevIssuer.from_workspace(dev_dir).issue(
        subject="bench.manager", roles=["mash_manager"], ttl_s=12 * 3600
    )
    return {"Authorization": f"Bearer {token}"}


def client(base_url: str, connections: int = 64, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        headers=headers or {},
        timeout=httpx.Timeout(60.0),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


REFUSALS: collections.Counter[int] = collections.Counter()  # 429 / 503 answers, retried


async def open_one(http: httpx.AsyncClient, body: dict[str, Any]) -> str:
    """POST one enquiry; returns its id. A 503 (back-pressure) or 429 (rate limit) is counted
    and retried after Retry-After."""
    for _ in range(100):
        response = await http.post("/enquiries", json=body)
        if response.status_code == 201:
            answer = response.json()
            if answer["state"] != "dispatched":
                raise RuntimeError(f"enquiry not dispatched: {answer['state']} {answer.get('refusal_reason')}")
            return str(answer["enquiry_id"])
        if response.status_code in (429, 503):
            REFUSALS[response.status_code] += 1
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            continue
        raise RuntimeError(f"POST /enquiries answered {response.status_code}: {response.text[:500]}")
    raise RuntimeError("POST /enquiries kept answering 503")


async def open_many(
    http: httpx.AsyncClient, workload: Workload, n: int, concurrency: int, start: int = 0
) -> tuple[list[str], list[float]]:
    """Open n enquiries, at most `concurrency` POSTs in flight; ids in order and POST ms."""
    ids: list[str] = [""] * n
    post_ms: list[float] = [0.0] * n
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < n:
            i = next_index
            next_index += 1
            t0 = time.perf_counter()
            ids[i] = await open_one(http, workload.body(start + i))
            post_ms[i] = (time.perf_counter() - t0) * 1000

    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return ids, post_ms


async def wait_none_dispatched(http: httpx.AsyncClient, timeout: float, poll_s: float = 0.1) -> float:
    """Wait until no enquiry is still dispatched (every one closed with a summary)."""
    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        page = (await http.get("/enquiries", params={"state": "dispatched", "limit": 1})).json()
        if not page["items"]:
            return time.time()
        await asyncio.sleep(poll_s)
    raise TimeoutError(f"enquiries still dispatched after {timeout:.0f} s")


@dataclass
class Verified:
    payloads: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.payloads)

    def last_issued(self) -> dt.datetime:
        return max(_time(p["issued_at"]) for p in self.payloads.values())

    def latencies_ms(self) -> list[float]:
        return [
            (_time(p["issued_at"]) - _time(p["opened_at"])).total_seconds() * 1000
            for p in self.payloads.values()
        ]


class Verifier:
    """Checks summaries against the broker's JWKS and partner replies against the agreements."""

    def __init__(self, jwks: dict[str, Any], agreements_dir: Path) -> None:
        self._broker_keys = key_set(jwks["keys"])
        self._partner_keys = {
            (a.agreement_id, a.version, p.partner_id): import_public_jwk(p.public_jwk)
            for a in load_directory(agreements_dir)
            for p in a.parties
        }

    def check(self, enquiry_id: str, token: str, expected: dict[str, str]) -> dict[str, Any]:
        """The verified payload; raises ValueError saying what is wrong."""
        try:
            payload = verify(token, self._broker_keys, typ=SUMMARY_JWS_TYP)
        except SignatureInvalid as error:
            raise ValueError(f"{enquiry_id}: summary does not verify: {error}") from None
        if payload.get("enquiry_id") != enquiry_id:
            raise ValueError(f"{enquiry_id}: summary names enquiry {payload.get('enquiry_id')}")
        if payload.get("state") != "complete" or payload.get("completion") != "all_replied":
            raise ValueError(f"{enquiry_id}: {payload.get('state')}/{payload.get('completion')}")
        asked = {p["partner_id"]: p for p in payload["partners"] if p["outcome"] != "not_asked"}
        outcomes = {pid: p["outcome"] for pid, p in asked.items()}
        if outcomes != expected:
            raise ValueError(f"{enquiry_id}: outcomes {outcomes} != expected {expected}")
        for pid, entry in asked.items():
            key = self._partner_keys.get((entry["agreement"]["id"], entry["agreement"]["version"], pid))
            if key is None:
                raise ValueError(f"{enquiry_id}: no agreement key for {pid}")
            try:
                reply = verify(entry["signed_reply"], key, typ=REPLY_JWS_TYP)
            except SignatureInvalid as error:
                raise ValueError(f"{enquiry_id}: {pid}'s signed reply does not verify: {error}") from None
            bound = (reply.get("request_id"), reply.get("enquiry_id"), reply.get("partner_id"))
            if bound != (entry["request_id"], enquiry_id, pid) or reply.get("outcome") != entry["outcome"]:
                raise ValueError(f"{enquiry_id}: {pid}'s signed reply is bound to something else")
        return payload


async def fetch_and_verify(
    http: httpx.AsyncClient,
    ids: list[str],
    expected: Callable[[int], dict[str, str]],
    agreements_dir: Path,
    concurrency: int = 16,
) -> Verified:
    """Every summary fetched as a compact JWS and verified; problems listed, never hidden."""
    jwks = (await http.get("/.well-known/jwks.json")).json()
    verifier = Verifier(jwks, agreements_dir)
    result = Verified()
    sem = asyncio.Semaphore(concurrency)

    async def one(index: int, enquiry_id: str) -> None:
        async with sem:
            response = await http.get(
                f"/enquiries/{enquiry_id}/summary", headers={"Accept": "application/jose"}
            )
        if response.status_code != 200:
            result.problems.append(f"{enquiry_id}: summary answered {response.status_code}")
            return
        try:
            result.payloads[enquiry_id] = verifier.check(enquiry_id, response.text.strip(), expected(index))
        except ValueError as error:
            result.problems.append(str(error))

    await asyncio.gather(*(one(i, e) for i, e in enumerate(ids)))
    if len(set(ids)) != len(ids):
        result.problems.append("the broker gave two POSTs the same enquiry id")
    return result


# -- the two measurements -----------------------------------------------------------------


async def throughput(
    base_url: str, workload: Workload, agreements_dir: Path, *, n: int, concurrency: int,
    headers: dict[str, str] | None = None, warmup: int = 20, timeout: float = 1800,
    cpu: Callable[[], dict[str, float]] | None = None,
) -> dict[str, Any]:
    """`cpu`, when given, reads processes' CPU seconds so far: charged per enquiry."""
    REFUSALS.clear()
    async with client(base_url, concurrency, headers) as http:
        if warmup:
            await open_many(http, workload, warmup, min(concurrency, 8))
            await wait_none_dispatched(http, timeout=120)
        cpu_before = cpu() if cpu else {}
        started_wall = time.time()
        t0 = time.perf_counter()
        ids, post_ms = await open_many(http, workload, n, concurrency)
        posted_s = time.perf_counter() - t0
        closed_wall = await wait_none_dispatched(http, timeout=timeout)
        cpu_after = cpu() if cpu else {}
        verified = await fetch_and_verify(http, ids, workload.outcomes, agreements_dir)
    ok = not verified.problems and verified.count == n
    end = verified.last_issued().timestamp() if verified.count else closed_wall
    wall = end - started_wall
    return {
        "enquiries": n,
        "concurrency": concurrency,
        "enquiries_per_s": round(n / wall, 1) if ok else 0.0,
        "seconds": round(wall, 2),
        "post_phase_s": round(posted_s, 2),
        "post_p50_ms": round(quantile(post_ms, 0.5), 1),
        "post_p99_ms": round(quantile(post_ms, 0.99), 1),
        **{f"{name}_cpu_ms_per_enquiry": round(1000 * (cpu_after[name] - cpu_before[name]) / n, 2)
           for name in cpu_after},
        "summaries_verified": verified.count,
        "verified": ok,
        "refused_and_retried": dict(REFUSALS),
        "problems": verified.problems[:10],
    }


async def latency(
    base_url: str, workload: Workload, agreements_dir: Path, *, n: int,
    headers: dict[str, str] | None = None, warmup: int = 5, timeout: float = 60,
    summaries_logged: Callable[[], set[str]] | None = None, poll_s: float = 0.1,
) -> dict[str, Any]:
    """Concurrency 1: open one enquiry, wait for its summary, then the next.

    The figure is the signed payload's `issued_at - opened_at`. To learn that the summary
    exists the harness reads the broker's log (`summaries_logged`, every 2 ms), which costs
    the broker nothing; a GET every `poll_s` (100 ms) is the fallback. Polling the API every
    few ms instead would take the broker's event loop from the enquiry being measured.
    `client_*` is the time from sending the POST to seeing the summary signed.
    """
    client_ms: list[float] = []
    ids: list[str] = []
    async with client(base_url, 4, headers) as http:
        for i in range(warmup + n):
            t0 = time.perf_counter()
            enquiry_id = await open_one(http, workload.body(i))
            stop = time.monotonic() + timeout
            next_poll = time.monotonic() + poll_s
            while True:
                if summaries_logged is not None and enquiry_id in summaries_logged():
                    break
                if time.monotonic() >= next_poll:
                    next_poll = time.monotonic() + poll_s
                    response = await http.get(
                        f"/enquiries/{enquiry_id}/summary", headers={"Accept": "application/jose"}
                    )
                    if response.status_code == 200:
                        break
                if time.monotonic() > stop:
                    raise TimeoutError(f"no summary for {enquiry_id} within {timeout} s")
                await asyncio.sleep(0.002 if summaries_logged is not None else poll_s)
            if i >= warmup:
                client_ms.append((time.perf_counter() - t0) * 1000)
                ids.append(enquiry_id)
        verified = await fetch_and_verify(http, ids, lambda i: workload.outcomes(warmup + i), agreements_dir)
    ok = not verified.problems and verified.count == n
    signed = verified.latencies_ms() if verified.count else [0.0]
    return {
        "enquiries": n,
        "p50_ms": round(quantile(signed, 0.5), 2),
        "p99_ms": round(quantile(signed, 0.99), 2),
        "client_p50_ms": round(quantile(client_ms, 0.5), 2),
        "client_p99_ms": round(quantile(client_ms, 0.99), 2),
        "completion_seen_by": "broker log" if summaries_logged is not None else f"GET every {poll_s * 1000:.0f} ms",
        "summaries_verified": verified.count,
        "verified": ok,
        "problems": verified.problems[:10],
    }
