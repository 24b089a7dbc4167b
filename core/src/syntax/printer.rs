//! Syntax tree → canonical rule text (`segcore fmt`). Minimal parentheses, single spaces,
//! lowercase keywords; a long top-level `and`/`or` chain gets one operand per line.
//! `parse(print(ast))` gives back the same tree.

use crate::ast::{Expr, ExprKind, Literal, Op, PathSeg};
use crate::lexer::is_keyword;

const WIDTH: usize = 88;

/// Formats a rule canonically.
///
/// ```
/// let ast = segcore::Segment::parse_rule("(age>=18) and (country=\"US\")").unwrap();
/// assert_eq!(segcore::binding::print_rule(&ast), "age >= 18 and country = \"US\"");
/// ```
pub fn print(e: &Expr) -> String {
    let flat = expr(e, 0);
    if flat.len() <= WIDTH || flat.contains('\n') {
        return flat;
    }
    match &e.kind {
        ExprKind::Op(op @ (Op::And | Op::Or), args) => {
            let min = if *op == Op::And { 3 } else { 2 };
            let sep = format!("\n{} ", op.name());
            args.iter().map(|a| expr(a, min)).collect::<Vec<_>>().join(&sep)
        }
        _ => flat,
    }
}

fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Op(op, _) => match op {
            Op::Or => 1,
            Op::And => 2,
            Op::Not => 3,
            Op::Add | Op::Sub => 5,
            Op::Mul | Op::Div => 6,
            Op::Neg => 7,
            _ => 4,
        },
        ExprKind::Within(..) => 4,
        // A negative literal binds like a unary minus.
        ExprKind::Lit(Literal::Int(i)) if *i < 0 => 7,
        ExprKind::Lit(Literal::Decimal(d) | Literal::Money(d, _)) if d.starts_with('-') => 7,
        ExprKind::Lit(Literal::Duration(n, _)) if *n < 0 => 7,
        _ => 8,
    }
}

fn expr(e: &Expr, min: u8) -> String {
    let s = bare(e);
    if prec(e) < min {
        format!("({s})")
    } else {
        s
    }
}

fn bare(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Lit(l) => literal(l),
        ExprKind::List(items) => format!("[{}]", items.iter().map(|i| expr(i, 0)).collect::<Vec<_>>().join(", ")),
        ExprKind::Path(p) => path(p),
        ExprKind::Var(v) => v.to_string(),
        ExprKind::Within(x, w) => format!("{} within {}", expr(x, 5), w.spelling()),
        ExprKind::Call(name, args) => {
            format!("{name}({})", args.iter().map(|a| expr(a, 0)).collect::<Vec<_>>().join(", "))
        }
        ExprKind::Agg { func, event, path: p, filter, within } => {
            let mut s = format!("{}({}", func.name(), event_name(event));
            for seg in p {
                if let PathSeg::Key(k) = seg {
                    s.push('.');
                    s.push_str(k);
                }
            }
            if let Some(f) = filter {
                s.push_str(" where ");
                s.push_str(&filter_text(f, 0));
            }
            if let Some(w) = within {
                s.push_str(" within ");
                s.push_str(&w.spelling());
            }
            s.push(')');
            s
        }
        ExprKind::Get(inner, p) => format!("{}{}", expr(inner, 8), path_tail(p)),
        ExprKind::Op(op, args) => op_text(*op, args),
    }
}

/// A `where` filter: a `within` at its top level would read as the aggregate's window, so it
/// keeps parentheses.
fn filter_text(e: &Expr, min: u8) -> String {
    match &e.kind {
        ExprKind::Within(..) => format!("({})", bare(e)),
        ExprKind::Op(op @ (Op::And | Op::Or | Op::Not), args) if prec(e) >= min => {
            let inner_min = match op {
                Op::Or => 2,
                _ => 3,
            };
            let parts: Vec<String> = args.iter().map(|a| filter_text(a, inner_min)).collect();
            match op {
                Op::Not => not_text(&args[0], parts[0].clone()),
                _ => parts.join(&format!(" {} ", op.name())),
            }
        }
        _ => expr(e, min),
    }
}

