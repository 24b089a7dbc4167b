//! Unleash feature toggles → segcore (SPEC §29.4): a toggle's strategies, constraints and
//! segments as yggdrasil (Unleash's engine) evaluates them, over the cases of every context field
//! a constraint reads ([`cases`](super::cases)). A toggle yggdrasil cannot compile (an unknown
//! operator, a missing segment, an empty string list…) is always off, and imports as `false`.

use serde_json::Value as J;

use super::cases::{number_literal, refuse, step, string_literal, Kind, Pr, Tr, Translation, V};
use super::formula::Guard;
use super::js::Js;
use super::{Assumption, ImportSchema, Refusal};

/// Why a toggle compiles to "always off" in yggdrasil.
struct Off;

/// Translates the toggle `name` (or the only feature) of an Unleash state document.
pub(crate) fn translate(source: &J, toggle: Option<&str>, schema: &ImportSchema) -> Result<Translation, Refusal> {
    let (feature, ptr, segments) = find(source, toggle)?;
    let mut tr = Tr::new(schema);
    let members = match toggle_cases(&mut tr, feature, &ptr, segments)? {
        Ok(cases) => cases.into_iter().filter(|(_, t)| *t).map(|(g, _)| g).collect(),
        Err(Off) => vec![],
    };
    Ok(tr.finish(members))
}

/// The feature, its JSON pointer, and the document's segments.
fn find<'a>(source: &'a J, toggle: Option<&str>) -> Result<(&'a J, String, &'a [J]), Refusal> {
    let no_segments: &[J] = &[];
    match source.get("features") {
        Some(J::Array(features)) => {
            let segments = source.get("segments").and_then(J::as_array).map_or(no_segments, Vec::as_slice);
            let index = match toggle {
                Some(name) => {
                    features.iter().position(|f| f.get("name").and_then(J::as_str) == Some(name)).ok_or_else(|| {
                        refuse("/features", "toggle", format!("no feature named `{name}` in the document"))
                    })?
                }
                None if features.len() == 1 => 0,
                None => {
                    return Err(refuse("/features", "toggle", "several features: name the one to import (`--toggle`)"))
                }
            };
            Ok((&features[index], format!("/features/{index}"), segments))
        }
        _ if source.get("strategies").is_some() || source.get("enabled").is_some() => {
            Ok((source, String::new(), no_segments))
        }
        _ => Err(refuse("", "document", "an Unleash document has `features` (and `segments`), or is one feature")),
    }
}

