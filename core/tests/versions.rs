//! Versions of one segment side by side (SPEC §1) through every backend: the batch driver, the
//! columnar engine, SQL generation, explain, timelines against evaluation at each instant, the
//! stream (a handover is a definition change, §23) and bundles. Expectations are worked out from
//! the SPEC text.

use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray};
use segcore::batch::{self, BatchOptions};
use segcore::binding::format_timestamp;
use segcore::columnar;
use segcore::ingest::Columns;
use segcore::stream::{Record, Stream, StreamConfig};
use segcore::{parse_as_of, Definition, EvalContext, FxRates, Profile, Registry};

fn ts(s: &str) -> i64 {
    parse_as_of(s).unwrap()
}

/// `adult` 1.0.0 (18+) until 2026-03-05, then 2.0.0 (21+); `vip` references it.
fn registry() -> Registry {
    registry_in(None)
}

fn registry_in(schema: Option<&segcore::Schema>) -> Registry {
    let mut v2 = Definition::new("adult", "2.0.0", "age >= 21");
    v2.effective_from = Some(ts("2026-03-05T00:00:00Z"));
    Registry::from_definitions(
        vec![
            v2,
            Definition::new("adult", "1.0.0", "age >= 18"),
            Definition::new("vip", "1.0.0", "in_segment(\"adult\") and tier = \"gold\""),
        ],
        schema,
    )
    .unwrap()
}

/// Emitted transitions as `segment@version kind at cause`.
fn emitted(records: Vec<Record>) -> Vec<String> {
    records
        .into_iter()
        .filter_map(|r| match r {
            Record::Emit(t) => Some(format!(
                "{}@{} {} {} {}",
                t.definition.segment,
                t.definition.version,
                t.kind.as_str(),
                format_timestamp(t.at),
                t.cause.kind.as_str()
            )),
            _ => None,
        })
        .collect()
}

