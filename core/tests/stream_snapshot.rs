//! SPEC §23's *stream = snapshot*: a generated stream (out-of-order arrivals, 1% late within the
//! allowed lateness, a few too late, events of a name nobody reads) through the demo registry;
//! the membership its records give at random instants equals a fresh batch evaluation of every
//! entity existing then, over the events the stream accepted.
//!
//! CI runs a bounded size; `SEGCORE_STREAM_SCALE=full cargo test --release -p segcore --test
//! stream_snapshot -- --nocapture` runs the issue's size (1,000,000 events, 10,000 entities, 100
//! instants).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use common::Rng;
use segcore::store::{membership_at, LogWriter};
use segcore::stream::{Push, Record, Stream, StreamConfig, Transition, TransitionKind};
use segcore::{parse_as_of, EvalContext, FxRates, Profile, Registry, Schema, Value};

const MIN: i64 = 60_000_000;
const DAY: i64 = 1_440 * MIN;
const FX: &str = r#"{"EUR/USD": "1.0842", "USD/EUR": "0.9223"}"#;

struct Ev {
    entity: usize,
    name: &'static str,
    at: i64,
    arrival: i64,
    props: BTreeMap<Box<str>, Value>,
}

fn attributes(rng: &mut Rng, start: i64) -> Vec<(&'static str, Value)> {
    let country = *rng.pick(&["US", "CA", "GB", "DE", "FR", "JP"]);
    let mut consent = BTreeMap::new();
    consent.insert("marketing".into(), Value::Bool(rng.chance(70)));
    consent.insert("updated_at".into(), Value::Timestamp(start - rng.range(0, 500) * DAY + rng.range(0, DAY)));
    vec![
        ("country", Value::Str(country.into())),
        ("age", Value::Int(rng.range(14, 70))),
        ("plan", Value::Str((*rng.pick(&["pro", "free"])).into())),
        ("ltv", Value::Int(rng.range(0, 1_000))),
        ("signup_at", Value::Timestamp(start + rng.range(-20 * DAY, 100 * DAY))),
        ("churn_score", Value::Float(rng.range(0, 100) as f64 / 100.0)),
        ("app_version", Value::Str(format!("2.{}.0", rng.range(0, 6)).into())),
        ("consent", Value::Object(consent)),
    ]
}

