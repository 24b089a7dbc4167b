//! SPEC §23 by hand: each expectation below is worked out from the SPEC text, not from a run.

use segcore::binding::format_timestamp;
use segcore::stream::{transition_id, Push, Record, Stream, StreamConfig, TransitionKind};
use segcore::{parse_as_of, Definition, FxRates, Profile, Registry, Value};

fn ts(s: &str) -> i64 {
    parse_as_of(s).unwrap()
}

fn registry(defs: &[(&str, &str, &str)]) -> Registry {
    Registry::from_definitions(defs.iter().map(|(id, v, r)| Definition::new(*id, *v, *r)).collect(), None).unwrap()
}

fn stream(defs: &[(&str, &str, &str)], start: &str) -> Stream {
    Stream::new(registry(defs), ts(start), FxRates::new(), StreamConfig::default()).unwrap()
}

fn push(s: &mut Stream, entity: &str, name: &str, at: &str) -> Push {
    s.push_event(entity, name, ts(at), Default::default()).unwrap()
}

/// Records as `emit|retract entity segment@version kind at cause[:detail]`, definitions left out.
fn show(records: Vec<Record>) -> Vec<String> {
    records
        .into_iter()
        .filter_map(|r| {
            let (verb, t) = match r {
                Record::Emit(t) => ("emit", t),
                Record::Retract(t) => ("retract", t),
                Record::Definition(_) => return None,
            };
            let detail = match (&t.cause.event, &t.cause.segment) {
                (Some((n, at)), _) => format!(":{n}@{}", format_timestamp(*at)),
                (None, Some(s)) => format!(":{s}"),
                _ => String::new(),
            };
            Some(format!(
                "{verb} {} {}@{} {} {} {}{detail}",
                t.entity,
                t.definition.segment,
                t.definition.version,
                t.kind.as_str(),
                format_timestamp(t.at),
                t.cause.kind.as_str()
            ))
        })
        .collect()
}

#[test]
fn transitions_are_emitted_when_the_watermark_passes_them() {
    let mut s = stream(&[("active", "1.0.0", "exists(visit within 7d)")], "2026-03-01T00:00:00Z");
    assert_eq!(push(&mut s, "u1", "visit", "2026-03-02T10:00:00Z"), Push::OnTime);
    // Nothing at an instant after the watermark is emitted.
    s.advance(ts("2026-03-02T09:59:59Z")).unwrap();
    assert_eq!(show(s.take_records()), Vec::<String>::new());
    // The visit exists from 10:00; `within 7d` holds through 03-09T10:00 exactly (inclusive).
    s.advance(ts("2026-03-20T00:00:00Z")).unwrap();
    assert_eq!(
        show(s.take_records()),
        [
            "emit u1 active@1.0.0 entered 2026-03-02T10:00:00Z event:visit@2026-03-02T10:00:00Z",
            "emit u1 active@1.0.0 exited 2026-03-09T10:00:00.000001Z window:visit@2026-03-02T10:00:00Z",
        ]
    );
}

#[test]
fn a_late_event_within_the_lateness_is_applied_exactly() {
    let mut s = stream(&[("twice", "1.0.0", "count(visit within 7d) >= 2")], "2026-03-01T00:00:00Z");
    push(&mut s, "u1", "visit", "2026-03-02T10:00:00Z");
    s.advance(ts("2026-03-05T00:00:00Z")).unwrap();
    assert!(show(s.take_records()).is_empty());
    // 30 minutes late, lateness 1 h: the second visit counts from its own `at`.
    assert_eq!(push(&mut s, "u1", "visit", "2026-03-04T23:30:00Z"), Push::Late);
    assert_eq!(
        show(s.take_records()),
        ["emit u1 twice@1.0.0 entered 2026-03-04T23:30:00Z event:visit@2026-03-04T23:30:00Z"]
    );
    s.advance(ts("2026-03-20T00:00:00Z")).unwrap();
    assert_eq!(
        show(s.take_records()),
        ["emit u1 twice@1.0.0 exited 2026-03-09T10:00:00.000001Z window:visit@2026-03-02T10:00:00Z"]
    );
    assert_eq!((s.stats().events, s.stats().late, s.stats().emitted, s.stats().retracted), (2, 1, 2, 0));
}

