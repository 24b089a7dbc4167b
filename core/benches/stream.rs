//! The stateful evaluator and the membership log (SPEC §23), measured: events per second on one
//! core with the 11 demo segments, per-event latency (push + watermark advance) percentiles, and
//! membership at an instant from a log of millions of transitions.
//!
//! `cargo bench -p segcore --bench stream` (full size: 1,000,000 events, 10,000 entities, a
//! 10,000,000-transition log); `-- --quick` for a small run (what CI runs, so the bench keeps
//! working).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use common::Rng;
use segcore::store::{membership_at, LogWriter};
use segcore::stream::{DefinitionInfo, Record, Stream, StreamConfig, Transition, TransitionKind};
use segcore::temporal::{Cause, CauseKind};
use segcore::{parse_as_of, FxRates, Profile, Registry, Schema, Value};

const MIN: i64 = 60_000_000;
const DAY: i64 = 1_440 * MIN;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let (entities, events, transitions) = if quick { (500, 20_000, 200_000) } else { (10_000, 1_000_000, 10_000_000) };
    // `-- stateful` or `-- replay` runs one half (for profiling).
    let only = |what: &str| !args.iter().any(|a| a == "stateful" || a == "replay") || args.iter().any(|a| a == what);
    if only("stateful") {
        stateful(entities, events);
    }
    if only("replay") {
        replay(transitions);
    }
}

fn stateful(entities: usize, events: usize) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/src/demo");
    let schema = Schema::from_yaml_str(&std::fs::read_to_string(demo.join("../demo_schema.yaml")).unwrap()).unwrap();
    let registry = Registry::load_dir(&demo, Some(&schema)).unwrap();
    let fx = FxRates::from_json_str(r#"{"EUR/USD": "1.0842", "USD/EUR": "0.9223"}"#).unwrap();
    let start = parse_as_of("2026-01-01T00:00:00Z").unwrap();
    let mut rng = Rng(42);
    let mut s = Stream::new(registry, start, fx, StreamConfig::default()).unwrap();
    for i in 0..entities {
        let mut p = Profile::new(format!("e{i}"));
        let country = ["US", "CA", "GB", "DE", "FR", "JP"][rng.below(6) as usize];
        p.set_attribute("country", Value::Str(country.into()));
        p.set_attribute("age", Value::Int(rng.below(60) as i64 + 14));
        p.set_attribute("plan", Value::Str(if rng.below(2) == 0 { "pro" } else { "free" }.into()));
        p.set_attribute("ltv", Value::Int(rng.below(1000) as i64));
        p.set_attribute("signup_at", Value::Timestamp(start + rng.below(60) as i64 * DAY));
        p.set_attribute("churn_score", Value::Float(rng.below(100) as f64 / 100.0));
        s.add_profile(p).unwrap();
    }
    // Events in `at` order over 60 days, 1% of them 10–50 minutes late; the watermark follows
    // 5 minutes behind the newest event, advanced after every event.
    let span = 60 * DAY;
    let step = span / events as i64;
    let ids: Vec<String> = (0..entities).map(|i| format!("e{i}")).collect();
    let mut input = Vec::with_capacity(events);
    for k in 0..events {
        let arrival = start + k as i64 * step;
        let at = if rng.below(100) == 0 { arrival - (10 + rng.below(40) as i64) * MIN } else { arrival };
        let who = rng.below(entities as u64) as usize;
        let (name, props) = if rng.below(10) < 4 {
            let mut p = BTreeMap::new();
            let cur = if rng.below(3) == 0 { "EUR" } else { "USD" };
            p.insert(
                "amount".into(),
                Value::from_json(&serde_json::json!({"amount": format!("{}.50", rng.below(300)), "currency": cur})),
            );
            ("purchase", p)
        } else {
            ("login", BTreeMap::new())
        };
        input.push((who, name, at, arrival, props));
    }
    let mut lat = Vec::with_capacity(events);
    let mut emitted = 0usize;
    let clock = Instant::now();
    for (who, name, at, arrival, props) in input {
        let t = Instant::now();
        s.push_event(&ids[who], name, at, props).unwrap();
        s.advance(arrival - 5 * MIN).unwrap();
        emitted += s.take_records().len();
        lat.push(t.elapsed().as_nanos() as u64);
    }
    let total = clock.elapsed();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1_000.0;
    println!(
        "stateful evaluator, 11 demo segments, {entities} entities, {events} events (1% late), watermark advanced per event: \
         {:.2?} total, {:.0} events/s on one core; per event p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, max {:.0} µs; \
         {emitted} records, {} retained events",
        total,
        events as f64 / total.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        pct(0.999),
        pct(1.0),
        s.retained_events()
    );
}

fn replay(n: usize) {
    let dir = std::env::temp_dir().join(format!("segcore-bench-log-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let segments = ["churn_risk", "high_value", "new_users", "r2_repeat_buyers", "returning_users"];
    let mut w = LogWriter::create(&dir).unwrap();
    let defs: Vec<std::sync::Arc<DefinitionInfo>> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            std::sync::Arc::new(DefinitionInfo {
                index: i as u32,
                segment: s.to_string(),
                version: "1.0.0".into(),
                hash: format!("{i:064x}"),
                effective_from: i64::MIN,
            })
        })
        .collect();
    for d in &defs {
        w.append(&Record::Definition(d.clone())).unwrap();
    }
    // 100,000 entities, each alternating entered/exited per segment over a year.
    let entities: Vec<std::sync::Arc<str>> = (0..100_000).map(|i| format!("user-{i:06}").into()).collect();
    let start = parse_as_of("2026-01-01T00:00:00Z").unwrap();
    let mut state = vec![false; entities.len() * segments.len()];
    let mut rng = Rng(7);
    let clock = Instant::now();
    for k in 0..n {
        let e = rng.below(entities.len() as u64) as usize;
        let s = rng.below(segments.len() as u64) as usize;
        let slot = &mut state[e * segments.len() + s];
        *slot = !*slot;
        let kind = if *slot { TransitionKind::Entered } else { TransitionKind::Exited };
        let at = start + (k as i64) * 3_000_000;
        let cause = Cause { kind: CauseKind::Event, segment: None, event: Some(("login".into(), at)) };
        w.append(&Record::Emit(Transition::new(entities[e].clone(), defs[s].clone(), at, kind, cause))).unwrap();
        if k % 1_000_000 == 999_999 {
            w.commit(at, k as u64).unwrap();
        }
    }
    let end = start + n as i64 * 3_000_000;
    w.commit(end, n as u64).unwrap();
    let wrote = clock.elapsed();
    let size = std::fs::metadata(dir.join("transitions.log")).unwrap().len();
    let mut best = f64::MAX;
    let mut members = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let m = membership_at(&dir, start + (n as i64 / 2) * 3_000_000).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        members = m.segments.iter().map(|(_, v)| v.len()).sum::<usize>();
    }
    println!(
        "membership log: {n} transitions written in {wrote:.2?} ({:.0} MB); membership at the middle instant \
         ({members} members of 5 segments): {best:.2} s (best of 3, file in the page cache)",
        size as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(&dir);
}
