//! Canonical definitions → JSON Logic (SPEC §29.3), for systems that only speak JSON Logic: a rule
//! json-logic-js 2.0.5 evaluates to a truthy value exactly when segcore's outcome is TRUE, or a
//! refusal naming the construct. Each boolean node becomes a pair of JSON Logic expressions —
//! one true exactly when the node is TRUE, one exactly when it is FALSE — so three-valued logic
//! survives the trip into a two-valued engine.

use serde_json::{json, Value as J};

use super::js;
use super::{Assumption, ImportSchema, Ty};
use crate::ast::{Expr, ExprKind, Literal, Op, PathSeg};
use crate::error::{Error, ErrorKind};

const SAFE: f64 = 9007199254740992.0; // 2^53

/// An export: the JSON Logic rule and the assumptions it rests on.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The JSON Logic rule.
    pub rule: J,
    /// The assumptions used (SPEC §29): A1 whenever the rule reads an attribute.
    pub assumptions: Vec<Assumption>,
}

fn refused(e: &Expr, rule: &str, why: impl Into<String>) -> Error {
    let text = rule.get(e.span.start as usize..e.span.end as usize).unwrap_or("").to_string();
    Error::new(ErrorKind::ExportRefused, format!("`{text}`: {}", why.into()))
}

/// The pair (TRUE, FALSE) of a boolean node.
struct Pair {
    t: J,
    f: J,
}