#[test]
fn a_late_event_retracts_what_is_no_longer_true() {
    let rule = "exists(visit within 7d) and count(refund within 30d) = 0";
    let mut s = stream(&[("happy", "1.0.0", rule)], "2026-03-01T00:00:00Z");
    push(&mut s, "u1", "visit", "2026-03-02T10:00:00Z");
    s.advance(ts("2026-03-02T10:15:00Z")).unwrap();
    assert_eq!(
        show(s.take_records()),
        ["emit u1 happy@1.0.0 entered 2026-03-02T10:00:00Z event:visit@2026-03-02T10:00:00Z"]
    );
    // A refund at 09:30 arrives late (45 min behind the watermark): u1 was never a member.
    assert_eq!(push(&mut s, "u1", "refund", "2026-03-02T09:30:00Z"), Push::Late);
    assert_eq!(
        show(s.take_records()),
        ["retract u1 happy@1.0.0 entered 2026-03-02T10:00:00Z event:visit@2026-03-02T10:00:00Z"]
    );
    s.advance(ts("2026-05-01T00:00:00Z")).unwrap();
    assert!(show(s.take_records()).is_empty());
    assert_eq!(s.stats().retracted, 1);
}

#[test]
fn a_late_event_after_an_entry_adds_the_exit() {
    let rule = "exists(visit within 7d) and count(refund within 30d) = 0";
    let mut s = stream(&[("happy", "1.0.0", rule)], "2026-03-01T00:00:00Z");
    push(&mut s, "u1", "visit", "2026-03-02T10:00:00Z");
    s.advance(ts("2026-03-03T00:00:00Z")).unwrap();
    s.take_records();
    push(&mut s, "u1", "refund", "2026-03-02T23:30:00Z");
    assert_eq!(
        show(s.take_records()),
        ["emit u1 happy@1.0.0 exited 2026-03-02T23:30:00Z event:refund@2026-03-02T23:30:00Z"]
    );
}

#[test]
fn too_late_and_too_far_ahead_are_rejected_and_counted() {
    let mut s = stream(&[("active", "1.0.0", "exists(visit within 7d)")], "2026-03-01T00:00:00Z");
    s.advance(ts("2026-03-10T00:00:00Z")).unwrap();
    // W − L = 03-09T23:00: an event one µs before it is too late, at it is applied.
    let r = push(&mut s, "u1", "visit", "2026-03-09T22:59:59.999999Z");
    assert!(matches!(r, Push::Rejected { reason: "too_late", .. }), "{r:?}");
    assert_eq!(push(&mut s, "u2", "visit", "2026-03-09T23:00:00Z"), Push::Late);
    // W + 7 days is accepted, one µs more is `future`.
    assert_eq!(push(&mut s, "u3", "visit", "2026-03-17T00:00:00Z"), Push::OnTime);
    let r = push(&mut s, "u4", "visit", "2026-03-17T00:00:00.000001Z");
    assert!(matches!(r, Push::Rejected { reason: "future", .. }), "{r:?}");
    assert_eq!((s.stats().too_late, s.stats().future, s.stats().events), (1, 1, 2));
    assert_eq!(
        show(s.take_records()),
        ["emit u2 active@1.0.0 entered 2026-03-09T23:00:00Z event:visit@2026-03-09T23:00:00Z"]
    );
    // A watermark that does not advance is counted and ignored.
    assert!(!s.advance(ts("2026-03-10T00:00:00Z")).unwrap());
    assert!(!s.advance(ts("2026-03-01T00:00:00Z")).unwrap());
    assert_eq!(s.stats().stale_watermarks, 2);
    assert_eq!(s.watermark(), ts("2026-03-10T00:00:00Z"));
}