#[test]
fn the_stream_gives_the_batch_membership_at_every_instant() {
    let full = std::env::var("SEGCORE_STREAM_SCALE").is_ok_and(|v| v == "full");
    // CI's bounded size makes 4% of the events late so that retractions happen at this size.
    let (entities, events, instants, late_percent) =
        if full { (10_000, 1_000_000, 100, 1) } else { (1_000, 40_000, 24, 4) };
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/src/demo");
    let schema = Schema::from_yaml_str(&std::fs::read_to_string(demo.join("../demo_schema.yaml")).unwrap()).unwrap();
    let registry = Registry::load_dir(&demo, Some(&schema)).unwrap();
    let fx = FxRates::from_json_str(FX).unwrap();
    let start = parse_as_of("2026-01-01T00:00:00Z").unwrap();
    let span = 120 * DAY;
    let mut rng = Rng(0x5eed_57a3);

    // 40% of the entities come with initial profiles; the rest exist from their first event.
    let initial: Vec<Option<Vec<(&str, Value)>>> =
        (0..entities).map(|_| rng.chance(40).then(|| attributes(&mut rng, start))).collect();
    let mut evs: Vec<Ev> = (0..events)
        .map(|_| {
            // A few busy entities, many quiet ones: bursts make windows fill and empty.
            let entity =
                if rng.chance(30) { rng.below(entities as u64 / 20) } else { rng.below(entities as u64) } as usize;
            let at = start + rng.range(0, span);
            let (name, props) = match rng.below(10) {
                0..=3 => {
                    let cur = if rng.chance(30) { "EUR" } else { "USD" };
                    let amount = format!("{}.{:02}", rng.range(1, 400), rng.below(100));
                    let money = Value::from_json(&serde_json::json!({"amount": amount, "currency": cur}));
                    let mut p = BTreeMap::new();
                    p.insert("amount".into(), money);
                    ("purchase", p)
                }
                4..=8 => ("login", BTreeMap::new()),
                _ => ("page_view", BTreeMap::new()),
            };
            // Arrival: most within 5 minutes; 1% 10–50 minutes late (within the hour); 0.1% two
            // hours late (too late).
            let delay = if rng.chance(late_percent) {
                rng.range(10 * MIN, 50 * MIN)
            } else if rng.below(1000) == 0 {
                120 * MIN
            } else {
                rng.range(0, 5 * MIN)
            };
            Ev { entity, name, at, arrival: at + delay, props }
        })
        .collect();
    evs.sort_by_key(|e| (e.arrival, e.entity));

    let config = StreamConfig::default();
    let mut stream = Stream::new(registry.clone(), start - DAY, fx.clone(), config).unwrap();
    let id = |i: usize| format!("e{i:05}");
    let mut oracle: Vec<Profile> = (0..entities).map(|i| Profile::new(id(i))).collect();
    let mut exists: Vec<Option<i64>> = vec![None; entities];
    for (i, attrs) in initial.iter().enumerate() {
        if let Some(attrs) = attrs {
            let mut p = Profile::new(id(i));
            for (k, v) in attrs {
                p.set_attribute(*k, v.clone());
                oracle[i].set_attribute(*k, v.clone());
            }
            stream.add_profile(p).unwrap();
            exists[i] = Some(start - DAY);
        }
    }
    let (mut late, mut rejected) = (0, 0);
    let mut records: Vec<Record> = Vec::new();
    let clock = std::time::Instant::now();
    for e in &evs {
        match stream.push_event(&id(e.entity), e.name, e.at, e.props.clone()).unwrap() {
            Push::Rejected { .. } => rejected += 1,
            outcome => {
                late += (outcome == Push::Late) as usize;
                oracle[e.entity].push_event(e.name, e.at, e.props.clone()).unwrap();
                exists[e.entity] = Some(exists[e.entity].map_or(e.at, |x| x.min(e.at)));
            }
        }
        stream.advance(e.arrival - 6 * MIN).unwrap();
        records.extend(stream.take_records());
    }
    let streamed = clock.elapsed();
    let end = stream.watermark();
    for p in &mut oracle {
        p.finish();
    }

    // The same records through the membership log: replay must give the same memberships.
    let dir = std::env::temp_dir().join(format!("segcore-stream-snapshot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut log = LogWriter::create(&dir).unwrap();
    for r in &records {
        log.append(r).unwrap();
    }
    log.commit(end, evs.len() as u64).unwrap();

    // Live transitions (SPEC §23): emitted and not retracted later.
    let mut live: HashMap<[u8; 16], Transition> = HashMap::new();
    let (mut emitted, mut retracted) = (0, 0);
    for r in records {
        match r {
            Record::Emit(t) => {
                emitted += 1;
                live.insert(t.id, t);
            }
            Record::Retract(t) => {
                retracted += 1;
                live.remove(&t.id);
            }
            Record::Definition(_) => {}
        }
    }
    let mut by_key: HashMap<(String, String), Vec<(i64, TransitionKind)>> = HashMap::new();
    for t in live.values() {
        by_key.entry((t.entity.to_string(), t.definition.segment.clone())).or_default().push((t.at, t.kind));
    }
    for v in by_key.values_mut() {
        v.sort();
        // Transitions of one entity and segment alternate: entered, exited, entered, …
        assert!(v.windows(2).all(|w| w[0].1 != w[1].1 && w[0].0 < w[1].0), "{v:?}");
    }

    // Sorted, so the instants picked do not depend on hash order.
    let mut ats: Vec<i64> = live.values().map(|t| t.at).collect();
    ats.sort_unstable();
    let mut checked = 0usize;
    let mut members = 0usize;
    let mut problems = Vec::new();
    for k in 0..instants {
        // Spread over the stream, plus instants on transitions and 1 µs before them.
        let t = match k % 3 {
            0 => start + rng.range(0, end - start),
            _ => {
                let pick = ats.get(rng.below(ats.len() as u64) as usize).copied().unwrap_or(start);
                if k % 3 == 1 {
                    pick
                } else {
                    pick - 1
                }
            }
        };
        let cx = EvalContext::new(t).with_fx(fx.clone());
        let replayed = membership_at(&dir, t).unwrap();
        let mut from_log: BTreeSet<(String, String)> = BTreeSet::new();
        for (seg, ids) in replayed.segments {
            from_log.extend(ids.into_iter().map(|e| (seg.clone(), e)));
        }
        let mut from_batch: BTreeSet<(String, String)> = BTreeSet::new();
        for (i, p) in oracle.iter().enumerate() {
            let here = exists[i].is_some_and(|x| x <= t);
            let batch: Vec<(&str, bool)> = if here {
                registry.evaluate(p, &cx).unwrap().into_iter().map(|(s, o)| (s, o.is_member())).collect()
            } else {
                registry.segments().iter().map(|s| (s.id(), false)).collect()
            };
            for (seg, want) in batch {
                let got = by_key
                    .get(&(id(i), seg.to_string()))
                    .and_then(|v| v.iter().take_while(|(at, _)| *at <= t).last())
                    .is_some_and(|(_, kind)| *kind == TransitionKind::Entered);
                checked += 1;
                members += want as usize;
                if want {
                    from_batch.insert((seg.to_string(), id(i)));
                }
                if got != want && problems.len() < 10 {
                    problems.push(format!(
                        "{} {seg} at {}: stream {got}, batch {want}",
                        id(i),
                        segcore::binding::format_timestamp(t)
                    ));
                }
            }
        }
        if from_log != from_batch && problems.len() < 10 {
            let diff: Vec<_> = from_log.symmetric_difference(&from_batch).take(5).collect();
            problems.push(format!(
                "log replay at {}: differs from batch in {diff:?}",
                segcore::binding::format_timestamp(t)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "stream = snapshot (records and log replay): {} events ({late} late, {rejected} rejected), {entities} entities, {emitted} emitted, \
         {retracted} retracted in {streamed:.2?}, {} instants × {} segments: {checked} memberships ({members} members) compared, \
         {} retained events at the end",
        evs.len(),
        instants,
        registry.len(),
        stream.retained_events()
    );
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(late > 0 && rejected > 0 && retracted > 0 && members > 0, "the generator exercises corrections");
}
