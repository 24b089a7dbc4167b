//! Registry diffs (SPEC §26): what changed between two registries, segment by segment, and which
//! SemVer bump each change requires.

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::{Expr, ExprKind};
use crate::registry::Registry;
use crate::segment::Segment;
use crate::semver::Version;

/// A SemVer bump, ordered `None < Patch < Minor < Major`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bump {
    /// Nothing changed.
    None,
    /// Membership cannot change (metadata only).
    Patch,
    /// Membership may change; consumers need nothing new.
    Minor,
    /// Consumers must change (more data, another meaning, a removal).
    Major,
}

impl Bump {
    /// The stable name: `none`, `patch`, `minor`, `major`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bump::None => "none",
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }

    /// The bump from one version to another (`None` when not greater).
    pub fn between(old: &str, new: &str) -> Option<Bump> {
        let (o, n) = (Version::parse(old)?, Version::parse(new)?);
        Some(if n <= o {
            Bump::None
        } else if n.major > o.major {
            Bump::Major
        } else if n.minor > o.minor {
            Bump::Minor
        } else {
            Bump::Patch
        })
    }
}

/// How a segment differs between the two registries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// Only in NEW.
    Added,
    /// Only in OLD.
    Removed,
    /// In both, with another definition hash.
    Changed,
    /// In both, the same definition.
    Unchanged,
}

impl Change {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Changed => "changed",
            Change::Unchanged => "unchanged",
        }
    }
}

/// One segment's diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentDiff {
    /// The segment id.
    pub id: String,
    /// Added, removed, changed or unchanged.
    pub change: Change,
    /// OLD's and NEW's versions (when present).
    pub versions: (Option<String>, Option<String>),
    /// The changed canonical fields (`rule`, `timezone`, `name`, …), in SPEC §17 order.
    pub fields: Vec<&'static str>,
    /// Changed sub-expressions of the rule: (old text, new text), in source order.
    pub rule_changes: Vec<(String, String)>,
    /// The bump the change requires.
    pub required: Bump,
    /// Why, one reason per rule of SPEC §26 that applies.
    pub reasons: Vec<String>,
    /// A version problem (`version_regression`, `version_reused`, `version_bump_required`) and its
    /// message, when the versions break SPEC §26's rules.
    pub problem: Option<(&'static str, String)>,
}

/// The diff of two registries: one entry per segment id in either, sorted by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryDiff {
    /// Every segment.
    pub segments: Vec<SegmentDiff>,
}

impl RegistryDiff {
    /// The largest bump any segment requires (the registry's own).
    pub fn required(&self) -> Bump {
        self.segments.iter().map(|s| s.required).max().unwrap_or(Bump::None)
    }

    /// Segments whose versions break the rules.
    pub fn problems(&self) -> impl Iterator<Item = &SegmentDiff> {
        self.segments.iter().filter(|s| s.problem.is_some())
    }
}

/// A node's label and number of children: equal labels and arities are compared child by child.
fn label(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Lit(l) => format!("lit {l:?}"),
        ExprKind::List(items) => format!("list {}", items.len()),
        ExprKind::Path(p) => format!("path {p:?}"),
        ExprKind::Var(v) => format!("var {v}"),
        ExprKind::Op(op, args) => format!("op {op:?} {}", args.len()),
        ExprKind::Within(_, w) => format!("within {w:?}"),
        ExprKind::Call(name, args) => format!("call {name} {}", args.len()),
        ExprKind::Agg { func, event, path, filter, within } => {
            format!("agg {} {event} {path:?} {within:?} {}", func.name(), filter.is_some())
        }
        ExprKind::Get(_, path) => format!("get {path:?}"),
    }
}

fn rule_changes(old: &Expr, new: &Expr, out: &mut Vec<(String, String)>) {
    if label(old) != label(new) {
        out.push((crate::printer::print(old), crate::printer::print(new)));
        return;
    }
    for (a, b) in old.children().zip(new.children()) {
        rule_changes(a, b, out);
    }
}

