//! Properties over every rule in the conformance suite, and a no-panic sweep over generated and
//! mutated input.

use std::path::Path;

use segcore::{Definition, EvalContext, FxRates, Profile, Segment};

fn suite_rules() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance");
    let mut rules = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    for f in files.iter().filter(|p| p.extension().is_some_and(|e| e == "json")) {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        for case in v["cases"].as_array().unwrap() {
            if let Some(r) = case["rule"].as_str() {
                rules.push(r.to_string());
            }
            for d in case["definitions"].as_array().into_iter().flatten().chain(case.get("definition")) {
                if let Some(r) = d["rule"].as_str() {
                    rules.push(r.to_string());
                }
            }
        }
    }
    rules
}

#[test]
fn print_then_parse_gives_the_same_tree_for_every_suite_rule() {
    let rules = suite_rules();
    let mut parsed = 0;
    for rule in &rules {
        let Ok(ast) = Segment::parse_rule(rule) else {
            continue;
        };
        parsed += 1;
        let printed = segcore::binding::print_rule(&ast);
        let again = Segment::parse_rule(&printed)
            .unwrap_or_else(|e| panic!("formatted rule does not parse:\n  rule: {rule}\n  printed: {printed}\n  {e}"));
        assert_eq!(
            segcore::binding::rule_json(&ast),
            segcore::binding::rule_json(&again),
            "parse(print(ast)) != ast for {rule:?} (printed {printed:?})"
        );
        assert_eq!(segcore::binding::print_rule(&again), printed, "fmt is not idempotent for {rule:?}");
    }
    assert!(parsed > 1000, "expected the suite to hold over 1000 parseable rules, got {parsed}");
}

/// SplitMix64, deterministic across runs.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "age",
    "country",
    "x",
    "a.b",
    "tags[0]",
    "id",
    "as_of",
    "at",
    "1",
    "-1",
    "0",
    "2.5",
    "30d",
    "-7d",
    "500 USD",
    "\"US\"",
    "\"\\u{1F600}\"",
    "\"2026-03-08T02:30:00\"",
    "null",
    "true",
    "false",
    "and",
    "or",
    "not",
    "=",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "in",
    "between",
    "is",
    "exists",
    "contains",
    "matches",
    "\"^a+$\"",
    "within",
    "before",
    "after",
    "where",
    "today",
    "this_month",
    "+",
    "-",
    "*",
    "/",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "count(",
    "sum(",
    "first(",
    "purchase",
    "purchase.amount",
    "lower(",
    "bucket(",
    "semver(",
    "in_segment(",
    "days_since(",
    "cosine_similarity(",
    "round(",
    "\"",
    "#",
    "\n",
    "9223372036854775807",
    "99999999999999999999",
    "1.0000000000000000000000000001",
    "ABCD",
    "é",
    "\u{0}",
];

fn sample_profile() -> Profile {
    Profile::from_json_str(
        r#"{"id": "u1", "attributes": {"age": 30, "country": "US", "x": null, "a": {"b": [1, "two"]},
            "tags": ["p"], "embedding": [0.1, 0.2], "ltv": {"amount": "12.5", "currency": "EUR"}},
            "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z", "properties": {"amount": 12, "sku": "A"}},
                       {"name": "purchase", "at": "2026-03-20T10:00:00Z", "properties": {"amount": "bad"}}]}"#,
    )
    .unwrap()
}

fn fuzz_schema() -> segcore::Schema {
    segcore::Schema::from_json_str(
        r#"{"attributes": {"age": "int", "country": "string", "x": "string", "score": "float", "d": "decimal",
            "ltv": "money", "tags": "list<string>", "signup_at": "timestamp", "born": "date", "v": "semver",
            "ok": "bool", "a": "object"},
            "events": {"purchase": {"amount": "money", "sku": "string", "qty": "int"}, "login": {}}}"#,
    )
    .unwrap()
}

fn exercise(rule: &str, profile: &Profile, cx: &EvalContext) {
    let _ = Segment::parse_rule(rule).map(|ast| segcore::binding::print_rule(&ast));
    if let Ok(seg) = Segment::compile(Definition::new("fuzz", "1.0.0", rule), None) {
        let _ = seg.evaluate(profile, cx);
        let _ = seg.explain(profile, cx);
        to_sql_everywhere(&seg, cx);
    }
    thread_local!(static SCHEMA: segcore::Schema = fuzz_schema());
    let typed = SCHEMA.with(|s| Segment::compile(Definition::new("fuzz", "1.0.0", rule), Some(s)));
    if let Ok(seg) = typed {
        to_sql_everywhere(&seg, cx);
    }
}

/// SQL generation either succeeds or refuses with located diagnostics; it never panics.
fn to_sql_everywhere(seg: &Segment, cx: &EvalContext) {
    for d in segcore::sql::Dialect::ALL {
        let mut opts = segcore::sql::SqlOptions::new(d, cx.as_of);
        opts.fx = cx.fx.clone();
        if let Err(e) = segcore::sql::to_sql(&seg.program(), &opts) {
            assert!(e.diagnostics().iter().all(|d| !d.message.is_empty()));
        }
    }
}

