//! JSON Logic → segcore (SPEC §29.1): guarded evaluation of a rule against json-logic-js 2.0.5's
//! semantics. Every node evaluates to cases — (guard, value) pairs whose guards partition the
//! inputs — where a value is a JavaScript constant or a non-null typed segcore term. Reads split
//! into their null case (and a boolean read into true and false), so every coercion is decided on
//! constants by [`jsonlogic_eval`](super::jsonlogic_eval); comparisons of terms become atoms.

use std::rc::Rc;

use serde_json::Value as J;

use super::cases::{number_literal, refuse, step, string_literal, Cases, Kind, Pr, Term, Tr, Translation, SAFE, V};
use super::formula::Guard;
use super::js::{self, Js};
use super::jsonlogic_eval::{self as eval, Stop};
use super::{Assumption, Elem, ImportSchema, Refusal};

const MAX_DEPTH: usize = 64;

/// Translates a rule, or refuses it at its first construct without an exact counterpart.
pub(crate) fn translate(rule: &J, schema: &ImportSchema) -> Result<Translation, Refusal> {
    let mut tr = Tr::new(schema);
    let cases = tr.eval(rule, "", &Guard::default(), 0)?;
    let mut members = vec![];
    for (g, v) in cases {
        let p = tr.truthy("", &v)?;
        for (g2, t) in tr.split("", &g, &p)? {
            if t {
                members.push(g2);
            }
        }
    }
    Ok(tr.finish(members))
}

