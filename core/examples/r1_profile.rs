//! Loops over one rule for profilers: `perf record ./target/release/examples/r1_profile [r1|hv] [N]`.
//! Instruction counts per evaluation (repeatable on a noisy machine): `scripts/instructions.sh`.
use segcore::*;
use std::collections::BTreeMap;
fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "r1".into());
    let cx = EvalContext::parse("2026-03-15T12:00:00Z")
        .unwrap()
        .with_fx(FxRates::from_json_str(r#"{"EUR/USD": "1.0842"}"#).unwrap());
    let mut p = Profile::from_json_str(
        r#"{"id":"u","attributes":{"age":30,"country":"GB","plan":"pro","ltv":900,"a":1,"b":2,"c":3}}"#,
    )
    .unwrap();
    let as_of = cx.as_of;
    for k in 0..200i64 {
        let mut props = BTreeMap::new();
        let currency = Currency::parse(if k % 2 == 0 { "USD" } else { "EUR" }).unwrap();
        props
            .insert("amount".into(), Value::Money(Money { amount: rust_decimal::Decimal::new(1999 + k, 2), currency }));
        p.push_event("purchase", as_of - k * 2 * 86_400_000_000, props).unwrap();
    }
    p.finish();
    let rule = match which.as_str() {
        "hv" => "sum(purchase.amount within 90d) > 500 USD",
        _ => r#"age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500"#,
    };
    let s = Segment::compile(Definition::new("b", "1.0.0", rule), None).unwrap();
    let bound = s.bind(&p);
    let n: u64 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(if which == "hv" {
        1_000_000
    } else {
        30_000_000
    });
    let t = std::time::Instant::now();
    let mut k = 0u64;
    for _ in 0..n {
        if s.evaluate_bound(std::hint::black_box(&bound), &cx).unwrap().is_member() {
            k += 1;
        }
    }
    println!("{k} {:.1} ns/eval", t.elapsed().as_nanos() as f64 / n as f64);
}
