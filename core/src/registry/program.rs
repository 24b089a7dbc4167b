//! A [`Program`]: compiled segments with their shared slot layout and a dependency order — the
//! single input of every backend. The interpreter and `explain` evaluate it, the SQL backend
//! translates it, analyses read its IR; a [`crate::Registry`] is a program plus the schema it was
//! compiled against, and a lone [`Segment`] becomes a program of one with
//! [`Segment::program`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::error::{Diagnostic, Error, ErrorKind};
use crate::ir::Layout;
use crate::segment::Segment;

/// The three-valued result of a rule (SPEC §16). Membership is `True` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The rule is TRUE: the profile is a member.
    True,
    /// The rule is FALSE, or the segment is not effective at `as_of`.
    False,
    /// The rule evaluated to null because data was missing, null or unreadable.
    Unknown,
}

impl Outcome {
    /// `"true"`, `"false"` or `"unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::True => "true",
            Outcome::False => "false",
            Outcome::Unknown => "unknown",
        }
    }
    /// The outcome's code where bindings pass outcomes as bytes: 0 false, 1 true, 2 unknown.
    pub fn code(self) -> u8 {
        match self {
            Outcome::False => 0,
            Outcome::True => 1,
            Outcome::Unknown => 2,
        }
    }
    /// Whether the profile is a member.
    pub fn is_member(self) -> bool {
        self == Outcome::True
    }
    pub(crate) fn from_tri(t: Option<bool>) -> Outcome {
        match t {
            Some(true) => Outcome::True,
            Some(false) => Outcome::False,
            None => Outcome::Unknown,
        }
    }
}

/// Compiled segments sorted by id, every one reading through one slot layout, with the order in
/// which to evaluate them (every segment after the segments it references).
///
/// ```
/// use segcore::{Definition, Registry};
/// let reg = Registry::from_definitions(vec![
///     Definition::new("b", "1.0.0", "in_segment(\"a\") and x > 1"),
///     Definition::new("a", "1.0.0", "x > 0"),
/// ], None).unwrap();
/// let program = reg.program();
/// let order: Vec<&str> = program.dependency_order().map(|s| s.id()).collect();
/// assert_eq!(order, ["a", "b"]);
/// assert_eq!(program.layout().attributes.len(), 1); // `x`, read by both
/// ```
#[derive(Debug, Clone)]
pub struct Program {
    /// Sorted by id, unique.
    segments: Vec<Segment>,
    index: BTreeMap<String, usize>,
    /// Indexes into `segments`, dependencies first.
    order: Vec<usize>,
    /// For each segment, the indexes of the segments it references.
    deps: Vec<Vec<usize>>,
    /// For each segment, itself and everything it references (what one segment's evaluation runs).
    closures: Vec<BTreeSet<usize>>,
    layout: Arc<Layout>,
    /// Versions side by side (SPEC §1): the program in force from each start instant (the first
    /// starts at `i64::MIN`), each with the same ids, order and references as this one — only
    /// which version of a segment is evaluated differs. Empty when every id has one version; then
    /// this program is in force at every instant.
    epochs: Arc<[(i64, Program)]>,
}

impl Program {
    /// A program of segments compiled against `layout` (sorted by id, ids unique). A reference
    /// cycle is an error naming it.
    pub(crate) fn new(segments: Vec<Segment>, layout: Arc<Layout>) -> Result<Program, Error> {
        let index: BTreeMap<String, usize> =
            segments.iter().enumerate().map(|(i, s)| (s.id().to_string(), i)).collect();
        let deps: Vec<Vec<usize>> = segments
            .iter()
            .map(|s| s.read_set().segments.iter().filter_map(|id| index.get(id).copied()).collect())
            .collect();
        let order = topo_order(&segments, &deps)?;
        let closures = (0..segments.len()).map(|t| closure_of(&deps, t)).collect();
        Ok(Program { segments, index, order, deps, closures, layout, epochs: Arc::from([]) })
    }

