"""What one AMQP hop costs on this RabbitMQ: a classic durable queue (what the floor uses)
against a quorum queue (what the broker uses, for its delivery limit and dead-lettering).

    python -m bench.hops [--messages 300]

One process, one vhost of its own: a persistent message published with publisher confirms,
timed from the publish call until the consumer, on another connection, has it (one message in
flight at a time), and until the confirm arrives. An enquiry makes two such hops in series
(the request out, the reply back), so the difference between the two queue types is paid twice
in the broker's latency and never in the floor's. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

import aio_pika

from bench.stack import log, vhost


async def _one_type(url: str, queue_type: str, messages: int) -> dict[str, Any]:
    publisher = await aio_pika.connect(url)
    consumer = await aio_pika.connect(url)
    try:
        pub_channel = await publisher.channel(publisher_confirms=True)
        sub_channel = await consumer.channel()
        name = f"hop.{queue_type}"
        arguments = {"x-queue-type": "quorum"} if queue_type == "quorum" else {}
        await pub_channel.declare_queue(name, durable=True, arguments=arguments)
        queue = await sub_channel.declare_queue(name, durable=True, arguments=arguments)
        arrived: asyncio.Queue[float] = asyncio.Queue()

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            arrived.put_nowait(time.perf_counter())
            await message.ack()

        await queue.consume(on_message)
        delivered, confirmed = [], []
        for i in range(messages + 20):  # the first 20 warm up and are not counted
            body = aio_pika.Message(b"x" * 512, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
            started = time.perf_counter()
            await pub_channel.default_exchange.publish(body, routing_key=name)
            confirmed_at = time.perf_counter()
            got = await asyncio.wait_for(arrived.get(), timeout=10)
            if i >= 20:
                delivered.append((got - started) * 1000)
                confirmed.append((confirmed_at - started) * 1000)
        return {
            "queue_type": queue_type,
            "delivered_p50_ms": round(statistics.median(delivered), 3),
            "delivered_p99_ms": round(statistics.quantiles(delivered, n=100)[98], 3),
            "confirmed_p50_ms": round(statistics.median(confirmed), 3),
        }
    finally:
        await publisher.close()
        await consumer.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.hops", description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=300)
    args = ap.parse_args(argv)
    results = []
    with vhost("hops") as url:
        for queue_type in ("classic", "quorum", "classic", "quorum"):  # in turns
            result = asyncio.run(_one_type(url, queue_type, args.messages))
            log(f"hops: {result}")
            results.append(result)
    summary = {
        kind: {key: round(statistics.mean(r[key] for r in results if r["queue_type"] == kind), 3)
               for key in ("delivered_p50_ms", "delivered_p99_ms", "confirmed_p50_ms")}
        for kind in ("classic", "quorum")
    }
    print(json.dumps({"messages": args.messages, "runs": results, "mean_of_runs": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