/// `parts` with nested `op` nodes spliced in (`and` of `and`s is one `and`).
fn flat(op: &str, parts: Vec<J>) -> Vec<J> {
    let mut out = vec![];
    for p in parts {
        match p {
            J::Object(mut o) if o.len() == 1 && o.get(op).is_some_and(J::is_array) => {
                if let Some(J::Array(inner)) = o.remove(op) {
                    out.extend(inner);
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn and(parts: Vec<J>) -> J {
    let parts: Vec<J> = flat("and", parts).into_iter().filter(|p| *p != J::Bool(true)).collect();
    if parts.contains(&J::Bool(false)) {
        return J::Bool(false);
    }
    match parts.len() {
        0 => J::Bool(true),
        1 => parts.into_iter().next().unwrap_or(J::Bool(true)),
        _ => json!({"and": parts}),
    }
}

fn or(parts: Vec<J>) -> J {
    let parts: Vec<J> = flat("or", parts).into_iter().filter(|p| *p != J::Bool(false)).collect();
    if parts.contains(&J::Bool(true)) {
        return J::Bool(true);
    }
    match parts.len() {
        0 => J::Bool(false),
        1 => parts.into_iter().next().unwrap_or(J::Bool(false)),
        _ => json!({"or": parts}),
    }
}

fn not(p: J) -> J {
    match p {
        J::Bool(b) => J::Bool(!b),
        other => json!({"!": other}),
    }
}

struct Ex<'a> {
    rule: &'a str,
    schema: &'a ImportSchema,
    reads: bool,
}

/// Exports one rule (a definition's `rule` text) against an import schema (SPEC §29).
pub(crate) fn export_rule(rule: &str, schema: &ImportSchema) -> Result<Exported, Error> {
    let ast = crate::Segment::parse_rule(rule)?;
    let mut ex = Ex { rule, schema, reads: false };
    let pair = ex.boolean(&ast)?;
    Ok(Exported { rule: pair.t, assumptions: if ex.reads { vec![Assumption::A1] } else { vec![] } })
}

/// A literal operand, as JavaScript will hold it.
enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
}

impl Ex<'_> {
    fn path(&mut self, e: &Expr) -> Result<Option<(String, Ty)>, Error> {
        let ExprKind::Path(segs) = &e.kind else { return Ok(None) };
        let mut dotted = String::new();
        for s in segs {
            if !dotted.is_empty() {
                dotted.push('.');
            }
            match s {
                PathSeg::Key(k) => dotted.push_str(k),
                PathSeg::Index(i) => dotted.push_str(&i.to_string()),
            }
        }
        // The type: declared for the dotted path, or the element type of a declared list.
        let ty = self.schema.get(&dotted).or_else(|| {
            let (parent, last) = dotted.rsplit_once('.')?;
            match (self.schema.get(parent), last.parse::<u64>()) {
                (Some(Ty::List(e)), Ok(_)) => Some(e.ty()),
                _ => None,
            }
        });
        let Some(ty) = ty else {
            return Err(refused(
                e,
                self.rule,
                format!("`{dotted}` has no declared type: an export needs the schema of every attribute it reads"),
            ));
        };
        if super::jsonlogic_eval::OBJECT_PROTOTYPE.iter().any(|p| dotted.split('.').any(|s| s == *p)) {
            return Err(refused(
                e,
                self.rule,
                "a key every JavaScript object inherits: json-logic-js would find it where the data has none",
            ));
        }
        self.reads = true;
        Ok(Some((dotted, ty)))
    }

    fn literal(&self, e: &Expr) -> Result<Option<Lit>, Error> {
        let ExprKind::Lit(l) = &e.kind else { return Ok(None) };
        Ok(Some(match l {
            Literal::Null => Lit::Null,
            Literal::Bool(b) => Lit::Bool(*b),
            Literal::Int(i) => {
                if (*i as f64).abs() >= SAFE {
                    return Err(refused(e, self.rule, "an integer of magnitude 2^53 or more (JavaScript rounds it)"));
                }
                Lit::Num(*i as f64)
            }
            Literal::Decimal(d) => {
                let x: f64 = d.parse().map_err(|_| refused(e, self.rule, "an unreadable number"))?;
                if !x.is_finite() || x.abs() >= SAFE {
                    return Err(refused(e, self.rule, "a decimal of magnitude 2^53 or more (JavaScript rounds it)"));
                }
                Lit::Num(x)
            }
            Literal::Str(s) => Lit::Str(s.clone()),
            _ => return Err(refused(e, self.rule, "durations and money have no JSON Logic counterpart")),
        }))
    }

    fn boolean(&mut self, e: &Expr) -> Result<Pair, Error> {
        match &e.kind {
            ExprKind::Lit(Literal::Bool(b)) => Ok(Pair { t: J::Bool(*b), f: J::Bool(!b) }),
            ExprKind::Lit(Literal::Null) => Ok(Pair { t: J::Bool(false), f: J::Bool(false) }),
            ExprKind::Path(_) => {
                let (p, ty) = self.path(e)?.ok_or_else(|| refused(e, self.rule, "not a path"))?;
                if ty != Ty::Bool {
                    return Err(refused(e, self.rule, "a non-boolean attribute used as a condition"));
                }
                let v = json!({"var": p});
                Ok(Pair { t: json!({"===": [v, true]}), f: json!({"===": [v, false]}) })
            }
            ExprKind::Op(op, args) => self.op(e, *op, args),
            _ => Err(refused(
                e,
                self.rule,
                "no JSON Logic counterpart (events, windows, functions and time are segcore's)",
            )),
        }
    }

    fn op(&mut self, e: &Expr, op: Op, args: &[Expr]) -> Result<Pair, Error> {
        match op {
            Op::And | Op::Or => {
                let pairs = args.iter().map(|a| self.boolean(a)).collect::<Result<Vec<_>, _>>()?;
                let (ts, fs): (Vec<J>, Vec<J>) = pairs.into_iter().map(|p| (p.t, p.f)).unzip();
                Ok(if op == Op::And { Pair { t: and(ts), f: or(fs) } } else { Pair { t: or(ts), f: and(fs) } })
            }
            Op::Not => {
                let p = self.boolean(&args[0])?;
                Ok(Pair { t: p.f, f: p.t })
            }
            Op::IsNull | Op::IsNotNull => {
                let (p, _) = self
                    .path(&args[0])?
                    .ok_or_else(|| refused(e, self.rule, "`is null` of something other than an attribute"))?;
                let null = json!({"==": [{"var": p}, null]});
                let present = json!({"!=": [{"var": p}, null]});
                Ok(if op == Op::IsNull { Pair { t: null, f: present } } else { Pair { t: present, f: null } })
            }
            Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge => self.compare(e, op, &args[0], &args[1]),
            Op::Between | Op::NotBetween => {
                let lo = self.compare(e, Op::Ge, &args[0], &args[1])?;
                let hi = self.compare(e, Op::Le, &args[0], &args[2])?;
                let p = Pair { t: and(vec![lo.t, hi.t]), f: or(vec![lo.f, hi.f]) };
                Ok(if op == Op::Between { p } else { Pair { t: p.f, f: p.t } })
            }
            Op::In | Op::NotIn => {
                let (p, ty) = self
                    .path(&args[0])?
                    .ok_or_else(|| refused(e, self.rule, "`in` of something other than an attribute"))?;
                let ExprKind::List(items) = &args[1].kind else {
                    return Err(refused(e, self.rule, "`in` a list that is not a literal"));
                };
                let mut lits = vec![];
                let mut has_null = false;
                for it in items {
                    match self.literal(it)? {
                        Some(Lit::Null) => has_null = true,
                        Some(l) => {
                            self.check_type(it, &ty, &l)?;
                            self.check_decimal(it, &ty)?;
                            lits.push(lit_json(&l));
                        }
                        None => return Err(refused(it, self.rule, "a list item that is not a literal")),
                    }
                }
                let v = json!({"var": p});
                let present = json!({"!=": [v, null]});
                let found = if lits.is_empty() { J::Bool(false) } else { json!({"in": [v, lits]}) };
                // `x in [..]` is FALSE only when no item is null and x is not null (or the list is empty).
                let t = and(vec![present.clone(), found.clone()]);
                let f = if items.is_empty() {
                    J::Bool(true)
                } else if has_null {
                    J::Bool(false)
                } else {
                    and(vec![present, not(found)])
                };
                Ok(if op == Op::In { Pair { t, f } } else { Pair { t: f, f: t } })
            }
            Op::Contains | Op::NotContains | Op::StartsWith | Op::NotStartsWith | Op::EndsWith | Op::NotEndsWith => {
                let (p, ty) = self
                    .path(&args[0])?
                    .ok_or_else(|| refused(e, self.rule, "a string test of something other than an attribute"))?;
                if ty != Ty::Str {
                    return Err(refused(e, self.rule, "a string test of a non-string attribute"));
                }
                let Some(Lit::Str(lit)) = self.literal(&args[1])? else {
                    return Err(refused(e, self.rule, "a string test against something other than a string literal"));
                };
                let v = json!({"var": p});
                let present = json!({"!=": [v, null]});
                let units = js::units(&lit).len();
                let test = if lit.is_empty() {
                    J::Bool(true)
                } else {
                    match op {
                        Op::Contains | Op::NotContains => json!({"in": [lit, v]}),
                        Op::StartsWith | Op::NotStartsWith => json!({"==": [{"substr": [v, 0, units]}, lit]}),
                        _ => json!({"==": [{"substr": [v, -(units as i64)]}, lit]}),
                    }
                };
                let p = Pair { t: and(vec![present.clone(), test.clone()]), f: and(vec![present, not(test)]) };
                Ok(if matches!(op, Op::Contains | Op::StartsWith | Op::EndsWith) { p } else { Pair { t: p.f, f: p.t } })
            }
            _ => Err(refused(e, self.rule, format!("`{}` has no exact JSON Logic counterpart", op.name()))),
        }
    }

    /// A literal of the attribute's type (else segcore's comparison is UNKNOWN or a type error).
    fn check_type(&self, e: &Expr, ty: &Ty, l: &Lit) -> Result<(), Error> {
        let ok = matches!(
            (ty, l),
            (Ty::Bool, Lit::Bool(_)) | (Ty::Int | Ty::Float | Ty::Number, Lit::Num(_)) | (Ty::Str, Lit::Str(_))
        );
        if ok {
            Ok(())
        } else {
            Err(refused(e, self.rule, format!("a literal of another type than the attribute's `{}`", ty.name())))
        }
    }

    /// A decimal literal against an int (or number) attribute: segcore compares exactly, JSON
    /// Logic the double nearest the literal; they agree when no integer lies between the two.
    fn check_decimal(&self, e: &Expr, ty: &Ty) -> Result<(), Error> {
        let ExprKind::Lit(Literal::Decimal(d)) = &e.kind else { return Ok(()) };
        if !matches!(ty, Ty::Int | Ty::Number) {
            return Ok(());
        }
        let magnitude = d.trim_start_matches('-');
        let (int, frac) = magnitude.split_once('.').unwrap_or((magnitude, ""));
        let negative = d.starts_with('-');
        let x: f64 = d.parse().unwrap_or(f64::NAN);
        let whole: f64 = int.parse().unwrap_or(f64::NAN);
        let ok = if frac.bytes().all(|b| b == b'0') {
            x == if negative { -whole } else { whole }
        } else {
            let floor = if negative { -whole - 1.0 } else { whole };
            x.fract() != 0.0 && x.floor() == floor
        };
        if ok {
            Ok(())
        } else {
            Err(refused(e, self.rule, "a decimal whose nearest double lies on the other side of an integer (JavaScript compares the double, segcore the decimal)"))
        }
    }

    fn compare(&mut self, e: &Expr, op: Op, a: &Expr, b: &Expr) -> Result<Pair, Error> {
        // Attribute op literal (a literal on the left flips the operator).
        let (path, lit, op) = match (self.path(a)?, self.path(b)?) {
            (Some(p), None) => (p, b, op),
            (None, Some(p)) => {
                let flipped = match op {
                    Op::Lt => Op::Gt,
                    Op::Le => Op::Ge,
                    Op::Gt => Op::Lt,
                    Op::Ge => Op::Le,
                    other => other,
                };
                (p, a, flipped)
            }
            _ => {
                return Err(refused(
                    e,
                    self.rule,
                    "JSON Logic compares an attribute with a literal only here (events, functions and arithmetic have no exact counterpart)",
                ))
            }
        };
        let (p, ty) = path;
        let Some(l) = self.literal(lit)? else {
            return Err(refused(e, self.rule, "a comparison that is not an attribute against a literal"));
        };
        if matches!(l, Lit::Null) {
            // Any comparison with null is UNKNOWN: neither TRUE nor FALSE.
            return Ok(Pair { t: J::Bool(false), f: J::Bool(false) });
        }
        self.check_type(lit, &ty, &l)?;
        self.check_decimal(lit, &ty)?;
        if let Lit::Str(s) = &l {
            if !matches!(op, Op::Eq | Op::Ne) && s.chars().any(|c| c >= '\u{E000}') {
                return Err(refused(lit, self.rule, "a string literal with characters at or beyond U+E000 in an order comparison (JavaScript orders UTF-16 units)"));
            }
        }
        if ty == Ty::Bool && !matches!(op, Op::Eq | Op::Ne) {
            return Err(refused(e, self.rule, "booleans do not order"));
        }
        let v = json!({"var": p});
        let c = lit_json(&l);
        let present = json!({"!=": [v, null]});
        let (yes, no) = match op {
            Op::Eq => ("===", "!=="),
            Op::Ne => ("!==", "==="),
            Op::Lt => ("<", ">="),
            Op::Le => ("<=", ">"),
            Op::Gt => (">", "<="),
            _ => (">=", "<"),
        };
        Ok(Pair { t: and(vec![present.clone(), json!({yes: [v, c]})]), f: and(vec![present, json!({no: [v, c]})]) })
    }
}

fn lit_json(l: &Lit) -> J {
    match l {
        Lit::Null => J::Null,
        Lit::Bool(b) => J::Bool(*b),
        Lit::Num(x) if x.fract() == 0.0 => json!(*x as i64),
        Lit::Num(x) => json!(x),
        Lit::Str(s) => J::String(s.clone()),
    }
}