#[test]
fn initial_profiles_exist_from_the_start() {
    let mut s = stream(
        &[("german", "1.0.0", "country = \"DE\""), ("new", "1.0.0", "not exists(visit)")],
        "2026-03-01T00:00:00Z",
    );
    let mut p = Profile::new("u1");
    p.set_attribute("country", Value::Str("DE".into()));
    s.add_profile(p).unwrap();
    let dup = s.add_profile(Profile::new("u1")).unwrap_err();
    assert_eq!(dup.kind().as_str(), "duplicate_profile_id");
    push(&mut s, "u1", "visit", "2026-03-04T00:00:00Z");
    // An entity seen first through an event exists from that event: `new` holds for no instant.
    push(&mut s, "u2", "visit", "2026-03-05T00:00:00Z");
    s.advance(ts("2026-03-06T00:00:00Z")).unwrap();
    assert_eq!(
        show(s.take_records()),
        [
            "emit u1 german@1.0.0 entered 2026-03-01T00:00:00Z definition",
            "emit u1 new@1.0.0 entered 2026-03-01T00:00:00Z definition",
            "emit u1 new@1.0.0 exited 2026-03-04T00:00:00Z event:visit@2026-03-04T00:00:00Z",
        ]
    );
    assert!(s.add_profile(Profile::new("u9")).is_err(), "profiles after the first event");
}

#[test]
fn a_new_version_takes_effect_at_its_instant() {
    let mut s = stream(&[("active", "1.0.0", "exists(visit within 7d)")], "2026-03-01T00:00:00Z");
    push(&mut s, "u1", "visit", "2026-03-02T10:00:00Z");
    push(&mut s, "u2", "visit", "2026-03-03T20:00:00Z");
    let v2 = registry(&[("active", "2.0.0", "exists(visit within 1d)"), ("any", "1.0.0", "exists(visit)")]);
    let e = ts("2026-03-04T00:00:00Z");
    assert!(s.set_definitions(v2.clone(), ts("2026-03-01T00:00:00Z")).is_err(), "at the watermark");
    s.set_definitions(v2, e).unwrap();
    s.advance(ts("2026-03-20T00:00:00Z")).unwrap();
    // At 03-04T00:00 u1's visit is 38 h old: out of `within 1d`; u2's is 4 h old: still in. `any`
    // is new: both enter. u2 leaves `active` 1 µs after 03-04T20:00 under version 2.
    assert_eq!(
        show(s.take_records()),
        [
            "emit u1 active@1.0.0 entered 2026-03-02T10:00:00Z event:visit@2026-03-02T10:00:00Z",
            "emit u2 active@1.0.0 entered 2026-03-03T20:00:00Z event:visit@2026-03-03T20:00:00Z",
            "emit u1 active@2.0.0 exited 2026-03-04T00:00:00Z definition",
            "emit u1 any@1.0.0 entered 2026-03-04T00:00:00Z definition",
            "emit u2 any@1.0.0 entered 2026-03-04T00:00:00Z definition",
            "emit u2 active@2.0.0 exited 2026-03-04T20:00:00.000001Z window:visit@2026-03-03T20:00:00Z",
        ]
    );
}

#[test]
fn a_removed_segment_exits_its_members() {
    let mut s = stream(&[("a", "1.0.0", "exists(visit)"), ("b", "1.0.0", "exists(visit)")], "2026-03-01T00:00:00Z");
    push(&mut s, "u1", "visit", "2026-03-02T00:00:00Z");
    s.set_definitions(registry(&[("a", "1.0.0", "exists(visit)")]), ts("2026-03-03T00:00:00Z")).unwrap();
    s.advance(ts("2026-03-04T00:00:00Z")).unwrap();
    assert_eq!(
        show(s.take_records()),
        [
            "emit u1 a@1.0.0 entered 2026-03-02T00:00:00Z event:visit@2026-03-02T00:00:00Z",
            "emit u1 b@1.0.0 entered 2026-03-02T00:00:00Z event:visit@2026-03-02T00:00:00Z",
            "emit u1 b@1.0.0 exited 2026-03-03T00:00:00Z definition",
        ]
    );
}