impl Tr<'_> {
    fn eval(&mut self, node: &J, ptr: &str, g: &Guard, depth: usize) -> Result<Cases, Refusal> {
        if depth > MAX_DEPTH {
            return Err(refuse(ptr, "rule", format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let out = self.eval_inner(node, ptr, g, depth)?;
        self.check_size(ptr, out.len())?;
        Ok(out)
    }

    /// The cartesian product of the operands' cases.
    fn eval_all(
        &mut self,
        nodes: &[&J],
        ptrs: &[String],
        g: &Guard,
        depth: usize,
    ) -> Result<Vec<(Guard, Vec<V>)>, Refusal> {
        let mut combos: Vec<(Guard, Vec<V>)> = vec![(g.clone(), vec![])];
        for (n, p) in nodes.iter().zip(ptrs) {
            let mut next = vec![];
            for (g2, mut vals) in combos {
                let mut cases = self.eval(n, p, &g2, depth + 1)?;
                // One case (the usual, constants included): extend in place, no copy.
                if cases.len() == 1 {
                    let (g3, v) = cases.pop().unwrap_or((g2, V::C(Js::Undef)));
                    vals.push(v);
                    next.push((g3, vals));
                    continue;
                }
                for (g3, v) in cases {
                    let mut vs: Vec<V> = vals.clone();
                    vs.push(v);
                    next.push((g3, vs));
                }
            }
            self.check_size(p, next.len())?;
            combos = next;
        }
        Ok(combos)
    }

    fn eval_inner(&mut self, node: &J, ptr: &str, g: &Guard, depth: usize) -> Result<Cases, Refusal> {
        if let J::Array(items) = node {
            if items.len() > crate::limits::MAX_LIST_LEN {
                return Err(refuse(
                    ptr,
                    "array",
                    format!(
                        "an array of {} elements (a segcore list literal holds at most {}, SPEC §19)",
                        items.len(),
                        crate::limits::MAX_LIST_LEN
                    ),
                ));
            }
            if !contains_logic(node) {
                return Ok(vec![(g.clone(), V::C(Js::from_json(node)))]);
            }
            let nodes: Vec<&J> = items.iter().collect();
            let ptrs: Vec<String> = (0..items.len()).map(|i| step(ptr, &i.to_string())).collect();
            let mut out = vec![];
            for (g2, vals) in self.eval_all(&nodes, &ptrs, g, depth)? {
                let mut arr = vec![];
                for v in vals {
                    match v {
                        V::C(c) => arr.push(c),
                        V::T(_) => {
                            return Err(refuse(
                                ptr,
                                "array",
                                "an array built from data (segcore has no list construction)",
                            ))
                        }
                    }
                }
                out.push((g2, V::C(Js::Arr(Rc::new(arr)))));
            }
            return Ok(out);
        }
        let Some((op, values)) = eval::is_logic(node) else {
            return Ok(vec![(g.clone(), V::C(Js::from_json(node)))]);
        };
        let args = eval::operands(values);
        if args.len() > crate::limits::MAX_LIST_LEN {
            return Err(refuse(
                ptr,
                op,
                format!("{} operands (at most {} are followed)", args.len(), crate::limits::MAX_LIST_LEN),
            ));
        }
        let arg_ptrs: Vec<String> = if values.is_array() {
            (0..args.len()).map(|i| step(&step(ptr, op), &i.to_string())).collect()
        } else {
            vec![step(ptr, op)]
        };
        if matches!(op, "==" | "===" | "!=" | "!==") {
            if let Some(cases) = self.substr_equality(op, &args, &arg_ptrs, g, depth)? {
                return Ok(cases);
            }
        }
        match op {
            "if" | "?:" => self.eval_if(&args, &arg_ptrs, g, depth),
            "and" | "or" => {
                if args.is_empty() {
                    return Ok(vec![(g.clone(), V::C(Js::Undef))]);
                }
                self.eval_and_or(op == "or", &args, &arg_ptrs, g, depth)
            }
            "filter" | "map" | "reduce" | "all" | "none" | "some" => {
                self.eval_iter(op, &args, &arg_ptrs, ptr, g, depth)
            }
            _ => {
                if !eval::OPERATORS.contains(&op) {
                    return Err(refuse(
                        ptr,
                        op,
                        format!("json-logic-js 2.0.5 has no operator `{op}` (it throws \"Unrecognized operation\")"),
                    ));
                }
                let mut out = vec![];
                for (g2, vals) in self.eval_all(&args, &arg_ptrs, g, depth)? {
                    out.extend(self.apply(op, ptr, &vals, &g2)?);
                    self.check_size(ptr, out.len())?;
                }
                Ok(out)
            }
        }
    }

    /// `if`/`?:`: condition/branch pairs, a trailing else, no else → null (iteratively: a chain
    /// of thousands of pairs must not deepen the stack).
    fn eval_if(&mut self, args: &[&J], ptrs: &[String], g: &Guard, depth: usize) -> Result<Cases, Refusal> {
        let mut out = vec![];
        let mut open = vec![g.clone()];
        let mut i = 0;
        while i + 1 < args.len() && !open.is_empty() {
            let mut next = vec![];
            for g1 in &open {
                for (g2, c) in self.eval(args[i], &ptrs[i], g1, depth + 1)? {
                    let p = self.truthy(&ptrs[i], &c)?;
                    for (g3, t) in self.split(&ptrs[i], &g2, &p)? {
                        if t {
                            out.extend(self.eval(args[i + 1], &ptrs[i + 1], &g3, depth + 1)?);
                        } else {
                            next.push(g3);
                        }
                    }
                }
                self.check_size(&ptrs[i], out.len() + next.len())?;
            }
            open = next;
            i += 2;
        }
        for g1 in open {
            if args.len() == i + 1 {
                out.extend(self.eval(args[i], &ptrs[i], &g1, depth + 1)?);
            } else {
                out.push((g1, V::C(Js::Null)));
            }
            self.check_size(ptrs.get(i).map_or("", String::as_str), out.len())?;
        }
        Ok(out)
    }

    /// `and`/`or`: the first falsy/truthy operand's value, else the last (iteratively).
    fn eval_and_or(
        &mut self,
        or: bool,
        args: &[&J],
        ptrs: &[String],
        g: &Guard,
        depth: usize,
    ) -> Result<Cases, Refusal> {
        let mut out = vec![];
        let mut open = vec![g.clone()];
        for i in 0..args.len() {
            let mut next = vec![];
            for g1 in &open {
                for (g2, c) in self.eval(args[i], &ptrs[i], g1, depth + 1)? {
                    let p = self.truthy(&ptrs[i], &c)?;
                    for (g3, t) in self.split(&ptrs[i], &g2, &p)? {
                        if t == or || i + 1 == args.len() {
                            out.push((g3, c.clone()));
                        } else {
                            next.push(g3);
                        }
                    }
                }
                self.check_size(&ptrs[i], out.len() + next.len())?;
            }
            open = next;
            if open.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// `{"==": [{"substr": [s, 0, n]}, "lit"]}` (a prefix) and `{"substr": [s, -n]}` (a suffix)
    /// compared with a constant string: `s starts_with`/`ends_with "lit"` when the literal has n
    /// UTF-16 units, `s = "lit"` when it has fewer, false when more. `None`: not this pattern.
    fn substr_equality(
        &mut self,
        op: &str,
        args: &[&J],
        ptrs: &[String],
        g: &Guard,
        depth: usize,
    ) -> Result<Option<Cases>, Refusal> {
        let [a, b] = args else { return Ok(None) };
        let (sub, other, sub_ptr) = match (eval::is_logic(a), eval::is_logic(b)) {
            (Some(("substr", x)), _) => (x, *b, &ptrs[0]),
            (_, Some(("substr", x))) => (x, *a, &ptrs[1]),
            _ => return Ok(None),
        };
        let operands = eval::operands(sub);
        if reads_data(other) || operands.len() < 2 || operands.len() > 3 || operands[1..].iter().any(|o| reads_data(o))
        {
            return Ok(None);
        }
        let constant = |j: &J| eval::apply(j, &Js::Null).ok();
        let Some(Js::Str(lit)) = constant(other) else { return Ok(None) };
        let start = constant(operands[1]);
        let len = operands.get(2).and_then(|o| constant(o));
        let integral = |x: &Js| matches!(x, Js::Num(n) if n.fract() == 0.0 && n.abs() < 1e9);
        // (n, prefix?)
        let shape = match (&start, &len) {
            (Some(Js::Num(s0)), Some(l)) if *s0 == 0.0 && integral(l) => match l {
                Js::Num(n) if *n >= 0.0 => (*n as usize, true),
                _ => return Ok(None),
            },
            (Some(Js::Num(s0)), None) if operands.len() == 2 && integral(&Js::Num(*s0)) && *s0 < 0.0 => {
                ((-*s0) as usize, false)
            }
            _ => return Ok(None),
        };
        let k = js::units(&lit).len();
        let mut out = vec![];
        for (g2, v) in self.eval(operands[0], &step(sub_ptr, "substr"), g, depth + 1)? {
            let p = match &v {
                V::C(c) => {
                    let mut call = vec![c.clone(), start.clone().unwrap_or(Js::Undef)];
                    if let Some(l) = &len {
                        call.push(l.clone());
                    }
                    let r = eval::operation("substr", &call).map_err(|e| stopped(sub_ptr, "substr", e))?;
                    Pr::Const(js::strict_eq(&r, &Js::Str(lit.clone())))
                }
                V::T(t) if t.kind == Kind::Str => {
                    let (n, prefix) = shape;
                    let l = string_literal(&lit, sub_ptr)?;
                    if k > n {
                        Pr::Const(false)
                    } else if k < n {
                        self.pred(format!("{} = {l}", t.expr), &[t])
                    } else if n == 0 {
                        Pr::Const(true)
                    } else {
                        self.pred(format!("{} {} {l}", t.expr, if prefix { "starts_with" } else { "ends_with" }), &[t])
                    }
                }
                V::T(t) => {
                    return Err(refuse(
                        sub_ptr,
                        "substr",
                        format!("`substr` of a {} read (JavaScript takes its string form)", t.kind_name()),
                    ))
                }
            };
            let p = if op.starts_with('!') { Pr::Not(Box::new(p)) } else { p };
            out.extend(self.split_bool(sub_ptr, &g2, &p)?);
            self.check_size(sub_ptr, out.len())?;
        }
        Ok(Some(out))
    }

    fn eval_iter(
        &mut self,
        op: &str,
        args: &[&J],
        ptrs: &[String],
        ptr: &str,
        g: &Guard,
        depth: usize,
    ) -> Result<Cases, Refusal> {
        let scoped = match args.first() {
            Some(a) => self.eval(a, &ptrs[0], g, depth + 1)?,
            None => vec![(g.clone(), V::C(Js::Undef))],
        };
        let logic = args.get(1).copied();
        let mut out = vec![];
        for (g2, arr) in scoped {
            // reduce evaluates its initial value before looking at the array.
            let inits: Vec<(Guard, Option<Js>)> = if op == "reduce" {
                match args.get(2) {
                    Some(init) => {
                        let mut v = vec![];
                        for (g3, x) in self.eval(init, &ptrs[2], &g2, depth + 1)? {
                            match x {
                                V::C(c) => v.push((g3, Some(c))),
                                V::T(_) => {
                                    return Err(refuse(
                                        &ptrs[2],
                                        "reduce",
                                        "an initial value read from data (segcore has no fold over lists)",
                                    ))
                                }
                            }
                        }
                        v
                    }
                    None => vec![(g2.clone(), Some(Js::Null))],
                }
            } else {
                vec![(g2.clone(), None)]
            };
            for (g3, init) in inits {
                match &arr {
                    V::C(c) => {
                        let r = eval::iterate(op, c, logic, init, 0).map_err(|s| stopped(ptr, op, s))?;
                        out.push((g3, V::C(r)));
                    }
                    V::T(t) => out.extend(self.iter_over_data(op, t, logic, init, ptr, &g3)?),
                }
            }
        }
        Ok(out)
    }

    /// An iterator over a read: a non-list read is a fixed result; over a `list<T>` only
    /// `some`/`none` of `{"==": [{"var": ""}, c]}` translate (to `c in L`).
    fn iter_over_data(
        &mut self,
        op: &str,
        t: &Rc<Term>,
        logic: Option<&J>,
        init: Option<Js>,
        ptr: &str,
        g: &Guard,
    ) -> Result<Cases, Refusal> {
        let Kind::List(elem) = t.kind.clone() else {
            let r = eval::iterate(op, &Js::Null, logic, init, 0).map_err(|s| stopped(ptr, op, s))?;
            return Ok(vec![(g.clone(), V::C(r))]);
        };
        let no_form = || {
            refuse(
                ptr,
                op,
                format!(
                    "`{op}` over a list read from data: segcore has no list quantifier; only `some`/`none` of `{{\"==\": [{{\"var\": \"\"}}, constant]}}` translate (to `constant in list`)"
                ),
            )
        };
        if op != "some" && op != "none" {
            return Err(no_form());
        }
        let Some((cmp, operands)) = logic.and_then(eval::is_logic) else { return Err(no_form()) };
        if cmp != "==" && cmp != "===" {
            return Err(no_form());
        }
        let ops = eval::operands(operands);
        let is_elem = |j: &J| {
            matches!(eval::is_logic(j), Some(("var", v)) if matches!(v, J::String(s) if s.is_empty())
                || matches!(v, J::Array(a) if a.len() == 1 && a[0] == J::String(String::new())))
        };
        let constant = match ops.as_slice() {
            [a, b] if is_elem(a) && !is_elem(b) => *b,
            [a, b] if is_elem(b) && !is_elem(a) => *a,
            _ => return Err(no_form()),
        };
        // The constant must itself be data-independent: no read anywhere inside it (a read there
        // would see the element).
        if reads_data(constant) {
            return Err(no_form());
        }
        let c = eval::apply(constant, &Js::Null).map_err(|s| stopped(ptr, op, s))?;
        // Element x (T or null under A1) matches when `x == c` / `x === c`: the literal of T
        // that c equals, if any.
        let numeric = |n: f64| -> Result<Option<String>, Refusal> {
            if n.is_nan() {
                Ok(None)
            } else if !n.is_finite() || n.abs() >= SAFE {
                Err(refuse(
                    ptr,
                    op,
                    "a number of magnitude 2^53 or more matched against list elements (JavaScript rounds the elements)",
                ))
            } else {
                number_literal(n, ptr).map(Some)
            }
        };
        let lit = if c.is_nullish() {
            // `=== null` and `== null` both find null elements (A1 allows them).
            return Err(refuse(ptr, op, "matching null elements: segcore's `in` cannot find a null element"));
        } else if cmp == "===" {
            match (&elem, &c) {
                (Elem::Str, Js::Str(s)) => Some(string_literal(s, ptr)?),
                (Elem::Bool, Js::Bool(b)) => Some(b.to_string()),
                (Elem::Int | Elem::Float | Elem::Number, Js::Num(n)) => numeric(*n)?,
                _ => None, // another type, or a fresh array/object
            }
        } else {
            let to_number = |c: &Js| js::to_number(c).map_err(|u| refuse(ptr, op, u.0));
            match (&elem, &c) {
                (Elem::Str, Js::Str(s)) => Some(string_literal(s, ptr)?),
                (Elem::Str, Js::Arr(_) | Js::Obj(_)) => {
                    Some(string_literal(&js::to_string(&c).map_err(|u| refuse(ptr, op, u.0))?, ptr)?)
                }
                (Elem::Str, _) => {
                    return Err(refuse(
                        ptr,
                        op,
                        "loose equality of string elements with a number or boolean (ToNumber of the elements)",
                    ))
                }
                (Elem::Int | Elem::Float | Elem::Number, c) => numeric(to_number(c)?)?,
                (Elem::Bool, Js::Bool(b)) => Some(b.to_string()),
                (Elem::Bool, c) => {
                    let n = to_number(c)?;
                    (n == 1.0 || n == 0.0).then(|| (n == 1.0).to_string())
                }
            }
        };
        self.assume(Assumption::A1, ptr);
        let found = match lit {
            Some(l) => self.pred(format!("{l} in {}", t.expr), &[t]),
            None => Pr::Const(false),
        };
        let p = if op == "some" { found } else { Pr::Not(Box::new(found)) };
        self.split_bool(ptr, g, &p)
    }

    /// json-logic-js truthiness of a value, as a boolean over the data.
    fn truthy(&mut self, _ptr: &str, v: &V) -> Result<Pr, Refusal> {
        Ok(match v {
            V::C(c) => Pr::Const(js::truthy(c)),
            V::T(t) => match &t.kind {
                Kind::IntRead | Kind::Double => self.pred(format!("{} != 0", t.expr), &[t]),
                Kind::Str => self.pred(format!("{} != \"\"", t.expr), &[t]),
                Kind::List(_) => self.pred(format!("length({}) > 0", t.expr), &[t]),
                Kind::Obj(_) => Pr::Const(true),
            },
        })
    }

    fn apply(&mut self, op: &str, ptr: &str, vals: &[V], g: &Guard) -> Result<Cases, Refusal> {
        match op {
            "var" => return self.var(ptr, vals, g),
            "missing" | "missing_some" => return self.missing(op, ptr, vals, g),
            _ => {}
        }
        if vals.iter().all(|v| matches!(v, V::C(_))) {
            let args: Vec<Js> = vals.iter().map(|v| if let V::C(c) = v { c.clone() } else { Js::Undef }).collect();
            let r = eval::operation(op, &args).map_err(|s| stopped(ptr, op, s))?;
            return Ok(vec![(g.clone(), V::C(r))]);
        }
        let arg = |i: usize| vals.get(i).cloned().unwrap_or(V::C(Js::Undef));
        let p = match op {
            "log" => return Ok(vec![(g.clone(), arg(0))]),
            "!" => Pr::Not(Box::new(self.truthy(ptr, &arg(0))?)),
            "!!" => self.truthy(ptr, &arg(0))?,
            "==" | "!=" => {
                let p = self.eq(ptr, &arg(0), &arg(1), false)?;
                if op == "==" {
                    p
                } else {
                    Pr::Not(Box::new(p))
                }
            }
            "===" | "!==" => {
                let p = self.eq(ptr, &arg(0), &arg(1), true)?;
                if op == "===" {
                    p
                } else {
                    Pr::Not(Box::new(p))
                }
            }
            ">" | ">=" => self.order(ptr, op, &arg(0), &arg(1))?,
            "<" | "<=" => {
                let first = self.order(ptr, op, &arg(0), &arg(1))?;
                match vals.get(2) {
                    None | Some(V::C(Js::Undef)) => first,
                    Some(c) => {
                        let second = self.order(ptr, op, &arg(1), c)?;
                        Pr::And(vec![first, second])
                    }
                }
            }
            "in" => self.contains(ptr, &arg(0), &arg(1))?,
            "+" | "-" | "*" | "/" => return Ok(vec![(g.clone(), self.arith(op, ptr, vals)?)]),
            "%" | "min" | "max" | "cat" | "substr" | "merge" => {
                return Err(refuse(
                    ptr,
                    op,
                    format!(
                    "`{op}` over data: segcore has no counterpart (it is folded only when its operands are constants)"
                ),
                ))
            }
            _ => return Err(refuse(ptr, op, "not supported over data")),
        };
        self.split_bool(ptr, g, &p)
    }

    fn var(&mut self, ptr: &str, vals: &[V], g: &Guard) -> Result<Cases, Refusal> {
        let (a, b) = (vals.first().cloned().unwrap_or(V::C(Js::Undef)), vals.get(1).cloned());
        let V::C(a) = a else {
            return Err(refuse(ptr, "var", "a path computed from data"));
        };
        let default = match b {
            None | Some(V::C(Js::Undef)) => None,
            Some(V::C(d)) => Some(d),
            Some(V::T(_)) => return Err(refuse(ptr, "var", "a default read from data")),
        };
        if matches!(a, Js::Undef | Js::Null) || matches!(&a, Js::Str(s) if s.is_empty()) {
            // The whole data object: never null.
            let t = Term { kind: Kind::Obj(String::new()), expr: String::new(), reads: vec![] };
            return Ok(vec![(g.clone(), V::T(Rc::new(t)))]);
        }
        let path = js::to_string(&a).map_err(|u| refuse(ptr, "var", u.0))?;
        if default.is_some() {
            // A null list element is there (A1 allows it), so json-logic-js does not apply the
            // default, while segcore cannot tell it from an element out of range.
            let (seg, _) = self.read_path(ptr, "var", &path)?;
            if seg.contains('[') {
                return Err(refuse(ptr, "var", "a default on a list element: a null element keeps null, an absent one takes the default, which segcore cannot tell apart"));
            }
        }
        self.read(ptr, "var", &path, default, g)
    }

    /// `missing`/`missing_some`: each key splits into missing and present, so the result is a
    /// constant array in every case.
    fn missing(&mut self, op: &str, ptr: &str, vals: &[V], g: &Guard) -> Result<Cases, Refusal> {
        let consts: Vec<Js> = vals
            .iter()
            .map(|v| match v {
                V::C(c) => Ok(c.clone()),
                V::T(_) => Err(refuse(ptr, op, "keys read from data")),
            })
            .collect::<Result<_, _>>()?;
        let mut options_len = 0;
        let (need, keys): (Option<Js>, Vec<Js>) = if op == "missing_some" {
            let need = consts.first().cloned().unwrap_or(Js::Undef);
            match consts.get(1) {
                // `{"missing": options}`: `missing` takes its first operand's elements when that
                // is an array; the count still uses `options.length`.
                Some(Js::Arr(a)) => {
                    options_len = a.len();
                    match a.first() {
                        Some(Js::Arr(first)) => (Some(need), first.as_ref().clone()),
                        _ => (Some(need), a.as_ref().clone()),
                    }
                }
                _ => {
                    // Not an array: let the reference decide (it throws or reads one key).
                    return Err(refuse(ptr, op, "a key list that is not an array"));
                }
            }
        } else {
            match consts.first() {
                Some(Js::Arr(a)) => (None, a.as_ref().clone()),
                _ => (None, consts.clone()),
            }
        };
        // Each key: the var it reads, missing when null/absent or "".
        let mut cases: Vec<(Guard, Vec<Js>)> = vec![(g.clone(), vec![])];
        for key in &keys {
            let var_args: Vec<V> = match key {
                Js::Arr(a) => a.iter().cloned().map(V::C).collect(),
                other => vec![V::C(other.clone())],
            };
            let mut next = vec![];
            for (g2, miss) in &cases {
                for (g3, v) in self.var(ptr, &var_args, g2)? {
                    let p = match &v {
                        V::C(c) => Pr::Const(matches!(c, Js::Null) || matches!(c, Js::Str(s) if s.is_empty())),
                        V::T(t) if t.kind == Kind::Str => self.pred(format!("{} = \"\"", t.expr), &[t]),
                        V::T(_) => Pr::Const(false),
                    };
                    for (g4, is_missing) in self.split(ptr, &g3, &p)? {
                        let mut m = miss.clone();
                        if is_missing {
                            m.push(key.clone());
                        }
                        next.push((g4, m));
                    }
                }
            }
            self.check_size(ptr, next.len())?;
            cases = next;
        }
        let mut out = vec![];
        for (g2, miss) in cases {
            let value = match &need {
                None => Js::Arr(Rc::new(miss)),
                Some(n) => {
                    let present = Js::Num(options_len as f64 - miss.len() as f64);
                    if js::relational(">=", &present, n).map_err(|u| refuse(ptr, op, u.0))? {
                        Js::Arr(Rc::new(vec![]))
                    } else {
                        Js::Arr(Rc::new(miss))
                    }
                }
            };
            out.push((g2, V::C(value)));
        }
        Ok(out)
    }

    /// `in` (json-logic-js: substring of a string, `===` element of an array, else false).
    fn contains(&mut self, ptr: &str, a: &V, b: &V) -> Result<Pr, Refusal> {
        match b {
            V::C(hay) => {
                if !js::to_boolean(hay) {
                    return Ok(Pr::Const(false));
                }
                let t = match a {
                    V::T(t) => t,
                    // Both constant (a data-reading operand was a third, ignored one): fold.
                    V::C(needle) => {
                        let r =
                            eval::operation("in", &[needle.clone(), hay.clone()]).map_err(|s| stopped(ptr, "in", s))?;
                        return Ok(Pr::Const(js::truthy(&r)));
                    }
                };
                match hay {
                    Js::Str(s) => {
                        if t.kind != Kind::Str {
                            return Err(refuse(
                                ptr,
                                "in",
                                format!(
                                    "a {} read searched in a string (JavaScript searches its string form)",
                                    t.kind_name()
                                ),
                            ));
                        }
                        let lit = string_literal(s, ptr)?;
                        Ok(self.pred(format!("{lit} contains {}", t.expr), &[t]))
                    }
                    Js::Arr(items) => {
                        if items.len() > crate::limits::MAX_LIST_LEN {
                            return Err(refuse(
                                ptr,
                                "in",
                                format!(
                                    "a list of {} elements (a segcore list literal holds at most {}, SPEC §19)",
                                    items.len(),
                                    crate::limits::MAX_LIST_LEN
                                ),
                            ));
                        }
                        // `===` search: elements of another type never match; the rest is one
                        // segcore `in` (exact below 2^53), else element by element.
                        let mut lits: Vec<String> = vec![];
                        let single = match t.kind {
                            Kind::Str => {
                                for x in items.iter() {
                                    if let Js::Str(s) = x {
                                        lits.push(string_literal(s, ptr)?);
                                    }
                                }
                                true
                            }
                            Kind::IntRead | Kind::Double => items.iter().all(|x| match x {
                                Js::Num(n) if !n.is_finite() || n.abs() >= SAFE => false,
                                Js::Num(n) => {
                                    if !n.is_nan() {
                                        lits.extend(number_literal(*n, ptr).ok());
                                    }
                                    true
                                }
                                _ => true,
                            }),
                            _ => false,
                        };
                        if single {
                            lits.dedup();
                            return Ok(match lits.len() {
                                0 => Pr::Const(false),
                                1 => self.pred(format!("{} = {}", t.expr, lits[0]), &[t]),
                                _ => self.pred(format!("{} in [{}]", t.expr, lits.join(", ")), &[t]),
                            });
                        }
                        let mut ps = vec![];
                        for x in items.iter() {
                            ps.push(self.eq(ptr, a, &V::C(x.clone()), true)?);
                        }
                        Ok(Pr::Or(ps))
                    }
                    Js::Obj(o) if o.iter().any(|(k, _)| k == "indexOf") => {
                        Err(refuse(ptr, "in", "an object with an `indexOf` key (json-logic-js throws)"))
                    }
                    _ => Ok(Pr::Const(false)),
                }
            }
            V::T(h) => match &h.kind {
                Kind::Str => match a {
                    V::C(needle) => {
                        let s = js::to_string(needle).map_err(|u| refuse(ptr, "in", u.0))?;
                        if s.is_empty() {
                            return Ok(self.pred(format!("{} != \"\"", h.expr), &[h]));
                        }
                        let lit = string_literal(&s, ptr)?;
                        Ok(self.pred(format!("{} contains {lit}", h.expr), &[h]))
                    }
                    V::T(t) if t.kind == Kind::Str => {
                        // JavaScript: `!""` is true, so nothing is found in "".
                        let nonempty = self.pred(format!("{} != \"\"", h.expr), &[h]);
                        let found = self.pred(format!("{} contains {}", h.expr, t.expr), &[h, t]);
                        Ok(Pr::And(vec![nonempty, found]))
                    }
                    V::T(t) => Err(refuse(
                        ptr,
                        "in",
                        format!(
                            "a {} read searched in a string read (JavaScript searches its string form)",
                            t.kind_name()
                        ),
                    )),
                },
                Kind::List(elem) => match a {
                    V::C(Js::Null) => Err(refuse(
                        ptr,
                        "in",
                        "null searched in a list read: json-logic-js finds null elements, segcore's `in` cannot",
                    )),
                    V::C(c) => {
                        let lit = match (elem, c) {
                            (Elem::Str, Js::Str(s)) => Some(string_literal(s, ptr)?),
                            (Elem::Bool, Js::Bool(b)) => Some(b.to_string()),
                            (Elem::Int | Elem::Float | Elem::Number, Js::Num(n)) if n.is_finite() => {
                                if n.abs() >= SAFE {
                                    return Err(refuse(ptr, "in", "a number of magnitude 2^53 or more searched in a list read (JavaScript rounds the elements)"));
                                }
                                Some(number_literal(*n, ptr)?)
                            }
                            _ => None, // another type: `===` never matches
                        };
                        self.assume(Assumption::A1, ptr);
                        Ok(match lit {
                            Some(l) => self.pred(format!("{l} in {}", h.expr), &[h]),
                            None => Pr::Const(false),
                        })
                    }
                    V::T(t) if t.kind == Kind::Str && *elem == Elem::Str => {
                        Ok(self.pred(format!("{} in {}", t.expr, h.expr), &[t, h]))
                    }
                    V::T(t) => Err(refuse(ptr, "in", format!("a {} read searched in a list read", t.kind_name()))),
                },
                Kind::IntRead | Kind::Double => Ok(Pr::Const(false)), // numbers have no indexOf
                Kind::Obj(_) => Err(refuse(
                    ptr,
                    "in",
                    "searching an object read: json-logic-js calls the data's own `indexOf` if it has one (and throws)",
                )),
            },
        }
    }

    /// `+ - * /` with a term among the operands: the result is a double term (A2).
    fn arith(&mut self, op: &str, ptr: &str, vals: &[V]) -> Result<V, Refusal> {
        enum N {
            C(f64),
            T(String, Vec<String>),
        }
        let conv = |v: &V, parse: bool| -> Result<N, Refusal> {
            match v {
                V::C(c) => {
                    let n = if parse { js::parse_float(c) } else { js::to_number(c) };
                    Ok(N::C(n.map_err(|u| refuse(ptr, op, u.0))?))
                }
                V::T(t) if t.is_num() => Ok(N::T(t.double(), t.reads.clone())),
                V::T(t) => Err(refuse(
                    ptr,
                    op,
                    format!(
                        "arithmetic on a {} read (JavaScript converts it with {})",
                        t.kind_name(),
                        if parse { "parseFloat" } else { "ToNumber" }
                    ),
                )),
            }
        };
        let text = |n: &N| -> Result<String, Refusal> {
            match n {
                N::C(x) => number_literal(*x, ptr),
                N::T(s, _) => Ok(s.clone()),
            }
        };
        let mut reads = vec![];
        let mut terms: Vec<N> = vec![];
        match op {
            "+" | "*" => {
                if op == "*" && vals.len() == 1 {
                    return Ok(vals[0].clone());
                }
                for v in vals {
                    terms.push(conv(v, true)?);
                }
            }
            "-" => match vals.get(1) {
                None | Some(V::C(Js::Undef)) => {
                    let x = conv(&vals[0], false)?;
                    terms.push(N::C(0.0));
                    terms.push(x);
                }
                Some(b) => {
                    terms.push(conv(&vals[0], false)?);
                    terms.push(conv(b, false)?);
                }
            },
            _ => {
                let a = conv(vals.first().unwrap_or(&V::C(Js::Undef)), false)?;
                let b = conv(vals.get(1).unwrap_or(&V::C(Js::Undef)), false)?;
                match b {
                    N::T(..) => return Err(refuse(
                        ptr,
                        "/",
                        "division by a value read from data (JavaScript gives ±Infinity or NaN for 0, segcore null)",
                    )),
                    N::C(d) if d == 0.0 || !d.is_finite() => {
                        return Err(refuse(ptr, "/", "division of data by zero or a non-finite constant"))
                    }
                    _ => {}
                }
                terms.push(a);
                terms.push(b);
            }
        }
        if terms.iter().any(|t| matches!(t, N::C(x) if x.is_nan())) {
            return Ok(V::C(Js::Num(f64::NAN)));
        }
        for t in &terms {
            if let N::T(_, r) = t {
                reads.extend(r.iter().cloned());
            }
        }
        // Fold constants left to right, as JavaScript does (no reassociation).
        let mut acc: N = match op {
            "+" => N::C(0.0),
            _ => terms.remove(0),
        };
        for t in terms {
            acc = match (acc, t) {
                (N::C(x), N::C(y)) => N::C(match op {
                    "+" => x + y,
                    "*" => x * y,
                    "-" => x - y,
                    _ => x / y,
                }),
                (N::C(x), t @ N::T(..)) if op == "+" && x == 0.0 => t,
                (l, r) => {
                    if let N::C(x) = &l {
                        if !x.is_finite() {
                            return Err(refuse(ptr, op, "arithmetic with an infinite intermediate"));
                        }
                    }
                    N::T(format!("({} {op} {})", text(&l)?, text(&r)?), vec![])
                }
            };
        }
        self.assume(Assumption::A2, ptr);
        reads.sort();
        reads.dedup();
        Ok(match acc {
            N::C(x) => V::C(Js::Num(x)),
            N::T(s, _) => V::T(Rc::new(Term { kind: Kind::Double, expr: s, reads })),
        })
    }
}

/// Whether `node` reads its data anywhere inside (`var`, `missing`, `missing_some`).
fn reads_data(node: &J) -> bool {
    match node {
        J::Array(items) => items.iter().any(reads_data),
        J::Object(o) if o.len() == 1 => {
            o.iter().any(|(k, v)| matches!(k.as_str(), "var" | "missing" | "missing_some") || reads_data(v))
        }
        _ => false,
    }
}

/// Whether evaluating `node` does anything but return it: an operator somewhere in it (arrays
/// are evaluated element by element; other objects are returned as they are).
fn contains_logic(node: &J) -> bool {
    match node {
        J::Array(items) => items.iter().any(contains_logic),
        J::Object(o) => o.len() == 1,
        _ => false,
    }
}

fn stopped(ptr: &str, op: &str, s: Stop) -> Refusal {
    match s {
        Stop::Throws(m) => refuse(ptr, op, format!("json-logic-js throws here ({m})")),
        Stop::Unsure(m) => {
            refuse(ptr, op, format!("depends on JavaScript behaviour the importer does not reproduce: {m}"))
        }
    }
}
