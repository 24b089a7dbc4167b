//! GrowthBook conditions → segcore (SPEC §29.2): `evalCondition` of @growthbook/growthbook 1.8.0
//! over the cases of every attribute it reads ([`cases`](super::cases)). A condition value meets a
//! read's value: a constant (null, a boolean) is decided by [`growthbook_eval`](super::growthbook_eval),
//! a term by the exact segcore counterpart of the operator, or the operator is refused.

use std::rc::Rc;

use serde_json::Value as J;

use super::cases::{number_literal, refuse, step, string_literal, Kind, Pr, Term, Tr, Translation, SAFE, V};
use super::formula::Guard;
use super::growthbook_eval as gb;
use super::js::{self, Js};
use super::{Assumption, Elem, ImportSchema, Refusal};

/// The operators of 1.8.0's `evalOperatorCondition` (others fail: "Unknown operator").
const OPERATORS: &[&str] = &[
    "$veq",
    "$vne",
    "$vgt",
    "$vgte",
    "$vlt",
    "$vlte",
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$exists",
    "$in",
    "$ini",
    "$inGroup",
    "$notInGroup",
    "$nin",
    "$nini",
    "$not",
    "$size",
    "$elemMatch",
    "$all",
    "$alli",
    "$regex",
    "$regexi",
    "$type",
];

const MAX_DEPTH: usize = 64;

/// Translates a condition, or refuses it at its first construct without an exact counterpart.
pub(crate) fn translate(
    condition: &J,
    schema: &ImportSchema,
    saved_groups: Option<&J>,
) -> Result<Translation, Refusal> {
    let mut tr = Tr::new(schema);
    let mut g = Gb { tr: &mut tr, groups: saved_groups };
    let cases = g.condition(condition, "", &Guard::default(), 0)?;
    let members = cases.into_iter().filter(|(_, t)| *t).map(|(g, _)| g).collect();
    Ok(tr.finish(members))
}

struct Gb<'t, 'a> {
    tr: &'t mut Tr<'a>,
    groups: Option<&'t J>,
}

/// `isOperatorObject`: at least one key, every key starting with `$`.
fn is_operator_object(v: &J) -> bool {
    matches!(v, J::Object(o) if !o.is_empty() && o.keys().all(|k| k.starts_with('$')))
}

