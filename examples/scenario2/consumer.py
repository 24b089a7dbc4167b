"""A Python service consuming segcore's transitions topic (SPEC §23) — the seeds' scenario 2.

Every service that reads the topic this way sees the same membership at every instant: the
stream computed it once, exactly, from one definition. The service needs no segcore, only a
Kafka client and this fold: emits and retractions by `transition_id` (a transition delivered
twice counts once); per entity and segment, the latest live transition at or before an instant
decides.

    python consumer.py BOOTSTRAP TOPIC IDLE_SECONDS INSTANT [INSTANT …]

prints {"INSTANT": {"segment": [entity, …]}} once the topic has been quiet for IDLE_SECONDS.
"""

import json
import sys
import time
from datetime import datetime

from confluent_kafka import Consumer


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def main() -> None:
    bootstrap, topic, idle = sys.argv[1], sys.argv[2], float(sys.argv[3])
    instants = sys.argv[4:]
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"python-service-{time.time_ns()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([topic])
    live: dict[str, dict] = {}
    quiet = time.monotonic()
    while time.monotonic() - quiet < idle:
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error():
            continue
        t = json.loads(msg.value())
        if t["op"] == "emit":
            live[t["transition_id"]] = t
        else:
            live.pop(t["transition_id"], None)
        quiet = time.monotonic()
    consumer.close()
    out = {}
    for at in instants:
        when = instant(at)
        latest: dict[tuple[str, str], tuple[datetime, str]] = {}
        for t in live.values():
            t_at = instant(t["at"])
            key = (t["segment_id"], t["entity_id"])
            if t_at <= when and (key not in latest or t_at >= latest[key][0]):
                latest[key] = (t_at, t["kind"])
        members: dict[str, list[str]] = {}
        for (segment, entity), (_, kind) in sorted(latest.items()):
            if kind == "entered":
                members.setdefault(segment, []).append(entity)
        out[at] = members
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
