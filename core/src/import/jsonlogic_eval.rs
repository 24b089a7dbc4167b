//! json-logic-js 2.0.5's evaluation of rules over *constant* data, operator by operator (logic.js
//! of that release). The importer folds every data-independent part of a rule with it, and runs
//! `map`/`filter`/`reduce`/`all`/`some`/`none` over constant arrays, whose elements become the
//! data. A rule that makes json-logic-js throw is [`Stop::Throws`]; a value this emulation cannot
//! reproduce exactly is [`Stop::Unsure`]: both are refused by the importer.

use std::rc::Rc;

use serde_json::Value as J;

use super::js::{self, Js, Unsure};

/// Why a constant evaluation stopped.
#[derive(Debug, Clone)]
pub(crate) enum Stop {
    /// json-logic-js throws (an unknown operator, `{"*": []}`, `in` over an object with an
    /// `indexOf` key, reading `.length` of null…).
    Throws(String),
    /// The result depends on JavaScript behaviour not modelled here.
    Unsure(String),
}

impl From<Unsure> for Stop {
    fn from(u: Unsure) -> Stop {
        Stop::Unsure(u.0)
    }
}

/// The operators json-logic-js 2.0.5 has (`method` was removed in 2.0.0).
pub(crate) const OPERATORS: &[&str] = &[
    "==",
    "===",
    "!=",
    "!==",
    ">",
    ">=",
    "<",
    "<=",
    "!!",
    "!",
    "%",
    "log",
    "in",
    "cat",
    "substr",
    "+",
    "*",
    "-",
    "/",
    "min",
    "max",
    "merge",
    "var",
    "missing",
    "missing_some",
    "if",
    "?:",
    "and",
    "or",
    "filter",
    "map",
    "reduce",
    "all",
    "none",
    "some",
];

/// Properties every JavaScript object inherits from `Object.prototype`: a `var` path that names
/// one finds a function even where the data has no such key.
pub(crate) const OBJECT_PROTOTYPE: &[&str] = &[
    "constructor",
    "__defineGetter__",
    "__defineSetter__",
    "hasOwnProperty",
    "__lookupGetter__",
    "__lookupSetter__",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toString",
    "valueOf",
    "__proto__",
    "toLocaleString",
];

