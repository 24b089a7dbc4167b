//! Reconciliation (SPEC §24), measured against peers in the same run: the fingerprint of 10 M
//! ids (vs putting the same ids in a hash set, what a naive comparison starts with), and the
//! sketch exchange of two 1 M-id sets differing by 1,000 ids (bytes and decode time, vs sending an
//! id list).
//!
//! `cargo bench -p segcore --bench reconcile` (full size); `-- --quick` for a small run.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use segcore::reconcile::{Key, Sketch};

fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut out = None;
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed());
        out = Some(v);
    }
    (best, out.expect("runs ≥ 1"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n_fp, n_sk) = if quick { (200_000, 50_000) } else { (10_000_000, 1_000_000) };
    let key = Key::default();

    let ids: Vec<String> = (0..n_fp).map(|i| format!("user-{i:08}")).collect();
    let (t_fp, fp) = best(3, || key.fingerprint(&ids));
    let (t_set, set) = best(3, || ids.iter().map(String::as_str).collect::<HashSet<&str>>());
    assert_eq!(set.len() as u64, fp.count());
    println!(
        "fingerprint of {n_fp} ids: {:.0} ms ({:.1} ns/id, {} threads); a HashSet of the same ids: {:.0} ms → {:.2}× the hash set",
        ms(t_fp),
        t_fp.as_secs_f64() * 1e9 / n_fp as f64,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        ms(t_set),
        t_fp.as_secs_f64() / t_set.as_secs_f64()
    );
    drop(set);
    drop(ids);

    // Two systems: 1 M ids each, 500 only on each side.
    let d = 1000;
    let a: Vec<String> = (0..n_sk).map(|i| format!("user-{i:08}")).collect();
    let b: Vec<String> = (d / 2..n_sk + d / 2).map(|i| format!("user-{i:08}")).collect();
    let m = Sketch::symbols_for(d);
    let (t_build, sa) = best(3, || Sketch::new(&key, &a, m).expect("sketch"));
    let sb = Sketch::new(&key, &b, m).expect("sketch");
    let bytes = sb.to_bytes();
    let (t_decode, diff) = best(5, || {
        let theirs = Sketch::from_bytes(&bytes).expect("valid");
        sa.decode(&theirs).expect("decodes")
    });
    assert_eq!(diff.only_a.len() + diff.only_b.len(), d);
    // The smallest prefix that decodes (rateless: a prefix is a sketch).
    let (mut lo, mut hi) = (d / 2, m);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if sa.truncated(mid).decode(&sb.truncated(mid)).is_ok() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let list_bytes: usize = b.iter().map(|s| s.len() + 1).sum();
    println!(
        "sketch of {n_sk} ids for {d} differences: {m} symbols, {} bytes ({:.1} KB; {:.1} bytes/difference), built in {:.0} ms",
        bytes.len(),
        bytes.len() as f64 / 1024.0,
        bytes.len() as f64 / d as f64,
        ms(t_build)
    );
    println!(
        "decode (read the other side's bytes + peel {d} differences): {:.2} ms; smallest decoding prefix {lo} symbols ({:.2}/difference)",
        ms(t_decode),
        lo as f64 / d as f64
    );
    println!(
        "vs sending one side's id list: {} bytes ({:.1} MB) → the sketch is {:.0}× smaller",
        list_bytes,
        list_bytes as f64 / 1e6,
        list_bytes as f64 / bytes.len() as f64
    );
}
