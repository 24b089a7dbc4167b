"""The seeds' scenario 2 on a real Kafka broker: one user is never "new" in one service and
"returning" in another, because both consume one transitions topic that segcore computes.

A real Apache Kafka broker (4.x, KRaft, one node on 127.0.0.1) starts here and stops after.
`segcore stream --kafka` consumes events (some of them late) as they flow in and produces
transitions; a Python service (confluent-kafka) and a Node service (kafkajs) —
`examples/scenario2/` — read the topic while it is written and each rebuild membership of
`new_users` and `returning_users` at several instants. Both must equal each other and the
stream's own log, and a user is never in both segments at one instant.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "examples" / "scenario2"
BROKER = ROOT / "scripts" / "kafka-test-broker.sh"


def segcore_bin() -> Path:
    exe = ROOT / "target" / "debug" / "segcore"
    if not exe.exists():
        subprocess.run(["cargo", "build", "-q", "-p", "segcore-cli"], cwd=ROOT, check=True)
    return exe


@pytest.fixture()
def broker(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    env = dict(os.environ, KAFKA_BROKER_IMPL="apache")
    out = subprocess.run(["bash", str(BROKER), "start", str(folder)], env=env, check=True, capture_output=True, text=True)
    try:
        yield out.stdout.strip()
    finally:
        subprocess.run(["bash", str(BROKER), "stop", str(folder)], check=False)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_two_services_see_one_membership(tmp_path, broker):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    assert (SCENARIO / "node_modules" / "kafkajs").is_dir(), "run `npm install` in examples/scenario2 (scripts/test-all.sh does)"
    admin = AdminClient({"bootstrap.servers": broker})
    for f in admin.create_topics([NewTopic("events", 1, 1), NewTopic("transitions", 3, 1)]).values():
        f.result()

    # 60 users: half signed up in the days the events cover (new for 7 days in New York),
    # half months before; logins over 12 days, 3% of them 20–40 minutes late.
    rng = random.Random(2)
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    profiles = tmp_path / "profiles.jsonl"
    with profiles.open("w") as f:
        for i in range(60):
            signup = start + timedelta(hours=rng.randrange(0, 240)) if i % 2 else start - timedelta(days=rng.randrange(40, 400))
            f.write(json.dumps({"id": f"u{i:02d}", "attributes": {"signup_at": iso(signup), "country": "US"}}) + "\n")
    events = []
    t = start
    for k in range(1_500):
        t += timedelta(seconds=rng.randrange(300, 1_100))
        at = t - timedelta(minutes=rng.randrange(20, 40)) if rng.random() < 0.03 else t
        events.append({"id": f"u{rng.randrange(60):02d}", "name": "login", "at": iso(at)})
    instants = [iso(start + timedelta(days=d, hours=h)) for d, h in [(2, 3), (4, 15), (6, 9), (8, 21), (10, 1)]]

    state = tmp_path / "state"
    stream = subprocess.Popen(
        [
            str(segcore_bin()), "stream",
            "--segments", str(ROOT / "cli" / "src" / "demo"),
            "--schema", str(ROOT / "cli" / "src" / "demo_schema.yaml"),
            "--kafka", broker, "--events-topic", "events", "--transitions-topic", "transitions",
            "--log", str(state), "--profiles", str(profiles), "--start", iso(start),
            "--watermark-delay", "5m", "--commit-every", "100", "--idle-exit", "8s",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    services = {
        "python": subprocess.Popen(
            [sys.executable, str(SCENARIO / "consumer.py"), broker, "transitions", "12", *instants],
            stdout=subprocess.PIPE, text=True,
        ),
        "node": subprocess.Popen(
            ["node", str(SCENARIO / "consumer.mjs"), broker, "transitions", "12", *instants],
            stdout=subprocess.PIPE, text=True, cwd=SCENARIO,
        ),
    }
    # Events flow in while everything runs.
    producer = Producer({"bootstrap.servers": broker})
    for k, e in enumerate(events):
        producer.produce("events", json.dumps(e).encode())
        if k % 100 == 99:
            producer.flush()
            time.sleep(0.2)
    producer.flush()

    _, err = stream.communicate(timeout=300)
    assert stream.returncode == 0, err
    seen = {}
    for name, p in services.items():
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0, name
        seen[name] = json.loads(out)

    segments = ("new_users", "returning_users")
    for at in instants:
        log = subprocess.run(
            [str(segcore_bin()), "members", "--log", str(state), "--at", at, "--segment", segments[0], "--segment", segments[1]],
            check=True, capture_output=True, text=True,
        ).stdout
        from_log: dict[str, list[str]] = {}
        for line in log.splitlines():
            seg, entity = line.split("\t")
            from_log.setdefault(seg, []).append(entity)
        py = {s: seen["python"][at].get(s, []) for s in segments}
        node = {s: seen["node"][at].get(s, []) for s in segments}
        want = {s: from_log.get(s, []) for s in segments}
        assert py == node == want, at
        assert not set(py["new_users"]) & set(py["returning_users"]), f"someone both new and returning at {at}"
    # The scenario means something: both segments have members at some instant.
    assert any(seen["python"][at].get("new_users") for at in instants)
    assert any(seen["python"][at].get("returning_users") for at in instants)