fn toggle_cases(
    tr: &mut Tr<'_>,
    feature: &J,
    ptr: &str,
    segments: &[J],
) -> Result<Result<Vec<(Guard, bool)>, Off>, Refusal> {
    if feature.get("enabled") == Some(&J::Bool(false)) {
        return Ok(Ok(vec![(Guard::default(), false)]));
    }
    if let Some(deps) = feature.get("dependencies").and_then(J::as_array) {
        if !deps.is_empty() {
            return Err(refuse(&step(ptr, "dependencies"), "dependencies", "dependent features are not imported yet"));
        }
    }
    let strategies = match feature.get("strategies") {
        Some(J::Array(s)) => s.as_slice(),
        _ => &[],
    };
    // No strategy: on.
    if strategies.is_empty() {
        return Ok(Ok(vec![(Guard::default(), true)]));
    }
    let sptr = step(ptr, "strategies");
    // The toggle is the `or` of its strategies; each is the `and` of its own test, its
    // constraints and its segments' constraints.
    let mut plan = vec![];
    for (i, s) in strategies.iter().enumerate() {
        let at = step(&sptr, &i.to_string());
        let mut parts = vec![strategy(s, &at)?];
        if let Some(J::Array(cs)) = s.get("constraints") {
            for (j, c) in cs.iter().enumerate() {
                parts.push(Part::Constraint(c.clone(), step(&step(&at, "constraints"), &j.to_string())));
            }
        }
        if let Some(J::Array(ids)) = s.get("segments") {
            for id in ids {
                let Some((k, seg)) = segments.iter().enumerate().find(|(_, g)| g.get("id") == Some(id)) else {
                    return Ok(Err(Off)); // a missing segment: the toggle does not compile
                };
                if let Some(J::Array(cs)) = seg.get("constraints") {
                    for (j, c) in cs.iter().enumerate() {
                        parts.push(Part::Constraint(c.clone(), format!("/segments/{k}/constraints/{j}")));
                    }
                }
            }
        }
        plan.push((at, parts));
    }
    // yggdrasil compiles the whole toggle before evaluating any of it: one constraint it cannot
    // compile turns the toggle off, even where an earlier strategy decides; and a constraint
    // segcore cannot translate is refused wherever it is (it may not compile there either).
    let constraints = || {
        plan.iter().flat_map(|(_, parts)| parts).filter_map(|p| match p {
            Part::Constraint(c, at) => Some((c, at)),
            Part::Const(_) => None,
        })
    };
    let mut refused = None;
    for (c, at) in constraints() {
        match precheck(c, at) {
            Check::Off => return Ok(Err(Off)),
            Check::Refused(r) => {
                refused.get_or_insert(r);
            }
            Check::Ok => {}
        }
    }
    if let Some(r) = refused {
        return Err(r);
    }
    let mut out = vec![];
    let mut open = vec![Guard::default()];
    for (at, parts) in &plan {
        let mut next = vec![];
        for g in &open {
            match all(tr, parts, g)? {
                Ok(cases) => {
                    for (g2, t) in cases {
                        if t {
                            out.push((g2, true));
                        } else {
                            next.push(g2);
                        }
                    }
                }
                Err(Off) => return Ok(Err(Off)),
            }
            tr.check_size(at, out.len() + next.len())?;
        }
        open = next;
    }
    out.extend(open.into_iter().map(|g| (g, false)));
    Ok(Ok(out))
}

enum Part {
    Const(bool),
    Constraint(J, String),
}

/// A strategy's own test (before its constraints).
fn strategy(s: &J, ptr: &str) -> Result<Part, Refusal> {
    let name = s.get("name").and_then(J::as_str).unwrap_or("");
    let param = |k: &str| s.get("parameters").and_then(|p| p.get(k)).and_then(J::as_str);
    match name {
        "default" => Ok(Part::Const(true)),
        "flexibleRollout" => {
            let stickiness = param("stickiness").unwrap_or("default");
            if stickiness != "default" {
                return Err(refuse(
                    ptr,
                    name,
                    "a custom stickiness (the rollout hashes it with murmur3, segcore's bucketing is SHA-256)",
                ));
            }
            // yggdrasil pastes the group id into its rule text: a quote or a trailing backslash
            // breaks it there.
            if param("groupId").is_some_and(|g| g.contains('"') || g.ends_with('\\')) {
                return Err(refuse(ptr, name, "a group id yggdrasil's rule text cannot hold"));
            }
            match param("rollout") {
                Some("100") => Ok(Part::Const(true)),
                Some("0") => Ok(Part::Const(false)),
                _ => Err(refuse(ptr, name, "a partial rollout or an unusual spelling of one (murmur3 buckets; segcore's `bucket` is SHA-256, SPEC §13)")),
            }
        }
        "userWithId" => {
            // Without `userIds` the strategy is off.
            let Some(ids) = param("userIds") else { return Ok(Part::Const(false)) };
            let ids: Vec<String> = ids.split(',').map(|x| x.trim().to_string()).collect();
            let c = serde_json::json!({"contextName": "userId", "operator": "IN", "values": ids});
            Ok(Part::Constraint(c, ptr.to_string()))
        }
        other => Err(refuse(ptr, other, "a strategy other than default, userWithId and flexibleRollout at 0% or 100%")),
    }
}

