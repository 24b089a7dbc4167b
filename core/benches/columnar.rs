//! Criterion benchmarks of the columnar engine on the batch benchmark's data (the same shape as
//! `bindings-python/bench/bench_batch.py`: integer ids, four attributes, two event names),
//! 1,000,000 profiles and 10,000,000 events by default (`SEGCORE_BENCH_PROFILES` to change):
//! R1, R2 and the 11 demo segments together. Figures: BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use segcore::batch::BatchOptions;
use segcore::ingest::Columns;
use segcore::{columnar, Definition, EvalContext, Registry};

const R1: &str = r#"age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500"#;
const R2: &str = r#"country in ["US","CA","GB"] and count(purchase within 90d) >= 2"#;
const AS_OF: i64 = 1_773_576_000_000_000; // 2026-03-15T12:00:00Z

/// splitmix64, seeded: the same data on every run.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n
    }
}

fn data(n: usize, e: usize) -> (RecordBatch, RecordBatch) {
    let mut rng = Rng(7);
    let countries = ["US", "CA", "GB", "DE", "FR", "ES", "BR", "JP"];
    let plans = ["free", "pro", "team"];
    let profiles = RecordBatch::try_from_iter([
        ("id", Arc::new(Int64Array::from_iter_values(0..n as i64)) as ArrayRef),
        ("age", Arc::new(Int64Array::from_iter_values((0..n).map(|_| 10 + rng.below(70) as i64))) as ArrayRef),
        (
            "country",
            Arc::new(StringArray::from_iter_values((0..n).map(|_| countries[rng.below(8) as usize]))) as ArrayRef,
        ),
        ("plan", Arc::new(StringArray::from_iter_values((0..n).map(|_| plans[rng.below(3) as usize]))) as ArrayRef),
        ("ltv", Arc::new(Int64Array::from_iter_values((0..n).map(|_| rng.below(1000) as i64))) as ArrayRef),
    ])
    .unwrap();
    let events = RecordBatch::try_from_iter([
        ("entity_id", Arc::new(Int64Array::from_iter_values((0..e).map(|_| rng.below(n as u64) as i64))) as ArrayRef),
        (
            "name",
            Arc::new(StringArray::from_iter_values((0..e).map(|_| ["purchase", "login"][rng.below(2) as usize])))
                as ArrayRef,
        ),
        (
            "at",
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(
                    (0..e).map(|_| AS_OF - rng.below(365 * 86_400_000_000) as i64),
                )
                .with_timezone("UTC"),
            ) as ArrayRef,
        ),
    ])
    .unwrap();
    (profiles, events)
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("SEGCORE_BENCH_PROFILES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let (profiles, events) = data(n, n * 10);
    let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
    let cols = Columns::default();
    let opts = BatchOptions::default();
    let mut g = c.benchmark_group("columnar");
    g.sample_size(10).throughput(Throughput::Elements(n as u64));
    // R1 reads no events: it gets none, as in bench_batch.py (with them, every `at` of the events
    // table is checked too).
    for (name, rule, events) in [("R1", R1, None), ("R2", R2, Some(std::slice::from_ref(&events)))] {
        let reg = Registry::from_definitions(vec![Definition::new("r", "1.0.0", rule)], None).unwrap();
        let p = std::slice::from_ref(&profiles);
        g.bench_function(name, |b| {
            b.iter(|| black_box(columnar::evaluate(reg.program(), p, events, &cols, &cx, &opts).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