fn profile(age: i64) -> Profile {
    Profile::from_json_str(&format!(r#"{{"id": "u{age}", "attributes": {{"age": {age}, "tier": "gold"}}}}"#)).unwrap()
}

#[test]
fn the_registry_shows_its_latest_versions_and_keeps_every_one() {
    let reg = registry();
    assert_eq!(reg.len(), 2);
    assert_eq!(reg.get("adult").unwrap().version(), "2.0.0");
    let all: Vec<String> = reg.versions().iter().map(|s| format!("{}@{}", s.id(), s.version())).collect();
    assert_eq!(all, ["adult@1.0.0", "adult@2.0.0", "vip@1.0.0"]);
    assert_eq!(reg.get_at("adult", ts("2026-03-04T23:59:59.999999Z")).unwrap().version(), "1.0.0");
    assert_eq!(reg.get_at("adult", ts("2026-03-05T00:00:00Z")).unwrap().version(), "2.0.0");
    assert_eq!(reg.program().version_changes().collect::<Vec<_>>(), [ts("2026-03-05T00:00:00Z")]);
}

#[test]
fn batch_rows_carry_the_version_in_force() {
    let reg = registry();
    let people = [profile(19), profile(30)];
    for (as_of, version, members) in
        [("2026-03-04T12:00:00Z", "1.0.0", [true, true]), ("2026-03-05T00:00:00Z", "2.0.0", [false, true])]
    {
        let cx = EvalContext::parse(as_of).unwrap();
        let m = batch::evaluate(reg.program(), &people, &cx, &BatchOptions::default()).unwrap();
        let adult: Vec<_> = m.rows().filter(|r| r.segment_id == "adult").collect();
        assert!(adult.iter().all(|r| r.version == version), "{as_of}");
        assert_eq!(adult.iter().map(|r| r.member).collect::<Vec<_>>(), members, "{as_of}");
        // vip follows the version of `adult` in force.
        let vip: Vec<bool> = m.rows().filter(|r| r.segment_id == "vip").map(|r| r.member).collect();
        assert_eq!(vip, members, "{as_of}");
        let hash = reg.get_at("adult", cx.as_of).unwrap().definition_hash().to_string();
        assert!(adult.iter().all(|r| r.definition_hash == hash));
    }
}

#[test]
fn the_columnar_engine_agrees() {
    let reg = registry();
    let batch_in = RecordBatch::try_from_iter(vec![
        ("id", Arc::new(StringArray::from(vec!["a", "b", "c"])) as _),
        ("age", Arc::new(Int64Array::from(vec![Some(19), Some(30), None])) as _),
        ("tier", Arc::new(StringArray::from(vec!["gold", "gold", "gold"])) as _),
    ])
    .unwrap();
    for (as_of, adult, version) in [
        ("2026-03-04T12:00:00Z", ["true", "true", "unknown"], "1.0.0"),
        ("2026-03-06T00:00:00Z", ["false", "true", "unknown"], "2.0.0"),
    ] {
        let cx = EvalContext::parse(as_of).unwrap();
        let m = columnar::evaluate(
            reg.program(),
            std::slice::from_ref(&batch_in),
            None,
            &Columns::default(),
            &cx,
            &Default::default(),
        )
        .unwrap();
        let got: Vec<&str> = m.outcomes(0).iter().map(|o| o.as_str()).collect();
        assert_eq!(got, adult, "{as_of}");
        assert_eq!(m.segments()[0].version, version);
    }
}

#[test]
fn sql_is_generated_for_the_versions_in_force_at_its_as_of() {
    let schema = segcore::Schema::from_yaml_str("attributes:\n  age: int\n  tier: string\n").unwrap();
    let reg = registry_in(Some(&schema));
    let mut opts =
        segcore::sql::SqlOptions::from_context("duckdb", &EvalContext::parse("2026-03-04T00:00:00Z").unwrap()).unwrap();
    let before = segcore::sql::to_sql(reg.program(), &opts).unwrap().sql;
    opts.as_of = ts("2026-03-05T00:00:00Z");
    let after = segcore::sql::to_sql(reg.program(), &opts).unwrap().sql;
    assert!(before.contains("'1.0.0'") && before.contains(">= 18") && !before.contains(">= 21"), "{before}");
    assert!(after.contains("'2.0.0'") && after.contains(">= 21") && !after.contains(">= 18"), "{after}");
}

#[test]
fn explain_shows_the_version_in_force() {
    let reg = registry();
    let p = profile(19);
    let before = reg.explain("adult", &p, &EvalContext::parse("2026-03-04T00:00:00Z").unwrap()).unwrap();
    let after = reg.explain("adult", &p, &EvalContext::parse("2026-03-05T00:00:00Z").unwrap()).unwrap();
    assert_eq!((before.outcome.as_str(), after.outcome.as_str()), ("true", "false"));
    assert_eq!((before.version.as_str(), after.version.as_str()), ("1.0.0", "2.0.0"));
}

#[test]
fn timelines_equal_evaluation_at_every_instant_around_handovers() {
    // Three versions with a gap, a reference, and an event window crossing the handovers.
    let mk = |v: &str, from: Option<&str>, until: Option<&str>, rule: &str| {
        let mut d = Definition::new("spend", v, rule);
        d.effective_from = from.map(ts);
        d.effective_until = until.map(ts);
        d
    };
    let reg = Registry::from_definitions(
        vec![
            mk("1.0.0", None, Some("2026-03-10T00:00:00Z"), "sum(buy.amount within 7d) > 10"),
            mk("1.1.0", Some("2026-03-12T00:00:00Z"), None, "sum(buy.amount within 3d) > 10"),
            mk("2.0.0", Some("2026-03-20T00:00:00Z"), None, "count(buy within 30d) >= 2"),
            Definition::new("ref", "1.0.0", "not in_segment(\"spend\")"),
        ],
        None,
    )
    .unwrap();
    let p = Profile::from_json_str(
        r#"{"id": "u", "events": [
            {"name": "buy", "at": "2026-03-05T06:00:00Z", "properties": {"amount": 20}},
            {"name": "buy", "at": "2026-03-11T06:00:00Z", "properties": {"amount": 20}},
            {"name": "buy", "at": "2026-03-18T06:00:00Z", "properties": {"amount": 5}}]}"#,
    )
    .unwrap();
    let (from, to) = (ts("2026-03-01T00:00:00Z"), ts("2026-04-20T00:00:00Z"));
    let cx = EvalContext::new(from);
    for target in ["spend", "ref"] {
        let tl = reg.program().timeline(target, &p, from, to, &cx).unwrap();
        let outcome_at = |t: i64| {
            let mut o = tl.outcome;
            for c in &tl.changes {
                if c.at <= t {
                    o = c.outcome;
                }
            }
            o
        };
        // Every hour, and every change and handover ±1 µs.
        let mut instants: Vec<i64> = (0..).map(|h| from + h * 3_600_000_000).take_while(|&t| t < to).collect();
        for c in &tl.changes {
            instants.extend([c.at - 1, c.at, c.at + 1]);
        }
        for t in ["2026-03-10T00:00:00Z", "2026-03-12T00:00:00Z", "2026-03-20T00:00:00Z"].map(ts) {
            instants.extend([t - 1, t, t + 1]);
        }
        for t in instants {
            let direct = reg.evaluate_one(target, &p, &EvalContext::new(t)).unwrap();
            assert_eq!(outcome_at(t), direct, "{target} at {}", format_timestamp(t));
        }
        // Each change is a real change.
        let mut prev = tl.outcome;
        for c in &tl.changes {
            assert_ne!(c.outcome, prev, "{target}: {c:?}");
            prev = c.outcome;
        }
    }
    // Hand-derived: 03-05T06 buy (20 > 10, v1) enters; v1's effective_until 03-10 exits; v1.1 at
    // 03-12 (3 days: the 03-11 buy) enters; the 03-11 buy leaves 3d at 03-14T06+1µs; v2 at 03-20
    // (count in 30d: 3 buys ≥ 2) enters; the 03-05 buy leaves 30d at 04-04T06+1µs (2 left, still ≥ 2);
    // the 03-11 buy at 04-10T06+1µs (1 left) exits.
    let tl = reg.program().timeline("spend", &p, from, to, &cx).unwrap();
    let got: Vec<String> = tl
        .changes
        .iter()
        .map(|c| format!("{} {} {}", format_timestamp(c.at), c.outcome.as_str(), c.cause.kind.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            "2026-03-05T06:00:00Z true event",
            "2026-03-10T00:00:00Z false effective",
            "2026-03-12T00:00:00Z true effective",
            "2026-03-14T06:00:00.000001Z false window",
            "2026-03-20T00:00:00Z true effective",
            "2026-04-10T06:00:00.000001Z false window",
        ]
    );
}

