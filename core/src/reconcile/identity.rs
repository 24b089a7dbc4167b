//! Identity maps (SPEC §25): pairs of identifiers → connected components → one canonical id per
//! component, independent of the order of the pairs.

use std::collections::{BTreeMap, HashMap};

use crate::error::{DataLocation, Error, ErrorKind};
use crate::profile::Profile;

/// How canonical ids are chosen and what counts as a conflict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityOptions {
    /// Prefixes in order of preference for the canonical id (`user:` before `email:`).
    pub prefer: Vec<String>,
    /// Prefixes of which a component may hold only one identifier (two `user:` ids joined through
    /// a shared device are a conflict).
    pub unique: Vec<String>,
    /// A conflict is an error instead of a report.
    pub strict: bool,
}

/// What building the map found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityReport {
    /// Pairs read.
    pub pairs: u64,
    /// Pairs linking an identifier to itself (ignored).
    pub self_pairs: u64,
    /// Pairs linking two identifiers already in one component (repeats and cycles: harmless).
    pub redundant: u64,
    /// Components with two or more identifiers of one `unique` prefix: (canonical id, those
    /// identifiers), the first few.
    pub conflicts: Vec<(String, Vec<String>)>,
    /// How many components conflict.
    pub conflict_count: u64,
}

/// An identity map: every identifier it knows and its component's canonical id.
///
/// ```
/// use segcore::reconcile::{IdentityMap, IdentityOptions};
/// let opts = IdentityOptions { prefer: vec!["user:".into()], ..Default::default() };
/// let map = IdentityMap::from_pairs([("email:a@x", "device:9"), ("device:9", "user:42")], &opts).unwrap();
/// assert_eq!(map.canonical("email:a@x"), "user:42");
/// assert_eq!(map.canonical("cookie:unknown"), "cookie:unknown");
/// assert_eq!(map.components(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct IdentityMap {
    canonical: HashMap<String, String>,
    components: usize,
    report: IdentityReport,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[x as usize];
        parent[x as usize] = parent[p as usize];
        x = p;
    }
    x
}

impl IdentityMap {
    /// The map of `pairs` (SPEC §25).
    pub fn from_pairs<A: AsRef<str>, B: AsRef<str>>(
        pairs: impl IntoIterator<Item = (A, B)>,
        options: &IdentityOptions,
    ) -> Result<IdentityMap, Error> {
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut names: Vec<String> = Vec::new();
        let mut parent: Vec<u32> = Vec::new();
        let mut report = IdentityReport::default();
        let mut intern = |s: &str, names: &mut Vec<String>, parent: &mut Vec<u32>| -> u32 {
            if let Some(&i) = index.get(s) {
                return i;
            }
            let i = names.len() as u32;
            index.insert(s.to_string(), i);
            names.push(s.to_string());
            parent.push(i);
            i
        };
        for (a, b) in pairs {
            report.pairs += 1;
            let (a, b) = (a.as_ref(), b.as_ref());
            let ia = intern(a, &mut names, &mut parent);
            let ib = intern(b, &mut names, &mut parent);
            if ia == ib {
                report.self_pairs += 1;
                continue;
            }
            let (ra, rb) = (find(&mut parent, ia), find(&mut parent, ib));
            if ra == rb {
                report.redundant += 1;
            } else {
                parent[ra.max(rb) as usize] = ra.min(rb);
            }
        }
        let rank =
            |s: &str| options.prefer.iter().position(|p| s.starts_with(p.as_str())).unwrap_or(options.prefer.len());
        let mut members: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for i in 0..names.len() as u32 {
            let r = find(&mut parent, i);
            members.entry(r).or_default().push(i);
        }
        let mut canonical = HashMap::with_capacity(names.len());
        let mut conflicts: Vec<(String, Vec<String>)> = Vec::new();
        for ids in members.values() {
            let best = ids
                .iter()
                .map(|&i| names[i as usize].as_str())
                .min_by(|x, y| (rank(x), *x).cmp(&(rank(y), *y)))
                .expect("a component has an identifier");
            for prefix in &options.unique {
                let mut same: Vec<String> =
                    ids.iter().map(|&i| names[i as usize].clone()).filter(|s| s.starts_with(prefix.as_str())).collect();
                if same.len() > 1 {
                    same.sort();
                    conflicts.push((best.to_string(), same));
                }
            }
            for &i in ids {
                canonical.insert(names[i as usize].clone(), best.to_string());
            }
        }
        conflicts.sort();
        report.conflict_count = conflicts.len() as u64;
        if options.strict {
            if let Some((c, ids)) = conflicts.first() {
                return Err(Error::new(
                    ErrorKind::InvalidIdentity,
                    format!(
                        "{} component(s) join identifiers that must stay apart; the first, {c}, holds {}",
                        conflicts.len(),
                        ids.join(", ")
                    ),
                ));
            }
        }
        conflicts.truncate(10);
        report.conflicts = conflicts;
        Ok(IdentityMap { canonical, components: members.len(), report })
    }

