//! Explanations: every sub-expression of a rule with its value for one profile, so a user can see
//! why a profile is in or out — and which missing or null inputs made it UNKNOWN.

use std::fmt;

use crate::context::EvalContext;
use crate::context::FxRates;
use crate::error::Error;
use crate::eval::{eval, Ctx};
use crate::ir::{Kind, Node};
use crate::profile::Profile;
use crate::program::Outcome;
use crate::segment::Segment;
use crate::value::Value;

/// One node of an explanation tree.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceNode {
    /// The sub-expression's source text.
    pub expr: String,
    /// Its value (null when UNKNOWN or on error).
    pub value: Value,
    /// `missing`, `null`, `unreadable as <type>`, or an error message.
    pub note: Option<String>,
    /// Sub-expressions in evaluation order; an aggregate shows none (its filter runs per event).
    pub children: Vec<TraceNode>,
}

/// An input that was missing or null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownInput {
    /// The attribute path as written in the rule.
    pub path: String,
    /// `missing`, `null` or `unreadable as <type>`.
    pub reason: String,
}

/// Why a profile is in or out of a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The segment's id.
    pub segment: String,
    /// The definition's version.
    pub version: String,
    /// The outcome, as `evaluate` gives it.
    pub outcome: Outcome,
    /// Set when the rule was not evaluated (outside the effective window).
    pub note: Option<String>,
    /// The trace of the whole rule; traced even outside the effective window (see `note`).
    pub root: TraceNode,
    /// Missing/null inputs, in rule order (only when the outcome is UNKNOWN).
    pub unknown_inputs: Vec<UnknownInput>,
}

impl Segment {
    /// Explains the outcome for one profile: every sub-expression with its value.
    pub fn explain(&self, profile: &Profile, cx: &EvalContext) -> Result<Explanation, Error> {
        let lookup = |id: &str| cx.segments.get(id).copied();
        explain(self, profile, cx.as_of, &cx.fx, &lookup)
    }
}

fn explain(
    seg: &Segment,
    profile: &Profile,
    as_of: i64,
    fx: &FxRates,
    segments: &dyn Fn(&str) -> Option<bool>,
) -> Result<Explanation, Error> {
    let outcome = seg.evaluate_with(profile, as_of, fx, segments)?;
    let src = &seg.definition().rule;
    let cx = seg.ctx(profile, as_of, fx, segments);
    let mut unknown = Vec::new();
    let root = trace(seg.ir(), &cx, src, &mut unknown);
    let note = (!seg.is_effective(as_of))
        .then(|| "outside the segment's effective window: FALSE without evaluating the rule".to_string());
    if outcome != Outcome::Unknown {
        unknown.clear();
    }
    Ok(Explanation {
        segment: seg.id().to_string(),
        version: seg.version().to_string(),
        outcome,
        note,
        root,
        unknown_inputs: unknown,
    })
}

/// The node's source text on one line (rules may span lines).
fn source(n: &Node, src: &str) -> String {
    let text = src.get(n.span.start as usize..n.span.end as usize).unwrap_or("?");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn trace(n: &Node, cx: &Ctx, src: &str, unknown: &mut Vec<UnknownInput>) -> TraceNode {
    // A coercion is an implementation detail: show the attribute with the value it was read as.
    if let Kind::Coerce(inner) = &n.kind {
        let mut t = trace(inner, cx, src, unknown);
        let v = eval(n, cx).map(|v| v.into_owned());
        if let Ok(v) = v {
            if v.is_null() && !t.value.is_null() {
                let reason = format!("unreadable as {}", n.ty.name());
                unknown.retain(|u| u.path != t.expr);
                unknown.push(UnknownInput { path: t.expr.clone(), reason: reason.clone() });
                t.note = Some(format!("{reason}: {}", t.value));
            }
            t.value = v;
        }
        return t;
    }
    let (value, mut note) = match eval(n, cx) {
        Ok(v) => (v.into_owned(), None),
        Err(e) => (Value::Null, Some(format!("error[{}]: {}", e.kind, e.message))),
    };
    if let Kind::Attr { name, rest, .. } = &n.kind {
        let status = match cx.profile.attribute(name) {
            None => Some("missing"),
            Some(_) if value.is_null() && rest.is_empty() => Some("null"),
            Some(_) if value.is_null() => Some("missing"),
            _ => None,
        };
        if let Some(s) = status {
            note = Some(s.to_string());
            let path = source(n, src);
            if !unknown.iter().any(|u| u.path == path) {
                unknown.push(UnknownInput { path, reason: s.to_string() });
            }
        }
    }
    let children: Vec<TraceNode> = n.children().into_iter().map(|c| trace(c, cx, src, unknown)).collect();
    if note.is_none() && matches!(n.kind, Kind::Cmp(..) | Kind::Arith(..) | Kind::Between { .. }) {
        note = conversions(&children, cx);
    }
    TraceNode { expr: source(n, src), value, note, children }
}

/// `converted to USD at EUR/USD 1.08: 450 EUR = 486.00 USD`: how the money operands of a
/// comparison or an arithmetic node in different currencies met in the base currency (the same
/// conversion the evaluation made, SPEC §10).
fn conversions(children: &[TraceNode], cx: &Ctx) -> Option<String> {
    // Data money may still be its text (`"450 EUR"`): comparisons read it as money (SPEC §10).
    let moneys: Vec<crate::value::Money> = children
        .iter()
        .filter_map(|c| match &c.value {
            Value::Money(m) => Some(*m),
            Value::Str(s) => crate::value::parse_money_text(s),
            _ => None,
        })
        .collect();
    if moneys.len() < 2 || moneys.iter().all(|m| m.currency == moneys[0].currency) {
        return None;
    }
    let base = cx.sem.currency;
    let parts: Vec<String> = moneys
        .iter()
        .filter(|m| m.currency != base)
        .filter_map(|m| {
            let rate = cx.sem.fx.rate(m.currency, base)?;
            let converted = crate::ops::to_base(m, &cx.sem).ok()?;
            Some(format!("at {}/{base} {rate}: {} {} = {converted} {base}", m.currency, m.amount, m.currency))
        })
        .collect();
    (!parts.is_empty()).then(|| format!("converted to {base} {}", parts.join("; ")))
}

impl TraceNode {
    /// The node as JSON: `{"expr", "value", "note", "children"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "expr": self.expr,
            "value": self.value.to_json(),
            "note": self.note,
            "children": self.children.iter().map(TraceNode::to_json).collect::<Vec<_>>(),
        })
    }
}

