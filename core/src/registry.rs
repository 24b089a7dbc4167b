//! A registry: a set of definitions compiled together, with `in_segment` references resolved and
//! evaluated in dependency order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use std::sync::Arc;

use crate::definition::Definition;
use crate::error::{Diagnostic, Error, ErrorKind};
use crate::ir::Layout;
use crate::limits;
use crate::profile::Profile;
use crate::schema::Schema;
use crate::segment::{Bound, EvalContext, Outcome, Segment};

/// Compiled segments by id, in a dependency order.
///
/// ```
/// use segcore::{Definition, EvalContext, Profile, Registry};
/// let reg = Registry::from_definitions(vec![
///     Definition::new("adults", "1.0.0", "age >= 18"),
///     Definition::new("us_adults", "1.0.0", "in_segment(\"adults\") and country = \"US\""),
/// ], None).unwrap();
/// let p = Profile::from_json_str(r#"{"id": "u1", "attributes": {"age": 30, "country": "US"}}"#).unwrap();
/// let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
/// let results = reg.evaluate(&p, &cx).unwrap();
/// assert_eq!(results[1], ("us_adults", segcore::Outcome::True));
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    /// Sorted by id.
    segments: Vec<Segment>,
    index: BTreeMap<String, usize>,
    /// Indexes into `segments`, dependencies first.
    order: Vec<usize>,
    /// For each segment, the indexes it references.
    deps: Vec<Vec<usize>>,
    /// The slot layout every segment reads through.
    layout: Arc<Layout>,
    /// The schema the definitions were compiled against, if any.
    schema: Option<Arc<Schema>>,
}

