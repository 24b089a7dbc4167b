//! Line breaks and indentation for generated SQL, so a reviewer can read a rule's translation.
//!
//! Only whitespace changes: a space between two tokens at the top level of an expression
//! (outside string literals, quoted identifiers and parentheses) may become a newline plus
//! indentation. Tests check that collapsing whitespace gives back the original text.

use super::dialect::Dialect;

/// Lines longer than this are broken.
pub(crate) const WIDTH: usize = 100;

/// `expr` laid out at `indent` columns: long `AND`/`OR` chains one operand per line (operator
/// first), long parenthesized groups and CASE expressions opened over several lines.
pub(crate) fn pretty(expr: &str, indent: usize, d: Dialect, width: usize) -> String {
    if indent + expr.len() <= width {
        return expr.to_string();
    }
    let pad = " ".repeat(indent);
    if let Some(inner) = unwrap_parens(expr, d) {
        return format!("(\n{pad}  {}\n{pad})", pretty(inner, indent + 2, d, width));
    }
    for op in [" OR ", " AND "] {
        let parts = split_top(expr, op, d);
        if parts.len() > 1 {
            let keyword = op.trim();
            let mut out = pretty(parts[0], indent, d, width);
            for p in &parts[1..] {
                out.push_str(&format!("\n{pad}{keyword} {}", pretty(p, indent + keyword.len() + 1, d, width)));
            }
            return out;
        }
    }
    // `(group) IS FALSE`, `(CASE … END) > 0`: open the leading group, keep the tail after it.
    if expr.starts_with('(') {
        if let Some(close) = matching_paren(expr, d) {
            if close + 1 < expr.len() {
                return format!("{}{}", pretty(&expr[..=close], indent, d, width), &expr[close + 1..]);
            }
        }
    }
    if let Some(body) = expr.strip_prefix("CASE ").and_then(|b| b.strip_suffix(" END")) {
        let mut out = String::from("CASE");
        for arm in split_case_arms(body, d) {
            out.push_str(&format!("\n{pad}  {}", case_arm(arm, indent + 2, d, width)));
        }
        out.push_str(&format!("\n{pad}END"));
        return out;
    }
    expr.to_string()
}

/// `WHEN c THEN v` or `ELSE v`, with long conditions and values laid out.
fn case_arm(arm: &str, indent: usize, d: Dialect, width: usize) -> String {
    if indent + arm.len() <= width {
        return arm.to_string();
    }
    if let Some(v) = arm.strip_prefix("ELSE ") {
        return format!("ELSE {}", pretty(v, indent + 5, d, width));
    }
    if let Some(rest) = arm.strip_prefix("WHEN ") {
        let parts = split_top(rest, " THEN ", d);
        if parts.len() == 2 {
            let pad = " ".repeat(indent);
            return format!(
                "WHEN {}
{pad}THEN {}",
                pretty(parts[0], indent + 5, d, width),
                pretty(parts[1], indent + 5, d, width)
            );
        }
    }
    arm.to_string()
}

/// Per byte of `s`: the parenthesis depth before it, and whether it is inside a quoted string
/// or identifier (quotes included). Backslash escapes only in the dialects that read them.
fn structure(s: &str, d: Dialect) -> Vec<(i32, bool)> {
    let backslash = matches!(d, Dialect::BigQuery | Dialect::Spark | Dialect::Snowflake);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let (mut depth, mut quote, mut escaped) = (0i32, None::<u8>, false);
    for &b in bytes {
        out.push((depth, quote.is_some() || matches!(b, b'\'' | b'"' | b'`')));
        match quote {
            Some(_) if escaped => escaped = false,
            Some(b'\'') if backslash && b == b'\\' => escaped = true,
            // A doubled quote is an escaped quote: the first closes, the second reopens.
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' => depth += 1,
                b')' => depth -= 1,
                _ => {}
            },
        }
    }
    out
}