    /// A program of segments with versions side by side (SPEC §1): `versions[k]` are the versions
    /// of one id in time order (by `effective_from`, validated by the caller), ids sorted. The
    /// references of all versions together decide the order (a cycle through any version is an
    /// error). The program itself shows each id's latest version; [`Program::at`] the versions
    /// in force at an instant.
    pub(crate) fn with_versions(versions: Vec<Vec<Segment>>, layout: Arc<Layout>) -> Result<Program, Error> {
        let latest: Vec<Segment> = versions.iter().filter_map(|v| v.last().cloned()).collect();
        if versions.iter().all(|v| v.len() == 1) {
            return Program::new(latest, layout);
        }
        let index: BTreeMap<String, usize> = latest.iter().enumerate().map(|(i, s)| (s.id().to_string(), i)).collect();
        let deps: Vec<Vec<usize>> = versions
            .iter()
            .map(|vs| {
                let ids: BTreeSet<&str> =
                    vs.iter().flat_map(|s| s.read_set().segments.iter().map(String::as_str)).collect();
                ids.into_iter().filter_map(|id| index.get(id).copied()).collect()
            })
            .collect();
        let order = topo_order(&latest, &deps)?;
        let closures: Vec<BTreeSet<usize>> = (0..latest.len()).map(|t| closure_of(&deps, t)).collect();
        // The selection changes where a version other than an id's first starts.
        let starts: BTreeSet<i64> =
            versions.iter().flat_map(|vs| vs.iter().skip(1).filter_map(|s| s.definition().effective_from)).collect();
        let select = |t: i64| -> Vec<Segment> {
            versions
                .iter()
                .map(|vs| {
                    // The latest version starting at or before t (absent: earliest), else the first.
                    let k = vs.iter().rposition(|s| s.definition().effective_from.is_none_or(|f| f <= t)).unwrap_or(0);
                    vs[k].clone()
                })
                .collect()
        };
        let epoch = |segments: Vec<Segment>| Program {
            segments,
            index: index.clone(),
            order: order.clone(),
            deps: deps.clone(),
            closures: closures.clone(),
            layout: Arc::clone(&layout),
            epochs: Arc::from([]),
        };
        let epochs: Vec<(i64, Program)> =
            std::iter::once(i64::MIN).chain(starts).map(|t| (t, epoch(select(t)))).collect();
        Ok(Program { epochs: epochs.into(), ..epoch(latest) })
    }

    /// The program in force at `t`: the versions of its segments that apply then (SPEC §1). The
    /// program itself when every segment has one version.
    ///
    /// ```
    /// use segcore::{Definition, Registry};
    /// let mut v2 = Definition::new("a", "2.0.0", "x > 2");
    /// v2.effective_from = Some(1_000);
    /// let reg = Registry::from_definitions(vec![Definition::new("a", "1.0.0", "x > 1"), v2], None).unwrap();
    /// assert_eq!(reg.program().at(999).segments()[0].version(), "1.0.0");
    /// assert_eq!(reg.program().at(1_000).segments()[0].version(), "2.0.0");
    /// ```
    pub fn at(&self, t: i64) -> &Program {
        if self.epochs.is_empty() {
            return self;
        }
        let k = self.epochs.partition_point(|(start, _)| *start <= t);
        &self.epochs[k.saturating_sub(1)].1
    }

    /// Whether some segment has several versions (SPEC §1): which one applies depends on the
    /// instant ([`Program::at`]).
    pub fn has_versions(&self) -> bool {
        !self.epochs.is_empty()
    }

    /// Every version of segment `i` (one, unless versions stand side by side), in time order.
    pub fn versions_of(&self, i: usize) -> Vec<&Segment> {
        if self.epochs.is_empty() {
            return vec![&self.segments[i]];
        }
        let mut out: Vec<&Segment> = Vec::new();
        for (_, p) in self.epochs.iter() {
            let s = &p.segments[i];
            if !out.iter().any(|o| o.definition_hash() == s.definition_hash()) {
                out.push(s);
            }
        }
        out
    }

