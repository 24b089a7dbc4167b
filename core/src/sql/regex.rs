//! `matches` patterns rewritten into the regular-expression syntax every SQL engine reads the
//! same way.
//!
//! Engines disagree on what `.`, `\d`, `\w`, `(?i)` and `$` mean (ASCII or Unicode, newline or
//! not, before a final newline or not). So the pattern is not passed through: it is parsed with
//! the `regex` crate's own parser (the interpreter's exact semantics, SPEC §7), lowered to its
//! HIR — where `.`, Perl classes and case-insensitivity are already explicit sets of code points
//! — and printed back with only literals, bracket ranges, groups, alternation, counted
//! repetition and the text anchors. Anything else is refused.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::dialect::Dialect;

/// PostgreSQL's repetition bound (RE_DUP_MAX).
const MAX_REPEAT: u32 = 255;

/// The pattern in engine-neutral syntax, or what makes it inexpressible.
pub(crate) fn translate(pattern: &str, d: Dialect) -> Result<String, String> {
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).map_err(|e| format!("pattern: {e}"))?;
    let mut out = String::new();
    emit(&hir, d, &mut out)?;
    if out.contains('\0') {
        return Err("a NUL character in the pattern".into());
    }
    Ok(out)
}

fn emit(h: &Hir, d: Dialect, out: &mut String) -> Result<(), String> {
    match h.kind() {
        HirKind::Empty => out.push_str("()"),
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0).map_err(|_| "a non-UTF-8 literal".to_string())?;
            for c in text.chars() {
                literal(c, out);
            }
        }
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(char, char)> = class.iter().map(|r| (r.start(), r.end())).collect();
            bracket(&ranges, d, out)?;
        }
        HirKind::Class(Class::Bytes(_)) => return Err("a byte class".into()),
        HirKind::Look(Look::Start) => out.push('^'),
        // Java's `$` also matches before a final newline; SPEC §7's only at the very end.
        HirKind::Look(Look::End) => out.push_str(if d == Dialect::Spark { "\\z" } else { "$" }),
        HirKind::Look(look) => return Err(format!("the assertion {look:?} (multi-line anchors, word boundaries)")),
        HirKind::Repetition(rep) => {
            if rep.min > MAX_REPEAT || rep.max.is_some_and(|m| m > MAX_REPEAT) {
                return Err(format!("a repetition count above {MAX_REPEAT}"));
            }
            out.push('(');
            emit(&rep.sub, d, out)?;
            out.push(')');
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (m, None) => out.push_str(&format!("{{{m},}}")),
                (m, Some(n)) if m == n => out.push_str(&format!("{{{m}}}")),
                (m, Some(n)) => out.push_str(&format!("{{{m},{n}}}")),
            }
        }
        HirKind::Capture(cap) => {
            out.push('(');
            emit(&cap.sub, d, out)?;
            out.push(')');
        }
        HirKind::Concat(parts) => {
            for p in parts {
                emit(p, d, out)?;
            }
        }
        HirKind::Alternation(parts) => {
            out.push('(');
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                emit(p, d, out)?;
            }
            out.push(')');
        }
    }
    Ok(())
}

fn literal(c: char, out: &mut String) {
    if "\\.+*?()|[]{}^$".contains(c) {
        out.push('\\');
    }
    out.push(c);
}

/// A bracket expression for a set of code point ranges. Written as the complement when that is
/// smaller (`.` is everything but `\n`); surrogates never occur in text, so they are ignored.
fn bracket(ranges: &[(char, char)], d: Dialect, out: &mut String) -> Result<(), String> {
    if ranges.is_empty() {
        return Err("an empty class".into());
    }
    let complement = complement(ranges);
    let (negate, set) = if complement.len() < ranges.len() { (true, complement) } else { (false, ranges.to_vec()) };
    if set.is_empty() {
        // Every character: a class that cannot be empty either way.
        // Java's `.` also skips \r, U+0085, U+2028 and U+2029.
        out.push_str(if d == Dialect::Spark { "(?s:.)" } else { "(.|\n)" });
        return Ok(());
    }
    out.push('[');
    if negate {
        out.push('^');
    }
    for (a, b) in set {
        member(a, d, out)?;
        if b != a {
            if b as u32 > a as u32 + 1 {
                out.push('-');
            }
            member(b, d, out)?;
        }
    }
    out.push(']');
    Ok(())
}

fn member(c: char, d: Dialect, out: &mut String) -> Result<(), String> {
    if matches!(c, ']' | '\\' | '^' | '-' | '[') {
        // POSIX bracket expressions (Snowflake) have no escapes; the others read `\`.
        if d == Dialect::Snowflake {
            return Err(format!("the character {c:?} in a class"));
        }
        out.push('\\');
    }
    out.push(c);
    Ok(())
}

fn complement(ranges: &[(char, char)]) -> Vec<(char, char)> {
    let mut out = Vec::new();
    let mut next: u32 = 0;
    for &(a, b) in ranges {
        let (a, b) = (a as u32, b as u32);
        if a > next {
            push_range(&mut out, next, a - 1);
        }
        next = b + 1;
    }
    if next <= 0x10FFFF {
        push_range(&mut out, next, 0x10FFFF);
    }
    out
}

/// Adds `[a, b]` minus the surrogate gap.
fn push_range(out: &mut Vec<(char, char)>, a: u32, b: u32) {
    let pieces = [(a, b.min(0xD7FF)), (a.max(0xE000), b)];
    for (x, y) in pieces {
        if x <= y {
            if let (Some(x), Some(y)) = (char::from_u32(x), char::from_u32(y)) {
                out.push((x, y));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_perl_classes_become_explicit_sets() {
        assert_eq!(translate("^a.c$", Dialect::Postgres).unwrap(), "^a[^\n]c$");
        assert_eq!(translate("^a.c$", Dialect::Spark).unwrap(), "^a[^\n]c\\z");
        // Case-insensitive matching is spelled out as the case variants Rust folds together,
        // including the Kelvin sign for k.
        assert_eq!(translate("(?i)k", Dialect::DuckDb).unwrap(), "[Kk\u{212A}]");
        assert!(translate(r"\d", Dialect::DuckDb).unwrap().contains('٠'), "Unicode digits");
        assert_eq!(translate(r"a\.b{2,3}", Dialect::DuckDb).unwrap(), "a\\.(b){2,3}");
    }

    #[test]
    fn what_engines_read_differently_is_refused() {
        assert!(translate(r"\bword\b", Dialect::DuckDb).unwrap_err().contains("word boundaries"));
        assert!(translate("(?m)^a", Dialect::Postgres).is_err());
        assert!(translate("a{300}", Dialect::Postgres).unwrap_err().contains("255"));
        assert!(translate("[a-]", Dialect::Snowflake).is_err());
        assert_eq!(translate("[a-]", Dialect::Postgres).unwrap(), "[\\-a]");
    }
}
