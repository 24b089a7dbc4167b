//! The Kafka route of a stream (SPEC §23): events consumed from a topic, transitions produced to
//! another, keyed by entity id (one entity's transitions stay in one partition, in order).
//!
//! The state folder is a membership log like the file route's: the log, the snapshot and the
//! dead letters. A commit flushes the producer (every transition so far acknowledged by the
//! broker), then commits the log and the snapshot — which records the events topic's offsets —
//! then commits those offsets to the consumer group (informational: a restart seeks to the
//! snapshot's offsets). After a crash the stream resumes from the snapshot: events after it are
//! consumed again, the log is produced again byte for byte, and the transitions after it reach the
//! topic a second time with the same `transition_id` (at least once; consumers dedupe by id).
//! While the broker is away, the consumer waits and the flush at the next commit blocks until
//! every transition is delivered.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::util::Timeout;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::{Resume, StoreConfig, StreamStore};
use crate::context::FxRates;
use crate::error::{Error, ErrorKind};
use crate::registry::Registry;
use crate::stream::Record;

/// Where to consume and produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaOptions {
    /// `bootstrap.servers`, e.g. `127.0.0.1:9092`.
    pub brokers: String,
    /// The topic events are consumed from (every partition; one partition keeps arrival order,
    /// and so the stream's answer, deterministic).
    pub events_topic: String,
    /// The topic transitions are produced to, keyed by entity id.
    pub transitions_topic: String,
    /// The consumer group offsets are committed under (informational).
    pub group: String,
    /// Commit after this many events (and whenever the topic is drained).
    pub commit_every: u64,
    /// Stop after no event has arrived for this long (`None`: run until stopped).
    pub idle_exit: Option<Duration>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaRun {
    /// What opening the state folder found.
    pub resume: Resume,
    /// Event messages consumed in this run.
    pub consumed: u64,
    /// Transition messages produced in this run (retractions included).
    pub produced: u64,
    /// Consumer errors while polling (a broker away), each waited out.
    pub poll_errors: u64,
}

struct Delivery {
    failed: AtomicU64,
    last: std::sync::Mutex<Option<String>>,
}

impl ClientContext for Delivery {}

impl ProducerContext for Delivery {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            self.failed.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut last) = self.last.lock() {
                *last = Some(e.to_string());
            }
        }
    }
}

fn kafka_error(what: &str, e: KafkaError) -> Error {
    Error::new(ErrorKind::Io, format!("kafka: {what}: {e}"))
}

/// A transition record as the message value: the transition's JSON with `op` `emit` or `retract`.
pub fn message_value(r: &Record) -> Option<(String, Vec<u8>)> {
    let (t, retracted) = match r {
        Record::Emit(t) => (t, false),
        Record::Retract(t) => (t, true),
        Record::Definition(_) => return None,
    };
    Some((t.entity.to_string(), t.record_json(retracted).to_string().into_bytes()))
}

