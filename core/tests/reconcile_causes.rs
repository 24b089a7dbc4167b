//! SPEC §25's causes on a generated scenario with planted differences of every kind: system B uses
//! 60 days instead of 90, evaluates 7 hours later (midnight in Los Angeles instead of UTC), has
//! stale data for some profiles, exports emails instead of user ids (seven of them unknown to the
//! identity map), and lists a few ids its own definition does not give. Each entity belongs to one planted group by construction, so the
//! expected cause comes from the generator, never from segcore.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::Rng;
use segcore::reconcile::{reconcile, Cause, IdentityMap, IdentityOptions, SideInput};
use segcore::{parse_as_of, Definition, FxRates, Profile, Registry, Value};

const DAY: i64 = 86_400_000_000;
const HOUR: i64 = 3_600_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    /// Members of both: a big purchase 20 days ago in both data sets.
    Both,
    /// Nobody's member: small purchases only.
    Neither,
    /// Spent 600 between 90 and 60 days ago: a member under 90 days only (A only, definition).
    Window60,
    /// Spent 600 60 days minus 3 hours before A's as_of: out of B's 60 days 7 hours later (A only, time).
    AgesOut,
    /// A purchase 3 hours after A's as_of: exists at B's as_of only (B only, time).
    Arrives,
    /// B's data lacks the big purchase 10 days ago (stale): A only, data.
    StaleB,
    /// A's data lacks the big purchase B has: B only, data.
    StaleA,
    /// B's export lists a non-member (its pipeline, not its definition): B only, unexplained.
    Phantom,
}

fn event(p: &mut Profile, at: i64, amount: i64) {
    let props = BTreeMap::from([("amount".into(), Value::Int(amount))]);
    p.push_event("purchase", at, props).unwrap();
}

