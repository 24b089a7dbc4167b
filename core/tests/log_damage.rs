//! A damaged membership log (SPEC §23): every truncation and every flipped byte of a real log is
//! read up to the last good record, reported with its offset, and never panics.

use segcore::store::{membership_at, read_log, StoreConfig, StreamStore};
use segcore::{parse_as_of, Definition, FxRates, Registry};

fn ts(s: &str) -> i64 {
    parse_as_of(s).unwrap()
}

#[test]
fn every_truncation_and_every_flipped_byte_is_found_and_survived() {
    let base = std::env::temp_dir().join(format!("segcore-log-damage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let reg = Registry::from_definitions(
        vec![
            Definition::new("active", "1.0.0", "exists(visit within 1d)"),
            Definition::new("twice", "1.0.0", "count(visit within 2d) >= 2"),
        ],
        None,
    )
    .unwrap();
    let good = base.join("good");
    let (mut store, _) = StreamStore::open(&good, reg, FxRates::new(), StoreConfig::default()).unwrap();
    for (k, (who, at)) in
        [("u1", "01T10"), ("u2", "01T11"), ("u1", "02T09"), ("u3", "03T00"), ("u2", "03T12")].iter().enumerate()
    {
        let line = format!(r#"{{"id": "{who}", "name": "visit", "at": "2026-03-{at}:00:00Z"}}"#);
        store.push_line(line.as_bytes()).unwrap();
        if k % 2 == 1 {
            store.push_line(format!(r#"{{"watermark": "2026-03-{at}:30:00Z"}}"#).as_bytes()).unwrap();
            store.commit().unwrap();
        }
    }
    store.push_line(br#"{"watermark": "2026-03-06T00:00:00Z"}"#).unwrap();
    store.commit().unwrap();
    drop(store);
    let bytes = std::fs::read(good.join("transitions.log")).unwrap();
    let contents = read_log(&good).unwrap();
    assert!(contents.damage.is_none());
    let at = ts("2026-03-02T12:00:00Z");
    let whole = membership_at(&good, at).unwrap();

    let bad = base.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let path = bad.join("transitions.log");
    let (mut reported, mut committed_reads) = (0, 0);
    // Every length from an empty file to one byte short.
    for len in 0..bytes.len() {
        std::fs::write(&path, &bytes[..len]).unwrap();
        match read_log(&bad) {
            Err(e) => assert!(len < 8, "only a cut header is not a log ({len}): {e}"),
            Ok(c) => {
                let boundary = c.damage.is_none();
                reported += !boundary as usize;
                // A cut inside a record is reported at that record's offset.
                if let Some(d) = &c.damage {
                    assert_eq!(d.offset + d.bytes, len as u64);
                }
            }
        }
        if let Ok(m) = membership_at(&bad, at) {
            committed_reads += 1;
            assert!(m.watermark >= at);
        }
    }
    // Every byte flipped, one at a time.
    let mut flips = 0;
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        std::fs::write(&path, &b).unwrap();
        match read_log(&bad) {
            Err(_) => assert!(i < 8, "a flipped byte after the header is damage, not an error ({i})"),
            Ok(c) => {
                let d = c.damage.expect("every flipped byte after the header is caught");
                assert!(d.offset <= i as u64, "damage at {} reported for a flip at {i}", d.offset);
                flips += 1;
            }
        }
        let _ = membership_at(&bad, at);
    }
    // The whole log again: the same answer as before the experiments.
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(membership_at(&bad, at).unwrap().segments, whole.segments);
    assert!(reported > bytes.len() / 2 && committed_reads > 0 && flips == bytes.len() - 8);
    let _ = std::fs::remove_dir_all(&base);
}