/// Per byte: whether it is at the top level (depth 0, unquoted, not a parenthesis).
fn top_level(s: &str, d: Dialect) -> Vec<(usize, bool)> {
    let bytes = s.as_bytes();
    structure(s, d)
        .into_iter()
        .enumerate()
        .map(|(i, (depth, quoted))| (i, depth == 0 && !quoted && bytes[i] != b'(' && bytes[i] != b')'))
        .collect()
}

/// The byte index of the parenthesis closing the one `expr` starts with.
fn matching_paren(expr: &str, d: Dialect) -> Option<usize> {
    let bytes = expr.as_bytes();
    structure(expr, d)
        .into_iter()
        .enumerate()
        .find(|&(i, (depth, quoted))| i > 0 && !quoted && depth == 1 && bytes[i] == b')')
        .map(|(i, _)| i)
}

/// `expr` without its outer parentheses, when they enclose all of it.
fn unwrap_parens(expr: &str, d: Dialect) -> Option<&str> {
    (expr.starts_with('(') && matching_paren(expr, d) == Some(expr.len() - 1)).then(|| &expr[1..expr.len() - 1])
}

/// `expr` split at every top-level occurrence of `sep`.
fn split_top<'a>(expr: &'a str, sep: &str, d: Dialect) -> Vec<&'a str> {
    let top = top_level(expr, d);
    let mut parts = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + sep.len() <= expr.len() {
        if top.get(i).is_some_and(|t| t.1)
            && expr.is_char_boundary(i)
            && expr[i..].starts_with(sep)
            && !contains_case(&expr[..i], &top)
        {
            parts.push(&expr[start..i]);
            start = i + sep.len();
            i = start;
            continue;
        }
        i += 1;
    }
    parts.push(&expr[start..]);
    parts
}

/// The arms of a CASE body (`WHEN … THEN …`, `ELSE …`), split before top-level WHEN/ELSE.
fn split_case_arms(body: &str, d: Dialect) -> Vec<&str> {
    let top = top_level(body, d);
    let mut cuts = vec![0];
    for kw in [" WHEN ", " ELSE "] {
        let mut i = 0;
        while let Some(pos) = body[i..].find(kw) {
            let at = i + pos;
            if top.get(at).is_some_and(|t| t.1) && !contains_case(&body[..at], &top) {
                cuts.push(at + 1);
            }
            i = at + kw.len();
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut arms = Vec::new();
    for (k, &c) in cuts.iter().enumerate() {
        let end = cuts.get(k + 1).map_or(body.len(), |&n| n - 1);
        arms.push(body[c..end].trim());
    }
    arms
}

/// Whether a top-level nested `CASE` is still open at the end of `prefix` (its WHEN/ELSE are
/// not ours).
fn contains_case(prefix: &str, top: &[(usize, bool)]) -> bool {
    let mut open = 0i32;
    let mut i = 0;
    while i < prefix.len() {
        let at_top = top.get(i).is_some_and(|t| t.1) && prefix.is_char_boundary(i);
        if at_top && prefix[i..].starts_with("CASE ") && (i == 0 || prefix.as_bytes()[i - 1] == b' ') {
            open += 1;
        } else if at_top && prefix[i..].starts_with(" END") {
            open -= 1;
        }
        i += 1;
    }
    open > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collapse(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(").replace(" )", ")")
    }

    #[test]
    fn only_whitespace_changes() {
        let long = "((p.\"age\" >= 18) AND (p.\"country\" IN ('US', 'CA', 'GB')) AND (p.\"plan\" = 'pro ) AND (x') AND (CASE WHEN (p.\"ltv\" > 500) IS FALSE THEN FALSE ELSE ((p.\"ltv\" > 500) AND (p.\"x\" = 1)) END))";
        for d in Dialect::ALL {
            let out = pretty(long, 4, d, WIDTH);
            assert_eq!(collapse(&out), collapse(long), "{out}");
            assert!(out.lines().count() > 3, "{out}");
            // The string literal with a parenthesis and AND inside is untouched.
            assert!(out.contains("'pro ) AND (x'"), "{out}");
        }
    }

    #[test]
    fn short_expressions_stay_on_one_line() {
        assert_eq!(pretty("(a AND b)", 4, Dialect::DuckDb, WIDTH), "(a AND b)");
    }
}