/// The `and` of the parts under `g`.
fn all(tr: &mut Tr<'_>, parts: &[Part], g: &Guard) -> Result<Result<Vec<(Guard, bool)>, Off>, Refusal> {
    let mut out = vec![];
    let mut open = vec![g.clone()];
    for p in parts {
        let mut next = vec![];
        for g1 in &open {
            let cases = match p {
                Part::Const(b) => vec![(g1.clone(), *b)],
                Part::Constraint(c, ptr) => match constraint(tr, c, ptr, g1)? {
                    Ok(cases) => cases,
                    Err(Off) => return Ok(Err(Off)),
                },
            };
            for (g2, t) in cases {
                if t {
                    next.push(g2);
                } else {
                    out.push((g2, false));
                }
            }
        }
        open = next;
    }
    out.extend(open.into_iter().map(|g| (g, true)));
    Ok(Ok(out))
}

/// The shape of a constraint value decides the comparison (yggdrasil's grammar tries a date,
/// then a version, then a number).
enum Shape {
    Version(String),
    Number(f64),
}

fn shape(v: &str) -> Option<Shape> {
    if crate::semver::Version::parse(v).is_some() {
        return Some(Shape::Version(v.to_string()));
    }
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let body = v.strip_prefix('-').unwrap_or(v);
    let numeric = match body.split_once('.') {
        Some((a, b)) => digits(a) && digits(b),
        None => digits(body),
    };
    numeric.then(|| v.parse().ok().map(Shape::Number)).flatten()
}

/// What can be told of a constraint without reading data.
enum Check {
    Ok,
    /// yggdrasil does not compile it: the toggle is always off.
    Off,
    Refused(Refusal),
}

/// The checks of [`constraint`] that do not depend on data, for every constraint of the toggle.
fn precheck(c: &J, ptr: &str) -> Check {
    let op = c.get("operator").and_then(J::as_str).unwrap_or("");
    let name = c.get("contextName").and_then(J::as_str).unwrap_or("");
    let insensitive = c.get("caseInsensitive").and_then(J::as_bool).unwrap_or(false);
    let values: Vec<&str> =
        c.get("values").and_then(J::as_array).map_or(vec![], |v| v.iter().filter_map(J::as_str).collect());
    let value = c.get("value").and_then(J::as_str);
    if values.iter().copied().chain(value).any(|v| v.ends_with('\\')) {
        return Check::Off;
    }
    match op {
        "IN" | "NOT_IN" | "STR_STARTS_WITH" | "STR_ENDS_WITH" | "STR_CONTAINS" | "REGEX" | "SEMVER_EQ"
        | "SEMVER_GT" | "SEMVER_GTE" | "SEMVER_LT" | "SEMVER_LTE" | "NUM_EQ" | "NUM_GT" | "NUM_GTE" | "NUM_LT"
        | "NUM_LTE" => {}
        "DATE_AFTER" | "DATE_BEFORE" | "IN_CIDR" => {}
        _ => return Check::Off,
    }
    if op.starts_with("STR_") && values.is_empty() {
        return Check::Off;
    }
    if name == "currentTime" {
        return Check::Refused(refuse(
            ptr,
            op,
            "`currentTime`: yggdrasil reads the wall clock when the context has none",
        ));
    }
    match op {
        "DATE_AFTER" | "DATE_BEFORE" => {
            return Check::Refused(refuse(ptr, op, "dates: yggdrasil reads the wall clock when `currentTime` is absent, and parses dates more leniently than segcore"))
        }
        "IN_CIDR" => return Check::Refused(refuse(ptr, op, "IP networks: segcore has no IP address type")),
        _ => {}
    }
    let ordered = op.starts_with("SEMVER_") || op.starts_with("NUM_");
    let v_literal = op.starts_with("SEMVER_") && value.is_some_and(|v| v.starts_with('v'));
    if ordered && !v_literal {
        match value.and_then(shape) {
            None => {
                // yggdrasil pastes the value into its rule text and reads what its grammar makes
                // of it (a date, `+5`, `5e0`, `1.2.3 `, even more rule): only the plain shapes import.
                return Check::Refused(refuse(ptr, op, "a value that is not a plain version or decimal number (yggdrasil reads it through its rule grammar)"));
            }
            Some(Shape::Version(v)) => {
                // segcore orders a numeric pre-release identifier beyond 64 bits as text (SPEC §15),
                // the semver crate as a number, below every alphanumeric one. Against a literal
                // identifier that is a number or starts with a letter both orders agree; against
                // one starting with a digit or `-` (or a number beyond 64 bits) they need not.
                let odd = crate::semver::Version::parse(&v).is_some_and(|p| {
                    p.pre.iter().any(|id| match id {
                        crate::semver::PreId::Alpha(a) => !a.starts_with(|c: char| c.is_ascii_alphabetic()),
                        crate::semver::PreId::Num(_) => false,
                    })
                });
                if odd {
                    return Check::Refused(refuse(ptr, op, "a pre-release identifier starting with a digit or `-`, or a number beyond 64 bits (segcore and the semver crate may order data against it differently)"));
                }
            }
            Some(Shape::Number(_)) => {}
        }
    }
    if op == "REGEX" {
        let pattern = value.unwrap_or("");
        // The size first: compiling is the costly part, and only an oversized pattern needs it.
        if pattern.len() + if insensitive { 4 } else { 0 } > crate::limits::MAX_REGEX_BYTES
            && regex::RegexBuilder::new(pattern).case_insensitive(insensitive).build().is_ok()
        {
            return Check::Refused(refuse(ptr, op, "a pattern over segcore's regex size limit (SPEC §19)"));
        }
    }
    Check::Ok
}

