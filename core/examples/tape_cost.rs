//! Native timing of the tape path (decode + bind + evaluate), to separate the Rust cost from
//! the boundary cost measured in the browser. `cargo run --release -p segcore --example tape_cost`
use segcore::binding::Projection;
use segcore::{Definition, EvalContext, Segment};

fn main() {
    let seg = Segment::compile(
        Definition::new("r1", "1.0.0", r#"age >= 18 and country in ["US","CA","GB"] and plan = "pro" and ltv > 500"#),
        None,
    )
    .unwrap();
    let spec = Projection::new(seg.layout(), seg.read_set());
    // id "u1", 4 attributes in slot order, 0 events
    let mut tape = vec![5u8];
    tape.extend(2u32.to_le_bytes());
    tape.extend(b"u1");
    tape.extend((spec.attributes.len() as u32).to_le_bytes());
    for name in &spec.attributes {
        match name.as_str() {
            "age" | "ltv" => {
                tape.push(4);
                tape.extend(900f64.to_le_bytes());
            }
            "country" => {
                tape.push(5);
                tape.extend(2u32.to_le_bytes());
                tape.extend(b"US");
            }
            _ => {
                tape.push(5);
                tape.extend(3u32.to_le_bytes());
                tape.extend(b"pro");
            }
        }
    }
    tape.extend(0u32.to_le_bytes());
    let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
    let n = 2_000_000;
    let t0 = std::time::Instant::now();
    let mut members = 0;
    for _ in 0..n {
        let (p, values) = segcore::tape::read_projection(&tape, &spec, false).unwrap();
        let bound = segcore::Bound::with_attributes(seg.layout(), &p, values.iter().collect()).unwrap();
        members += seg.evaluate_bound(&bound, &cx).unwrap().is_member() as usize;
    }
    println!("decode+bind+evaluate: {:.0} ns ({members})", t0.elapsed().as_nanos() as f64 / n as f64);
    let t0 = std::time::Instant::now();
    for _ in 0..n {
        let (p, values) = segcore::tape::read_projection(&tape, &spec, false).unwrap();
        std::hint::black_box((p, values));
    }
    println!("decode only: {:.0} ns", t0.elapsed().as_nanos() as f64 / n as f64);
    let (p, values) = segcore::tape::read_projection(&tape, &spec, false).unwrap();
    let t0 = std::time::Instant::now();
    for _ in 0..n {
        let bound = segcore::Bound::with_attributes(seg.layout(), &p, values.iter().collect()).unwrap();
        members += seg.evaluate_bound(&bound, &cx).unwrap().is_member() as usize;
    }
    println!("bind+evaluate only: {:.0} ns ({members})", t0.elapsed().as_nanos() as f64 / n as f64);
    let mut named = segcore::Profile::new("u1");
    for (name, v) in spec.attributes.iter().zip(&values) {
        named.set_attribute(name.as_str(), v.clone());
    }
    let t0 = std::time::Instant::now();
    for _ in 0..n {
        members += seg.evaluate(&named, &cx).unwrap().is_member() as usize;
    }
    println!("by-name evaluate (a handle): {:.0} ns ({members})", t0.elapsed().as_nanos() as f64 / n as f64);
}
