//! A registry: a set of definitions compiled together, with `in_segment` references resolved and
//! evaluated in dependency order.

mod bundle;
pub use bundle::BUNDLE_FORMAT;
pub(crate) mod canonical;
pub(crate) mod definition;
pub mod deps;
pub mod diff;
pub(crate) mod program;
pub(crate) mod segment;

use std::collections::BTreeSet;
use std::path::Path;

use std::sync::Arc;

use crate::bind::Bound;
use crate::context::EvalContext;
use crate::definition::Definition;
use crate::error::{Diagnostic, Error, ErrorKind};
use crate::ir::Layout;
use crate::limits;
use crate::profile::Profile;
use crate::program::{Outcome, Program};
use crate::schema::Schema;
use crate::segment::Segment;

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
    program: Program,
    /// The schema the definitions were compiled against, if any.
    schema: Option<Arc<Schema>>,
}

/// Why two definitions of one id (in time order) cannot stand side by side (SPEC §1), if so.
fn side_by_side_problem(a: &Definition, b: &Definition) -> Option<String> {
    let id = &a.id;
    let at = |t: Option<i64>| t.map_or_else(|| "unbounded".to_string(), crate::time::format_timestamp);
    if a.effective_from == b.effective_from {
        return Some(match a.effective_from {
            None => format!(
                "segment id `{id}` is defined more than once (versions {} and {}): versions side by side \
                 need distinct `effective_from`",
                a.version, b.version
            ),
            Some(_) => format!(
                "segment `{id}`: versions {} and {} both start at {}: one instant, two answers",
                a.version,
                b.version,
                at(a.effective_from)
            ),
        });
    }
    let (va, vb) = (crate::semver::Version::parse(&a.version), crate::semver::Version::parse(&b.version));
    match (va, vb) {
        (Some(va), Some(vb)) if va >= vb => Some(format!(
            "segment `{id}`: version {} starts at {} after version {} (from {}): a later \
             `effective_from` must carry a higher version",
            b.version,
            at(b.effective_from),
            a.version,
            at(a.effective_from)
        )),
        _ => None,
    }
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
        // By id, then time: an id's versions in the order they take over (SPEC §1).
        defs.sort_by(|a, b| {
            a.id.cmp(&b.id).then(a.effective_from.cmp(&b.effective_from)).then(a.version.cmp(&b.version))
        });
        let mut diags = Vec::new();
        for w in defs.windows(2) {
            if w[0].id == w[1].id {
                if let Some(why) = side_by_side_problem(&w[0], &w[1]) {
                    diags.push(Diagnostic::new(ErrorKind::DuplicateSegment, why).with_origin(&w[0].id));
                }
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
        let mut versions: Vec<Vec<Segment>> = Vec::new();
        for def in defs {
            let seg = Segment::compile_in(def, schema, Some(&known), Some(Arc::clone(&layout)))?;
            match versions.last_mut() {
                Some(last) if last[0].id() == seg.id() => last.push(seg),
                _ => versions.push(vec![seg]),
            }
        }
        Ok(Registry { program: Program::with_versions(versions, layout)?, schema: schema.cloned().map(Arc::new) })
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

    /// The compiled program: what every backend takes.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Segments sorted by id (of an id with versions side by side, the latest: SPEC §1).
    pub fn segments(&self) -> &[Segment] {
        self.program.segments()
    }

    /// Every definition: each id's versions in time order (one per id unless versions stand side
    /// by side, SPEC §1), ids sorted.
    ///
    /// ```
    /// use segcore::{Definition, Registry};
    /// let mut v2 = Definition::new("a", "2.0.0", "x > 2");
    /// v2.effective_from = Some(1_000);
    /// let reg = Registry::from_definitions(vec![v2, Definition::new("a", "1.0.0", "x > 1")], None).unwrap();
    /// let versions: Vec<&str> = reg.versions().iter().map(|s| s.version()).collect();
    /// assert_eq!(versions, ["1.0.0", "2.0.0"]);
    /// assert_eq!(reg.len(), 1);
    /// ```
    pub fn versions(&self) -> Vec<&Segment> {
        (0..self.program.len()).flat_map(|i| self.program.versions_of(i)).collect()
    }

    /// The registry of the versions in force at `t` (one per id, SPEC §1): what a stream runs
    /// between handovers.
    pub(crate) fn in_force_at(&self, t: i64) -> Registry {
        Registry { program: self.program.at(t).clone(), schema: self.schema.clone() }
    }

    /// The segment `id` as it applies at `as_of` (the version reported there, SPEC §1).
    pub fn get_at(&self, id: &str, as_of: i64) -> Option<&Segment> {
        self.program.at(as_of).get(id)
    }

    /// Segments with every segment after the ones it references (ties by id).
    pub fn dependency_order(&self) -> impl Iterator<Item = &Segment> {
        self.program.dependency_order()
    }

    /// A segment by id.
    pub fn get(&self, id: &str) -> Option<&Segment> {
        self.program.get(id)
    }

    /// What the registry's segments read, together (union of their read sets).
    pub fn read_set(&self) -> crate::ReadSet {
        self.program.read_set()
    }

    /// The slot layout every segment of the registry reads through (see [`Bound::with_attributes`]).
    pub fn layout(&self) -> &Arc<Layout> {
        self.program.layout()
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.program.len()
    }

    /// Whether the registry is empty.
    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }

    /// Binds a profile once for every segment of the registry (see [`Segment::bind`]).
    pub fn bind<'p>(&self, profile: &'p Profile) -> Bound<'p> {
        Bound::new(self.program.layout(), profile)
    }

    /// Evaluates every segment for a profile; results sorted by id.
    pub fn evaluate(&self, profile: &Profile, cx: &EvalContext) -> Result<Vec<(&str, Outcome)>, Error> {
        self.evaluate_bound(&self.bind(profile), cx)
    }

    /// Evaluates every segment for a bound profile; results sorted by id.
    pub fn evaluate_bound(&self, bound: &Bound, cx: &EvalContext) -> Result<Vec<(&str, Outcome)>, Error> {
        let outcomes = self.program.evaluate_bound(bound, cx, None)?;
        // Ids are the same in every version set: the latest versions name them.
        Ok(self.segments().iter().zip(outcomes).map(|(s, r)| (s.id(), r.unwrap_or(Outcome::False))).collect())
    }

    /// Evaluates one segment (and only what it depends on).
    pub fn evaluate_one(&self, id: &str, profile: &Profile, cx: &EvalContext) -> Result<Outcome, Error> {
        let target = self.position(id)?;
        let needed = self.program.closure(target);
        let outcomes = self.program.evaluate_bound(&self.bind(profile), cx, Some(&needed))?;
        Ok(outcomes[target].unwrap_or(Outcome::False))
    }

    /// Explains one segment for a profile, evaluating its dependencies first.
    pub fn explain(&self, id: &str, profile: &Profile, cx: &EvalContext) -> Result<crate::explain::Explanation, Error> {
        let target = self.position(id)?;
        let needed = self.program.closure(target);
        let outcomes = self.program.evaluate_bound(&self.bind(profile), cx, Some(&needed))?;
        let mut cx2 = cx.clone();
        for dep in needed {
            if dep != target {
                let member = outcomes[dep].is_some_and(Outcome::is_member);
                cx2.segments.insert(self.segments()[dep].id().to_string(), member);
            }
        }
        self.program.at(cx.as_of).segments()[target].explain(profile, &cx2)
    }

    fn position(&self, id: &str) -> Result<usize, Error> {
        self.program
            .position(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownSegment, format!("no segment `{id}` in the registry")))
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
