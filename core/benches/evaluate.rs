//! Criterion benchmarks: compile, single-profile evaluation (R1, R2, the demo's high-value segment)
//! and registry throughput. Figures and how to reproduce them: BENCHMARKS.md.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use segcore::{Definition, EvalContext, FxRates, Money, Profile, Registry, Segment, Value};

const DEMO: &[&str] = &[
    include_str!("../../cli/src/demo/campaign_audience.yaml"),
    include_str!("../../cli/src/demo/churn_risk.yaml"),
    include_str!("../../cli/src/demo/high_value.yaml"),
    include_str!("../../cli/src/demo/holdout.yaml"),
    include_str!("../../cli/src/demo/lookalike.yaml"),
    include_str!("../../cli/src/demo/marketing_consent.yaml"),
    include_str!("../../cli/src/demo/modern_app.yaml"),
    include_str!("../../cli/src/demo/new_users.yaml"),
    include_str!("../../cli/src/demo/r1_pro_adults.yaml"),
    include_str!("../../cli/src/demo/r2_repeat_buyers.yaml"),
    include_str!("../../cli/src/demo/returning_users.yaml"),
];

const R1: &str = r#"age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500"#;
const R2: &str = r#"country in ["US","CA","GB"] and count(purchase within 90d) >= 2"#;
const AS_OF: &str = "2026-03-15T12:00:00Z";
const DAY: i64 = 86_400_000_000;

fn segment(rule: &str) -> Segment {
    Segment::compile(Definition::new("bench", "1.0.0", rule), None).expect("bench rule compiles")
}

/// A profile whose R1 and R2 are both TRUE, with 200 purchase events over the last ~400 days
/// (so about a fifth fall in the 90-day window), half in EUR.
fn profile(i: u64) -> Profile {
    let mut p = Profile::new(format!("u{i}"));
    p.set_attribute("age", Value::Int(30 + (i % 40) as i64));
    p.set_attribute("country", Value::Str("GB".into()));
    p.set_attribute("plan", Value::Str("pro".into()));
    p.set_attribute("ltv", Value::Int(900));
    let as_of = segcore::parse_as_of(AS_OF).unwrap();
    for k in 0..200i64 {
        let mut props = BTreeMap::new();
        let currency = segcore::Currency::parse(if k % 2 == 0 { "USD" } else { "EUR" }).unwrap();
        props
            .insert("amount".into(), Value::Money(Money { amount: rust_decimal::Decimal::new(1999 + k, 2), currency }));
        p.push_event("purchase", as_of - (k * 2 + (i as i64 % 3)) * DAY, props).unwrap();
    }
    p.finish();
    p
}

fn context() -> EvalContext {
    EvalContext::parse(AS_OF).unwrap().with_fx(FxRates::from_json_str(r#"{"EUR/USD": "1.0842"}"#).unwrap())
}

fn bench_compile(c: &mut Criterion) {
    let defs: Vec<Definition> = DEMO.iter().map(|t| Definition::from_yaml_str(t).unwrap()).collect();
    c.bench_function("compile/demo_registry_11_definitions", |b| {
        b.iter(|| Registry::from_definitions(black_box(defs.clone()), None).unwrap())
    });
    c.bench_function("compile/r1", |b| b.iter(|| segment(black_box(R1))));
}

fn bench_single(c: &mut Criterion) {
    let cx = context();
    let p = profile(1);
    let r1 = segment(R1);
    let r2 = segment(R2);
    let hv = Segment::compile(Definition::from_yaml_str(DEMO[2]).unwrap(), None).unwrap();
    assert!(r1.evaluate(&p, &cx).unwrap().is_member());
    assert!(r2.evaluate(&p, &cx).unwrap().is_member());
    let mut g = c.benchmark_group("evaluate");
    g.bench_function("r1_attributes", |b| b.iter(|| r1.evaluate(black_box(&p), &cx).unwrap()));
    g.bench_function("r2_count_90d_over_200_events", |b| b.iter(|| r2.evaluate(black_box(&p), &cx).unwrap()));
    g.bench_function("high_value_sum_money_90d_over_200_events", |b| {
        b.iter(|| hv.evaluate(black_box(&p), &cx).unwrap())
    });
    // The same, on a profile bound once to the segment's layout (the "handle" the bindings use).
    let (b1, b2, bh) = (r1.bind(&p), r2.bind(&p), hv.bind(&p));
    g.bench_function("r1_attributes_bound", |b| b.iter(|| r1.evaluate_bound(black_box(&b1), &cx).unwrap()));
    g.bench_function("r2_count_90d_over_200_events_bound", |b| {
        b.iter(|| r2.evaluate_bound(black_box(&b2), &cx).unwrap())
    });
    g.bench_function("high_value_sum_money_90d_over_200_events_bound", |b| {
        b.iter(|| hv.evaluate_bound(black_box(&bh), &cx).unwrap())
    });
    g.bench_function("bind_r1", |b| b.iter(|| r1.bind(black_box(&p))));
    g.finish();
}

fn bench_throughput(c: &mut Criterion) {
    let cx = context();
    let defs: Vec<Definition> = DEMO.iter().map(|t| Definition::from_yaml_str(t).unwrap()).collect();
    let reg = Registry::from_definitions(defs, None).unwrap();
    let n = 2_000u64;
    let profiles: Vec<Profile> = (0..n)
        .map(|i| {
            let mut p = profile(i);
            p.set_attribute("signup_at", Value::Str("2026-03-10T04:00:00Z".into()));
            p.set_attribute("churn_score", Value::Float(0.5));
            p.set_attribute("app_version", Value::Str("2.4.1".into()));
            p.set_attribute(
                "embedding",
                Value::List(vec![Value::Float(0.1), Value::Float(0.8), Value::Float(0.3), Value::Float(0.5)]),
            );
            p
        })
        .collect();
    let mut g = c.benchmark_group("registry");
    g.throughput(Throughput::Elements(n));
    g.sample_size(20);
    g.bench_with_input(BenchmarkId::new("demo_11_segments_per_profile", n), &profiles, |b, ps| {
        b.iter(|| {
            let mut members = 0usize;
            for p in ps {
                members += reg.evaluate(p, &cx).unwrap().iter().filter(|(_, o)| o.is_member()).count();
            }
            members
        })
    });
    g.finish();
}

/// `next_change` (SPEC §22) on the 200-event profile: when R2's count and high_value's sum stop
/// qualifying if no purchase arrives.
fn bench_next_change(c: &mut Criterion) {
    let cx = context();
    let p = profile(1);
    let r2 = segment(R2);
    let hv = Segment::compile(Definition::from_yaml_str(DEMO[2]).unwrap(), None).unwrap();
    let (a, b2) = (r2.next_change(&p, &cx, None).unwrap(), hv.next_change(&p, &cx, None).unwrap());
    assert!(a.is_some_and(|c| !c.outcome.is_member()) && b2.is_some_and(|c| !c.outcome.is_member()));
    let mut g = c.benchmark_group("next_change");
    g.bench_function("r2_count_90d_over_200_events", |b| b.iter(|| r2.next_change(black_box(&p), &cx, None).unwrap()));
    g.bench_function("high_value_sum_money_90d_over_200_events", |b| {
        b.iter(|| hv.next_change(black_box(&p), &cx, None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_compile, bench_single, bench_throughput, bench_next_change);
criterion_main!(benches);
