//! The fixed half of every harness: a schema, profiles, an evaluation context, and registries of
//! conformance-like segments. Built once per process.

use std::sync::OnceLock;

use segcore::binding::Projection;
use segcore::{Definition, EvalContext, FxRates, Profile, Registry, Schema, Segment};

/// The evaluation instant: half an hour after the US switched to daylight saving time (07:00Z on
/// 2026-03-08), so `today` in America/New_York is a 23-hour day.
pub const AS_OF: &str = "2026-03-08T07:30:00Z";

/// FX quotes into both base currencies the harnesses compile with (USD, EUR), and one pair with a
/// long fraction.
pub const FX: &str = r#"{"EUR/USD": "1.08", "GBP/USD": 1.27, "USD/EUR": "0.9259259259259259259259259259",
    "JPY/USD": "0.0067", "GBP/EUR": "1.17"}"#;

/// Types for every name the fixed profiles and segments use, and a few more.
pub const SCHEMA: &str = r#"{
  "attributes": {
    "age": "int", "country": "string", "x": "string", "y": "int", "z": "int", "score": "float",
    "d": "decimal", "n": "number", "ltv": "money", "balance": "money", "spend": "money",
    "tags": "list<string>", "signup_at": "timestamp", "signup": "timestamp", "born": "date",
    "birthday": "date", "v": "semver", "app_version": "string", "ok": "bool", "a": "object",
    "address": "object", "name": "string", "email": "string", "city": "string",
    "embedding": "list<float>", "delta": "int", "plan": "string"
  },
  "events": {
    "purchase": {"amount": "number", "price": "money", "sku": "string", "qty": "int"},
    "login": {"device": "string", "ok": "bool"},
    "signup": {"plan": "string"},
    "view": {}
  }
}"#;

/// Profiles: a rich one (every type, events around `AS_OF` and the DST switch), an empty one, and
/// one whose values have the wrong types or are null.
pub const PROFILES: &[&str] = &[
    r#"{"id": "u1", "attributes": {
        "age": 30, "country": "US", "x": null, "y": 5, "score": 2.5, "d": "19.99", "n": 7,
        "ltv": {"amount": "12.5", "currency": "EUR"}, "balance": {"amount": "-10", "currency": "USD"},
        "spend": {"amount": "450", "currency": "GBP"}, "tags": ["p", "q"],
        "signup_at": "2025-12-31T23:59:59.999999Z", "signup": "2026-02-01T00:00:00Z",
        "born": "2000-02-29", "birthday": "2000-02-29", "v": "1.2.3-rc.1+build", "app_version": "1.10.0",
        "ok": true, "a": {"b": [1, "two", {"c": null}]}, "address": {"city": "Paris", "zip": "75001"},
        "name": "Ålice ß", "email": "alice@example.com", "city": "Straße", "embedding": [0.1, 0.2, 0.3],
        "delta": -4, "plan": "pro", "big": 9223372036854775807, "huge": 18446744073709551615, "tiny": 1e-300},
      "events": [
        {"name": "purchase", "at": "2026-03-01T10:00:00Z", "properties": {"amount": 12, "price": {"amount": "19.99", "currency": "EUR"}, "sku": "A", "qty": 2}},
        {"name": "purchase", "at": "2026-03-08T06:59:59Z", "properties": {"amount": 30.5, "price": {"amount": "5", "currency": "USD"}, "sku": "B", "qty": 1}},
        {"name": "purchase", "at": "2026-03-08T07:00:00Z", "properties": {"amount": 3, "price": {"amount": "1000", "currency": "JPY"}, "sku": "A"}},
        {"name": "purchase", "at": "2025-11-20T12:00:00+05:30", "properties": {"amount": "bad", "sku": null}},
        {"name": "login", "at": "2026-03-07T23:30:00-05:00", "properties": {"device": "ios", "ok": true}},
        {"name": "login", "at": "2026-03-08T07:29:59.5Z", "properties": {"device": "web"}},
        {"name": "login", "at": "2026-03-09T00:00:00Z", "properties": {"device": "future"}},
        {"name": "signup", "at": "2026-02-01T00:00:00Z", "properties": {"plan": "basic"}},
        {"name": "view", "at": "2026-03-08T07:30:00Z"}
      ]}"#,
    r#"{"id": "u2"}"#,
    r#"{"id": "u3", "attributes": {
        "age": "thirty", "country": null, "score": "NaN", "d": 1.5, "ltv": {"amount": "1", "currency": "XXX"},
        "balance": 3, "tags": null, "signup_at": "yesterday", "born": "2026-02-30", "v": "1.2",
        "a": [], "address": null, "name": 42, "embedding": [], "delta": null},
      "events": [
        {"name": "purchase", "at": "1970-01-01T00:00:00Z", "properties": {"amount": null, "price": {"amount": "-0.01", "currency": "USD"}, "qty": -9223372036854775808}},
        {"name": "login", "at": "9999-12-30T21:00:00Z"}
      ]}"#,
];

