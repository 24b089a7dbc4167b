//! `segcore stream --kafka` against a real Apache Kafka broker (4.x, KRaft, one node on
//! 127.0.0.1, started here by `scripts/kafka-test-broker.sh` and stopped after): kill -9 at
//! random points while it consumes, the broker stopped and started again under it, and a
//! transitions topic whose consumers, deduping by `transition_id`, reconstruct exactly the
//! membership the file route gives for the same events.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::Rng;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

const BIN: &str = env!("CARGO_BIN_EXE_segcore");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The broker, stopped (and its folder removed) when dropped.
struct Broker {
    dir: PathBuf,
    bootstrap: String,
}

impl Broker {
    fn start(dir: &Path) -> Broker {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("bash")
            .arg(root().join("scripts/kafka-test-broker.sh"))
            .args(["start", dir.to_str().unwrap()])
            .env("KAFKA_BROKER_IMPL", "apache")
            .stderr(Stdio::inherit())
            .output()
            .expect("kafka-test-broker.sh runs");
        assert!(out.status.success(), "the Kafka broker did not start");
        let bootstrap = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Broker { dir: dir.to_path_buf(), bootstrap }
    }
    fn stop(&self) {
        let _ = Command::new("bash")
            .arg(root().join("scripts/kafka-test-broker.sh"))
            .args(["stop", self.dir.to_str().unwrap()])
            .status();
    }
    fn restart(&self) {
        let out = Command::new("bash")
            .arg(root().join("scripts/kafka-test-broker.sh"))
            .args(["start", self.dir.to_str().unwrap()])
            .env("KAFKA_BROKER_IMPL", "apache")
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), self.bootstrap, "the same port again");
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Events over ~`n` × 2 minutes from 2026-03-01, 2% of them 30 minutes late, a malformed one.
fn events(n: usize) -> Vec<String> {
    let mut rng = Rng(11);
    let t0: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
    let mut out = Vec::new();
    for k in 0..n {
        let mut at = t0 + (k as i64) * 120 + rng.below(60) as i64;
        if rng.below(50) == 0 {
            at -= 1_800;
        }
        let (d, s) = (at.div_euclid(86_400), at.rem_euclid(86_400));
        // March 2026 only: day 20513 is 2026-03-01.
        let at = format!("2026-03-{:02}T{:02}:{:02}:{:02}Z", d - 20_513 + 1, s / 3_600, s % 3_600 / 60, s % 60);
        let who = rng.below(300);
        out.push(match rng.below(4) {
            0 => format!(
                r#"{{"id": "u{who}", "name": "purchase", "at": "{at}", "properties": {{"amount": {{"amount": "{}.50", "currency": "USD"}}}}}}"#,
                rng.below(400)
            ),
            _ => format!(r#"{{"id": "u{who}", "name": "login", "at": "{at}"}}"#),
        });
        if k == 700 {
            out.push("not json".to_string());
        }
    }
    out
}

fn stream_args(log: &Path) -> Vec<String> {
    let demo = root().join("cli/src/demo");
    let schema = root().join("cli/src/demo_schema.yaml");
    [
        "stream",
        "--segments",
        demo.to_str().unwrap(),
        "--schema",
        schema.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["--watermark-delay", "5m", "--commit-every", "200"].iter().map(|s| s.to_string()))
    .collect()
}

fn members(log: &Path, at: &str) -> String {
    let o = Command::new(BIN).args(["members", "--log", log.to_str().unwrap(), "--at", at]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_kafka_route_survives_kill_9_and_a_broker_restart_and_its_topic_replays_to_the_file_routes_membership() {
    let base = std::env::temp_dir().join(format!("segcore-kafka-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let broker = Broker::start(&base.join("broker"));
    let bs = broker.bootstrap.clone();

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", &bs).create().unwrap();
    let rt = Runtime;
    let made = rt.block(admin.create_topics(
        &[
            NewTopic::new("events", 1, TopicReplication::Fixed(1)),
            NewTopic::new("transitions", 3, TopicReplication::Fixed(1)),
        ],
        &AdminOptions::new(),
    ));
    for r in made.unwrap() {
        r.unwrap();
    }
    let lines = events(4_000);
    let producer: ThreadedProducer<DefaultProducerContext> =
        ClientConfig::new().set("bootstrap.servers", &bs).create().unwrap();
    for l in &lines {
        producer.send(BaseRecord::<(), _>::to("events").payload(l.as_str())).unwrap();
    }
    producer.flush(Duration::from_secs(30)).unwrap();

    // The reference: the file route over the same lines.
    let file = base.join("events.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let reference = base.join("reference");
    let mut args = stream_args(&reference);
    args.extend(["--events".to_string(), file.to_str().unwrap().to_string()]);
    let o = Command::new(BIN).args(&args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // The Kafka route, killed at random points until a run drains the topic and exits; rounds
    // (each a fresh state folder and transitions topic) until 20 kills landed while it consumed,
    // then one more round with the broker stopped and started again under the stream.
    let mut rng = Rng(5);
    let (mut kills, mut runs, mut round) = (0, 0, 0);
    let instants = ["2026-03-01T12:00:00Z", "2026-03-02T18:30:00Z", "2026-03-04T03:00:00Z", "2026-03-05T03:00:00Z"];
    loop {
        round += 1;
        let outage = kills >= 20;
        let topic = format!("transitions-{round}");
        for r in rt
            .block(admin.create_topics(&[NewTopic::new(&topic, 3, TopicReplication::Fixed(1))], &AdminOptions::new()))
            .unwrap()
        {
            r.unwrap();
        }
        let state = base.join(format!("state-{round}"));
        let mut args = stream_args(&state);
        args.extend(
            ["--kafka", &bs, "--events-topic", "events", "--transitions-topic", &topic, "--idle-exit", "2s"]
                .iter()
                .map(|s| s.to_string()),
        );
        let (mut last_size, mut drained) = (0, false);
        loop {
            runs += 1;
            assert!(runs < 400, "no progress between kills");
            let mut child = Command::new(BIN).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
            if outage {
                std::thread::sleep(Duration::from_millis(400));
                broker.stop();
                std::thread::sleep(Duration::from_secs(3));
                broker.restart();
            } else if !drained {
                std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
                if child.try_wait().unwrap().is_none() {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    // Counted only when the run got somewhere: a kill while it consumes. A run
                    // that got nowhere found the topic drained: the next one may finish.
                    let size = std::fs::metadata(state.join("transitions.log")).map_or(0, |m| m.len());
                    if size > last_size {
                        kills += 1;
                    } else {
                        drained = true;
                    }
                    last_size = size;
                    continue;
                }
            }
            assert!(child.wait().unwrap().success());
            break;
        }
        // The state folder's log replays to the file route's membership…
        for at in instants {
            assert_eq!(members(&state, at), members(&reference, at), "round {round}: state log at {at}");
        }
        // …and so does the transitions topic, read from the beginning and deduped by id.
        let ops = read_topic(&bs, &topic);
        for at in instants {
            assert_eq!(fold(&ops, at), members(&reference, at), "round {round}: topic at {at}");
        }
        let unique: BTreeSet<&str> = ops.iter().map(|v| v["transition_id"].as_str().unwrap()).collect();
        eprintln!("kafka round {round}: {} transition messages, {} distinct ids", ops.len(), unique.len());
        if outage {
            break;
        }
    }
    eprintln!(
        "kafka: {kills} kill -9 points while consuming and one broker restart, over {runs} runs in {round} rounds"
    );
    drop(broker);
    let _ = std::fs::remove_dir_all(&base);
}

/// Every message of `topic` (3 partitions), from the beginning.
fn read_topic(bs: &str, topic: &str) -> Vec<serde_json::Value> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bs)
        .set("group.id", "checker")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut ops = Vec::new();
    let mut quiet = Instant::now();
    while quiet.elapsed() < Duration::from_secs(3) {
        if let Some(m) = consumer.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            ops.push(serde_json::from_slice(m.payload().unwrap()).unwrap());
            quiet = Instant::now();
        }
    }
    ops
}

/// SPEC §23 over messages in arrival order per partition: emits and retractions by id; per
/// entity and segment the live transition with the greatest `at` ≤ the instant decides.
fn fold(ops: &[serde_json::Value], at: &str) -> String {
    let mut live: BTreeMap<String, &serde_json::Value> = BTreeMap::new();
    for v in ops {
        let id = v["transition_id"].as_str().unwrap().to_string();
        if v["op"] == "emit" {
            live.insert(id, v);
        } else {
            live.remove(&id);
        }
    }
    // RFC 3339 UTC with the same precision compares as text only when formatted alike: compare
    // parsed instants instead.
    let t = segcore::parse_as_of(at).unwrap();
    let mut latest: BTreeMap<(String, String), (i64, bool)> = BTreeMap::new();
    for v in live.values() {
        let when = segcore::parse_as_of(v["at"].as_str().unwrap()).unwrap();
        if when > t {
            continue;
        }
        let key = (v["segment_id"].as_str().unwrap().to_string(), v["entity_id"].as_str().unwrap().to_string());
        let e = latest.entry(key).or_insert((i64::MIN, false));
        if when >= e.0 {
            *e = (when, v["kind"] == "entered");
        }
    }
    latest.into_iter().filter(|(_, (_, m))| *m).map(|((s, e), _)| format!("{s}\t{e}\n")).collect()
}

/// Drives the admin client's futures without an async runtime dependency.
struct Runtime;
impl Runtime {
    fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut f = std::pin::pin!(f);
        loop {
            if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}
