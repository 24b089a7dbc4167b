//! Error messages that tell a new user what to write instead (the kinds and positions are in the
//! conformance suite; these are the hints).

use segcore::{Definition, Segment};

fn message(rule: &str) -> String {
    let err = Segment::compile(Definition::new("a", "1.0.0", rule), None).unwrap_err();
    err.first().message.clone()
}

#[test]
fn uppercase_keywords_and_double_equals_get_a_hint() {
    assert_eq!(
        message("age >= 18 AND plan = \"pro\""),
        "`AND` after an amount: keywords are lowercase (did you mean `and`?)"
    );
    assert_eq!(
        message("vip AND active"),
        "expected end of rule, found `AND` (keywords are lowercase: did you mean `and`?)"
    );
    assert!(message("NOT vip").contains("did you mean `not`?"), "{}", message("NOT vip"));
    assert_eq!(
        message("plan == \"pro\""),
        "expected an expression, found `=` (`==` is not an operator: equality is a single `=`)"
    );
    // An uppercase name that is no keyword gets no hint.
    assert_eq!(message("vip FOO active"), "expected end of rule, found `FOO`");
}

#[test]
fn currency_codes_are_iso_4217() {
    assert_eq!(message("spend > 5 XYZ"), "`XYZ` is not an ISO 4217 currency code (e.g. `500 USD`, `19.99 EUR`)");
    let mut def = Definition::new("a", "1.0.0", "spend > 5 JPY");
    def.currency = "JPY".into();
    assert!(Segment::compile(def.clone(), None).is_ok());
    def.currency = "ABC".into();
    let err = Segment::compile(def, None).unwrap_err();
    assert_eq!(err.first().message, "invalid currency \"ABC\": not an ISO 4217 code (e.g. USD, EUR)");
}

#[test]
fn a_window_read_as_the_aggregates_says_how_to_filter_on_time() {
    let m = message("count(order where at within 7d) > 0");
    assert!(m.starts_with("`where` needs conditions (bool), but this is a timestamp"), "{m}");
    assert!(m.contains("`where (at within 7d)`") && m.contains("`count(e within 7d)`"), "{m}");
}

#[test]
fn explain_shows_the_fx_quote_a_comparison_used() {
    use segcore::{EvalContext, FxRates, Profile};
    let seg = Segment::compile(Definition::new("hv", "1.0.0", "spend > 500 USD"), None).unwrap();
    let p = Profile::from_json_str(r#"{"id": "u1", "attributes": {"spend": "450 EUR"}}"#).unwrap();
    let cx = EvalContext::parse("2026-03-15T00:00:00Z")
        .unwrap()
        .with_fx(FxRates::from_json_str(r#"{"EUR/USD": "1.08"}"#).unwrap());
    let ex = seg.explain(&p, &cx).unwrap();
    // 450 × 1.08 = 486.00 USD, not above 500 USD.
    assert_eq!(ex.root.note.as_deref(), Some("converted to USD at EUR/USD 1.08: 450 EUR = 486.00 USD"));
    assert!(ex.to_string().contains("converted to USD at EUR/USD 1.08"), "{ex}");
    // Same currency: nothing to say.
    let p = Profile::from_json_str(r#"{"id": "u1", "attributes": {"spend": "450 USD"}}"#).unwrap();
    assert_eq!(seg.explain(&p, &cx).unwrap().root.note, None);
}

/// The exception class is decided per kind (SPEC §18, "Error classes"); the kinds found in rule
/// text and in definition fields alike take the class of where they were found.
#[test]
fn error_classes_follow_the_kind_and_where_it_was_found() {
    use segcore::{ErrorClass as C, EvalContext, Phase, Profile};
    let class = |def: Definition| Segment::compile(def, None).unwrap_err().class(Phase::Compile);
    let rule = |text: &str| class(Definition::new("a", "1.0.0", text));

    assert_eq!(rule("age >="), C::Parse);
    assert_eq!(rule("nope(age)"), C::TypeCheck);
    // A bad timestamp literal in the rule is a type error; in `effective_from` a definition error.
    assert_eq!(rule(r#"signup after timestamp("2026-13-01T00:00:00Z")"#), C::TypeCheck);
    let yaml = "id: a\nversion: 1.0.0\nrule: age > 1\neffective_from: 2026-13-01T00:00:00Z\n";
    let err = Definition::from_yaml_str(yaml).unwrap_err();
    assert_eq!(err.first().kind, segcore::ErrorKind::InvalidTimestamp);
    assert_eq!(err.class(Phase::Compile), C::Definition);
    // A currency code: in the rule a type error, as the definition's base currency a definition error.
    assert_eq!(rule("spend > 5 XYZ"), C::TypeCheck);
    let mut def = Definition::new("a", "1.0.0", "age > 1");
    def.currency = "ABC".into();
    assert_eq!(class(def), C::Definition);
    // A rule nested too deep is unreadable text; a rule field over the size limit, like any
    // document over its limit, is a bad definition.
    let deep = format!("{}a{}", "(".repeat(100), ")".repeat(100));
    let err = Segment::compile(Definition::new("a", "1.0.0", deep), None).unwrap_err();
    assert_eq!(err.first().kind, segcore::ErrorKind::LimitExceeded);
    assert_eq!(err.class(Phase::Compile), C::Parse);
    let long = format!("a{}", " or a".repeat(20_000));
    let err = Segment::compile(Definition::new("a", "1.0.0", long), None).unwrap_err();
    assert_eq!(err.first().kind, segcore::ErrorKind::LimitExceeded);
    assert_eq!(err.class(Phase::Compile), C::Definition);

    // Evaluation: bad data is `Data`, good data that cannot be evaluated is `Evaluation`.
    let seg = Segment::compile(Definition::new("a", "1.0.0", "spend > 5 EUR"), None).unwrap();
    let cx = EvalContext::new(0);
    let p = Profile::from_json_str(r#"{"id":"u","attributes":{"spend":{"amount":"9","currency":"USD"}}}"#).unwrap();
    assert_eq!(seg.evaluate(&p, &cx).unwrap_err().class(Phase::Evaluate), C::Evaluation);
    let bad = Profile::from_json_str(r#"{"id":"u","events":[{"name":"x","at":"yesterday"}]}"#).unwrap_err();
    assert_eq!(bad.first().kind, segcore::ErrorKind::InvalidProfile);
    assert_eq!(bad.class(Phase::Evaluate), C::Data);
    assert_eq!(bad.class(Phase::Compile), C::Data);
}