/// Conformance-like definitions: (id, timezone, currency, rule). Together they read every kind of
/// value the language has; `refs` depends on two others.
pub const SEGMENTS: &[(&str, &str, &str, &str)] = &[
    ("adults", "UTC", "USD", r#"age >= 18 and country in ["US", "CA"] and not (country = "z")"#),
    ("spenders", "UTC", "USD", "sum(purchase.price within 90d) > 10 USD and spend > 400 EUR"),
    (
        "recent",
        "America/New_York",
        "USD",
        "count(login within 7d) >= 1 and last(login).at after as_of - 2d or count(view within today) > 0",
    ),
    (
        "strings",
        "UTC",
        "USD",
        r#"lower(name) starts_with "å" or email ends_with "@example.com" or name matches "^[A-Z][a-z]+$" or fold(city) = "strasse" or upper(name) contains "SS" or length(name) > 3"#,
    ),
    (
        "times",
        "Europe/Berlin",
        "EUR",
        r#"signup before as_of - 30d and birthday = date("2000-02-29") or hour(last(login).at) >= 22 or day_of_week(as_of) = 7 or days_since(signup) > 10 or signup_at within last_month or start_of_week(as_of) < as_of or start_of_month(as_of) = timestamp("2026-03-01T00:00:00") or start_of_day(as_of) = timestamp("2026-03-08")"#,
    ),
    ("versions", "UTC", "USD", r#"semver(app_version) >= semver("1.2.0") and semver(app_version) < semver("2.0.0-alpha")"#),
    (
        "vectors",
        "UTC",
        "USD",
        "cosine_similarity(embedding, [1, 0, 0]) > 0.2 or euclidean_distance(embedding, [0, 0, 0]) < 2",
    ),
    ("buckets", "UTC", "USD", r#"bucket(id, "exp1") < 0.5"#),
    ("money", "UTC", "EUR", "balance > -5 USD and ltv * 2 >= 25 EUR or 19.99 EUR * 3 = 59.97 EUR"),
    (
        "aggregates",
        "UTC",
        "USD",
        r#"avg(purchase.amount) > 10 and distinct_count(purchase.sku) >= 2 and max(purchase.amount where sku = "A") > 1 and first(purchase).sku = "A" and min(purchase.qty) >= 1 or exists(purchase where price > 10 USD within 30d)"#,
    ),
    ("nested", "UTC", "USD", r#"address.city = "Paris" or tags[0] = "p" or "q" in tags or a.b[1] = "two""#),
    ("refs", "UTC", "USD", r#"in_segment("adults") and not in_segment("buckets")"#),
    ("nulls", "UTC", "USD", "x is null and y exists and not (y = 1) and z is null and y is not null"),
    (
        "arith",
        "UTC",
        "USD",
        "(score + 1.5) / 2 > 1 and abs(delta) between 1 and 10 and round(score) = 3 and floor(-score) < 0 and ceil(score) > 0 and y * 2 - 3 != 0",
    ),
    ("windowed", "Asia/Kolkata", "USD", "count(purchase where amount > 1 within this_week) >= 1 or count(login within yesterday) > 0"),
];

/// Rules for the `context` target: each depends on `as_of`, FX or referenced segments, and reads
/// names the fuzzed schema may type differently.
pub const CONTEXT_RULES: &[(&str, &str)] = &[
    ("c_time", "signup within 30d or last(login).at within this_month or days_since(signup) > 3 or as_of after timestamp(\"2026-01-01\")"),
    ("c_money", "spend > 100 USD and sum(purchase.price) > 5 GBP or ltv < 1000 JPY"),
    ("c_refs", r#"in_segment("vip") or not in_segment("churned")"#),
    ("c_mixed", "age >= 18 and count(purchase where amount > 1 within 90d) >= 1 and score > 1 and \"p\" in tags"),
];

pub fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| Schema::from_json_str(SCHEMA).expect("fixture schema"))
}

pub fn profiles() -> &'static [Profile] {
    static P: OnceLock<Vec<Profile>> = OnceLock::new();
    P.get_or_init(|| PROFILES.iter().map(|p| Profile::from_json_str(p).expect("fixture profile")).collect())
}

/// `AS_OF`, `FX`, and `vip` (a member) / `churned` (not a member) as referenced segments.
pub fn context() -> &'static EvalContext {
    static C: OnceLock<EvalContext> = OnceLock::new();
    C.get_or_init(|| {
        EvalContext::parse(AS_OF)
            .expect("fixture as_of")
            .with_fx(FxRates::from_json_str(FX).expect("fixture FX"))
            .with_segment("vip", true)
            .with_segment("churned", false)
    })
}

fn definitions() -> Vec<Definition> {
    SEGMENTS
        .iter()
        .map(|(id, tz, cur, rule)| {
            let mut d = Definition::new(*id, "1.0.0", *rule);
            d.timezone = tz.to_string();
            d.currency = cur.to_string();
            d
        })
        .collect()
}

/// `SEGMENTS`, untyped.
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        Registry::from_definitions(definitions(), None).unwrap_or_else(|e| panic!("fixture registry: {e}"))
    })
}

/// `SEGMENTS`, typed against `SCHEMA`.
pub fn typed_registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        Registry::from_definitions(definitions(), Some(schema()))
            .unwrap_or_else(|e| panic!("fixture typed registry: {e}"))
    })
}

/// The projection of `registry()`: what the `tape` target decodes.
pub fn projection() -> &'static Projection {
    static P: OnceLock<Projection> = OnceLock::new();
    P.get_or_init(|| Projection::new(registry().layout(), &registry().read_set()))
}

/// `CONTEXT_RULES`, compiled untyped (with a schema, the `context` target compiles them itself).
pub fn context_segments() -> &'static [Segment] {
    static S: OnceLock<Vec<Segment>> = OnceLock::new();
    S.get_or_init(|| {
        CONTEXT_RULES
            .iter()
            .map(|(id, rule)| {
                Segment::compile(Definition::new(*id, "1.0.0", *rule), None)
                    .unwrap_or_else(|e| panic!("fixture context rule {id}: {e}"))
            })
            .collect()
    })
}
