#!/usr/bin/env python3
"""The Kafka route end to end (issue #15's benchmark): events produced to a topic, consumed by
`segcore stream --kafka` (release build), transitions produced to another topic, read back.

Starts a real Apache Kafka broker (scripts/kafka-test-broker.sh, KAFKA_BROKER_IMPL=apache) in a
temporary folder and stops it after. Prints each stage's rate separately, so the client and
broker costs are apart from segcore's:

    python3 scripts/bench-kafka.py [EVENTS] [ENTITIES]      # default 200,000 events, 10,000 entities

Needs confluent-kafka (pip) and `cargo build --release -p segcore-cli`.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    entities = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    exe = ROOT / "target" / "release" / "segcore"
    if not exe.exists():
        sys.exit("build it first: cargo build --release -p segcore-cli")
    tmp = Path(tempfile.mkdtemp(prefix="segcore-bench-kafka-"))
    env = dict(os.environ, KAFKA_BROKER_IMPL="apache")
    broker = subprocess.run(["bash", str(ROOT / "scripts/kafka-test-broker.sh"), "start", str(tmp / "broker")],
                            env=env, check=True, capture_output=True, text=True).stdout.strip()
    try:
        admin = AdminClient({"bootstrap.servers": broker})
        for f in admin.create_topics([NewTopic("events", 1, 1), NewTopic("transitions", 3, 1)]).values():
            f.result()
        rng = random.Random(1)
        start = datetime(2026, 1, 1, tzinfo=timezone.utc)
        step = timedelta(days=60) / events
        lines = []
        for k in range(events):
            at = start + step * k
            if rng.random() < 0.01:
                at -= timedelta(minutes=rng.randrange(10, 50))
            e = {"id": f"e{rng.randrange(entities)}", "name": "login", "at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
            if rng.random() < 0.4:
                e["name"] = "purchase"
                e["properties"] = {"amount": {"amount": f"{rng.randrange(300)}.50", "currency": "USD"}}
            lines.append(json.dumps(e).encode())

        # The same events from a file: segcore's own cost, without Kafka.
        (tmp / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
        t = time.perf_counter()
        subprocess.run(
            [str(exe), "stream", "--segments", str(ROOT / "cli/src/demo"), "--schema", str(ROOT / "cli/src/demo_schema.yaml"),
             "--events", str(tmp / "events.jsonl"), "--log", str(tmp / "file-state"), "--watermark-delay", "5m",
             "--commit-every", "50000"],
            check=True, capture_output=True,
        )
        from_file = time.perf_counter() - t

        p = Producer({"bootstrap.servers": broker, "linger.ms": 5, "acks": "all"})
        t = time.perf_counter()
        for line in lines:
            while True:
                try:
                    p.produce("events", line)
                    break
                except BufferError:
                    p.poll(0.01)
            p.poll(0)
        p.flush()
        produce = time.perf_counter() - t

        t = time.perf_counter()
        out = subprocess.run(
            [str(exe), "stream", "--segments", str(ROOT / "cli/src/demo"), "--schema", str(ROOT / "cli/src/demo_schema.yaml"),
             "--kafka", broker, "--events-topic", "events", "--transitions-topic", "transitions",
             "--log", str(tmp / "state"), "--watermark-delay", "5m", "--commit-every", "50000", "--idle-exit", "1s"],
            check=True, capture_output=True, text=True,
        )
        stream = time.perf_counter() - t - 1.0  # the idle wait before exit is not work

        c = Consumer({"bootstrap.servers": broker, "group.id": "bench", "auto.offset.reset": "earliest"})
        c.subscribe(["transitions"])
        n, quiet, t = 0, time.monotonic(), time.perf_counter()
        while time.monotonic() - quiet < 2:
            m = c.poll(0.1)
            if m is not None and not m.error():
                n += 1
                quiet = time.monotonic()
        consume = time.perf_counter() - t - 2.0
        c.close()

        print(f"Kafka route, {events:,} events ({entities:,} entities, 11 demo segments, 1% late), Apache Kafka 4.4 on 127.0.0.1:")
        print(f"  segcore stream from a JSONL file (release; parse + evaluate + log + commits): {from_file:.2f} s, {events / from_file:,.0f} events/s")
        print(f"  produce events (confluent-kafka, acks=all): {produce:.2f} s, {events / produce:,.0f} events/s")
        print(f"  segcore stream --kafka (release, consume + evaluate + produce + commits): {stream:.2f} s, {events / stream:,.0f} events/s")
        print(f"  read transitions back (confluent-kafka): {n:,} messages in {consume:.2f} s")
        print("  " + out.stderr.strip().splitlines()[-1])
    finally:
        subprocess.run(["bash", str(ROOT / "scripts/kafka-test-broker.sh"), "stop", str(tmp / "broker")], check=False)
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