impl Explanation {
    /// The explanation as JSON (what the bindings return).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "segment": self.segment,
            "version": self.version,
            "outcome": self.outcome.as_str(),
            "member": self.outcome.is_member(),
            "note": self.note,
            "unknown_inputs": self.unknown_inputs.iter()
                .map(|u| serde_json::json!({"path": u.path, "reason": u.reason}))
                .collect::<Vec<_>>(),
            "trace": self.root.to_json(),
        })
    }
}

fn write_node(f: &mut fmt::Formatter<'_>, n: &TraceNode, prefix: &str, last: bool, root: bool) -> fmt::Result {
    let (branch, next) = if root {
        ("", String::new())
    } else if last {
        ("└─ ", format!("{prefix}   "))
    } else {
        ("├─ ", format!("{prefix}│  "))
    };
    let value = match &n.value {
        Value::Bool(true) => "TRUE".to_string(),
        Value::Bool(false) => "FALSE".to_string(),
        Value::Null => "null".to_string(),
        v => v.to_string(),
    };
    write!(f, "{prefix}{branch}{}  →  {value}", n.expr)?;
    if let Some(note) = &n.note {
        write!(f, "  ({note})")?;
    }
    writeln!(f)?;
    // Literal leaves add nothing a reader cannot see in the parent's text.
    let shown: Vec<&TraceNode> =
        n.children.iter().filter(|c| !(c.children.is_empty() && c.expr == value_text(&c.value))).collect();
    for (i, c) in shown.iter().enumerate() {
        write_node(f, c, &next, i + 1 == shown.len(), false)?;
    }
    Ok(())
}

fn value_text(v: &Value) -> String {
    v.to_string()
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = match self.outcome {
            Outcome::True => "MEMBER (rule is TRUE)",
            Outcome::False => "not a member (rule is FALSE)",
            Outcome::Unknown => "not a member (rule is UNKNOWN)",
        };
        writeln!(f, "{}@{}: {verdict}", self.segment, self.version)?;
        if let Some(note) = &self.note {
            writeln!(f, "note: {note}")?;
        }
        write_node(f, &self.root, "", true, true)?;
        if !self.unknown_inputs.is_empty() {
            writeln!(f, "UNKNOWN because of:")?;
            for u in &self.unknown_inputs {
                writeln!(f, "  {} is {}", u.path, u.reason)?;
            }
        }
        Ok(())
    }
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html_node(out: &mut String, n: &TraceNode, open: bool) {
    let value = match &n.value {
        Value::Bool(true) => "<b style=\"color:#1a7f37\">TRUE</b>".to_string(),
        Value::Bool(false) => "<b style=\"color:#cf222e\">FALSE</b>".to_string(),
        Value::Null => "<i style=\"color:#9a6700\">null</i>".to_string(),
        v => format!("<code>{}</code>", html_escape(&v.to_string())),
    };
    let note = n.note.as_ref().map(|x| format!(" <small>({})</small>", html_escape(x))).unwrap_or_default();
    let line = format!("<code>{}</code> → {value}{note}", html_escape(&n.expr));
    if n.children.is_empty() {
        out.push_str(&format!("<div style=\"margin-left:1.2em\">{line}</div>"));
        return;
    }
    out.push_str(&format!(
        "<details{} style=\"margin-left:1.2em\"><summary>{line}</summary>",
        if open { " open" } else { "" }
    ));
    for c in &n.children {
        html_node(out, c, false);
    }
    out.push_str("</details>");
}

impl Explanation {
    /// The explanation as a collapsible HTML tree (notebooks, playgrounds).
    pub fn to_html(&self) -> String {
        let mut out = format!(
            "<div class=\"segcore-explanation\"><div><b>{}</b>@{}: {}</div>",
            html_escape(&self.segment),
            html_escape(&self.version),
            match self.outcome {
                Outcome::True => "member (rule is TRUE)",
                Outcome::False => "not a member (rule is FALSE)",
                Outcome::Unknown => "not a member (rule is UNKNOWN)",
            }
        );
        if let Some(note) = &self.note {
            out.push_str(&format!("<div><i>{}</i></div>", html_escape(note)));
        }
        html_node(&mut out, &self.root, true);
        if !self.unknown_inputs.is_empty() {
            out.push_str("<div>UNKNOWN because of: ");
            let items: Vec<String> = self
                .unknown_inputs
                .iter()
                .map(|u| format!("<code>{}</code> is {}", html_escape(&u.path), html_escape(&u.reason)))
                .collect();
            out.push_str(&items.join(", "));
            out.push_str("</div>");
        }
        out.push_str("</div>");
        out
    }
}
