//! Quick per-construct timing (not a benchmark of record: see benches/ and BENCHMARKS.md).
//! `cargo run --release -p segcore --example micro`
use segcore::*;
use std::hint::black_box;
use std::time::Instant;

fn main() {
    let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
    let p =
        Profile::from_json_str(r#"{"id":"u","attributes":{"age":30,"country":"GB","plan":"pro","ltv":900}}"#).unwrap();
    let n = 20_000_000;
    let t = Instant::now();
    let mut k = 0u64;
    for i in 0..n as u64 {
        k = k.wrapping_add(black_box(i) * 3);
    }
    println!("{:>8.1} ns  baseline: loop iteration ({k})", t.elapsed().as_nanos() as f64 / n as f64);
    let t = Instant::now();
    let mut k = 0usize;
    for _ in 0..n {
        if black_box(&p).attribute(black_box("country")).is_some() {
            k += 1;
        }
    }
    println!("{:>8.1} ns  baseline: one attribute lookup ({k})", t.elapsed().as_nanos() as f64 / n as f64);
    for rule in [
        "true",
        "age >= 18",
        "country in [\"US\",\"CA\",\"GB\"]",
        "plan = \"pro\"",
        "ltv > 500",
        r#"age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500"#,
    ] {
        let s = Segment::compile(Definition::new("b", "1.0.0", rule), None).unwrap();
        let n = 2_000_000;
        let t = Instant::now();
        let mut k = 0;
        for _ in 0..n {
            if s.evaluate(black_box(&p), &cx).unwrap().is_member() {
                k += 1;
            }
        }
        println!("{:>8.1} ns  {rule} ({k})", t.elapsed().as_nanos() as f64 / n as f64);
    }
}
