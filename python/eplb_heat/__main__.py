"""Tiny CLI.

  python3 -m eplb_heat publish --bootstrap HOST:PORT FILE.jsonl   (FILE "-" = stdin)
      Each line is one event in the contract's field names; "v" and "ts" may be left out
      (ts defaults to now), "steps" defaults to 1, "phase" to decode, "layerVersions" to null:
      {"deployment":"dsv3-a","rank":0,"step":0,"mapVersion":1,"load":[[1,2],[3,4]]}

  python3 -m eplb_heat bench --bootstrap HOST:PORT --deployment ID [--layers 58 --slots 5
      --ranks 1 --events 20000]
      Publishes synthetic events as fast as the publisher takes them and reports events/s.

Both print one JSON summary line to stdout and exit 1 if anything was rejected, failed or is still
undelivered after the flush. On a broker that requires SASL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME
and KAFKA_SASL_PASSWORD in the environment say who the publisher is (the ``worker`` principal).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime

from .publisher import HeatPublisher
from .sasl import sasl_config


def _publishers(args, cache, deployment, rank):
    key = (deployment, rank)
    if key not in cache:
        cache[key] = HeatPublisher(
            args.bootstrap,
            deployment,
            rank,
            linger_ms=args.linger_ms,
            compression=args.compression,
            topic=args.topic,
            extra_config=args.sasl,
        )
    return cache[key]


def _summary(pubs, started, undelivered, rejected=0):
    sent = sum(p.sent for p in pubs)
    elapsed = time.monotonic() - started
    return {
        "sent": sent,
        "delivered": sum(p.delivered for p in pubs),
        "failed": sum(p.failed for p in pubs),
        "undelivered": undelivered,
        "rejected": rejected,
        "backpressure_waits": sum(p.backpressure_waits for p in pubs),
        "seconds": round(elapsed, 3),
        "events_per_s": round(sent / elapsed, 1) if elapsed > 0 else None,
    }


def cmd_publish(args) -> int:
    pubs: dict = {}
    rejected = 0
    started = time.monotonic()
    stream = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    with stream:
        for n, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                e = json.loads(line)
                if not isinstance(e, dict):
                    raise ValueError("line is not a JSON object")
                if e.get("v", 1) != 1:
                    raise ValueError(f"v: must be 1, got {e.get('v')!r}")
                ts = e.get("ts")
                if isinstance(ts, str):
                    ts = datetime.fromisoformat(ts.replace("Z", "+00:00"))
                pub = _publishers(args, pubs, e.get("deployment"), e.get("rank"))
                pub.publish_step(
                    e.get("step"),
                    e.get("load"),
                    e.get("mapVersion"),
                    e.get("layerVersions"),
                    steps=e.get("steps", 1),
                    ts=ts,
                    phase=e.get("phase", "decode"),
                )
            except (ValueError, KeyError) as err:
                rejected += 1
                print(f"line {n}: {err}", file=sys.stderr)
    undelivered = sum(p.close(args.timeout) for p in pubs.values())
    s = _summary(list(pubs.values()), started, undelivered, rejected)
    print(json.dumps(s))
    return 0 if not (rejected or s["failed"] or undelivered) else 1


def cmd_bench(args) -> int:
    rng = random.Random(1)
    # A few distinct load matrices, reused: the cost measured is the publisher's, not random().
    mats = [[[rng.randrange(0, 4096) for _ in range(args.slots)] for _ in range(args.layers)] for _ in range(16)]
    pubs = [
        HeatPublisher(
            args.bootstrap, args.deployment, r, linger_ms=args.linger_ms, compression=args.compression, topic=args.topic, extra_config=args.sasl
        )
        for r in range(args.ranks)
    ]
    started = time.monotonic()
    for i in range(args.events):
        step, rank = divmod(i, args.ranks)
        pubs[rank].publish_step(step, mats[i % len(mats)], 1)
    queued_s = time.monotonic() - started
    undelivered = sum(p.close(args.timeout) for p in pubs)
    s = _summary(pubs, started, undelivered)
    s["queued_per_s"] = round(args.events / queued_s, 1)
    s["shape"] = f"{args.layers}x{args.slots}"
    s["compression"] = args.compression
    print(json.dumps(s))
    return 0 if not (s["failed"] or undelivered) else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m eplb_heat", description="Publish eplb.heat.v1 events to Kafka.")
    ap.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka bootstrap servers")
    ap.add_argument("--topic", default="eplb.heat.v1")
    ap.add_argument("--linger-ms", type=int, default=20)
    ap.add_argument("--compression", default="gzip")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for delivery at the end")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("publish", help="publish a JSON-lines file of events")
    p.add_argument("file")
    p.set_defaults(fn=cmd_publish)
    b = sub.add_parser("bench", help="measure publish throughput with synthetic events")
    b.add_argument("--deployment", required=True)
    b.add_argument("--layers", type=int, default=58)
    b.add_argument("--slots", type=int, default=5)
    b.add_argument("--ranks", type=int, default=1)
    b.add_argument("--events", type=int, default=20000)
    b.set_defaults(fn=cmd_bench)
    args = ap.parse_args(argv)
    try:
        from confluent_kafka import libversion  # imported late, as in the publisher

        args.sasl = sasl_config(os.environ, librdkafka_version=libversion()[1])
    except ValueError as err:
        ap.error(str(err))
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