/// One constraint under `g`: its cases (true/false), or the toggle compiles to off.
fn constraint(tr: &mut Tr<'_>, c: &J, ptr: &str, g: &Guard) -> Result<Result<Vec<(Guard, bool)>, Off>, Refusal> {
    // What does not depend on data was checked for the whole toggle first (`precheck`); checked
    // again here so this function stands on its own.
    match precheck(c, ptr) {
        Check::Off => return Ok(Err(Off)),
        Check::Refused(r) => return Err(r),
        Check::Ok => {}
    }
    let op = c.get("operator").and_then(J::as_str).unwrap_or("");
    let name = c.get("contextName").and_then(J::as_str).unwrap_or("");
    let inverted = c.get("inverted").and_then(J::as_bool).unwrap_or(false);
    let insensitive = c.get("caseInsensitive").and_then(J::as_bool).unwrap_or(false);
    let values: Vec<String> = c
        .get("values")
        .and_then(J::as_array)
        .map_or(vec![], |v| v.iter().filter_map(|x| x.as_str().map(str::to_string)).collect());
    let value = c.get("value").and_then(J::as_str).map(str::to_string);
    // SEMVER_* with a `v` literal is the constant `false`, inversion ignored.
    if op.starts_with("SEMVER_") && value.as_deref().is_some_and(|v| v.starts_with('v')) {
        return Ok(Ok(vec![(g.clone(), false)]));
    }
    let cmp = match op {
        "SEMVER_EQ" | "NUM_EQ" => "=",
        "SEMVER_GT" | "NUM_GT" => ">",
        "SEMVER_GTE" | "NUM_GTE" => ">=",
        "SEMVER_LT" | "NUM_LT" => "<",
        _ => "<=",
    };
    let ordered = op.starts_with("SEMVER_") || op.starts_with("NUM_");
    let shaped = if ordered {
        match value.as_deref().and_then(shape) {
            Some(s) => Some(s),
            None => {
                // yggdrasil pastes the value into its rule text and reads what its grammar makes
                // of it (a date, `+5`, `5e0`, `1.2.3 `, even more rule): only the plain shapes import.
                return Err(refuse(ptr, op, "a value that is not a plain version or decimal number (yggdrasil reads it through its rule grammar)"));
            }
        }
    } else {
        None
    };
    // A pattern the regex crate rejects is the constant false whatever the field: nothing is read.
    if op == "REGEX" {
        let pattern = value.as_deref().unwrap_or("");
        if regex::RegexBuilder::new(pattern).case_insensitive(insensitive).build().is_err() {
            return Ok(Ok(vec![(g.clone(), inverted)]));
        }
        if pattern.len() + if insensitive { 4 } else { 0 } > crate::limits::MAX_REGEX_BYTES {
            return Err(refuse(ptr, op, "a pattern over segcore's regex size limit (SPEC §19)"));
        }
    }
    let mut out = vec![];
    for (g1, v) in tr.read(ptr, "constraint", name, None, g)? {
        let p = match v {
            // A missing field: IN and the others false, NOT_IN true.
            V::C(Js::Null) => Pr::Const(op == "NOT_IN"),
            V::C(_) => return Err(refuse(ptr, op, "a boolean context field (Unleash's context holds strings)")),
            V::T(t) => {
                let string = t.kind == Kind::Str;
                match (op, &shaped) {
                    ("IN" | "NOT_IN", _) if string => {
                        let lits = values.iter().map(|v| string_literal(v, ptr)).collect::<Result<Vec<_>, _>>()?;
                        let found = match lits.len() {
                            0 => Pr::Const(false),
                            1 => tr.pred(format!("{} = {}", t.expr, lits[0]), &[&t]),
                            _ => tr.pred(format!("{} in [{}]", t.expr, lits.join(", ")), &[&t]),
                        };
                        if op == "IN" { found } else { Pr::Not(Box::new(found)) }
                    }
                    ("STR_STARTS_WITH" | "STR_ENDS_WITH" | "STR_CONTAINS", _) if string => {
                        let f = match op {
                            "STR_STARTS_WITH" => "starts_with",
                            "STR_ENDS_WITH" => "ends_with",
                            _ => "contains",
                        };
                        let subject = if insensitive { format!("lower({})", t.expr) } else { t.expr.clone() };
                        let mut any = vec![];
                        for v in &values {
                            let v = if insensitive { v.to_lowercase() } else { v.clone() };
                            any.push(tr.pred(format!("{subject} {f} {}", string_literal(&v, ptr)?), &[&t]));
                        }
                        Pr::Or(any)
                    }
                    ("REGEX", _) if string => {
                        // The pattern compiles and fits (checked above); `(?i)` is the builder's flag.
                        let pattern = value.clone().unwrap_or_default();
                        let pattern = if insensitive { format!("(?i){pattern}") } else { pattern };
                        tr.pred(format!("{} matches {}", t.expr, string_literal(&pattern, ptr)?), &[&t])
                    }
                    (_, Some(Shape::Version(lit))) if string => {
                        tr.pred(format!("semver({}) {cmp} {}", t.expr, string_literal(lit, ptr)?), &[&t])
                    }
                    (_, Some(Shape::Number(n))) if t.is_num() => {
                        // NUM_EQ is `|c − n| < ε`: only c = n once |n| ≥ 1.
                        if cmp == "=" && n.abs() <= 1.0 {
                            return Err(refuse(ptr, op, "equality within f64::EPSILON of a number of magnitude 1 or less (several doubles pass)"));
                        }
                        tr.assume(Assumption::N, ptr);
                        tr.pred(format!("{} {cmp} {}", t.expr, number_literal(*n, ptr)?), &[&t])
                    }
                    (_, Some(Shape::Number(_))) => {
                        return Err(refuse(ptr, op, "a number compared with a string field: yggdrasil parses the text as f64, segcore cannot (declare the property `number` under contract N)"))
                    }
                    _ => return Err(refuse(ptr, op, "this operator on a field of this type (Unleash compares the context's text)")),
                }
            }
        };
        let p = if inverted { Pr::Not(Box::new(p)) } else { p };
        out.extend(tr.split(ptr, &g1, &p)?);
    }
    Ok(Ok(out))
}