fn canonical_fields(s: &Segment) -> BTreeMap<String, serde_json::Value> {
    match serde_json::from_str::<serde_json::Value>(s.canonical_json()) {
        Ok(serde_json::Value::Object(m)) => m.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

fn grown(old: &BTreeSet<String>, new: &BTreeSet<String>) -> Vec<String> {
    new.difference(old).cloned().collect()
}

/// Whether an entry compares two definitions: a changed segment, or an added version held to the
/// rules against the version before it (SPEC §26).
fn compared(d: &SegmentDiff) -> bool {
    d.change == Change::Changed || (d.change == Change::Added && d.versions.0.is_some())
}

/// One entry of the diff: `o` in OLD, `n` in NEW; `pred`, for an added version, the version
/// before it, compared with `n` as if changed from it; `id_stays`: the id keeps other versions in
/// NEW (a retired version, not a removed segment).
fn compare(
    id: String,
    o: Option<&Segment>,
    n: Option<&Segment>,
    pred: Option<&Segment>,
    id_stays: bool,
) -> SegmentDiff {
    let version = |s: Option<&Segment>| s.map(|s| s.version().to_string());
    let mut d = SegmentDiff {
        id,
        change: Change::Unchanged,
        versions: (version(o.or(pred)), version(n)),
        fields: Vec::new(),
        rule_changes: Vec::new(),
        required: Bump::None,
        reasons: Vec::new(),
        problem: None,
    };
    match (o, n) {
        (None, Some(n)) => {
            d.change = Change::Added;
            d.required = Bump::Minor;
            match pred {
                Some(p) => changes(p, n, &mut d),
                None => d.reasons.push("added".into()),
            }
        }
        (Some(o), None) if id_stays => {
            // Consumers name the segment, not its versions: its membership over time changes.
            d.change = Change::Removed;
            d.required = Bump::Minor;
            d.reasons.push(format!("version {} retired; the segment stays", o.version()));
        }
        (Some(_), None) => {
            d.change = Change::Removed;
            d.required = Bump::Major;
            d.reasons.push("removed: its consumers break".into());
        }
        (Some(o), Some(n)) if o.definition_hash() == n.definition_hash() => {}
        (Some(o), Some(n)) => {
            d.change = Change::Changed;
            changes(o, n, &mut d);
        }
        (None, None) => {}
    }
    d
}

/// The changed fields, rule sub-expressions and required bump of `o` → `n` (SPEC §26).
fn changes(o: &Segment, n: &Segment, d: &mut SegmentDiff) {
    let (fo, fn_) = (canonical_fields(o), canonical_fields(n));
    d.fields = crate::definition::FIELDS.iter().copied().filter(|k| fo.get(*k) != fn_.get(*k)).collect();
    let mut bump = Bump::None;
    let say = |b: Bump, why: String, bump: &mut Bump, reasons: &mut Vec<String>| {
        *bump = (*bump).max(b);
        reasons.push(why);
    };
    let (ro, rn) = (o.read_set(), n.read_set());
    let mut more: Vec<String> = Vec::new();
    more.extend(grown(&ro.attributes, &rn.attributes).into_iter().map(|a| format!("attribute `{a}`")));
    more.extend(grown(&ro.events, &rn.events).into_iter().map(|e| format!("event `{e}`")));
    for (event, props) in &rn.event_properties {
        let before = ro.event_properties.get(event).cloned().unwrap_or_default();
        more.extend(grown(&before, props).into_iter().map(|p| format!("property `{event}.{p}`")));
    }
    more.extend(grown(&ro.segments, &rn.segments).into_iter().map(|s| format!("segment `{s}`")));
    if !more.is_empty() {
        say(Bump::Major, format!("the read set grows ({})", more.join(", ")), &mut bump, &mut d.reasons);
    }
    for (field, what) in [("timezone", "zone"), ("currency", "currency")] {
        if d.fields.contains(&field) {
            let (a, b) = (fo.get(field), fn_.get(field));
            let show = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or("").to_string();
            say(Bump::Major, format!("the {what} changes ({} → {})", show(a), show(b)), &mut bump, &mut d.reasons);
        }
    }
    if d.fields.contains(&"rule") {
        rule_changes(o.ast(), n.ast(), &mut d.rule_changes);
        if more.is_empty() {
            say(Bump::Minor, "the rule changes over the same inputs".into(), &mut bump, &mut d.reasons);
        }
    }
    if d.fields.iter().any(|f| *f == "effective_from" || *f == "effective_until") {
        say(Bump::Minor, "the effective dates change".into(), &mut bump, &mut d.reasons);
    }
    if d.fields.contains(&"status") {
        say(
            Bump::Minor,
            format!("the status changes ({} → {})", o.definition().status.as_str(), n.definition().status.as_str()),
            &mut bump,
            &mut d.reasons,
        );
    }
    let meta: Vec<&str> =
        d.fields.iter().copied().filter(|f| matches!(*f, "name" | "description" | "owner" | "tags")).collect();
    if !meta.is_empty() {
        say(Bump::Patch, format!("metadata changes ({})", meta.join(", ")), &mut bump, &mut d.reasons);
    }
    d.required = bump;
}

/// The diff of two registries (SPEC §26).
///
/// ```
/// use segcore::{Definition, Registry};
/// use segcore::diff::{diff, Bump};
/// let old = Registry::from_definitions(vec![Definition::new("hv", "1.0.0", "ltv > 500")], None).unwrap();
/// let new = Registry::from_definitions(vec![Definition::new("hv", "1.1.0", "ltv > 500 and country = \"DE\"")], None).unwrap();
/// let d = diff(&old, &new);
/// assert_eq!(d.segments[0].required, Bump::Major); // it now reads `country`
/// assert_eq!(d.segments[0].problem.as_ref().unwrap().0, "version_bump_required");
/// ```
pub fn diff(old: &Registry, new: &Registry) -> RegistryDiff {
    let by_id = |r: &'_ Registry| {
        let mut m: BTreeMap<String, Vec<Segment>> = BTreeMap::new();
        for s in r.versions() {
            m.entry(s.id().to_string()).or_default().push(s.clone());
        }
        m
    };
    let (olds, news) = (by_id(old), by_id(new));
    let ids: BTreeSet<&String> = olds.keys().chain(news.keys()).collect();
    let none: Vec<Segment> = Vec::new();
    let mut out: Vec<SegmentDiff> = Vec::with_capacity(ids.len());
    // Per entry, the NEW segment it describes (for references) — by index into `out`.
    let mut new_of: Vec<Option<Segment>> = Vec::new();
    for id in ids {
        let (ov, nv) = (olds.get(id).unwrap_or(&none), news.get(id).unwrap_or(&none));
        if ov.len() <= 1 && nv.len() <= 1 {
            let d = compare(id.clone(), ov.first(), nv.first(), None, false);
            new_of.push(nv.first().cloned());
            out.push(d);
            continue;
        }
        // Versions side by side (SPEC §1): matched by version, each an entry `id@version`.
        let mut versions: Vec<&str> = ov.iter().chain(nv).map(Segment::version).collect();
        versions.sort_by(|a, b| match (Version::parse(a), Version::parse(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => a.cmp(b),
        });
        versions.dedup();
        for v in versions {
            let find = |list: &'_ Vec<Segment>| list.iter().find(|s| s.version() == v).cloned();
            let (o, n) = (find(ov), find(nv));
            // An added version is held to the rules against the version before it.
            let before = |list: &'_ Vec<Segment>| {
                let this = Version::parse(v)?;
                list.iter()
                    .filter(|s| Version::parse(s.version()).is_some_and(|x| x < this))
                    .max_by_key(|s| Version::parse(s.version()))
                    .cloned()
            };
            let pred = if o.is_none() && n.is_some() { before(nv).or_else(|| before(ov)) } else { None };
            let d = compare(format!("{id}@{v}"), o.as_ref(), n.as_ref(), pred.as_ref(), !nv.is_empty());
            new_of.push(n);
            out.push(d);
        }
    }
    // A segment referencing one with a major change takes a major change (until nothing moves).
    let base = |entry: &str| entry.split('@').next().unwrap_or(entry).to_string();
    loop {
        let majors: BTreeSet<String> = out.iter().filter(|d| d.required == Bump::Major).map(|d| base(&d.id)).collect();
        let mut moved = false;
        for (d, n) in out.iter_mut().zip(&new_of) {
            if !compared(d) || d.required == Bump::Major {
                continue;
            }
            let Some(n) = n else { continue };
            if let Some(r) = n.read_set().segments.iter().find(|s| majors.contains(*s)) {
                d.required = Bump::Major;
                d.reasons.push(format!("it references `{r}`, which has a major change"));
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    for d in out.iter_mut().filter(|d| compared(d)) {
        check_versions(d);
    }
    RegistryDiff { segments: out }
}

/// One version of a segment against the version after it in one registry (SPEC §1, §26): the
/// changes, the bump they require and whether the later version carries it (`problem`). What
/// `segcore check` holds versions side by side to.
///
/// ```
/// use segcore::{Definition, Segment};
/// let a = Segment::compile(Definition::new("hv", "1.0.0", "ltv > 500"), None).unwrap();
/// let b = Segment::compile(Definition::new("hv", "1.0.1", "ltv > 600"), None).unwrap();
/// let d = segcore::diff::between(&a, &b);
/// assert_eq!(d.required.as_str(), "minor");
/// assert_eq!(d.problem.unwrap().0, "version_bump_required");
/// ```
pub fn between(old: &Segment, new: &Segment) -> SegmentDiff {
    let mut d = compare(format!("{}@{}", new.id(), new.version()), Some(old), Some(new), None, true);
    if d.change == Change::Changed {
        check_versions(&mut d);
    }
    d
}

/// Sets `problem` when the new version does not carry the required bump (SPEC §26).
fn check_versions(d: &mut SegmentDiff) {
    let (Some(ov), Some(nv)) = (&d.versions.0, &d.versions.1) else { return };
    let (Some(a), Some(b)) = (Version::parse(ov), Version::parse(nv)) else { return };
    d.problem = if b < a {
        Some(("version_regression", format!("{}: the version goes down ({ov} → {nv})", d.id)))
    } else if b == a {
        Some(("version_reused", format!("{}: version {nv} now names another definition", d.id)))
    } else {
        let got = Bump::between(ov, nv).unwrap_or(Bump::None);
        (got < d.required).then(|| {
            (
                "version_bump_required",
                format!(
                    "{}: {}; {ov} → {nv} is a {} bump, {} required",
                    d.id,
                    d.reasons.join("; "),
                    got.as_str(),
                    d.required.as_str()
                ),
            )
        })
    };
}