impl Gb<'_, '_> {
    /// `evalCondition(obj, condition)`: the cases where it is true and where it is false.
    fn condition(&mut self, cond: &J, ptr: &str, g: &Guard, depth: usize) -> Result<Vec<(Guard, bool)>, Refusal> {
        if depth > MAX_DEPTH {
            return Err(refuse(ptr, "condition", format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let J::Object(entries) = cond else {
            return Err(refuse(ptr, "condition", "a condition must be an object of attribute paths and operators"));
        };
        let mut out = vec![];
        let mut open = vec![g.clone()];
        for (k, v) in entries {
            let at = step(ptr, k);
            let mut next = vec![];
            for g1 in &open {
                let cases = match k.as_str() {
                    "$or" | "$nor" => {
                        let r = self.list(true, v, &at, g1, depth)?;
                        if k == "$nor" {
                            r.into_iter().map(|(g2, t)| (g2, !t)).collect()
                        } else {
                            r
                        }
                    }
                    "$and" => self.list(false, v, &at, g1, depth)?,
                    "$not" => {
                        if !v.is_object() {
                            return Err(refuse(&at, "$not", "`$not` of something other than a condition object"));
                        }
                        self.condition(v, &at, g1, depth + 1)?.into_iter().map(|(g2, t)| (g2, !t)).collect()
                    }
                    "$savedGroup" => return Err(refuse(
                        &at,
                        "$savedGroup",
                        "v2 saved-group references are not imported (only `$inGroup`/`$notInGroup` with a snapshot)",
                    )),
                    // An operator object with an operator 1.8.0 does not know fails whatever the
                    // value: nothing is read.
                    _ if matches!(v, J::Object(ops) if is_operator_object(v) && ops.keys().any(|op| !OPERATORS.contains(&op.as_str()))) =>
                    {
                        vec![(g1.clone(), false)]
                    }
                    path => {
                        let mut cases = vec![];
                        for (g2, value) in self.read(&at, path, g1)? {
                            let p = self.value(v, &value, &at, depth)?;
                            cases.extend(self.tr.split(&at, &g2, &p)?);
                        }
                        cases
                    }
                };
                for (g2, t) in cases {
                    if t {
                        next.push(g2);
                    } else {
                        out.push((g2, false));
                    }
                }
                self.tr.check_size(&at, out.len() + next.len())?;
            }
            open = next;
        }
        out.extend(open.into_iter().map(|g2| (g2, true)));
        Ok(out)
    }

    /// `evalOr` (`any`) and `evalAnd`: an empty list passes both; a non-array has no `length`
    /// and passes; a string, `null` or an object with a `length` is refused (GrowthBook iterates
    /// the characters, throws, or iterates by index).
    fn list(&mut self, any: bool, v: &J, ptr: &str, g: &Guard, depth: usize) -> Result<Vec<(Guard, bool)>, Refusal> {
        let op = if any { "$or" } else { "$and" };
        let why = match v {
            J::Array(_) => None,
            J::String(_) => Some("a string where a list of conditions belongs (JavaScript iterates its characters)"),
            J::Null => Some("null where a list of conditions belongs (GrowthBook throws reading its length)"),
            J::Object(o) if o.contains_key("length") => {
                Some("an object with a `length` where a list of conditions belongs (GrowthBook iterates it by index)")
            }
            _ => return Ok(vec![(g.clone(), true)]),
        };
        if let Some(why) = why {
            return Err(refuse(ptr, op, why));
        }
        let items = v.as_array().map_or(&[][..], Vec::as_slice);
        if items.is_empty() {
            return Ok(vec![(g.clone(), true)]);
        }
        // The cases that decide (a true one for `$or`, a false one for `$and`) are done; the
        // others go on to the next condition.
        let mut out = vec![];
        let mut open = vec![g.clone()];
        for (i, c) in items.iter().enumerate() {
            let at = step(ptr, &i.to_string());
            let mut next = vec![];
            for g1 in &open {
                for (g2, t) in self.condition(c, &at, g1, depth + 1)? {
                    if t == any {
                        out.push((g2, t));
                    } else {
                        next.push(g2);
                    }
                }
            }
            self.tr.check_size(&at, out.len() + next.len())?;
            open = next;
        }
        out.extend(open.into_iter().map(|g1| (g1, !any)));
        Ok(out)
    }

    /// `getPath(attributes, path)`: `id` is the profile's id; any other path a read.
    fn read(&mut self, ptr: &str, path: &str, g: &Guard) -> Result<Vec<(Guard, V)>, Refusal> {
        if path == "id" {
            let t = Term { kind: Kind::Str, expr: "id".into(), reads: vec![] };
            return Ok(vec![(g.clone(), V::T(Rc::new(t)))]);
        }
        self.tr.read(ptr, path, path, None, g)
    }

    /// `evalConditionValue(cond, value)` as a boolean over the data.
    fn value(&mut self, cond: &J, value: &V, ptr: &str, depth: usize) -> Result<Pr, Refusal> {
        let unsure = |u: js::Unsure| refuse(ptr, "condition", u.0);
        if depth > MAX_DEPTH {
            return Err(refuse(ptr, "condition", format!("nested deeper than {MAX_DEPTH} levels")));
        }
        if let V::C(c) = value {
            // A constant value: decided here when the condition needs no data.
            if !is_operator_object(cond) {
                return Ok(Pr::Const(constant_value(cond, c).map_err(unsure)?));
            }
        }
        match cond {
            J::String(s) => {
                let V::T(t) = value else { return Err(internal(ptr)) };
                match &t.kind {
                    Kind::Str => {
                        let lit = string_literal(s, ptr)?;
                        Ok(self.tr.pred(format!("{} = {lit}", t.expr), &[t]))
                    }
                    Kind::IntRead | Kind::Double => {
                        // `x + ""` is the number's shortest text: only a canonical number text matches.
                        let n = js::string_to_number(s).map_err(unsure)?;
                        if n.is_finite() && js::number_to_string(n) == **s {
                            self.tr.num_eq(ptr, t, n)
                        } else {
                            Ok(Pr::Const(false))
                        }
                    }
                    Kind::List(_) => Err(refuse(
                        ptr,
                        "condition",
                        "a list attribute against a string: JavaScript compares the list's joined text",
                    )),
                    Kind::Obj(_) => Ok(Pr::Const(s == "[object Object]")),
                }
            }
            J::Number(n) => {
                let n = js::json_number(n);
                let V::T(t) = value else { return Err(internal(ptr)) };
                match &t.kind {
                    Kind::IntRead | Kind::Double => self.tr.num_eq(ptr, t, n),
                    Kind::Str => Err(refuse(ptr, "condition", "a string attribute against a number: JavaScript converts the string with ToNumber (\" 12 \" * 1 === 12)")),
                    Kind::List(_) => Err(refuse(ptr, "condition", "a list attribute against a number: JavaScript converts the list's joined text")),
                    Kind::Obj(_) => Ok(Pr::Const(false)),
                }
            }
            J::Bool(b) => {
                let V::T(t) = value else { return Err(internal(ptr)) };
                Ok(match &t.kind {
                    Kind::IntRead | Kind::Double => {
                        self.tr.pred(format!("{} {} 0", t.expr, if *b { "!=" } else { "=" }), &[t])
                    }
                    Kind::Str => self.tr.pred(format!("{} {} \"\"", t.expr, if *b { "!=" } else { "=" }), &[t]),
                    Kind::List(_) | Kind::Obj(_) => Pr::Const(*b),
                })
            }
            J::Null => Ok(Pr::Const(false)), // a term is never null
            _ if !is_operator_object(cond) => {
                let V::T(t) = value else { return Err(internal(ptr)) };
                self.stringify_equal(cond, t, ptr)
            }
            J::Object(ops) => {
                let mut all = vec![];
                for (op, arg) in ops {
                    all.push(self.operator(op, arg, value, &step(ptr, op), depth)?);
                }
                Ok(Pr::And(all))
            }
            _ => Err(internal(ptr)),
        }
    }

    /// `JSON.stringify(x) === JSON.stringify(cond)` for a term.
    fn stringify_equal(&mut self, cond: &J, t: &Rc<Term>, ptr: &str) -> Result<Pr, Refusal> {
        match (&t.kind, cond) {
            (Kind::List(elem), J::Array(items)) => {
                let mut lits = vec![];
                for x in items {
                    let lit = match (elem, x) {
                        (Elem::Str, J::String(s)) => string_literal(s, ptr)?,
                        (Elem::Bool, J::Bool(b)) => b.to_string(),
                        (Elem::Int | Elem::Float | Elem::Number, J::Number(n)) => {
                            let n = js::json_number(n);
                            if n.abs() >= SAFE {
                                return Err(refuse(
                                    ptr,
                                    "condition",
                                    "a number of magnitude 2^53 or more in a list compared with a list attribute",
                                ));
                            }
                            number_literal(n, ptr)?
                        }
                        // Another type's JSON text never equals an element's of this type.
                        (_, J::String(_) | J::Bool(_) | J::Number(_)) => return Ok(Pr::Const(false)),
                        _ => {
                            return Err(refuse(
                                ptr,
                                "condition",
                                "a list with null, nested lists or objects compared with a list attribute",
                            ))
                        }
                    };
                    lits.push(lit);
                }
                Ok(self.tr.pred(format!("{} = [{}]", t.expr, lits.join(", ")), &[t]))
            }
            (Kind::Obj(_), J::Object(_)) => Err(refuse(
                ptr,
                "condition",
                "an object compared with an object attribute: JavaScript compares JSON texts, key order included",
            )),
            // A scalar's or an object's JSON text never equals an array's; a scalar's never an object's.
            _ => Ok(Pr::Const(false)),
        }
    }

    /// `evalOperatorCondition(op, value, arg)`.
    fn operator(&mut self, op: &str, arg: &J, value: &V, ptr: &str, depth: usize) -> Result<Pr, Refusal> {
        let unsure = |u: js::Unsure| refuse(ptr, op, u.0);
        let argj = Js::from_json(arg);
        match op {
            "$eq" | "$ne" => {
                let p = match value {
                    V::C(c) => Pr::Const(js::strict_eq(c, &argj)),
                    V::T(_) => self.tr.eq(ptr, value, &V::C(argj), true)?,
                };
                Ok(if op == "$eq" { p } else { Pr::Not(Box::new(p)) })
            }
            "$lt" | "$lte" | "$gt" | "$gte" => {
                let js_op = match op {
                    "$lt" => "<",
                    "$lte" => "<=",
                    "$gt" => ">",
                    _ => ">=",
                };
                self.tr.order(ptr, js_op, value, &V::C(argj))
            }
            "$exists" => {
                let want = js::to_boolean(&argj);
                Ok(Pr::Const(match value {
                    V::C(c) => c.is_nullish() != want,
                    V::T(_) => want,
                }))
            }
            "$in" | "$nin" | "$ini" | "$nini" => {
                let J::Array(items) = arg else { return Ok(Pr::Const(false)) };
                let found = self.is_in(op, value, items, op.ends_with('i'), ptr)?;
                Ok(if op.starts_with("$n") { Pr::Not(Box::new(found)) } else { found })
            }
            "$inGroup" | "$notInGroup" => {
                let key = js::to_string(&argj).map_err(unsure)?;
                let entry = self.groups.and_then(|g| g.get(&key)).cloned();
                let values = match entry {
                    // `savedGroups[key]` finds an inherited function: a malformed entry.
                    None if super::jsonlogic_eval::OBJECT_PROTOTYPE.contains(&key.as_str()) => None,
                    None => Some(vec![]),
                    Some(J::Array(v)) => Some(v),
                    Some(J::Object(o)) if o.get("type") == Some(&J::String("list".into())) => match o.get("values") {
                        Some(J::Array(v)) => Some(v.clone()),
                        _ => None,
                    },
                    Some(_) => None,
                };
                let Some(values) = values else { return Ok(Pr::Const(false)) };
                let found = self.is_in(op, value, &values, false, ptr)?;
                Ok(if op == "$inGroup" { found } else { Pr::Not(Box::new(found)) })
            }
            "$not" => Ok(Pr::Not(Box::new(self.value(arg, value, ptr, depth + 1)?))),
            "$size" => match value {
                V::T(t) if matches!(t.kind, Kind::List(_)) => {
                    let len = Term { kind: Kind::IntRead, expr: format!("length({})", t.expr), reads: t.reads.clone() };
                    self.value(arg, &V::T(Rc::new(len)), ptr, depth + 1)
                }
                V::C(Js::Arr(a)) => Ok(Pr::Const(constant_value(arg, &Js::Num(a.len() as f64)).map_err(unsure)?)),
                _ => Ok(Pr::Const(false)),
            },
            "$elemMatch" => self.elem_match(arg, value, ptr),
            "$all" => self.all(arg, value, ptr),
            "$type" => {
                let ty = match value {
                    V::C(c) => gb::type_of(c),
                    V::T(t) => match t.kind {
                        Kind::IntRead | Kind::Double => "number",
                        Kind::Str => "string",
                        Kind::List(_) => "array",
                        Kind::Obj(_) => "object",
                    },
                };
                Ok(Pr::Const(arg.as_str() == Some(ty)))
            }
            "$veq" | "$vne" | "$vgt" | "$vgte" | "$vlt" | "$vlte" => self.version(op, &argj, value, ptr),
            "$alli" => Err(refuse(ptr, op, "case-insensitive `$all`: segcore has no element-wise case mapping over a list")),
            "$regex" | "$regexi" => Err(refuse(
                ptr,
                op,
                "JavaScript regular expressions (non-Unicode mode, UTF-16 units) are not translated into segcore's (the regex crate's) yet",
            )),
            other if OPERATORS.contains(&other) => Err(refuse(ptr, other, "not supported")),
            _ => Ok(Pr::Const(false)), // 1.8.0: "Unknown operator", fails
        }
    }

    /// `isIn(value, items)` (case-insensitive for `$ini`/`$nini`).
    fn is_in(&mut self, op: &str, value: &V, items: &[J], insensitive: bool, ptr: &str) -> Result<Pr, Refusal> {
        let items: Vec<Js> = items.iter().map(Js::from_json).collect();
        let t = match value {
            V::C(c) => {
                if insensitive {
                    let fold = |v: &Js| match v {
                        Js::Str(s) => Js::Str(s.to_lowercase().into()),
                        other => other.clone(),
                    };
                    let items: Vec<Js> = items.iter().map(fold).collect();
                    return Ok(Pr::Const(gb::is_in(&fold(c), &items)));
                }
                return Ok(Pr::Const(gb::is_in(c, &items)));
            }
            V::T(t) => t.clone(),
        };
        let mut lits: Vec<String> = vec![];
        match &t.kind {
            Kind::Str => {
                for x in &items {
                    if let Js::Str(s) = x {
                        if insensitive {
                            if !s.is_ascii() {
                                return Err(refuse(ptr, op, "a non-ASCII item: JavaScript's and segcore's lower-casing may differ by Unicode version"));
                            }
                            lits.push(string_literal(&s.to_ascii_lowercase(), ptr)?);
                        } else {
                            lits.push(string_literal(s, ptr)?);
                        }
                    }
                }
            }
            Kind::IntRead | Kind::Double => {
                for x in &items {
                    if let Js::Num(n) = x {
                        if n.is_nan() {
                            continue;
                        }
                        if !n.is_finite() || n.abs() >= SAFE {
                            return Err(refuse(
                                ptr,
                                op,
                                "a number of magnitude 2^53 or more (JavaScript rounds the data)",
                            ));
                        }
                        lits.push(number_literal(*n, ptr)?);
                    }
                }
            }
            Kind::List(elem) => {
                if insensitive {
                    return Err(refuse(
                        ptr,
                        op,
                        "a case-insensitive search in a list attribute: segcore has no element-wise case mapping",
                    ));
                }
                // Intersection: some element equals some item.
                let mut ps = vec![];
                for x in &items {
                    let lit = match (elem, x) {
                        (_, Js::Null) => return Err(refuse(
                            ptr,
                            op,
                            "null searched in a list attribute: GrowthBook finds null elements, segcore's `in` cannot",
                        )),
                        (Elem::Str, Js::Str(s)) => string_literal(s, ptr)?,
                        (Elem::Bool, Js::Bool(b)) => b.to_string(),
                        (Elem::Int | Elem::Float | Elem::Number, Js::Num(n)) if n.is_finite() && n.abs() < SAFE => {
                            number_literal(*n, ptr)?
                        }
                        (Elem::Int | Elem::Float | Elem::Number, Js::Num(n)) if n.is_finite() => {
                            return Err(refuse(
                                ptr,
                                op,
                                "a number of magnitude 2^53 or more (JavaScript rounds the data)",
                            ))
                        }
                        _ => continue, // never `===` an element of this type
                    };
                    ps.push(self.tr.pred(format!("{lit} in {}", t.expr), &[&t]));
                }
                return Ok(Pr::Or(ps));
            }
            Kind::Obj(_) => return Ok(Pr::Const(false)),
        }
        lits.dedup();
        let lhs = if insensitive { format!("lower({})", t.expr) } else { t.expr.clone() };
        Ok(match lits.len() {
            0 => Pr::Const(false),
            1 => self.tr.pred(format!("{lhs} = {}", lits[0]), &[&t]),
            _ => self.tr.pred(format!("{lhs} in [{}]", lits.join(", ")), &[&t]),
        })
    }

    /// `$elemMatch` over a list attribute: only `{"$eq": c}` and `{"$in": [...]}` of scalars.
    fn elem_match(&mut self, arg: &J, value: &V, ptr: &str) -> Result<Pr, Refusal> {
        let t = match value {
            V::T(t) if matches!(t.kind, Kind::List(_)) => t.clone(),
            _ => return Ok(Pr::Const(false)), // not an array
        };
        let no_form = || {
            refuse(ptr, "$elemMatch", "segcore has no quantifier over list elements: only `{\"$eq\": c}` and `{\"$in\": [...]}` translate (to `c in list`)")
        };
        let J::Object(ops) = arg else { return Err(no_form()) };
        if ops.len() != 1 || !is_operator_object(arg) {
            return Err(no_form());
        }
        let (op, x) = ops.iter().next().ok_or_else(no_form)?;
        let items: Vec<J> = match (op.as_str(), x) {
            ("$eq", x) => vec![x.clone()],
            ("$in", J::Array(items)) => items.clone(),
            ("$in", _) => return Ok(Pr::Const(false)),
            _ => return Err(no_form()),
        };
        // Null elements are skipped; an element equal to an item (`===`; for `$in`, SameValueZero).
        let items: Vec<J> = items.into_iter().filter(|x| !x.is_null()).collect();
        if items.iter().any(|x| x.is_array() || x.is_object()) && op == "$eq" {
            return Ok(Pr::Const(false));
        }
        let items: Vec<J> = items.into_iter().filter(|x| !x.is_array() && !x.is_object()).collect();
        self.is_in("$elemMatch", &V::T(t), &items, false, ptr)
    }

    /// `$all` over a list attribute: every item equals some element by condition-value equality.
    fn all(&mut self, arg: &J, value: &V, ptr: &str) -> Result<Pr, Refusal> {
        let J::Array(items) = arg else { return Ok(Pr::Const(false)) };
        let t = match value {
            V::T(t) if matches!(t.kind, Kind::List(_)) => t.clone(),
            _ => return Ok(Pr::Const(false)),
        };
        let Kind::List(elem) = t.kind else { return Err(internal(ptr)) };
        let mut ps = vec![];
        for x in items {
            // A null element matches `"null"` (`null + ""`) and `0` (`null * 1`): segcore's `in`
            // cannot find a null element.
            let matches_null = match x {
                J::String(s) => s == "null",
                J::Number(n) => js::json_number(n) == 0.0,
                _ => false,
            };
            if matches_null {
                return Err(refuse(
                    ptr,
                    "$all",
                    "an item a null element matches (`null + \"\" === \"null\"`, `null * 1 === 0`): segcore's `in` cannot find a null element",
                ));
            }
            let lit = match (elem, x) {
                // `el + "" === S`
                (Elem::Str, J::String(s)) => Some(string_literal(s, ptr)?),
                (Elem::Int | Elem::Float | Elem::Number, J::String(s)) => {
                    let n = js::string_to_number(s).map_err(|u| refuse(ptr, "$all", u.0))?;
                    (n.is_finite() && n.abs() < SAFE && js::number_to_string(n) == *s).then(|| number_literal(n, ptr)).transpose()?
                }
                // `el * 1 === N`
                (Elem::Int | Elem::Float | Elem::Number, J::Number(n)) => {
                    let n = js::json_number(n);
                    if n.abs() >= SAFE {
                        return Err(refuse(ptr, "$all", "a number of magnitude 2^53 or more (JavaScript rounds the data)"));
                    }
                    Some(number_literal(n, ptr)?)
                }
                _ => return Err(refuse(ptr, "$all", "an item that is not a string or number of the list's element type (JavaScript coerces the elements)")),
            };
            ps.push(match lit {
                Some(l) => self.tr.pred(format!("{l} in {}", t.expr), &[&t]),
                None => Pr::Const(false),
            });
        }
        Ok(Pr::And(ps))
    }

    /// `$v…`: GrowthBook's padded version strings, SemVer precedence under assumption V.
    fn version(&mut self, op: &str, arg: &Js, value: &V, ptr: &str) -> Result<Pr, Refusal> {
        let t = match value {
            V::C(c) => return Ok(Pr::Const(gb::version_compare(op, c, arg))),
            V::T(t) => t.clone(),
        };
        match t.kind {
            Kind::Str => {}
            Kind::List(_) | Kind::Obj(_) => return Ok(Pr::Const(gb::version_compare(op, &Js::Null, arg))),
            _ => return Err(refuse(ptr, op, "a number read as a version (GrowthBook pads its text)")),
        }
        let Js::Str(lit) = arg else {
            return Err(refuse(ptr, op, "a version that is not a string"));
        };
        if lit.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
            return Err(refuse(
                ptr,
                op,
                "a version with a line break (GrowthBook's build-stripping pattern stops there)",
            ));
        }
        let bare = lit.strip_prefix('v').unwrap_or(lit);
        let bare = bare.split('+').next().unwrap_or(bare);
        if !within_v(bare) {
            return Err(refuse(
                ptr,
                op,
                format!("`{lit}` is outside assumption V (strict SemVer, numbers below 100000, numeric pre-release identifiers below 10000, no `-` inside one): GrowthBook's padded order is not SemVer precedence there"),
            ));
        }
        self.tr.assume(Assumption::V, ptr);
        let cmp = match op {
            "$veq" | "$vne" => "=",
            "$vgt" => ">",
            "$vgte" => ">=",
            "$vlt" => "<",
            _ => "<=",
        };
        let lit = string_literal(bare, ptr)?;
        let p = self.tr.pred(format!("semver({}) {cmp} {lit}", t.expr), &[&t]);
        Ok(if op == "$vne" { Pr::Not(Box::new(p)) } else { p })
    }
}

/// A case the translation's own logic excludes (never a panic on input).
fn internal(ptr: &str) -> Refusal {
    refuse(ptr, "condition", "internal: a constant reached the term translation")
}

/// Whether a version text (no `v`, no build) is in assumption V.
fn within_v(text: &str) -> bool {
    if crate::semver::Version::parse(text).is_none() {
        return false;
    }
    let (core, pre) = match text.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (text, None),
    };
    let numbers_ok = core.split('.').all(|p| p.parse::<u64>().is_ok_and(|n| n < 100_000));
    let pre_ok = pre.is_none_or(|p| {
        !p.contains('-')
            && p.split('.')
                .all(|id| !id.bytes().all(|b| b.is_ascii_digit()) || id.parse::<u64>().is_ok_and(|n| n < 10_000))
    });
    numbers_ok && pre_ok
}

/// `evalConditionValue(cond, c)` for a constant value and a condition that is not an operator
/// object.
fn constant_value(cond: &J, c: &Js) -> Result<bool, js::Unsure> {
    Ok(match cond {
        J::String(s) => gb::concat_string(c)? == *s,
        J::Number(n) => js::to_number(c)? == js::json_number(n),
        J::Bool(b) => !matches!(c, Js::Null) && js::to_boolean(c) == *b,
        J::Null => matches!(c, Js::Null),
        other => gb::stringify(c)? == gb::stringify(&Js::from_json(other))?,
    })
}