#[test]
fn every_planted_difference_gets_its_cause() {
    let t_a = parse_as_of("2026-03-15T00:00:00Z").unwrap();
    let t_b = parse_as_of("2026-03-15T00:00:00-07:00").unwrap(); // midnight in Los Angeles (PDT)
    assert_eq!(t_b - t_a, 7 * HOUR);
    let reg = Registry::from_definitions(
        vec![
            Definition::new("high_value_90d", "1.0.0", "sum(purchase.amount within 90d) > 500"),
            Definition::new("high_value_60d", "1.0.0", "sum(purchase.amount within 60d) > 500"),
        ],
        None,
    )
    .unwrap();
    let mut rng = Rng(16);
    let n = 20_000;
    let (mut data_a, mut data_b) = (Vec::new(), Vec::new());
    let mut group_of: HashMap<String, Group> = HashMap::new();
    let mut pairs = Vec::new();
    for i in 0..n {
        let id = format!("user:{i:05}");
        let email = format!("email:u{i}@example.com");
        pairs.push((id.clone(), email));
        let g = match rng.below(1000) {
            0..=349 => Group::Both,
            350..=799 => Group::Neither,
            800..=839 => Group::Window60,
            840..=869 => Group::AgesOut,
            870..=899 => Group::Arrives,
            900..=929 => Group::StaleB,
            930..=959 => Group::StaleA,
            960..=979 => Group::Phantom,
            _ => Group::Neither,
        };
        group_of.insert(id.clone(), g);
        let (mut a, mut b) = (Profile::new(id.as_str()), Profile::new(id.as_str()));
        // Background noise nobody qualifies on: 3 × at most 100 within 90 days.
        for _ in 0..3 {
            let at = t_a - (1 + rng.below(85) as i64) * DAY;
            let amount = rng.below(100) as i64;
            event(&mut a, at, amount);
            event(&mut b, at, amount);
        }
        let both = |a: &mut Profile, b: &mut Profile, at: i64, amount: i64| {
            event(a, at, amount);
            event(b, at, amount);
        };
        match g {
            Group::Both => both(&mut a, &mut b, t_a - 20 * DAY, 900),
            Group::Window60 => both(&mut a, &mut b, t_a - 75 * DAY, 600),
            Group::AgesOut => both(&mut a, &mut b, t_a - 60 * DAY + 3 * HOUR, 600),
            Group::Arrives => both(&mut a, &mut b, t_a + 3 * HOUR, 600),
            Group::StaleB => event(&mut a, t_a - 10 * DAY, 900),
            Group::StaleA => event(&mut b, t_a - 10 * DAY, 900),
            Group::Neither | Group::Phantom => {}
        }
        a.finish();
        b.finish();
        data_a.push(a);
        data_b.push(b);
    }
    let map = IdentityMap::from_pairs(pairs, &IdentityOptions { prefer: vec!["user:".into()], ..Default::default() })
        .unwrap();
    // The exports, built from the groups (what each system claims), B's keyed by email.
    let in_a = |g: Group| matches!(g, Group::Both | Group::Window60 | Group::AgesOut | Group::StaleB);
    let in_b = |g: Group| matches!(g, Group::Both | Group::Arrives | Group::StaleA | Group::Phantom);
    let mut ids: Vec<&String> = group_of.keys().collect();
    ids.sort();
    let export_a: Vec<String> = ids.iter().filter(|i| in_a(group_of[**i])).map(|i| i.to_string()).collect();
    let mut export_b: Vec<String> = ids
        .iter()
        .filter(|i| in_b(group_of[**i]))
        .map(|i| format!("email:u{}@example.com", i.trim_start_matches("user:").parse::<u32>().unwrap()))
        .collect();
    for k in 0..7 {
        export_b.push(format!("email:stranger{k}@example.com"));
    }
    let index_a: HashMap<&str, &Profile> = data_a.iter().map(|p| (p.id(), p)).collect();
    let index_b: HashMap<&str, &Profile> = data_b.iter().map(|p| (p.id(), p)).collect();
    let fx = FxRates::new();
    let a = SideInput {
        claimed: Some(&export_a),
        definition: Some((&reg, "high_value_90d")),
        as_of: Some(t_a),
        fx: Some(&fx),
        profiles: Some(&index_a),
    };
    let b = SideInput {
        claimed: Some(&export_b),
        definition: Some((&reg, "high_value_60d")),
        as_of: Some(t_b),
        fx: Some(&fx),
        profiles: Some(&index_b),
    };
    let r = reconcile(&a, &b, Some(&map)).unwrap();

    let expected = |g: Group, only_a: bool| -> Option<Cause> {
        match (g, only_a) {
            (Group::Window60, true) => Some(Cause::Definition),
            (Group::AgesOut, true) | (Group::Arrives, false) => Some(Cause::Time),
            (Group::StaleB, true) | (Group::StaleA, false) => Some(Cause::Data),
            (Group::Phantom, false) => Some(Cause::Unexplained),
            // Members of both: A's user id and B's email differ only by key.
            (Group::Both, _) => Some(Cause::Identity),
            _ => None,
        }
    };
    let mut wrong = Vec::new();
    let mut per_cause: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &r.differences {
        *per_cause.entry(d.cause.as_str()).or_default() += 1;
        let want = if d.raw.starts_with("email:stranger") {
            Some(Cause::Identity)
        } else {
            expected(group_of[&d.id], d.only_a)
        };
        if want != Some(d.cause) {
            wrong.push(format!(
                "{} ({:?}, only_a {}): {:?}, chain {:?}",
                d.raw,
                group_of.get(&d.id),
                d.only_a,
                d.cause,
                d.chain
            ));
        }
    }
    // Every planted entity appears, with its cause (none missed).
    let count = |g: Group| group_of.values().filter(|x| **x == g).count();
    let planted = count(Group::Window60)
        + count(Group::AgesOut)
        + count(Group::Arrives)
        + count(Group::StaleB)
        + count(Group::StaleA)
        + count(Group::Phantom)
        + 2 * count(Group::Both)
        + 7;
    eprintln!("{} differences by cause: {per_cause:?}", r.differences.len());
    assert!(wrong.is_empty(), "{} wrong cause(s), e.g. {:?}", wrong.len(), &wrong[..wrong.len().min(5)]);
    assert_eq!(r.differences.len(), planted);
    assert_eq!(r.both, count(Group::Both) as u64);
    // Time differences name the instant: the purchase leaving B's 60-day window, or arriving.
    for d in r.differences.iter().filter(|d| d.cause == Cause::Time) {
        let c = d.change.as_ref().expect("a time difference names its change");
        assert!(c.at > t_a && c.at <= t_b, "{c:?}");
        let want = if d.only_a { "window" } else { "event" };
        assert_eq!(c.cause.kind.as_str(), want, "{}", d.raw);
    }
    // No data at all: nothing can be evaluated, so every non-identity difference is unexplained.
    let bare_a = SideInput { claimed: Some(&export_a), ..Default::default() };
    let bare_b = SideInput { claimed: Some(&export_b), ..Default::default() };
    let r = reconcile(&bare_a, &bare_b, Some(&map)).unwrap();
    assert!(r.differences.iter().all(|d| matches!(d.cause, Cause::Identity | Cause::Unexplained)));
}

