//! The core batch driver: same answers as one-profile evaluation whatever the thread count,
//! unique ids enforced, errors placed at their row, entity and segment.

use segcore::batch::{evaluate, BatchOptions, MembershipRow};
use segcore::{Definition, ErrorKind, EvalContext, FxRates, Outcome, Profile, Registry};

fn registry() -> Registry {
    Registry::from_definitions(
        vec![
            Definition::new("adults", "1.0.0", "age >= 18"),
            Definition::new("big_spenders", "1.0.0", "in_segment(\"adults\") and sum(purchase.amount) > 100"),
            Definition::new("unknown_age", "1.0.0", "age > 200 or age < 0 or age >= 0"),
        ],
        None,
    )
    .unwrap()
}

/// Profile `i`: age `i % 40` (null for every 7th), and `i % 5` purchases of 30.
fn profiles(n: usize) -> Vec<Profile> {
    (0..n)
        .map(|i| {
            let age = if i % 7 == 0 { "null".to_string() } else { (i % 40).to_string() };
            let events: Vec<String> = (0..i % 5)
                .map(|k| {
                    format!(
                        r#"{{"name": "purchase", "at": "2026-01-0{}T00:00:00Z", "properties": {{"amount": 30}}}}"#,
                        k + 1
                    )
                })
                .collect();
            Profile::from_json_str(&format!(
                r#"{{"id": "p{i}", "attributes": {{"age": {age}}}, "events": [{}]}}"#,
                events.join(",")
            ))
            .unwrap()
        })
        .collect()
}

fn cx() -> EvalContext {
    EvalContext::parse("2026-03-15T00:00:00Z").unwrap()
}

#[test]
fn every_thread_count_gives_the_one_profile_answers_in_input_order() {
    let reg = registry();
    let ps = profiles(5000);
    let one = evaluate(reg.program(), &ps, &cx(), &BatchOptions { threads: 1, ..Default::default() }).unwrap();
    let many = evaluate(reg.program(), &ps, &cx(), &BatchOptions { threads: 7, ..Default::default() }).unwrap();
    let rows_one: Vec<MembershipRow> = one.rows().collect();
    let rows_many: Vec<MembershipRow> = many.rows().collect();
    assert_eq!(rows_one, rows_many);
    assert_eq!(rows_one.len(), 5000 * 3);
    for (i, p) in ps.iter().enumerate() {
        let expected = reg.evaluate(p, &cx()).unwrap();
        for (k, (id, outcome)) in expected.into_iter().enumerate() {
            let row = &rows_one[i * 3 + k];
            assert_eq!((row.entity_id, row.segment_id, row.outcome), (p.id(), id, outcome));
            assert_eq!(row.member, outcome == Outcome::True);
        }
    }
    // Hand-counted: p3 (age 3, 3 purchases = 90) is neither adult nor big spender; p24 (age 24,
    // 4 × 30 = 120) is both; p21 (age null) is unknown everywhere `age` decides.
    let find =
        |id: &str, seg: &str| rows_one.iter().find(|r| r.entity_id == id && r.segment_id == seg).unwrap().outcome;
    assert_eq!(find("p3", "adults"), Outcome::False);
    assert_eq!(find("p24", "big_spenders"), Outcome::True);
    assert_eq!(find("p21", "adults"), Outcome::Unknown);
    assert_eq!(find("p21", "big_spenders"), Outcome::False); // in_segment(UNKNOWN) is not membership
    let stats = &many.segments()[0];
    assert_eq!(stats.id, "adults");
    assert_eq!(stats.members, (0..5000).filter(|i| i % 7 != 0 && i % 40 >= 18).count());
    assert_eq!(stats.unknown, (0..5000).filter(|i| i % 7 == 0).count());
}

#[test]
fn a_repeated_id_is_refused_naming_the_second_row() {
    let mut ps = profiles(10);
    ps.push(Profile::from_json_str(r#"{"id": "p4", "attributes": {}}"#).unwrap());
    let err = evaluate(registry().program(), &ps, &cx(), &BatchOptions::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DuplicateProfileId);
    let at = err.first().data.as_deref().unwrap();
    assert_eq!((at.row, at.entity.as_deref()), (Some(10), Some("p4")));
    assert!(err.first().message.contains("rows 4 and 10"), "{}", err.first().message);
}

#[test]
fn an_evaluation_error_names_its_row_entity_and_segment_on_any_thread() {
    let reg = Registry::from_definitions(vec![Definition::new("rich", "1.0.0", "wealth > 10 USD")], None).unwrap();
    let mut ps: Vec<Profile> = (0..3000)
        .map(|i| Profile::from_json_str(&format!(r#"{{"id": "u{i}", "attributes": {{"wealth": "5 USD"}}}}"#)).unwrap())
        .collect();
    ps[2500] = Profile::from_json_str(r#"{"id": "eur", "attributes": {"wealth": "5 EUR"}}"#).unwrap();
    for threads in [1, 4] {
        let err = evaluate(reg.program(), &ps, &cx(), &BatchOptions { threads, ..Default::default() }).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::FxRateMissing);
        let at = err.first().data.as_deref().unwrap();
        assert_eq!((at.row, at.entity.as_deref(), at.segment.as_deref()), (Some(2500), Some("eur"), Some("rich")));
    }
    let with_fx = cx().with_fx(FxRates::from_json_str(r#"{"EUR/USD": "3"}"#).unwrap());
    let m = evaluate(reg.program(), &ps, &with_fx, &BatchOptions::default()).unwrap();
    assert_eq!(m.outcomes(0)[2500], Outcome::True); // 5 EUR = 15 USD
    assert_eq!(m.segments()[0].members, 1);
}