/// `jsonLogic.is_logic`: a non-null, non-array object with exactly one key.
pub(crate) fn is_logic(v: &J) -> Option<(&str, &J)> {
    match v {
        J::Object(o) if o.len() == 1 => o.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

/// The operands of `{"op": values}`: a non-array `values` is one operand.
pub(crate) fn operands(values: &J) -> Vec<&J> {
    match values {
        J::Array(a) => a.iter().collect(),
        other => vec![other],
    }
}

const MAX_DEPTH: usize = 200;

/// `jsonLogic.apply(logic, data)`.
pub(crate) fn apply(logic: &J, data: &Js) -> Result<Js, Stop> {
    apply_at(logic, data, 0)
}

fn apply_at(logic: &J, data: &Js, depth: usize) -> Result<Js, Stop> {
    if depth > MAX_DEPTH {
        return Err(Stop::Unsure("nesting too deep".into()));
    }
    if let J::Array(items) = logic {
        let vals = items.iter().map(|l| apply_at(l, data, depth + 1)).collect::<Result<Vec<_>, _>>()?;
        return Ok(Js::Arr(Rc::new(vals)));
    }
    let Some((op, values)) = is_logic(logic) else {
        return Ok(Js::from_json(logic));
    };
    let values = operands(values);
    let ev = |i: usize| -> Result<Js, Stop> {
        match values.get(i) {
            Some(v) => apply_at(v, data, depth + 1),
            None => Ok(Js::Undef),
        }
    };
    match op {
        "if" | "?:" => {
            let mut i = 0;
            while i + 1 < values.len() {
                if js::truthy(&ev(i)?) {
                    return ev(i + 1);
                }
                i += 2;
            }
            if values.len() == i + 1 {
                return ev(i);
            }
            Ok(Js::Null)
        }
        "and" | "or" => {
            let mut current = Js::Undef;
            for i in 0..values.len() {
                current = ev(i)?;
                if js::truthy(&current) == (op == "or") {
                    return Ok(current);
                }
            }
            Ok(current)
        }
        "filter" | "map" | "reduce" | "all" | "none" | "some" => {
            let scoped = ev(0)?;
            let logic = values.get(1).copied().unwrap_or(&J::Null);
            let initial = if op == "reduce" {
                match values.get(2) {
                    Some(v) => Some(apply_at(v, data, depth + 1)?),
                    None => Some(Js::Null),
                }
            } else {
                None
            };
            // A missing scoped logic is `undefined` in json-logic-js: applying it returns it.
            let logic_or_undef = values.get(1).copied();
            iterate(op, &scoped, logic_or_undef.map(|_| logic), initial, depth)
        }
        _ => {
            if !OPERATORS.contains(&op) {
                return Err(Stop::Throws(format!("Unrecognized operation {op}")));
            }
            let args = (0..values.len()).map(ev).collect::<Result<Vec<_>, _>>()?;
            match op {
                "var" => var(&args, data),
                "missing" => missing(&args, data),
                "missing_some" => missing_some(&args, data),
                _ => operation(op, &args),
            }
        }
    }
}

/// The iterating operators over an evaluated first operand (`scoped`), `logic` applied to each
/// element (`None`: the rule gave no logic, which json-logic-js applies as `undefined`).
pub(crate) fn iterate(op: &str, scoped: &Js, logic: Option<&J>, initial: Option<Js>, depth: usize) -> Result<Js, Stop> {
    let each = |datum: &Js| -> Result<Js, Stop> {
        match logic {
            Some(l) => apply_at(l, datum, depth + 1),
            None => Ok(Js::Undef),
        }
    };
    let Js::Arr(items) = scoped else {
        return Ok(match op {
            "filter" | "map" => Js::Arr(Rc::new(vec![])),
            "reduce" => initial.unwrap_or(Js::Null),
            "all" | "some" => Js::Bool(false),
            _ => Js::Bool(true),
        });
    };
    Ok(match op {
        "filter" => {
            let mut out = vec![];
            for x in items.iter() {
                if js::truthy(&each(x)?) {
                    out.push(x.clone());
                }
            }
            Js::Arr(Rc::new(out))
        }
        "map" => Js::Arr(Rc::new(items.iter().map(each).collect::<Result<Vec<_>, _>>()?)),
        "reduce" => {
            let mut acc = initial.unwrap_or(Js::Null);
            for x in items.iter() {
                let datum = Js::Obj(Rc::new(vec![("current".into(), x.clone()), ("accumulator".into(), acc)]));
                acc = each(&datum)?;
            }
            acc
        }
        "all" => {
            if items.is_empty() {
                return Ok(Js::Bool(false));
            }
            for x in items.iter() {
                if !js::truthy(&each(x)?) {
                    return Ok(Js::Bool(false));
                }
            }
            Js::Bool(true)
        }
        "some" | "none" => {
            for x in items.iter() {
                if js::truthy(&each(x)?) {
                    return Ok(Js::Bool(op == "some"));
                }
            }
            Js::Bool(op == "none")
        }
        _ => return Err(Stop::Throws(format!("Unrecognized operation {op}"))),
    })
}

/// `data[key]` as JavaScript reads it, for the data json-logic-js can be given (JSON values).
fn property(data: &Js, key: &str) -> Result<Js, Stop> {
    let canonical_index = |k: &str| -> Option<usize> {
        if k == "0" || (k.starts_with(|c: char| ('1'..='9').contains(&c)) && k.bytes().all(|b| b.is_ascii_digit())) {
            k.parse().ok()
        } else {
            None
        }
    };
    let inherited = |what: &str| Stop::Unsure(format!("`{key}` of {what} (an inherited property)"));
    match data {
        Js::Obj(o) => match o.iter().rev().find(|(k, _)| k == key) {
            Some((_, v)) => Ok(v.clone()),
            None if OBJECT_PROTOTYPE.contains(&key) => Err(inherited("an object")),
            None => Ok(Js::Undef),
        },
        Js::Arr(a) => {
            if let Some(i) = canonical_index(key) {
                return Ok(a.get(i).cloned().unwrap_or(Js::Undef));
            }
            if key == "length" {
                return Ok(Js::Num(a.len() as f64));
            }
            Err(inherited("an array"))
        }
        Js::Str(s) => {
            let u = js::units(s);
            if let Some(i) = canonical_index(key) {
                return match u.get(i) {
                    Some(_) => Ok(Js::Str(js::from_units(&u[i..i + 1])?.into())),
                    None => Ok(Js::Undef),
                };
            }
            if key == "length" {
                return Ok(Js::Num(u.len() as f64));
            }
            Err(inherited("a string"))
        }
        Js::Num(_) | Js::Bool(_) => Err(inherited("a number or boolean")),
        Js::Undef | Js::Null => Err(Stop::Throws(format!("Cannot read properties of null (reading '{key}')"))),
    }
}

/// `var`: the data at a dotted path, `not_found` (the default, else null) when a key is absent.
pub(crate) fn var(args: &[Js], data: &Js) -> Result<Js, Stop> {
    let a = args.first().unwrap_or(&Js::Undef);
    let not_found = match args.get(1) {
        None | Some(Js::Undef) => Js::Null,
        Some(b) => b.clone(),
    };
    if matches!(a, Js::Undef | Js::Null) || matches!(a, Js::Str(s) if s.is_empty()) {
        return Ok(data.clone());
    }
    let path = js::to_string(a)?;
    let mut cur = data.clone();
    for key in path.split('.') {
        if cur.is_nullish() {
            return Ok(not_found);
        }
        cur = property(&cur, key)?;
        if matches!(cur, Js::Undef) {
            return Ok(not_found);
        }
    }
    Ok(cur)
}

fn missing(args: &[Js], data: &Js) -> Result<Js, Stop> {
    let keys: Vec<Js> = match args.first() {
        Some(Js::Arr(a)) => a.as_ref().clone(),
        _ => args.to_vec(),
    };
    let mut out = vec![];
    for key in keys {
        // `jsonLogic.apply({"var": key}, data)`: an array key is the var's operand list.
        let var_args: Vec<Js> = match &key {
            Js::Arr(a) => a.as_ref().clone(),
            other => vec![other.clone()],
        };
        let value = var(&var_args, data)?;
        if matches!(value, Js::Null) || matches!(&value, Js::Str(s) if s.is_empty()) {
            out.push(key);
        }
    }
    Ok(Js::Arr(Rc::new(out)))
}

fn missing_some(args: &[Js], data: &Js) -> Result<Js, Stop> {
    let need = args.first().cloned().unwrap_or(Js::Undef);
    let options = args.get(1).cloned().unwrap_or(Js::Undef);
    // `jsonLogic.apply({"missing": options})`: the options array's elements are the operands.
    let are_missing = match &options {
        Js::Arr(a) => missing(a, data)?,
        other => missing(std::slice::from_ref(other), data)?,
    };
    let options_len = match &options {
        Js::Arr(a) => Js::Num(a.len() as f64),
        Js::Str(s) => Js::Num(js::units(s).len() as f64),
        Js::Undef | Js::Null => return Err(Stop::Throws("Cannot read properties of null (reading 'length')".into())),
        _ => Js::Undef,
    };
    let missing_count = match &are_missing {
        Js::Arr(m) => m.len(),
        _ => 0, // `missing` returns an array
    };
    let present = Js::Num(js::to_number(&options_len)? - missing_count as f64);
    if js::relational(">=", &present, &need)? {
        Ok(Js::Arr(Rc::new(vec![])))
    } else {
        Ok(are_missing)
    }
}

fn num_arg(args: &[Js], i: usize) -> Result<f64, Stop> {
    Ok(js::to_number(args.get(i).unwrap_or(&Js::Undef))?)
}

/// An operator of json-logic-js's `operations` table (not `var`/`missing`/`missing_some`, which
/// read data) applied to evaluated operands.
pub(crate) fn operation(op: &str, args: &[Js]) -> Result<Js, Stop> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Js::Undef);
    Ok(match op {
        "==" => Js::Bool(js::loose_eq(&arg(0), &arg(1))?),
        "!=" => Js::Bool(!js::loose_eq(&arg(0), &arg(1))?),
        "===" => Js::Bool(js::strict_eq(&arg(0), &arg(1))),
        "!==" => Js::Bool(!js::strict_eq(&arg(0), &arg(1))),
        ">" | ">=" => Js::Bool(js::relational(op, &arg(0), &arg(1))?),
        "<" | "<=" => {
            let first = js::relational(op, &arg(0), &arg(1))?;
            match args.get(2) {
                None | Some(Js::Undef) => Js::Bool(first),
                Some(c) => Js::Bool(first && js::relational(op, &arg(1), c)?),
            }
        }
        "!!" => Js::Bool(js::truthy(&arg(0))),
        "!" => Js::Bool(!js::truthy(&arg(0))),
        "%" => Js::Num(num_arg(args, 0)? % num_arg(args, 1)?),
        "log" => arg(0),
        "in" => {
            let (a, b) = (arg(0), arg(1));
            if !js::to_boolean(&b) {
                return Ok(Js::Bool(false));
            }
            match &b {
                Js::Str(s) => Js::Bool(s.contains(js::to_string(&a)?.as_str())),
                Js::Arr(items) => Js::Bool(items.iter().any(|x| js::strict_eq(x, &a))),
                Js::Obj(o) if o.iter().any(|(k, _)| k == "indexOf") => {
                    return Err(Stop::Throws("b.indexOf is not a function".into()))
                }
                _ => Js::Bool(false),
            }
        }
        "cat" => {
            let mut s = String::new();
            for a in args {
                if !a.is_nullish() {
                    s.push_str(&js::to_string(a)?);
                }
            }
            Js::Str(s.into())
        }
        "substr" => {
            let source = js::units(&js::to_string(&arg(0))?);
            let end = arg(2);
            if js::relational("<", &end, &Js::Num(0.0))? {
                let temp = substr(&source, &arg(1), &Js::Undef)?;
                let len = Js::Num(temp.len() as f64 + js::to_number(&end)?);
                Js::Str(js::from_units(&substr(&temp, &Js::Num(0.0), &len)?)?.into())
            } else {
                Js::Str(js::from_units(&substr(&source, &arg(1), &end)?)?.into())
            }
        }
        "+" => {
            let mut acc = Js::Num(0.0);
            for a in args {
                acc = Js::Num(js::parse_float(&acc)? + js::parse_float(a)?);
            }
            acc
        }
        "*" => {
            let Some(first) = args.first() else {
                return Err(Stop::Throws("Reduce of empty array with no initial value".into()));
            };
            let mut acc = first.clone();
            for a in &args[1..] {
                acc = Js::Num(js::parse_float(&acc)? * js::parse_float(a)?);
            }
            acc
        }
        "-" => match args.get(1) {
            None | Some(Js::Undef) => Js::Num(-num_arg(args, 0)?),
            Some(_) => Js::Num(num_arg(args, 0)? - num_arg(args, 1)?),
        },
        "/" => Js::Num(num_arg(args, 0)? / num_arg(args, 1)?),
        "min" | "max" => {
            let mut acc = if op == "min" { f64::INFINITY } else { f64::NEG_INFINITY };
            let mut nan = false;
            for a in args {
                let n = js::to_number(a)?;
                if n.is_nan() {
                    nan = true;
                } else if (op == "min" && (n < acc || (n == 0.0 && acc == 0.0 && n.is_sign_negative())))
                    || (op == "max" && (n > acc || (n == 0.0 && acc == 0.0 && n.is_sign_positive())))
                {
                    acc = n;
                }
            }
            Js::Num(if nan { f64::NAN } else { acc })
        }
        "merge" => {
            let mut out = vec![];
            for a in args {
                match a {
                    Js::Arr(items) => out.extend(items.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            Js::Arr(Rc::new(out))
        }
        other => return Err(Stop::Throws(format!("Unrecognized operation {other}"))),
    })
}

/// `String.prototype.substr(start, length)` on UTF-16 units.
fn substr(u: &[u16], start: &Js, length: &Js) -> Result<Vec<u16>, Stop> {
    let size = u.len() as f64;
    let mut s = js::to_integer(start)?;
    if s == f64::NEG_INFINITY {
        s = 0.0;
    } else if s < 0.0 {
        s = (size + s).max(0.0);
    } else {
        s = s.min(size);
    }
    let len = match length {
        Js::Undef => size - s,
        other => js::to_integer(other)?.clamp(0.0, size - s),
    };
    let (a, b) = (s as usize, (s + len) as usize);
    Ok(u[a..b.max(a)].to_vec())
}