    /// The canonical id of an identifier (itself when the map does not know it).
    pub fn canonical<'a>(&'a self, id: &'a str) -> &'a str {
        self.canonical.get(id).map_or(id, String::as_str)
    }

    /// True when the map knows this identifier.
    pub fn knows(&self, id: &str) -> bool {
        self.canonical.contains_key(id)
    }

    /// Number of components.
    pub fn components(&self) -> usize {
        self.components
    }

    /// Number of identifiers.
    pub fn identifiers(&self) -> usize {
        self.canonical.len()
    }

    /// What building the map found.
    pub fn report(&self) -> &IdentityReport {
        &self.report
    }

    /// Profiles merged per component (SPEC §25): one profile per canonical id, in the order first
    /// seen; events are all the component's events; attributes the canonical profile's, then each
    /// other one's (in identifier order) for names still missing. Returns the profiles and the
    /// attribute conflicts found (canonical id, attribute name).
    pub fn merge_profiles(&self, profiles: Vec<Profile>) -> (Vec<Profile>, Vec<(String, String)>) {
        let mut groups: Vec<(String, Vec<Profile>)> = Vec::new();
        let mut at: HashMap<String, usize> = HashMap::new();
        for p in profiles {
            let c = self.canonical(p.id()).to_string();
            match at.get(&c) {
                Some(&i) => groups[i].1.push(p),
                None => {
                    at.insert(c.clone(), groups.len());
                    groups.push((c, vec![p]));
                }
            }
        }
        let mut conflicts = Vec::new();
        let out = groups
            .into_iter()
            .map(|(c, mut ps)| {
                if ps.len() == 1 && ps[0].id() == c {
                    return ps.pop().expect("one");
                }
                // The canonical profile first, then the others by identifier.
                ps.sort_by(|x, y| (x.id() != c, x.id()).cmp(&(y.id() != c, y.id())));
                let mut merged = Profile::new(c.as_str());
                for p in &ps {
                    for name in p.attribute_names() {
                        let v = p.attribute(name).expect("listed");
                        match merged.attribute(name) {
                            None => merged.set_attribute(name, v.clone()),
                            Some(old) if old != v => conflicts.push((c.clone(), name.to_string())),
                            Some(_) => {}
                        }
                    }
                    for (name, group) in p.event_groups() {
                        for (at, e) in group.ats.iter().zip(&group.events) {
                            // Same name and properties as an accepted event: cannot fail.
                            let _ = merged.insert_event(name, *at, e.properties.clone());
                        }
                    }
                }
                merged.finish();
                merged
            })
            .collect();
        conflicts.sort();
        conflicts.dedup();
        (out, conflicts)
    }
}

/// Reads an identity map: CSV (a header row, then two columns per line) or JSON Lines
/// (`{"a": …, "b": …}` or `["a", "b"]`); errors name the line.
pub fn read_identity(source: &str, bytes: &[u8], options: &IdentityOptions) -> Result<IdentityMap, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let bad = |line: u64, why: String| {
        Error::new(ErrorKind::InvalidIdentity, why).at_data(DataLocation {
            source: Some(source.to_string()),
            line: Some(line),
            ..Default::default()
        })
    };
    let jsonl = bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|&b| b == b'{' || b == b'[');
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = i as u64 + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(raw).map_err(|_| bad(line_no, "the line is not UTF-8".into()))?;
        if line.trim().is_empty() {
            continue;
        }
        if jsonl {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(line_no, format!("not JSON: {e}")))?;
            let pair = match &v {
                serde_json::Value::Object(o) => (o.get("a"), o.get("b")),
                serde_json::Value::Array(a) if a.len() == 2 => (a.first(), a.get(1)),
                _ => (None, None),
            };
            let text = |x: Option<&serde_json::Value>| match x {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(serde_json::Value::Number(n)) if n.is_i64() => Some(n.to_string()),
                _ => None,
            };
            match (text(pair.0), text(pair.1)) {
                (Some(a), Some(b)) => pairs.push((a, b)),
                _ => return Err(bad(line_no, "expected {\"a\": id, \"b\": id} or [id, id] with non-empty ids".into())),
            }
        } else {
            if i == 0 {
                continue; // the header row
            }
            let cells: Vec<&str> = line.split(',').collect();
            if cells.len() != 2 || cells.iter().any(|c| c.is_empty()) {
                return Err(bad(
                    line_no,
                    format!("expected two non-empty identifiers, found {} field(s)", cells.len()),
                ));
            }
            pairs.push((cells[0].to_string(), cells[1].to_string()));
        }
    }
    IdentityMap::from_pairs(pairs, options)
}
