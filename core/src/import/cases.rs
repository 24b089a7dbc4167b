//! Cases over the data, shared by the JavaScript sources (SPEC §29 "Two values in, three values
//! out"): a read splits into its null case and its value (a boolean read into true and false),
//! every JavaScript coercion is decided on constants, and what stays symbolic is a non-null typed
//! segcore *term*. Comparisons of terms become atoms ([`formula`](super::formula)); a translation
//! is the disjunction of the guards under which the source says "member".

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::formula::{self, Atom, Atoms, Guard};
use super::js::{self, Js};
use super::{Assumption, Elem, ImportSchema, Refusal, Ty};

/// Cases one node may split into before the import is refused as too large.
pub(super) const MAX_CASES: usize = 256;

pub(super) const SAFE: f64 = 9007199254740992.0; // 2^53

/// A non-null value known only at evaluation time.
#[derive(Debug, Clone)]
pub(super) struct Term {
    pub(super) kind: Kind,
    /// segcore expression text.
    pub(super) expr: String,
    /// The segcore paths it reads.
    pub(super) reads: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// A number read of type int/number: compared as it is, `(x / 1)` as a double.
    IntRead,
    /// A float read or an arithmetic result: a double already.
    Double,
    Str,
    List(Elem),
    /// An object read (or the whole data, path ""): truthy, identity by path.
    Obj(String),
}

impl Term {
    pub(super) fn double(&self) -> String {
        match self.kind {
            Kind::IntRead => format!("({} / 1)", self.expr),
            _ => self.expr.clone(),
        }
    }
    pub(super) fn is_num(&self) -> bool {
        matches!(self.kind, Kind::IntRead | Kind::Double)
    }
    pub(super) fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::IntRead | Kind::Double => "number",
            Kind::Str => "string",
            Kind::List(_) => "list",
            Kind::Obj(_) => "object",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum V {
    C(Js),
    T(Rc<Term>),
}

/// A JavaScript boolean over the data, before it is split into cases.
#[derive(Debug, Clone)]
pub(super) enum Pr {
    Const(bool),
    Atom(usize),
    Not(Box<Pr>),
    And(Vec<Pr>),
    Or(Vec<Pr>),
}

pub(super) type Cases = Vec<(Guard, V)>;

/// What a translation produced.
pub(crate) struct Translation {
    pub rule: String,
    pub assumptions: BTreeMap<Assumption, BTreeSet<String>>,
    /// segcore paths read, with their import types.
    pub reads: BTreeMap<String, Ty>,
}

/// The state of one translation: the schema, the atoms met so far, the assumptions used and the
/// paths read.
pub(super) struct Tr<'a> {
    pub(super) schema: &'a ImportSchema,
    pub(super) atoms: Atoms,
    pub(super) assumptions: BTreeMap<Assumption, BTreeSet<String>>,
    pub(super) reads: BTreeMap<String, Ty>,
}

pub(super) fn refuse(path: &str, construct: impl Into<String>, reason: impl Into<String>) -> Refusal {
    Refusal { path: path.to_string(), construct: construct.into(), reason: reason.into() }
}

