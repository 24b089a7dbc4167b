//! The canonical JSON of definitions and rules (SPEC §17), written by hand so key order and
//! escaping are fixed, and the definition hash over it.

use sha2::{Digest, Sha256};

use crate::ast::{Expr, ExprKind, Literal, PathSeg};
use crate::definition::Definition;

/// Appends `s` as a JSON string with SPEC §17's escaping.
pub fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_path(out: &mut String, path: &[PathSeg]) {
    out.push('[');
    for (i, seg) in path.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match seg {
            PathSeg::Key(k) => write_str(out, k),
            PathSeg::Index(n) => out.push_str(&n.to_string()),
        }
    }
    out.push(']');
}

fn write_list(out: &mut String, items: &[Expr]) {
    out.push('[');
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_expr(out, e);
    }
    out.push(']');
}

/// Appends the canonical JSON AST of a rule.
pub fn write_expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Lit(l) => match l {
            Literal::Null => out.push_str("{\"lit\":null}"),
            Literal::Bool(b) => out.push_str(if *b { "{\"lit\":true}" } else { "{\"lit\":false}" }),
            Literal::Int(i) => out.push_str(&format!("{{\"int\":{i}}}")),
            Literal::Decimal(d) => {
                out.push_str("{\"decimal\":");
                write_str(out, d);
                out.push('}');
            }
            Literal::Str(s) => {
                out.push_str("{\"lit\":");
                write_str(out, s);
                out.push('}');
            }
            Literal::Duration(n, u) => out.push_str(&format!("{{\"duration\":\"{n}{u}\"}}")),
            Literal::Money(a, c) => {
                out.push_str("{\"money\":{\"amount\":");
                write_str(out, a);
                out.push_str(",\"currency\":");
                write_str(out, c);
                out.push_str("}}");
            }
        },
        ExprKind::List(items) => {
            out.push_str("{\"list\":");
            write_list(out, items);
            out.push('}');
        }
        ExprKind::Path(p) => {
            out.push_str("{\"attr\":");
            write_path(out, p);
            out.push('}');
        }
        ExprKind::Var(v) => {
            out.push_str("{\"var\":");
            write_str(out, v);
            out.push('}');
        }
        ExprKind::Op(op, args) => {
            out.push_str("{\"op\":");
            write_str(out, op.name());
            out.push_str(",\"args\":");
            write_list(out, args);
            out.push('}');
        }
        ExprKind::Within(x, w) => {
            out.push_str("{\"op\":\"within\",\"args\":[");
            write_expr(out, x);
            out.push_str(",{\"window\":");
            write_str(out, &w.spelling());
            out.push_str("}]}");
        }
        ExprKind::Call(name, args) => {
            out.push_str("{\"call\":");
            write_str(out, name);
            out.push_str(",\"args\":");
            write_list(out, args);
            out.push('}');
        }
        ExprKind::Agg { func, event, path, filter, within } => {
            out.push_str("{\"agg\":");
            write_str(out, func.name());
            out.push_str(",\"event\":");
            write_str(out, event);
            out.push_str(",\"path\":");
            write_path(out, path);
            out.push_str(",\"where\":");
            match filter {
                Some(f) => write_expr(out, f),
                None => out.push_str("null"),
            }
            out.push_str(",\"within\":");
            match within {
                Some(w) => write_str(out, &w.spelling()),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        ExprKind::Get(inner, path) => {
            out.push_str("{\"get\":");
            write_path(out, path);
            out.push_str(",\"of\":");
            write_expr(out, inner);
            out.push('}');
        }
    }
}

/// The canonical JSON of a rule's syntax tree.
pub fn rule_json(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, e);
    out
}

/// The canonical JSON of a definition whose rule parsed to `rule`.
pub fn definition_json(def: &Definition, rule: &Expr) -> String {
    let mut out = String::with_capacity(256);
    let field = |out: &mut String, key: &str, first: bool| {
        if !first {
            out.push(',');
        }
        write_str(out, key);
        out.push(':');
    };
    let opt_ts = |out: &mut String, t: Option<i64>| match t {
        Some(t) => write_str(out, &crate::time::format_timestamp(t)),
        None => out.push_str("null"),
    };
    out.push('{');
    field(&mut out, "id", true);
    write_str(&mut out, &def.id);
    field(&mut out, "version", false);
    write_str(&mut out, &def.version);
    field(&mut out, "name", false);
    write_str(&mut out, &def.name);
    field(&mut out, "description", false);
    write_str(&mut out, &def.description);
    field(&mut out, "owner", false);
    write_str(&mut out, &def.owner);
    field(&mut out, "status", false);
    write_str(&mut out, def.status.as_str());
    field(&mut out, "effective_from", false);
    opt_ts(&mut out, def.effective_from);
    field(&mut out, "effective_until", false);
    opt_ts(&mut out, def.effective_until);
    field(&mut out, "timezone", false);
    write_str(&mut out, &def.timezone);
    field(&mut out, "currency", false);
    write_str(&mut out, &def.currency);
    field(&mut out, "tags", false);
    let mut tags: Vec<&String> = def.tags.iter().collect();
    tags.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    tags.dedup();
    out.push('[');
    for (i, t) in tags.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(&mut out, t);
    }
    out.push(']');
    field(&mut out, "rule", false);
    write_expr(&mut out, rule);
    out.push('}');
    out
}

/// Lowercase hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