    /// The instants where the versions in force change (the starts of [`Program::at`]'s
    /// programs after the first), ascending.
    pub fn version_changes(&self) -> impl Iterator<Item = i64> + '_ {
        self.epochs.iter().skip(1).map(|(t, _)| *t)
    }

    /// Segments sorted by id.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Segments with every segment after the ones it references (ties by id).
    pub fn dependency_order(&self) -> impl Iterator<Item = &Segment> {
        self.order.iter().map(|&i| &self.segments[i])
    }

    /// Indexes into [`Program::segments`] in dependency order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// A segment by id.
    pub fn get(&self, id: &str) -> Option<&Segment> {
        self.index.get(id).map(|&i| &self.segments[i])
    }

    /// The index of a segment in [`Program::segments`].
    pub fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The indexes of the segments that segment `i` references.
    pub fn dependencies(&self, i: usize) -> &[usize] {
        &self.deps[i]
    }

    /// Segment `target` and everything it references, directly or not.
    pub fn closure(&self, target: usize) -> BTreeSet<usize> {
        self.closures[target].clone()
    }

    /// [`Program::closure`], borrowed (computed once, with the program).
    pub(crate) fn closure_ref(&self, target: usize) -> &BTreeSet<usize> {
        &self.closures[target]
    }

    /// The slot layout every segment reads through.
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Binds a profile to the program's layout: every segment then reads it by slot.
    pub fn bind<'p>(&self, profile: &'p crate::Profile) -> crate::Bound<'p> {
        crate::Bound::new(&self.layout, profile)
    }

    /// What the program's segments read, together (union of their read sets, every version's).
    pub fn read_set(&self) -> crate::ReadSet {
        let mut rs = crate::ReadSet::default();
        let all: Vec<&Segment> = (0..self.segments.len()).flat_map(|i| self.versions_of(i)).collect();
        for s in all {
            let r = s.read_set();
            rs.attributes.extend(r.attributes.iter().cloned());
            rs.events.extend(r.events.iter().cloned());
            rs.segments.extend(r.segments.iter().cloned());
            for (e, props) in &r.event_properties {
                rs.event_properties.entry(e.clone()).or_default().extend(props.iter().cloned());
            }
            rs.entity_id |= r.entity_id;
        }
        rs
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether the program has no segments.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

impl Segment {
    /// This segment as a program of one (its `in_segment` references stay external: their
    /// results come from the evaluation context).
    ///
    /// ```
    /// use segcore::{Definition, Segment};
    /// let seg = Segment::compile(Definition::new("adults", "1.0.0", "age >= 18"), None).unwrap();
    /// assert_eq!(seg.program().segments()[0].id(), "adults");
    /// ```
    pub fn program(&self) -> Program {
        let index = BTreeMap::from([(self.id().to_string(), 0)]);
        Program {
            segments: vec![self.clone()],
            index,
            order: vec![0],
            deps: vec![vec![]],
            closures: vec![BTreeSet::from([0])],
            layout: Arc::clone(self.layout()),
            epochs: Arc::from([]),
        }
    }
}

/// Dependencies-first order, deterministic (ids ascending); a cycle is an error naming it.
fn topo_order(segments: &[Segment], deps: &[Vec<usize>]) -> Result<Vec<usize>, Error> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let mut marks = vec![Mark::New; segments.len()];
    let mut order = Vec::with_capacity(segments.len());
    let mut diags = Vec::new();
    for start in 0..segments.len() {
        if marks[start] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next dep index), with the active path for cycle reporting.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        marks[start] = Mark::Active;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match marks[dep] {
                    Mark::New => {
                        marks[dep] = Mark::Active;
                        stack.push((dep, 0));
                    }
                    Mark::Active => {
                        let pos = stack.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                        let mut cycle: Vec<&str> = stack[pos..].iter().map(|(n, _)| segments[*n].id()).collect();
                        cycle.push(segments[dep].id());
                        diags.push(
                            Diagnostic::new(
                                ErrorKind::SegmentCycle,
                                format!("segments reference each other in a cycle: {}", cycle.join(" → ")),
                            )
                            .with_origin(segments[dep].id()),
                        );
                    }
                    Mark::Done => {}
                }
            } else {
                marks[node] = Mark::Done;
                order.push(node);
                stack.pop();
            }
        }
    }
    if diags.is_empty() {
        Ok(order)
    } else {
        Err(Error::from_diagnostics(diags))
    }
}

fn closure_of(deps: &[Vec<usize>], target: usize) -> BTreeSet<usize> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![target];
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            stack.extend(&deps[i]);
        }
    }
    seen
}
