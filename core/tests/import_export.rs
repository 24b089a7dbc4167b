//! `export --to jsonlogic` (SPEC §29.3): generated rules over a typed schema are exported, and the
//! JSON Logic must give segcore's membership on every generated profile. Checked two ways: here by
//! importing the export back (the import is held to json-logic-js itself in import_peers.rs), and
//! by json-logic-js directly (the README's test command runs tests/import/export-check.mjs on the
//! pairs this test writes when `SEGCORE_EXPORT_PAIRS` names a file).

use segcore::import::{export_jsonlogic, import_value, Format, Options};
use segcore::{Definition, ErrorKind, EvalContext, Outcome, Profile, Segment};
use serde_json::{json, Value as J};

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[(self.next() % xs.len() as u64) as usize]
    }
    fn chance(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }
}

fn schema() -> J {
    json!({"attributes": {"age": "int", "score": "float", "name": "string", "vip": "bool", "tags": "list<string>", "user.plan": "string"}})
}

fn leaf(r: &mut Rng) -> String {
    let num_lits = ["0", "17", "18", "-1", "2.5", "1.1", "100"];
    let str_lits = ["\"\"", "\"US\"", "\"a\"", "\"ab\"", "\"é\"", "\"😀\"", "\"pro\""];
    let cmp = ["=", "!=", "<", "<=", ">", ">="];
    match r.next() % 11 {
        0 => format!("age {} {}", r.pick(&cmp), r.pick(&num_lits)),
        1 => format!("score {} {}", r.pick(&cmp), r.pick(&num_lits)),
        2 => format!("name {} {}", r.pick(&cmp), r.pick(&str_lits)),
        3 => format!("user.plan {} {}", r.pick(&["=", "!="]), r.pick(&str_lits)),
        4 => format!("vip {} {}", r.pick(&["=", "!="]), r.pick(&["true", "false"])),
        5 => format!("{} is {}null", r.pick(&["age", "name", "vip", "tags", "score"]), r.pick(&["", "not "])),
        6 => format!(
            "name {} [{}, {}]",
            r.pick(&["in", "not in"]),
            r.pick(&str_lits),
            r.pick(&["\"x\"", "null", "\"US\""])
        ),
        7 => format!("age {} [{}, 18]", r.pick(&["in", "not in"]), r.pick(&num_lits)),
        8 => format!(
            "name {} {}",
            r.pick(&["contains", "starts_with", "ends_with", "not contains", "not starts_with", "not ends_with"]),
            r.pick(&str_lits)
        ),
        9 => format!("age {}between {} and {}", r.pick(&["", "not "]), r.pick(&num_lits), r.pick(&num_lits)),
        _ => format!("{}vip", r.pick(&["", "not "])),
    }
}

fn rule(r: &mut Rng, depth: u32) -> String {
    if depth == 0 || r.chance(3) {
        return leaf(r);
    }
    match r.next() % 3 {
        0 => format!("({} and {})", rule(r, depth - 1), rule(r, depth - 1)),
        1 => format!("({} or {})", rule(r, depth - 1), rule(r, depth - 1)),
        _ => format!("not ({})", rule(r, depth - 1)),
    }
}

fn profile(r: &mut Rng) -> J {
    let mut attrs = serde_json::Map::new();
    let mut put = |r: &mut Rng, k: &str, v: J| {
        match r.next() % 7 {
            0 => {}
            1 => {
                attrs.insert(k.into(), J::Null);
            }
            _ => {
                attrs.insert(k.into(), v);
            }
        };
    };
    let n = [0, 17, 18, 19, -1, 100, 9007199254740993i64];
    let age = *r.pick(&n);
    put(r, "age", json!(age));
    let score = *r.pick(&[0.0, 2.5, 1.1, 17.9, -0.5, 100.0]);
    put(r, "score", json!(score));
    let names = ["", "US", "a", "ab", "xab", "é", "😀", "\u{FFFF}", "pro"];
    let name = *r.pick(&names);
    put(r, "name", json!(name));
    let vip = r.chance(2);
    put(r, "vip", json!(vip));
    let tag = *r.pick(&names);
    put(r, "tags", json!([tag]));
    if !r.chance(4) {
        let plan = *r.pick(&["pro", "free", ""]);
        attrs.insert("user".into(), json!({"plan": plan}));
    }
    json!({"id": "u1", "attributes": attrs})
}

