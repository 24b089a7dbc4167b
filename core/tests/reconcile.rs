//! Properties of SPEC §24's fingerprints and sketches over random sets, and the id-export reader
//! on hostile files. Expected values are the sets themselves (a difference computed with
//! `BTreeSet`s), never the code's own output.

mod common;

use std::collections::BTreeSet;

use common::Rng;
use segcore::reconcile::{read_ids, Fingerprint, IdFormat, IdOptions, Key, Sketch, SymbolIndex};
use segcore::ErrorKind;

/// Two sets sharing `common` ids, with `only_a` and `only_b` ids of their own.
fn sets(rng: &mut Rng, common: usize, only_a: usize, only_b: usize) -> (Vec<String>, Vec<String>) {
    let tag = rng.next();
    let shared: Vec<String> = (0..common).map(|i| format!("user-{tag:x}-{i}")).collect();
    let mut a = shared.clone();
    let mut b = shared;
    a.extend((0..only_a).map(|i| format!("a-{tag:x}-{i}")));
    b.extend((0..only_b).map(|i| format!("b-{tag:x}-{i}")));
    // Order must not matter: shuffle both.
    for v in [&mut a, &mut b] {
        for i in (1..v.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
    (a, b)
}

fn resolve(key: &Key, ids: &[String], symbols: &[u64]) -> BTreeSet<String> {
    let index = SymbolIndex::new(key, ids);
    symbols
        .iter()
        .map(|s| {
            let hits = index.resolve(*s);
            assert_eq!(hits.len(), 1, "symbol {s:x} resolves to {hits:?}");
            ids[hits[0] as usize].clone()
        })
        .collect()
}

fn truth(a: &[String], b: &[String]) -> (BTreeSet<String>, BTreeSet<String>) {
    let (sa, sb): (BTreeSet<_>, BTreeSet<_>) = (a.iter().cloned().collect(), b.iter().cloned().collect());
    (sa.difference(&sb).cloned().collect(), sb.difference(&sa).cloned().collect())
}

#[test]
fn fingerprints_are_order_free_shard_additive_and_tell_sets_apart() {
    let key = Key::default();
    let mut rng = Rng(7);
    for round in 0..30 {
        let (a, b) = sets(&mut rng, 200 + round * 13, round % 3, (round / 3) % 2);
        let fa = key.fingerprint(&a);
        // Shards in any split add up to the whole.
        let cut = rng.below(a.len() as u64) as usize;
        let shards = key.fingerprint(&a[..cut]).combine(&key.fingerprint(&a[cut..])).unwrap();
        assert_eq!(shards, fa);
        let mut rev = a.clone();
        rev.reverse();
        assert_eq!(key.fingerprint(&rev), fa);
        assert_eq!(fa.count(), a.len() as u64);
        let equal = truth(&a, &b) == (BTreeSet::new(), BTreeSet::new());
        assert_eq!(fa == key.fingerprint(&b), equal, "round {round}");
        assert_eq!(fa.to_string().parse::<Fingerprint>().unwrap(), fa);
    }
    // The parallel path (≥ 50,000 ids) agrees with adding ids one at a time.
    let big: Vec<String> = (0..120_000).map(|i| format!("id{i}")).collect();
    let mut one_by_one = Fingerprint::empty(&key);
    for id in &big {
        one_by_one.insert(&key, id);
    }
    assert_eq!(key.fingerprint(&big), one_by_one);
}

#[test]
fn sketches_decode_exactly_or_say_they_cannot() {
    let key = Key::default();
    let mut rng = Rng(2026);
    let full = std::env::var("SEGCORE_SKETCH_SCALE").as_deref() == Ok("full");
    let sizes: &[usize] = if full {
        &[0, 1, 2, 3, 5, 10, 50, 100, 500, 1000, 3000, 10_000]
    } else {
        &[0, 1, 2, 5, 10, 100, 1000, 10_000]
    };
    let mut report = Vec::new();
    for &d in sizes {
        let trials = if d <= 10 {
            20
        } else if d <= 1000 {
            4
        } else {
            1
        };
        for t in 0..trials {
            let split = if t % 2 == 0 { d / 2 } else { d };
            let (a, b) = sets(&mut rng, 3000, split, d - split);
            let (want_a, want_b) = truth(&a, &b);
            // Sized for the difference: it decodes, exactly.
            let m = Sketch::symbols_for(d);
            let (sa, sb) = (Sketch::new(&key, &a, m).unwrap(), Sketch::new(&key, &b, m).unwrap());
            let bytes = sb.to_bytes().len();
            let sb = Sketch::from_bytes(&sb.to_bytes()).unwrap();
            match sa.decode(&sb) {
                Ok(diff) => {
                    assert_eq!(resolve(&key, &a, &diff.only_a), want_a, "d={d} t={t}");
                    assert_eq!(resolve(&key, &b, &diff.only_b), want_b, "d={d} t={t}");
                }
                Err(e) => {
                    // Allowed (a rare unlucky peel), but only as this kind, never a wrong answer.
                    assert_eq!(e.kind(), ErrorKind::SketchUndecodable, "d={d}: {e}");
                    report.push(format!("d={d}: undecodable at {m} symbols"));
                }
            }
            if t == 0 && d > 0 {
                report.push(format!(
                    "d={d}: {m} symbols, {bytes} bytes, {:.1} bytes/difference",
                    bytes as f64 / d as f64
                ));
            }
            // A prefix too short for the difference: an error, never a partial difference.
            if d >= 4 {
                let short = (d / 3).max(1);
                match sa.truncated(short).decode(&sb) {
                    Ok(diff) => {
                        assert_eq!(resolve(&key, &a, &diff.only_a), want_a, "d={d} short");
                        assert_eq!(resolve(&key, &b, &diff.only_b), want_b, "d={d} short");
                    }
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::SketchUndecodable);
                        assert!(e.to_string().contains("exchange sketches of"), "{e}");
                    }
                }
            }
        }
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn symbols_per_difference_stay_near_the_rateless_bound() {
    // The smallest prefix that decodes, over a few sets: SPEC §24 promises about 1.4 symbols
    // per difference for large differences.
    let key = Key::default();
    let mut rng = Rng(11);
    let d = 2000;
    let (a, b) = sets(&mut rng, 5000, d / 2, d / 2);
    let (sa, sb) = (Sketch::new(&key, &a, 6000).unwrap(), Sketch::new(&key, &b, 6000).unwrap());
    let (mut lo, mut hi) = (d, 6000);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if sa.truncated(mid).decode(&sb).is_ok() {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let ratio = lo as f64 / d as f64;
    eprintln!("smallest decoding prefix for {d} differences: {lo} symbols ({ratio:.2} per difference)");
    assert!(ratio < 1.6, "{ratio}");
}

#[test]
fn sketches_from_other_keys_or_damaged_bytes_are_refused() {
    let (k1, k2) = (Key::default(), Key::new("crm").unwrap());
    let ids = ["u1", "u2"];
    let a = Sketch::new(&k1, &ids, 8).unwrap();
    let b = Sketch::new(&k2, &ids, 8).unwrap();
    assert_eq!(a.decode(&b).unwrap_err().kind(), ErrorKind::KeyMismatch);
    let bytes = a.to_bytes();
    for cut in [0, 7, 20, 55, 60, bytes.len() - 1] {
        let e = Sketch::from_bytes(&bytes[..cut]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SketchInvalid, "cut at {cut}");
    }
    for i in 8..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x10;
        assert!(Sketch::from_bytes(&bad).is_err(), "flipped byte {i} went unnoticed");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Sketch::from_bytes(&longer).is_err());
    let e = Sketch::from_bytes(b"sfp1:14de38cf:0:0:0:0:0").unwrap_err();
    assert!(e.to_string().contains("fingerprint"), "{e}");
    assert_eq!(Sketch::new(&k1, &ids, 0).unwrap_err().kind(), ErrorKind::LimitExceeded);
}

#[test]
fn id_exports_report_and_never_alter_silently() {
    let opts = IdOptions::default();
    // JSONL mixing integers and strings: 42 and "42" are one id, reported as a duplicate and a
    // type mix.
    let text = "\"u1\"\n42\n{\"id\": \"42\"}\n\n\"  u2 \"\n\"cafe\u{301}\"\n";
    let set = read_ids("x.jsonl", text.as_bytes(), IdFormat::Jsonl, None, opts).unwrap();
    assert_eq!(set.ids, vec!["u1", "42", "  u2 ", "cafe\u{301}"]);
    assert!(set.report.mixed_types());
    assert_eq!(set.report.duplicates.examples, vec![(3, "42".to_string())]);
    assert_eq!(set.report.first_seen, vec![2]);
    assert_eq!(set.report.blank.count, 1);
    assert_eq!(set.report.whitespace.examples, vec![(5, "  u2 ".to_string())]);
    assert_eq!(set.report.not_nfc.examples[0].0, 6);
    assert_eq!(set.report.warnings().len(), 5, "{:#?}", set.report.warnings());
    // Asked to: trimmed and normalised, and that is reported too.
    let set = read_ids("x.jsonl", text.as_bytes(), IdFormat::Jsonl, None, IdOptions { trim: true, nfc: true }).unwrap();
    assert_eq!(set.ids, vec!["u1", "42", "u2", "caf\u{e9}"]);
    assert_eq!(set.report.changed.count, 2);
    // Errors name the line.
    for (text, format, want) in [
        ("\"u1\"\nnull\n", IdFormat::Jsonl, "bad:2: the id is null"),
        ("\"u1\"\n1.5\n", IdFormat::Jsonl, "bad:2: the id is a number"),
        ("{\"user\": 1}\n", IdFormat::Jsonl, "bad:1: the object has no field \"id\""),
        ("{\"id\": \"\"}\n", IdFormat::Jsonl, "bad:1: an empty id"),
        ("name,email\nA,a@x\n", IdFormat::Csv, "bad:1: the header has no column \"id\""),
        ("id\n\"u1\n", IdFormat::Csv, "bad:2: an unclosed quote"),
        ("u1\n\u{0}\u{0}\n", IdFormat::Text, ""),
    ] {
        match read_ids("bad", text.as_bytes(), format, None, opts) {
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidIds, "{text:?}");
                let shown = e.to_string();
                assert!(shown.contains(want), "{text:?}: {shown}");
            }
            Ok(set) => assert!(want.is_empty(), "{text:?} read as {:?}", set.ids),
        }
    }
    let e = read_ids("bad.txt", b"u1\n\xff\xfe\n", IdFormat::Text, None, opts).unwrap_err();
    assert!(e.to_string().contains("bad.txt:2: the line is not UTF-8"), "{e}");
    // CSV: BOM, CRLF, quotes, a named column.
    let csv = "\u{feff}email,user_id\r\na@x,\"u,1\"\r\nb@x,u2\r\n";
    let set = read_ids("e.csv", csv.as_bytes(), IdFormat::Csv, Some("user_id"), opts).unwrap();
    assert_eq!(set.ids, vec!["u,1", "u2"]);
    assert!(set.report.bom);
}