#[test]
fn no_input_panics() {
    let profile = sample_profile();
    let cx = EvalContext::parse("2026-03-15T12:00:00Z")
        .unwrap()
        .with_fx(FxRates::from_json_str(r#"{"EUR/USD": "1.08"}"#).unwrap());
    let mut rng = Rng(42);
    // Token soup.
    for _ in 0..20_000 {
        let n = 1 + rng.below(12);
        let rule: Vec<&str> = (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
        let rule = rule.join(" ");
        let r = std::panic::catch_unwind(|| exercise(&rule, &profile, &cx));
        assert!(r.is_ok(), "panic on rule {rule:?}");
    }
    // Mutations of real rules: delete, duplicate or replace one byte range.
    let rules = suite_rules();
    for i in 0..20_000 {
        let base = &rules[i % rules.len()];
        let mut bytes = base.as_bytes().to_vec();
        if bytes.is_empty() {
            continue;
        }
        let at = rng.below(bytes.len());
        match rng.below(3) {
            0 => {
                bytes.remove(at);
            }
            1 => {
                let b = bytes[at];
                bytes.insert(at, b);
            }
            _ => bytes[at] = b"()[]\"\\.,-+*/=<>#a0 \n"[rng.below(20)],
        }
        let rule = String::from_utf8_lossy(&bytes).into_owned();
        let r = std::panic::catch_unwind(|| exercise(&rule, &profile, &cx));
        assert!(r.is_ok(), "panic on mutated rule {rule:?}");
    }
    // Deep nesting is a limit error, not a stack overflow.
    let deep = "(".repeat(100_000) + "1" + &")".repeat(100_000);
    let err = Segment::parse_rule(&deep).unwrap_err();
    assert_eq!(err.kind().as_str(), "limit_exceeded");
    let nots = "not ".repeat(10_000) + "true";
    assert_eq!(Segment::parse_rule(&nots).unwrap_err().kind().as_str(), "limit_exceeded");
}

#[test]
fn yaml_and_json_spellings_of_a_definition_hash_the_same() {
    let yaml = Definition::from_yaml_str(
        "id: hv\nversion: 1.0.0\ntags: [b, a, b]\ntimezone: UTC\nrule: |\n  (age>=18)\n  and   country = \"US\"\n",
    )
    .unwrap();
    let json = Definition::from_json_str(
        r#"{"rule": "age >= 18 and country = \"US\"", "tags": ["a", "b"], "version": "1.0.0", "id": "hv", "currency": "USD"}"#,
    )
    .unwrap();
    let a = Segment::compile(yaml, None).unwrap();
    let b = Segment::compile(json, None).unwrap();
    assert_eq!(a.canonical_json(), b.canonical_json());
    assert_eq!(a.definition_hash(), b.definition_hash());
    assert!(a.canonical_json().starts_with(r#"{"id":"hv","version":"1.0.0","name":"","description":"","owner":"","status":"active","effective_from":null,"effective_until":null,"timezone":"UTC","currency":"USD","tags":["a","b"],"rule":"#));
}

#[test]
fn several_compile_errors_are_reported_at_once_with_locations() {
    let schema = segcore::Schema::from_json_str(r#"{"attributes": {"age": "int", "country": "string"}}"#).unwrap();
    let def = Definition::new("s", "1.0.0", "agee >= 18 and\n  country = 5 and nope(1)");
    let err = Segment::compile(def, Some(&schema)).unwrap_err();
    let kinds: Vec<(&str, u32, u32)> = err
        .diagnostics()
        .iter()
        .map(|d| (d.kind.as_str(), d.location.unwrap().line, d.location.unwrap().column))
        .collect();
    assert_eq!(kinds, vec![("unknown_field", 1, 1), ("type_mismatch", 2, 3), ("unknown_function", 2, 19)]);
    let text = err.to_string();
    assert!(text.contains("did you mean `age`?"), "{text}");
    assert!(text.contains("^^^^"), "{text}");
}

#[test]
fn explain_names_the_inputs_that_made_a_rule_unknown() {
    let seg =
        Segment::compile(Definition::new("s", "1.0.0", "age >= 18 and country = \"US\" and tier = 1"), None).unwrap();
    let p = Profile::from_json_str(r#"{"id": "u", "attributes": {"age": null, "country": "US"}}"#).unwrap();
    let ex = seg.explain(&p, &EvalContext::parse("2026-01-01T00:00:00Z").unwrap()).unwrap();
    assert_eq!(ex.outcome, segcore::Outcome::Unknown);
    let reasons: Vec<(String, String)> = ex.unknown_inputs.iter().map(|u| (u.path.clone(), u.reason.clone())).collect();
    assert_eq!(reasons, vec![("age".into(), "null".into()), ("tier".into(), "missing".into())]);
    let text = ex.to_string();
    assert!(text.contains("rule is UNKNOWN"), "{text}");
}

#[test]
fn read_set_lists_attributes_events_and_segments() {
    let seg = Segment::compile(
        Definition::new(
            "s",
            "1.0.0",
            "age > 1 and count(purchase where sku = \"a\") > 0 and in_segment(\"vip\") and address.city = \"x\"",
        ),
        None,
    )
    .unwrap();
    let rs = seg.read_set();
    assert_eq!(rs.attributes.iter().collect::<Vec<_>>(), vec!["address", "age"]);
    assert_eq!(rs.events.iter().collect::<Vec<_>>(), vec!["purchase"]);
    assert_eq!(rs.segments.iter().collect::<Vec<_>>(), vec!["vip"]);
    let props: Vec<(&String, Vec<&String>)> =
        rs.event_properties.iter().map(|(e, p)| (e, p.iter().collect())).collect();
    assert_eq!(props, vec![(&"purchase".to_string(), vec![&"sku".to_string()])]);
}

#[test]
fn every_rule_in_the_readme_tour_compiles() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let block = readme.split("```text\n").nth(1).expect("the tour's ```text block").split("```").next().unwrap();
    let mut n = 0;
    for line in block.lines().filter(|l| !l.trim().is_empty()) {
        let rule = line.split("  #").next().unwrap().trim();
        Segment::compile(Definition::new("readme", "1.0.0", rule), None)
            .unwrap_or_else(|e| panic!("README rule does not compile: {rule}\n{e}"));
        n += 1;
    }
    assert!(n >= 10, "expected the README tour to show at least 10 rules, found {n}");
}