/// Runs a stream from `options.events_topic` to `options.transitions_topic`, with its state in
/// `dir` (see the module documentation). `progress` is called after every commit.
/// `profiles` are the initial profiles (SPEC §23) of a new state folder (they need
/// `config.start`); a resumed one has them in its snapshot already.
pub fn run(
    dir: &Path,
    registry: Registry,
    fx: FxRates,
    config: StoreConfig,
    profiles: Vec<crate::Profile>,
    options: &KafkaOptions,
    progress: &mut dyn FnMut(&StreamStore, &KafkaRun),
) -> Result<KafkaRun, Error> {
    let (mut store, resume) = StreamStore::open(dir, registry, fx, config)?;
    if !resume.restored {
        for p in profiles {
            store.add_profile(p)?;
        }
    }
    let mut run = KafkaRun { resume, ..KafkaRun::default() };

    let delivery = Delivery { failed: AtomicU64::new(0), last: std::sync::Mutex::new(None) };
    let producer: ThreadedProducer<Delivery> = ClientConfig::new()
        .set("bootstrap.servers", &options.brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // Never give up on a transition: while the broker is away, the flush at the next commit
        // waits for it.
        .set("message.timeout.ms", "0")
        .set("linger.ms", "5")
        .create_with_context(delivery)
        .map_err(|e| kafka_error("cannot create the producer", e))?;
    let producer = Arc::new(producer);
    let produced = Arc::new(AtomicU64::new(0));
    {
        let producer = Arc::clone(&producer);
        let produced = Arc::clone(&produced);
        let topic = options.transitions_topic.clone();
        store.set_sink(Box::new(move |r: &Record| {
            let Some((key, value)) = message_value(r) else { return Ok(()) };
            let mut record = BaseRecord::to(&topic).key(&key).payload(&value);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        record = back;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err((e, _)) => return Err(kafka_error("cannot produce a transition", e)),
                }
            }
            produced.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }));
    }

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &options.brokers)
        .set("group.id", &options.group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .map_err(|e| kafka_error("cannot create the consumer", e))?;
    // Partitions of the events topic, waiting for the broker and the topic to be there.
    let waited = Instant::now();
    let partitions: Vec<i32> = loop {
        match consumer.fetch_metadata(Some(&options.events_topic), Duration::from_secs(5)) {
            Ok(m) => {
                let ps: Vec<i32> = m
                    .topics()
                    .iter()
                    .filter(|t| t.name() == options.events_topic && t.error().is_none())
                    .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                    .collect();
                if !ps.is_empty() {
                    break ps;
                }
            }
            Err(_) => run.poll_errors += 1,
        }
        if waited.elapsed() > Duration::from_secs(120) {
            return Err(Error::new(
                ErrorKind::Io,
                format!("kafka: topic `{}` not found on {} within 120 s", options.events_topic, options.brokers),
            ));
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    // Resume where the snapshot says; partitions it does not know start at the beginning.
    let mut offsets: BTreeMap<i32, i64> = BTreeMap::new();
    if let Some(saved) = store.source().get("offsets").and_then(|o| o.as_object()) {
        for (p, o) in saved {
            if let (Ok(p), Some(o)) = (p.parse::<i32>(), o.as_i64()) {
                offsets.insert(p, o);
            }
        }
    }
    let mut assignment = TopicPartitionList::new();
    for &p in &partitions {
        let at = offsets.get(&p).map_or(Offset::Beginning, |&o| Offset::Offset(o));
        assignment
            .add_partition_offset(&options.events_topic, p, at)
            .map_err(|e| kafka_error("cannot assign the events topic", e))?;
    }
    consumer.assign(&assignment).map_err(|e| kafka_error("cannot assign the events topic", e))?;

    let mut since_commit = 0u64;
    let mut last_event = Instant::now();
    let commit = |store: &mut StreamStore, offsets: &BTreeMap<i32, i64>, run: &mut KafkaRun| -> Result<(), Error> {
        // Every transition acknowledged before the log and snapshot say the events are done.
        producer.flush(Timeout::Never).map_err(|e| kafka_error("cannot flush transitions", e))?;
        let failed = producer.context().failed.load(Ordering::SeqCst);
        if failed > 0 {
            let last = producer.context().last.lock().ok().and_then(|l| l.clone()).unwrap_or_default();
            return Err(Error::new(ErrorKind::Io, format!("kafka: {failed} transition(s) not delivered: {last}")));
        }
        let saved: serde_json::Map<String, serde_json::Value> =
            offsets.iter().map(|(p, o)| (p.to_string(), serde_json::Value::from(*o))).collect();
        store.set_source(serde_json::json!({"topic": options.events_topic, "offsets": saved}));
        store.commit()?;
        run.produced = produced.load(Ordering::Relaxed);
        let mut done = TopicPartitionList::new();
        for (&p, &o) in offsets {
            let _ = done.add_partition_offset(&options.events_topic, p, Offset::Offset(o));
        }
        // Informational (tools show the group's lag); the snapshot is what a restart reads.
        let _ = consumer.commit(&done, CommitMode::Async);
        Ok(())
    };
    loop {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                store.push_message(m.payload().unwrap_or_default())?;
                offsets.insert(m.partition(), m.offset() + 1);
                run.consumed += 1;
                since_commit += 1;
                last_event = Instant::now();
                if since_commit >= options.commit_every.max(1) {
                    commit(&mut store, &offsets, &mut run)?;
                    since_commit = 0;
                    progress(&store, &run);
                }
            }
            Some(Err(_)) => run.poll_errors += 1,
            None => {
                if since_commit > 0 {
                    commit(&mut store, &offsets, &mut run)?;
                    since_commit = 0;
                    progress(&store, &run);
                }
                if options.idle_exit.is_some_and(|d| last_event.elapsed() >= d) {
                    break;
                }
            }
        }
    }
    commit(&mut store, &offsets, &mut run)?;
    progress(&store, &run);
    Ok(run)
}