/// `not` and its operand (`printed` at `not`'s precedence). An operator operand keeps its
/// parentheses, `not (x = "B")`: without them the rule is the same but reads as `(not x) = "B"`.
fn not_text(operand: &Expr, printed: String) -> String {
    let operator =
        matches!(&operand.kind, ExprKind::Op(op, _) if *op != Op::Not) || matches!(operand.kind, ExprKind::Within(..));
    if operator && !printed.starts_with('(') {
        format!("not ({printed})")
    } else {
        format!("not {printed}")
    }
}

fn op_text(op: Op, args: &[Expr]) -> String {
    let bin = |sym: &str, l: u8, r: u8| format!("{} {sym} {}", expr(&args[0], l), expr(&args[1], r));
    match op {
        Op::Or => args.iter().map(|a| expr(a, 2)).collect::<Vec<_>>().join(" or "),
        Op::And => args.iter().map(|a| expr(a, 3)).collect::<Vec<_>>().join(" and "),
        Op::Not => not_text(&args[0], expr(&args[0], 3)),
        Op::Eq => bin("=", 5, 5),
        Op::Ne => bin("!=", 5, 5),
        Op::Lt => bin("<", 5, 5),
        Op::Le => bin("<=", 5, 5),
        Op::Gt => bin(">", 5, 5),
        Op::Ge => bin(">=", 5, 5),
        Op::In => bin("in", 5, 5),
        Op::NotIn => bin("not in", 5, 5),
        Op::Contains => bin("contains", 5, 5),
        Op::NotContains => bin("not contains", 5, 5),
        Op::StartsWith => bin("starts_with", 5, 5),
        Op::NotStartsWith => bin("not starts_with", 5, 5),
        Op::EndsWith => bin("ends_with", 5, 5),
        Op::NotEndsWith => bin("not ends_with", 5, 5),
        Op::Matches => bin("matches", 5, 5),
        Op::NotMatches => bin("not matches", 5, 5),
        Op::Before => bin("before", 5, 5),
        Op::After => bin("after", 5, 5),
        Op::Between | Op::NotBetween => format!(
            "{} {} {} and {}",
            expr(&args[0], 5),
            if op == Op::Between { "between" } else { "not between" },
            expr(&args[1], 5),
            expr(&args[2], 5)
        ),
        Op::IsNull => format!("{} is null", expr(&args[0], 5)),
        Op::IsNotNull => format!("{} is not null", expr(&args[0], 5)),
        Op::Add => bin("+", 5, 6),
        Op::Sub => bin("-", 5, 6),
        Op::Mul => bin("*", 6, 7),
        Op::Div => bin("/", 6, 7),
        Op::Neg => {
            let text = expr(&args[0], 7);
            if text.starts_with(|c: char| c.is_ascii_digit()) {
                // A minus before a number would read back as part of the literal (`-5`, and
                // `-5.x` as `(-5).x`): keep a negated number distinct.
                format!("-({text})")
            } else if text.starts_with('-') {
                // A space rather than parentheses: `-(-x)` would nest two levels per minus and
                // could push a rule that parsed over the nesting limit when read back.
                format!("- {text}")
            } else {
                format!("-{text}")
            }
        }
        Op::Within => String::new(),
    }
}

fn literal(l: &Literal) -> String {
    match l {
        Literal::Null => "null".into(),
        Literal::Bool(b) => b.to_string(),
        Literal::Int(i) => i.to_string(),
        Literal::Decimal(d) => d.clone(),
        Literal::Str(s) => quote(s),
        Literal::Duration(n, u) => format!("{n}{u}"),
        Literal::Money(a, c) => format!("{a} {c}"),
    }
}

/// A string literal with the escapes the lexer reads.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `s` prints bare (an identifier that is not a keyword).
pub(crate) fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !is_keyword(s)
}

fn event_name(s: &str) -> String {
    if is_ident(s) {
        s.to_string()
    } else {
        quote(s)
    }
}

fn path(p: &[PathSeg]) -> String {
    let mut s = String::new();
    for (i, seg) in p.iter().enumerate() {
        match seg {
            PathSeg::Key(k) if i == 0 => s.push_str(k),
            PathSeg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            PathSeg::Index(n) => s.push_str(&format!("[{n}]")),
        }
    }
    s
}

fn path_tail(p: &[PathSeg]) -> String {
    let mut s = String::new();
    for seg in p {
        match seg {
            PathSeg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            PathSeg::Index(n) => s.push_str(&format!("[{n}]")),
        }
    }
    s
}