#[test]
fn a_stream_runs_a_handover_as_a_definition_change() {
    let mut v2 = Definition::new("active", "2.0.0", "exists(visit within 2d)");
    v2.effective_from = Some(ts("2026-03-05T00:00:00Z"));
    let reg = Registry::from_definitions(vec![Definition::new("active", "1.0.0", "exists(visit within 7d)"), v2], None)
        .unwrap();
    let mut s = Stream::new(reg, ts("2026-03-01T00:00:00Z"), FxRates::new(), StreamConfig::default()).unwrap();
    s.push_event("u1", "visit", ts("2026-03-02T10:00:00Z"), Default::default()).unwrap();
    s.advance(ts("2026-03-20T00:00:00Z")).unwrap();
    let got = emitted(s.take_records());
    // 7 days from 03-02T10 would hold until 03-09; at the handover (03-05) two days have passed
    // since 03-04T10: under 2.0.0 it is no member — a definition change (§23), carrying 2.0.0.
    assert_eq!(
        got,
        ["active@1.0.0 entered 2026-03-02T10:00:00Z event", "active@2.0.0 exited 2026-03-05T00:00:00Z definition"]
    );
}

#[test]
fn bundles_carry_every_version() {
    let reg = registry();
    let text = reg.to_bundle(0);
    let back = Registry::from_bundle(&text).unwrap();
    assert_eq!(back.bundle_hash(), reg.bundle_hash());
    let versions = |r: &Registry| r.versions().iter().map(|s| s.definition_hash().to_string()).collect::<Vec<_>>();
    assert_eq!(versions(&back), versions(&reg));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let listed: Vec<&str> =
        v["definitions"].as_array().unwrap().iter().map(|d| d["version"].as_str().unwrap()).collect();
    assert_eq!(listed, ["1.0.0", "2.0.0", "1.0.0"]);
    // Dropping the scheduled version changes the hash.
    let only_v1 = Registry::from_definitions(
        vec![
            Definition::new("adult", "1.0.0", "age >= 18"),
            Definition::new("vip", "1.0.0", "in_segment(\"adult\") and tier = \"gold\""),
        ],
        None,
    )
    .unwrap();
    assert_ne!(only_v1.bundle_hash(), reg.bundle_hash());
}

#[test]
fn new_definitions_with_versions_side_by_side_hand_over_in_a_running_stream() {
    let v1 = Definition::new("active", "1.0.0", "exists(visit within 7d)");
    let mut v2 = Definition::new("active", "2.0.0", "exists(visit within 2d)");
    v2.effective_from = Some(ts("2026-03-05T00:00:00Z"));
    let start = Registry::from_definitions(vec![v1.clone()], None).unwrap();
    let mut s = Stream::new(start, ts("2026-03-01T00:00:00Z"), FxRates::new(), StreamConfig::default()).unwrap();
    s.push_event("u1", "visit", ts("2026-03-02T10:00:00Z"), Default::default()).unwrap();
    s.advance(ts("2026-03-03T00:00:00Z")).unwrap();
    // The same 1.0.0 plus 2.0.0 scheduled for 03-05: until then 1.0.0 stays in force (and is
    // what transitions carry); the handover is a definition change at its instant.
    let both = Registry::from_definitions(vec![v1, v2], None).unwrap();
    s.set_definitions(both, ts("2026-03-03T00:00:00.000001Z")).unwrap();
    assert_eq!(s.current_hashes().len(), 1);
    s.advance(ts("2026-03-20T00:00:00Z")).unwrap();
    let got = emitted(s.take_records());
    assert_eq!(
        got,
        ["active@1.0.0 entered 2026-03-02T10:00:00Z event", "active@2.0.0 exited 2026-03-05T00:00:00Z definition"]
    );
}