#[test]
fn identity_components_and_canonical_ids_do_not_depend_on_pair_order() {
    let opts =
        IdentityOptions { prefer: vec!["user:".into(), "email:".into()], unique: vec!["user:".into()], strict: false };
    let pairs = vec![
        ("cookie:c1", "email:a@x"),
        ("email:a@x", "user:7"),
        ("device:d", "cookie:c1"),
        ("device:d", "email:a@x"),  // closes a cycle
        ("email:b@x", "email:b@x"), // a self-pair
        ("user:8", "device:d"),     // a second user joins: a conflict
        ("cookie:z", "email:z@x"),
    ];
    let m1 = IdentityMap::from_pairs(pairs.clone(), &opts).unwrap();
    let mut reversed = pairs.clone();
    reversed.reverse();
    let m2 = IdentityMap::from_pairs(reversed.iter().map(|(a, b)| (*b, *a)), &opts).unwrap();
    for id in ["cookie:c1", "email:a@x", "device:d", "user:7", "user:8", "cookie:z", "email:z@x", "email:b@x"] {
        assert_eq!(m1.canonical(id), m2.canonical(id), "{id}");
    }
    assert_eq!(m1.canonical("device:d"), "user:7");
    assert_eq!(m1.canonical("cookie:z"), "email:z@x", "no user id: the preferred email");
    assert_eq!(m1.components(), 3);
    let r = m1.report();
    assert_eq!((r.pairs, r.self_pairs, r.redundant), (7, 1, 1));
    assert_eq!(r.conflicts, vec![("user:7".to_string(), vec!["user:7".to_string(), "user:8".to_string()])]);
    let strict = IdentityOptions { strict: true, ..opts };
    let e = IdentityMap::from_pairs(pairs, &strict).unwrap_err();
    assert_eq!(e.kind().as_str(), "invalid_identity");
    assert!(e.to_string().contains("user:7, user:8"), "{e}");
}

#[test]
fn merged_profiles_take_every_event_and_the_canonical_attributes_first() {
    let map = IdentityMap::from_pairs(
        [("user:1", "email:a@x"), ("email:a@x", "cookie:9")],
        &IdentityOptions { prefer: vec!["user:".into()], ..Default::default() },
    )
    .unwrap();
    let p = |text: &str| Profile::from_json_str(text).unwrap();
    let profiles = vec![
        p(
            r#"{"id": "cookie:9", "attributes": {"age": 40, "device": "ios"}, "events": [{"name": "login", "at": "2026-03-03T00:00:00Z"}]}"#,
        ),
        p(r#"{"id": "user:2", "attributes": {"age": 20}}"#),
        p(
            r#"{"id": "email:a@x", "attributes": {"age": 31, "plan": "pro"}, "events": [{"name": "login", "at": "2026-03-01T00:00:00Z"}]}"#,
        ),
        p(
            r#"{"id": "user:1", "attributes": {"age": 30}, "events": [{"name": "login", "at": "2026-03-02T00:00:00Z"}]}"#,
        ),
    ];
    let (merged, conflicts) = map.merge_profiles(profiles);
    let ids: Vec<&str> = merged.iter().map(|p| p.id()).collect();
    assert_eq!(ids, ["user:1", "user:2"], "in the order first seen, by canonical id");
    let u1 = &merged[0];
    // The canonical profile's age (30); plan from email:a@x, device from cookie:9 (identifier order).
    assert_eq!(u1.attribute("age"), Some(&Value::Int(30)));
    assert_eq!(u1.attribute("plan"), Some(&Value::Str("pro".into())));
    assert_eq!(u1.attribute("device"), Some(&Value::Str("ios".into())));
    assert_eq!(u1.event_count(), 3);
    assert_eq!(u1.events("login").unwrap().ats.windows(2).filter(|w| w[0] <= w[1]).count(), 2, "events sorted by time");
    assert_eq!(conflicts, vec![("user:1".to_string(), "age".to_string())]);
}
