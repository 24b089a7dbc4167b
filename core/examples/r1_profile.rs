//! A loop over R1 for profilers: `perf record ./target/release/examples/r1_profile`.
use segcore::*;
fn main() {
    let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
    let p = Profile::from_json_str(
        r#"{"id":"u","attributes":{"age":30,"country":"GB","plan":"pro","ltv":900,"a":1,"b":2,"c":3}}"#,
    )
    .unwrap();
    let r1 = r#"age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500"#;
    let s = Segment::compile(Definition::new("b", "1.0.0", r1), None).unwrap();
    let mut k = 0u64;
    for _ in 0..30_000_000 {
        if s.evaluate(std::hint::black_box(&p), &cx).unwrap().is_member() {
            k += 1;
        }
    }
    println!("{k}");
}