#[test]
fn exported_rules_keep_segcores_membership() {
    let options = Options::new().schema_json(&schema()).unwrap();
    let compile_schema = segcore::Schema::from_json(&json!({"attributes": {"age": "int", "score": "float", "name": "string", "vip": "bool", "tags": "list<string>", "user": "object"}})).unwrap();
    let cx = EvalContext::parse("2026-01-01T00:00:00Z").unwrap();
    let mut r = Rng(0x9e3779b97f4a7c15);
    let (mut exported, mut refused, mut checked, mut round_trips) = (0, 0, 0, 0);
    let mut pairs = vec![];
    for i in 0..1500 {
        let text = rule(&mut r, 3);
        let def = Definition::new("r", "1.0.0", text.as_str());
        let seg = Segment::compile(def.clone(), Some(&compile_schema)).unwrap_or_else(|e| panic!("{text}: {e}"));
        let out = match export_jsonlogic(&def, &options) {
            Ok(o) => o,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::ExportRefused, "{text}: {e}");
                refused += 1;
                continue;
            }
        };
        exported += 1;
        // Back through the importer, where it reads the export (it refuses `substr` over data,
        // which starts_with/ends_with export to: those are checked by json-logic-js only).
        let back = import_value(Format::JsonLogic, &out.rule, &options).unwrap();
        let back_seg = match back.definition {
            Some(d) => {
                round_trips += 1;
                Some(Segment::compile(d, back.schema.as_ref()).unwrap())
            }
            None => None,
        };
        for _ in 0..40 {
            let p = profile(&mut r);
            let prof = Profile::from_json(&p).unwrap();
            let want = seg.evaluate(&prof, &cx).unwrap() == Outcome::True;
            if let Some(back) = &back_seg {
                let got = back.evaluate(&prof, &cx).unwrap() == Outcome::True;
                assert_eq!(got, want, "{text} → {} on {p}", out.rule);
                checked += 1;
            }
            if i % 2 == 0 {
                pairs.push(json!({"segcore": text, "rule": out.rule, "data": p["attributes"], "member": want}));
            }
        }
    }
    eprintln!(
        "export: {exported} rules exported, {refused} refused; {round_trips} import back, {checked} rule × profile pairs agree; {} pairs for json-logic-js",
        pairs.len()
    );
    assert!(exported > 1000, "most generated rules export ({exported})");
    assert_eq!(round_trips, exported, "every export imports back");
    if let Ok(path) = std::env::var("SEGCORE_EXPORT_PAIRS") {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
        let text: String = pairs.iter().map(|p| p.to_string() + "\n").collect();
        std::fs::write(&path, text).unwrap();
    }
}

#[test]
fn what_json_logic_cannot_say_is_refused() {
    let options = Options::new().schema_json(&schema()).unwrap();
    for rule in [
        "count(purchase within 30d) > 1",
        "lower(name) = \"us\"",
        "age + 1 > 18",
        "name matches \"^a\"",
        "age > score",
        "age > 9007199254740993",
        "name < \"\u{FFFF}\"",
        "email = \"x\"",
        "in_segment(\"vip\")",
    ] {
        let e = export_jsonlogic(&Definition::new("r", "1.0.0", rule), &options).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ExportRefused, "{rule}: {e}");
    }
    let mut def = Definition::new("r", "1.0.0", "age > 1");
    def.effective_from = Some(0);
    assert_eq!(export_jsonlogic(&def, &options).unwrap_err().kind(), ErrorKind::ExportRefused);
}