/// One JSON pointer step (RFC 6901 escaping).
pub(super) fn step(ptr: &str, key: &str) -> String {
    format!("{ptr}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// A double as a segcore literal denoting exactly it: an int below 2^53, else the shortest
/// decimal that reads back to it (SPEC §29 "Numbers").
pub(crate) fn number_literal(x: f64, ptr: &str) -> Result<String, Refusal> {
    if !x.is_finite() {
        return Err(refuse(ptr, "number", "a non-finite number"));
    }
    if x == x.trunc() && x.abs() < SAFE {
        return Ok(format!("{}", x as i64));
    }
    let sci = format!("{:e}", x.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits.len() > 28 {
        return Err(refuse(ptr, "number", "a number needing more than 28 significant digits"));
    }
    let point = exp.parse::<i64>().unwrap_or(0) + 1; // digits before the decimal point
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    let sig = body.trim_start_matches(['0', '.']).len();
    if sig > 29 || body.len() > 64 {
        return Err(refuse(ptr, "number", "a number needing more than 28 significant digits"));
    }
    Ok(if x < 0.0 { format!("-{body}") } else { body })
}

/// A string as a segcore string literal (the printer's escapes, SPEC §2).
pub(crate) fn string_literal(s: &str, _ptr: &str) -> Result<String, Refusal> {
    Ok(crate::printer::quote(s))
}

impl<'a> Tr<'a> {
    pub(super) fn new(schema: &'a ImportSchema) -> Tr<'a> {
        Tr { schema, atoms: Atoms::default(), assumptions: BTreeMap::new(), reads: BTreeMap::new() }
    }

    /// The translation: the disjunction of the guards under which the source says "member",
    /// closed, simplified and printed with total leaves.
    pub(super) fn finish(self, members: Vec<Guard>) -> Translation {
        let cubes: Vec<Guard> = members.into_iter().filter_map(|g| g.closed(&self.atoms)).collect();
        let cubes = formula::simplify(cubes);
        // The read set is what the final rule reads; the assumptions stay whatever the
        // translation used — even a rule that came out constant was derived for the declared
        // types (and, with a var default, for absent rather than null values).
        let used = formula::reads(&self.atoms, &cubes);
        let mut reads = self.reads;
        reads.retain(|path, _| used.contains(path));
        Translation { rule: formula::render(&self.atoms, &cubes), assumptions: self.assumptions, reads }
    }

    /// The cases of reading `path` (a dotted path of the source) under `g`: null (or `default`,
    /// under A4), and the value — a boolean read as `true` and `false`, any other as a term.
    pub(super) fn read(
        &mut self,
        ptr: &str,
        construct: &str,
        path: &str,
        default: Option<Js>,
        g: &Guard,
    ) -> Result<Cases, Refusal> {
        let (seg, ty) = self.read_path(ptr, construct, path)?;
        let null = self.atoms.intern(Atom::Null(seg.clone()), vec![seg.clone()]);
        let mut out = vec![];
        let null_value = match default {
            Some(d) => {
                self.assume(Assumption::A4, ptr);
                d
            }
            None => Js::Null,
        };
        if let Some(g2) = g.with(&self.atoms, null, true) {
            out.push((g2, V::C(null_value)));
        }
        let Some(present) = g.with(&self.atoms, null, false) else { return Ok(out) };
        self.assume(Assumption::A1, ptr);
        let term = |kind: Kind| V::T(Rc::new(Term { kind, expr: seg.clone(), reads: vec![seg.clone()] }));
        match ty {
            Ty::Bool => {
                let t = self.atoms.intern(Atom::True(seg.clone()), vec![seg.clone()]);
                for v in [true, false] {
                    if let Some(g3) = present.with(&self.atoms, t, v) {
                        out.push((g3, V::C(Js::Bool(v))));
                    }
                }
            }
            Ty::Int | Ty::Number => out.push((present, term(Kind::IntRead))),
            Ty::Float => out.push((present, term(Kind::Double))),
            Ty::Str => out.push((present, term(Kind::Str))),
            Ty::List(e) => out.push((present, term(Kind::List(e)))),
            Ty::Obj => out.push((present, term(Kind::Obj(seg.clone())))),
        }
        Ok(out)
    }

    pub(super) fn assume(&mut self, a: Assumption, path: &str) {
        self.assumptions.entry(a).or_default().insert(if path.is_empty() { "/".into() } else { path.into() });
    }

    pub(super) fn pred(&mut self, text: String, reads: &[&Term]) -> Pr {
        let mut r: Vec<String> = reads.iter().flat_map(|t| t.reads.iter().cloned()).collect();
        r.sort();
        r.dedup();
        Pr::Atom(self.atoms.intern(Atom::Pred(text), r))
    }

    /// The cases of `p` under `g`: guards where `p` is true and where it is false (refused past
    /// [`MAX_CASES`], before the work grows).
    pub(super) fn split(&mut self, ptr: &str, g: &Guard, p: &Pr) -> Result<Vec<(Guard, bool)>, Refusal> {
        Ok(match p {
            Pr::Const(b) => vec![(g.clone(), *b)],
            Pr::Atom(a) => {
                [true, false].into_iter().filter_map(|v| g.with(&self.atoms, *a, v).map(|g2| (g2, v))).collect()
            }
            Pr::Not(q) => self.split(ptr, g, q)?.into_iter().map(|(g2, v)| (g2, !v)).collect(),
            Pr::And(ps) | Pr::Or(ps) => {
                let stop = matches!(p, Pr::Or(_));
                let mut out = vec![];
                let mut open = vec![g.clone()];
                for (i, q) in ps.iter().enumerate() {
                    let mut next = vec![];
                    for g2 in &open {
                        for (g3, v) in self.split(ptr, g2, q)? {
                            if v == stop || i == ps.len() - 1 {
                                out.push((g3, v));
                            } else {
                                next.push(g3);
                            }
                        }
                    }
                    self.check_size(ptr, out.len() + next.len())?;
                    open = next;
                }
                if ps.is_empty() {
                    out.push((g.clone(), !stop));
                }
                out
            }
        })
    }

    pub(super) fn split_bool(&mut self, ptr: &str, g: &Guard, p: &Pr) -> Result<Cases, Refusal> {
        Ok(self.split(ptr, g, p)?.into_iter().map(|(g2, v)| (g2, V::C(Js::Bool(v)))).collect())
    }

    pub(super) fn check_size(&self, ptr: &str, n: usize) -> Result<(), Refusal> {
        if n > MAX_CASES {
            return Err(refuse(
                ptr,
                "rule",
                format!("the rule splits into more than {MAX_CASES} cases (SPEC §29); split it into several segments"),
            ));
        }
        Ok(())
    }

    /// A json-logic path as a segcore path, with its declared type.
    pub(super) fn read_path(&mut self, ptr: &str, construct: &str, path: &str) -> Result<(String, Ty), Refusal> {
        let bad = |why: String| refuse(ptr, construct, format!("the path `{path}` {why}"));
        let mut seg = String::new();
        let mut prefix = String::new();
        let mut parent = Ty::Obj;
        let steps: Vec<&str> = path.split('.').collect();
        for (i, s) in steps.iter().enumerate() {
            match parent {
                Ty::Obj => {
                    if super::jsonlogic_eval::OBJECT_PROTOTYPE.contains(s) {
                        return Err(bad(format!(
                            "names `{s}`, which every JavaScript object inherits (the engine finds it even where the data has no such key)"
                        )));
                    }
                    let ident = s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !ident || crate::lexer::is_keyword(s) {
                        return Err(bad(format!("has the step `{s}`, which is not a segcore identifier (SPEC §2)")));
                    }
                    if i == 0 && (*s == "id" || *s == "as_of") {
                        return Err(bad(format!(
                            "starts with `{s}`, which segcore reserves (the entity id / the evaluation instant)"
                        )));
                    }
                    if !seg.is_empty() {
                        seg.push('.');
                    }
                    seg.push_str(s);
                }
                Ty::List(_) => {
                    let index = *s == "0"
                        || (s.starts_with(|c: char| ('1'..='9').contains(&c))
                            && s.len() <= 9
                            && s.bytes().all(|b| b.is_ascii_digit()));
                    if !index {
                        return Err(bad(format!("reads `{s}` of a list (only element indexes translate; `length` counts UTF-16 units in JavaScript for strings and is refused)")));
                    }
                    seg.push_str(&format!("[{s}]"));
                }
                other => {
                    return Err(bad(format!(
                        "steps into a {} (JavaScript reads characters and `length` of strings)",
                        other.name()
                    )))
                }
            }
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(s);
            if let Some(other) = self.schema.other.get(&prefix) {
                return Err(refuse(
                    ptr,
                    "var",
                    format!("`{prefix}` is declared `{other}`, a type imports do not read (SPEC §29 \"Schema\")"),
                ));
            }
            let declared = self.schema.get(&prefix);
            parent = match (declared, &parent) {
                (Some(t), _) => t,
                (None, Ty::List(e)) => e.ty(),
                (None, _) if i + 1 < steps.len() => {
                    // An undeclared intermediate object: fine if a deeper path is declared.
                    if self.schema.has_prefix(&prefix) {
                        Ty::Obj
                    } else {
                        return Err(refuse(
                            ptr,
                            "var",
                            format!(
                                "`{prefix}` has no declared type: an import that reads data needs a schema (SPEC §29)"
                            ),
                        ));
                    }
                }
                (None, _) => {
                    return Err(refuse(
                        ptr,
                        "var",
                        format!("`{prefix}` has no declared type: an import that reads data needs a schema (SPEC §29)"),
                    ))
                }
            };
        }
        self.reads.insert(seg.clone(), parent);
        Ok((seg, parent))
    }

    /// `==` (loose) or `===` (strict) where at least one side is a term.
    pub(super) fn eq(&mut self, ptr: &str, a: &V, b: &V, strict: bool) -> Result<Pr, Refusal> {
        let op = if strict { "===" } else { "==" };
        match (a, b) {
            (V::T(x), V::T(y)) => {
                if let (Kind::Obj(p), Kind::Obj(q)) = (&x.kind, &y.kind) {
                    // JSON data objects are distinct unless they are one read.
                    return Ok(Pr::Const(p == q));
                }
                if let (Kind::List(_), Kind::List(_)) = (&x.kind, &y.kind) {
                    return Ok(Pr::Const(x.expr == y.expr));
                }
                if x.is_num() && y.is_num() {
                    return Ok(self.pred(format!("{} = {}", x.double(), y.double()), &[x, y]));
                }
                if x.kind == Kind::Str && y.kind == Kind::Str {
                    return Ok(self.pred(format!("{} = {}", x.expr, y.expr), &[x, y]));
                }
                if strict {
                    return Ok(Pr::Const(false));
                }
                Err(refuse(
                    ptr,
                    op,
                    format!(
                        "loose equality of a {} read and a {} read (JavaScript converts one to the other's type)",
                        x.kind_name(),
                        y.kind_name()
                    ),
                ))
            }
            (V::T(t), V::C(c)) | (V::C(c), V::T(t)) => {
                if c.is_nullish() {
                    return Ok(Pr::Const(false)); // the term is never null
                }
                if strict {
                    return match (&t.kind, c) {
                        (Kind::IntRead | Kind::Double, Js::Num(n)) => self.num_eq(ptr, t, *n),
                        (Kind::Str, Js::Str(s)) => {
                            let lit = string_literal(s, ptr)?;
                            Ok(self.pred(format!("{} = {lit}", t.expr), &[t]))
                        }
                        _ => Ok(Pr::Const(false)), // another type, or a fresh array/object
                    };
                }
                match &t.kind {
                    Kind::IntRead | Kind::Double => {
                        let n = js::to_number(c).map_err(|u| refuse(ptr, op, u.0))?;
                        self.num_eq(ptr, t, n)
                    }
                    Kind::Str => match c {
                        Js::Str(_) | Js::Arr(_) | Js::Obj(_) => {
                            let s = js::to_string(c).map_err(|u| refuse(ptr, op, u.0))?;
                            let lit = string_literal(&s, ptr)?;
                            Ok(self.pred(format!("{} = {lit}", t.expr), &[t]))
                        }
                        _ => Err(refuse(
                            ptr,
                            op,
                            "a string read against a number or boolean: JavaScript compares ToNumber(string) (\" 12 \" == 12, \"0x10\" == 16)",
                        )),
                    },
                    Kind::List(_) | Kind::Obj(_) => match c {
                        Js::Arr(_) | Js::Obj(_) => Ok(Pr::Const(false)),
                        _ => Err(refuse(
                            ptr,
                            op,
                            "a list or object read against a primitive: JavaScript compares its string form ([1,2] == \"1,2\")",
                        )),
                    },
                }
            }
            (V::C(x), V::C(y)) => Ok(Pr::Const(if strict {
                js::strict_eq(x, y)
            } else {
                js::loose_eq(x, y).map_err(|u| refuse(ptr, op, u.0))?
            })),
        }
    }

    pub(super) fn num_eq(&mut self, ptr: &str, t: &Term, n: f64) -> Result<Pr, Refusal> {
        if !n.is_finite() {
            return Ok(Pr::Const(false));
        }
        Ok(if n.abs() < SAFE {
            let lit = number_literal(n, ptr)?;
            self.pred(format!("{} = {lit}", t.expr), &[t])
        } else {
            let lit = number_literal(n, ptr)?;
            self.pred(format!("{} = {lit}", t.double()), &[t])
        })
    }

    /// `<`, `<=`, `>`, `>=` where at least one side may be a term.
    pub(super) fn order(&mut self, ptr: &str, op: &str, a: &V, b: &V) -> Result<Pr, Refusal> {
        let flip = |op: &str| match op {
            "<" => ">",
            ">" => "<",
            "<=" => ">=",
            _ => "<=",
        };
        match (a, b) {
            (V::C(x), V::C(y)) => Ok(Pr::Const(js::relational(op, x, y).map_err(|u| refuse(ptr, op, u.0))?)),
            (V::T(x), V::T(y)) => {
                if x.is_num() && y.is_num() {
                    return Ok(self.pred(format!("{} {op} {}", x.double(), y.double()), &[x, y]));
                }
                if x.kind == Kind::Str && y.kind == Kind::Str {
                    self.assume(Assumption::A3, ptr);
                    return Ok(self.pred(format!("{} {op} {}", x.expr, y.expr), &[x, y]));
                }
                Err(refuse(
                    ptr,
                    op,
                    format!(
                        "ordering a {} read against a {} read (JavaScript converts through ToPrimitive/ToNumber)",
                        x.kind_name(),
                        y.kind_name()
                    ),
                ))
            }
            (V::T(t), V::C(c)) => self.order_const(ptr, op, t, c),
            (V::C(c), V::T(t)) => self.order_const(ptr, flip(op), t, c),
        }
    }

    /// `t op c` with a constant `c`.
    pub(super) fn order_const(&mut self, ptr: &str, op: &str, t: &Term, c: &Js) -> Result<Pr, Refusal> {
        match &t.kind {
            Kind::IntRead | Kind::Double => {
                let n = js::to_number(c).map_err(|u| refuse(ptr, op, u.0))?;
                if n.is_nan() {
                    return Ok(Pr::Const(false));
                }
                if n.is_infinite() {
                    // A finite number against ±∞.
                    let below = n > 0.0;
                    return Ok(Pr::Const(matches!(op, "<" | "<=") == below));
                }
                let lit = number_literal(n, ptr)?;
                let lhs = if n.abs() < SAFE { t.expr.clone() } else { t.double() };
                Ok(self.pred(format!("{lhs} {op} {lit}"), &[t]))
            }
            Kind::Str => {
                let s = match c {
                    Js::Str(s) => s.to_string(),
                    Js::Arr(_) | Js::Obj(_) => js::to_string(c).map_err(|u| refuse(ptr, op, u.0))?,
                    Js::Undef => return Ok(Pr::Const(false)), // NaN
                    _ => {
                        return Err(refuse(
                            ptr,
                            op,
                            "a string read ordered against a number, boolean or null: JavaScript converts the string with ToNumber",
                        ))
                    }
                };
                if s.chars().any(|ch| ch >= '\u{E000}') {
                    return Err(refuse(
                        ptr,
                        op,
                        "a string literal with characters at or beyond U+E000 in an order comparison: JavaScript orders UTF-16 code units, segcore code points (SPEC §29 A3)",
                    ));
                }
                let lit = string_literal(&s, ptr)?;
                Ok(self.pred(format!("{} {op} {lit}", t.expr), &[t]))
            }
            Kind::List(_) | Kind::Obj(_) => {
                Err(refuse(ptr, op, "ordering a list or object read: JavaScript compares its string form"))
            }
        }
    }
}