#[test]
fn transition_ids_follow_the_spec() {
    // hashlib.sha256(b"u1\0active\0HASH\01772445600000000\0entered").hexdigest()[:32]
    let id = transition_id("u1", "active", "HASH", 1_772_445_600_000_000, TransitionKind::Entered);
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, "8f5db18dfe876579de8a37464f448a22");
}

#[test]
fn a_restored_snapshot_goes_on_exactly_like_the_original() {
    let rule = "count(visit within 7d) >= 2 and sum(purchase.amount within 30d) > 10";
    let reg = || registry(&[("r", "1.0.0", rule), ("seen", "1.0.0", "exists(visit within 2d)")]);
    let start = ts("2026-03-01T00:00:00Z");
    let mut a = Stream::new(reg(), start, FxRates::new(), StreamConfig::default()).unwrap();
    let events: Vec<(String, &str, i64, i64)> = (0..400)
        .map(|k| {
            let who = format!("u{}", k % 7);
            let name = if k % 3 == 0 { "purchase" } else { "visit" };
            // Mostly in order, every fifth one 20 minutes behind.
            let at =
                start + k * 10_800_000_000 + (k / 40) * 864_000_000_000 - if k % 5 == 4 { 1_200_000_000 } else { 0 };
            (who, name, at, k)
        })
        .collect();
    let feed = |s: &mut Stream, range: std::ops::Range<usize>| {
        for (who, name, at, k) in &events[range] {
            let mut props = std::collections::BTreeMap::new();
            props.insert("amount".into(), Value::Int(*k % 13));
            s.push_event(who, name, *at, props).unwrap();
            s.advance(*at - 600_000_000).unwrap();
        }
    };
    feed(&mut a, 0..200);
    let snap = a.snapshot().unwrap();
    let mut b = Stream::restore(&snap, None, FxRates::new()).unwrap();
    a.take_records();
    assert_eq!(b.watermark(), a.watermark());
    let n: usize = snap["entities"].as_array().unwrap().iter().map(|e| e["events"].as_array().unwrap().len()).sum();
    // The restored stream prunes every entity at once; the original only those it touched.
    assert_eq!(n, a.retained_events());
    assert!(b.retained_events() <= n);
    feed(&mut a, 200..400);
    feed(&mut b, 200..400);
    let end = ts("2026-09-01T00:00:00Z");
    a.advance(end).unwrap();
    b.advance(end).unwrap();
    let (ra, rb) = (show(a.take_records()), show(b.take_records()));
    assert!(ra.len() > 20, "{ra:?}");
    assert_eq!(ra, rb);
    assert_eq!(a.stats(), b.stats());
}

#[test]
fn an_empty_message_is_a_dead_letter_not_a_blank_line() {
    use segcore::store::{StoreConfig, StreamStore};
    let dir = std::env::temp_dir().join(format!("segcore-empty-message-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (mut store, _) =
        StreamStore::open(&dir, registry(&[("a", "1.0.0", "exists(visit)")]), FxRates::new(), StoreConfig::default())
            .unwrap();
    store.push_message(b"").unwrap();
    store.push_message(b"  ").unwrap();
    store.push_line(b"").unwrap();
    assert_eq!((store.dead_letters(), store.malformed(), store.consumed()), (2, 2, 3));
    let dead = std::fs::read_to_string(dir.join("dead-letter.jsonl")).unwrap();
    assert_eq!(dead.matches("an empty message").count(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