impl Registry {
    /// Compiles definitions together. Every problem in every definition is reported.
    pub fn from_definitions(mut defs: Vec<Definition>, schema: Option<&Schema>) -> Result<Registry, Error> {
        if defs.len() > limits::MAX_DEFINITIONS {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("more than {} definitions", limits::MAX_DEFINITIONS),
            ));
        }
        defs.sort_by(|a, b| a.id.cmp(&b.id));
        let mut diags = Vec::new();
        for w in defs.windows(2) {
            if w[0].id == w[1].id {
                diags.push(
                    Diagnostic::new(
                        ErrorKind::DuplicateSegment,
                        format!("segment id `{}` is defined more than once", w[0].id),
                    )
                    .with_origin(&w[0].id),
                );
            }
        }
        let ids: BTreeSet<String> = defs.iter().map(|d| d.id.clone()).collect();
        let known = |id: &str| ids.contains(id);
        let mut segments = Vec::new();
        for def in &defs {
            match Segment::compile_in(def.clone(), schema, Some(&known), None) {
                Ok(s) => segments.push(s),
                Err(e) => diags.extend(e.diagnostics().iter().cloned()),
            }
        }
        if !diags.is_empty() {
            return Err(Error::from_diagnostics(diags));
        }
        // One layout for the whole registry, so a profile is bound once for every segment.
        let mut attributes = BTreeSet::new();
        let mut events = BTreeSet::new();
        for s in &segments {
            attributes.extend(s.layout().attributes.iter().cloned());
            events.extend(s.layout().events.iter().cloned());
        }
        let layout =
            Arc::new(Layout { attributes: attributes.into_iter().collect(), events: events.into_iter().collect() });
        let mut segments = Vec::with_capacity(defs.len());
        for def in defs {
            segments.push(Segment::compile_in(def, schema, Some(&known), Some(Arc::clone(&layout)))?);
        }
        segments.dedup_by(|a, b| a.id() == b.id());
        let index: BTreeMap<String, usize> =
            segments.iter().enumerate().map(|(i, s)| (s.id().to_string(), i)).collect();
        let deps: Vec<Vec<usize>> = segments
            .iter()
            .map(|s| s.read_set().segments.iter().filter_map(|id| index.get(id).copied()).collect())
            .collect();
        let order = topo_order(&segments, &deps)?;
        Ok(Registry { segments, index, order, deps, layout, schema: schema.cloned().map(Arc::new) })
    }

    /// Loads a folder of definitions ([`Registry::load_dir`]) or a single definition file.
    ///
    /// ```no_run
    /// use segcore::Registry;
    /// let folder = Registry::load("segments/".as_ref(), None)?;
    /// let one = Registry::load("segments/high_value.yaml".as_ref(), None)?;
    /// # Ok::<(), segcore::Error>(())
    /// ```
    pub fn load(path: &Path, schema: Option<&Schema>) -> Result<Registry, Error> {
        if path.is_dir() {
            Registry::load_dir(path, schema)
        } else {
            Definition::from_file(path).and_then(|d| Registry::from_definitions(vec![d], schema))
        }
    }

    /// Loads every `*.yaml`, `*.yml` and `*.json` file in `dir` (not recursive), in name order.
    pub fn load_dir(dir: &Path, schema: Option<&Schema>) -> Result<Registry, Error> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read folder {}: {e}", dir.display())))?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")))
            .collect();
        paths.sort();
        if paths.is_empty() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("no definition files (*.yaml, *.yml, *.json) in {}", dir.display()),
            ));
        }
        let mut defs = Vec::new();
        let mut diags = Vec::new();
        for p in &paths {
            match Definition::from_file(p) {
                Ok(d) => defs.push(d),
                Err(e) => diags.extend(e.diagnostics().iter().cloned()),
            }
        }
        if diags.is_empty() {
            return Registry::from_definitions(defs, schema);
        }
        // Report the rule errors of the files that did load too, so one run shows everything.
        if let Err(e) = Registry::from_definitions(defs, schema) {
            diags.extend(e.diagnostics().iter().filter(|d| d.kind != ErrorKind::UnknownSegment).cloned());
        }
        Err(Error::from_diagnostics(diags))
    }

    /// Every diagnostic of a set of definitions, as `segcore check` reports them: the errors of
    /// definitions that failed to load, then the errors of compiling the rest together. Empty
    /// when everything is valid.
    ///
    /// ```
    /// use segcore::{Definition, Registry};
    /// let loaded = vec![Ok(Definition::new("a", "1.0.0", "\"5\" = 5")), Definition::from_yaml_str("id: [")];
    /// let diags = Registry::check(loaded, None);
    /// let kinds: Vec<_> = diags.iter().map(|d| d.kind).collect();
    /// assert_eq!(kinds, [segcore::ErrorKind::InvalidDefinition, segcore::ErrorKind::TypeMismatch]);
    /// ```
    pub fn check(loaded: Vec<Result<Definition, Error>>, schema: Option<&Schema>) -> Vec<crate::Diagnostic> {
        let mut defs = Vec::new();
        let mut diags = Vec::new();
        for d in loaded {
            match d {
                Ok(d) => defs.push(d),
                Err(e) => diags.extend(e.diagnostics().iter().cloned()),
            }
        }
        if let Err(e) = Registry::from_definitions(defs, schema) {
            diags.extend(e.diagnostics().iter().cloned());
        }
        diags
    }

    /// The schema the registry was compiled against (what recompiling it elsewhere needs).
    pub fn schema(&self) -> Option<&Schema> {
        self.schema.as_deref()
    }

    /// Segments sorted by id.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Segments with every segment after the ones it references (ties by id).
    pub fn dependency_order(&self) -> impl Iterator<Item = &Segment> {
        self.order.iter().map(|&i| &self.segments[i])
    }

    /// A segment by id.
    pub fn get(&self, id: &str) -> Option<&Segment> {
        self.index.get(id).map(|&i| &self.segments[i])
    }

    /// What the registry's segments read, together (union of their read sets).
    pub fn read_set(&self) -> crate::ReadSet {
        let mut rs = crate::ReadSet::default();
        for s in &self.segments {
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

    /// The slot layout every segment of the registry reads through (see [`Bound::with_attributes`]).
    pub fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Binds a profile once for every segment of the registry (see [`Segment::bind`]).
    pub fn bind<'p>(&self, profile: &'p Profile) -> Bound<'p> {
        Bound::new(&self.layout, profile)
    }

    /// Evaluates every segment for a profile; results sorted by id.
    pub fn evaluate(&self, profile: &Profile, cx: &EvalContext) -> Result<Vec<(&str, Outcome)>, Error> {
        self.evaluate_bound(&self.bind(profile), cx)
    }

    /// Evaluates every segment for a bound profile; results sorted by id.
    pub fn evaluate_bound(&self, bound: &Bound, cx: &EvalContext) -> Result<Vec<(&str, Outcome)>, Error> {
        let mut results: Vec<Option<Outcome>> = vec![None; self.segments.len()];
        for &i in &self.order {
            results[i] = Some(self.eval_at(i, bound, cx, &results)?);
        }
        Ok(self.segments.iter().zip(results).map(|(s, r)| (s.id(), r.unwrap_or(Outcome::False))).collect())
    }

    /// Evaluates one segment (and only what it depends on).
    pub fn evaluate_one(&self, id: &str, profile: &Profile, cx: &EvalContext) -> Result<Outcome, Error> {
        let target = *self
            .index
            .get(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownSegment, format!("no segment `{id}` in the registry")))?;
        let needed = self.closure(target);
        let bound = self.bind(profile);
        let mut results: Vec<Option<Outcome>> = vec![None; self.segments.len()];
        for &i in self.order.iter().filter(|i| needed.contains(i)) {
            results[i] = Some(self.eval_at(i, &bound, cx, &results)?);
        }
        Ok(results[target].unwrap_or(Outcome::False))
    }

    /// Explains one segment for a profile, evaluating its dependencies first.
    pub fn explain(&self, id: &str, profile: &Profile, cx: &EvalContext) -> Result<crate::explain::Explanation, Error> {
        let target = *self
            .index
            .get(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownSegment, format!("no segment `{id}` in the registry")))?;
        let mut cx2 = cx.clone();
        for dep in self.closure(target) {
            if dep != target {
                let s = &self.segments[dep];
                cx2.segments.insert(s.id().to_string(), self.evaluate_one(s.id(), profile, cx)?.is_member());
            }
        }
        self.segments[target].explain(profile, &cx2)
    }

    fn closure(&self, target: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![target];
        while let Some(i) = stack.pop() {
            if seen.insert(i) {
                stack.extend(&self.deps[i]);
            }
        }
        seen
    }

    fn eval_at(
        &self,
        i: usize,
        bound: &Bound,
        cx: &EvalContext,
        results: &[Option<Outcome>],
    ) -> Result<Outcome, Error> {
        let lookup = |id: &str| {
            self.index
                .get(id)
                .and_then(|&j| results[j])
                .map(Outcome::is_member)
                .or_else(|| cx.segments.get(id).copied())
        };
        self.segments[i].evaluate_bound_with(bound, cx.as_of, &cx.fx, &lookup)
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

#[cfg(all(test, unix))]
mod file_tests {
    use super::*;

    /// A FIFO or a device named `*.yaml` in a segments folder is refused, not read (a FIFO would
    /// block `check` forever, `/dev/zero` would be read without end).
    #[test]
    fn non_regular_definition_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("segcore-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.yaml"), "id: a\nversion: 1.0.0\nrule: age > 1\n").unwrap();
        let fifo = dir.join("b.yaml");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().map(|s| s.success()).unwrap_or(false);
        std::os::unix::fs::symlink("/dev/zero", dir.join("c.yaml")).unwrap();
        let e = Registry::load_dir(&dir, None).unwrap_err();
        let messages: Vec<_> = e.diagnostics().iter().map(|d| (d.kind, d.message.clone())).collect();
        assert!(messages.iter().all(|(k, _)| *k == ErrorKind::Io), "{messages:?}");
        assert_eq!(messages.len(), if made { 2 } else { 1 }, "{messages:?}");
        assert!(messages.iter().all(|(_, m)| m.contains("not a regular file")), "{messages:?}");
        // A large regular file is read only up to the limit.
        std::fs::remove_file(dir.join("c.yaml")).unwrap();
        let _ = std::fs::remove_file(&fifo);
        std::fs::write(dir.join("d.yaml"), vec![b'#'; limits::MAX_DEFINITION_FILE_BYTES + 10]).unwrap();
        let e = Registry::load_dir(&dir, None).unwrap_err();
        assert_eq!(e.first().kind, ErrorKind::LimitExceeded);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
