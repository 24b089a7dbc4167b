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
