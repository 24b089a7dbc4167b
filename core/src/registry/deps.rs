//! Dependencies of a registry (SPEC §26): which segment references which, which segments read
//! each attribute, event and event property, and which segments a schema change breaks.

use std::collections::{BTreeMap, BTreeSet};

use crate::registry::Registry;
use crate::schema::Schema;
use crate::segment::Segment;

/// A registry's dependency graph and its readers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dependencies {
    /// Every segment id, sorted.
    pub segments: Vec<String>,
    /// `(segment, referenced segment)` edges, sorted.
    pub references: Vec<(String, String)>,
    /// Per input (`attribute ltv`, `event purchase`, `property purchase.amount`), the segments
    /// that read it directly, sorted.
    pub readers: BTreeMap<String, Vec<String>>,
}

impl Dependencies {
    /// The graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        let mut out = String::from("digraph segments {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n");
        for s in &self.segments {
            out.push_str(&format!("  {s:?};\n"));
        }
        for (a, b) in &self.references {
            out.push_str(&format!("  {a:?} -> {b:?};\n"));
        }
        out.push_str("}\n");
        out
    }

    /// The graph as a Mermaid flowchart.
    pub fn to_mermaid(&self) -> String {
        let node = |s: &str| {
            format!("s{}[\"{}\"]", self.segments.iter().position(|x| x == s).unwrap_or(0), s.replace('"', "'"))
        };
        let mut out = String::from("flowchart LR\n");
        for s in &self.segments {
            out.push_str(&format!("  {}\n", node(s)));
        }
        for (a, b) in &self.references {
            out.push_str(&format!("  {} --> {}\n", node(a), node(b)));
        }
        out
    }

    /// The graph as an SVG: one column per reference depth (a segment referencing nothing is in the
    /// first), a box per segment, an arrow per reference.
    pub fn to_svg(&self) -> String {
        let mut depth: BTreeMap<&str, usize> = self.segments.iter().map(|s| (s.as_str(), 0)).collect();
        // Longest path to a leaf; a registry has no cycles (compile refuses them).
        for _ in 0..self.segments.len() {
            for (a, b) in &self.references {
                let d = depth.get(b.as_str()).copied().unwrap_or(0) + 1;
                if let Some(x) = depth.get_mut(a.as_str()) {
                    *x = (*x).max(d);
                }
            }
        }
        let mut columns: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for (s, d) in &depth {
            columns.entry(*d).or_default().push(s);
        }
        let (w, h, gap_x, gap_y) = (180.0, 34.0, 90.0, 18.0);
        let mut pos: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for (c, names) in &columns {
            for (r, s) in names.iter().enumerate() {
                pos.insert(s, (20.0 + *c as f64 * (w + gap_x), 20.0 + r as f64 * (h + gap_y)));
            }
        }
        let width = 40.0 + columns.len() as f64 * (w + gap_x);
        let height = 40.0 + columns.values().map(Vec::len).max().unwrap_or(1) as f64 * (h + gap_y);
        let esc = crate::explain::html_escape;
        let mut out = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\
             <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>"
        );
        for (a, b) in &self.references {
            if let (Some(&(ax, ay)), Some(&(bx, by))) = (pos.get(a.as_str()), pos.get(b.as_str())) {
                out.push_str(&format!(
                    "<line x1=\"{ax:.0}\" y1=\"{:.0}\" x2=\"{:.0}\" y2=\"{:.0}\" stroke=\"#555\" marker-end=\"url(#arrow)\"/>",
                    ay + h / 2.0,
                    bx + w,
                    by + h / 2.0
                ));
            }
        }
        for (s, (x, y)) in &pos {
            out.push_str(&format!(
                "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{w}\" height=\"{h}\" rx=\"5\" fill=\"#eef3f8\" stroke=\"#30638e\"/><text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text>",
                x + w / 2.0,
                y + h / 2.0 + 4.0,
                esc(s)
            ));
        }
        out.push_str("</svg>\n");
        out
    }

    /// The segments that reference `id`, directly or through others (sorted).
    pub fn dependents(&self, id: &str) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        let mut todo = vec![id.to_string()];
        while let Some(x) = todo.pop() {
            for (a, b) in &self.references {
                if *b == x && out.insert(a.clone()) {
                    todo.push(a.clone());
                }
            }
        }
        out.into_iter().collect()
    }
}

fn inputs(s: &Segment) -> Vec<String> {
    let r = s.read_set();
    let mut out: Vec<String> = r.attributes.iter().map(|a| format!("attribute {a}")).collect();
    out.extend(r.events.iter().map(|e| format!("event {e}")));
    for (e, props) in &r.event_properties {
        out.extend(props.iter().map(|p| format!("property {e}.{p}")));
    }
    out
}

/// The dependencies of a registry.
///
/// ```
/// use segcore::{Definition, Registry};
/// let reg = Registry::from_definitions(vec![
///     Definition::new("hv", "1.0.0", "sum(purchase.amount within 90d) > 500"),
///     Definition::new("vip_hv", "1.0.0", "in_segment(\"hv\") and tier = \"gold\""),
/// ], None).unwrap();
/// let d = segcore::deps::dependencies(&reg);
/// assert_eq!(d.references, [("vip_hv".to_string(), "hv".to_string())]);
/// assert_eq!(d.readers["property purchase.amount"], ["hv"]);
/// assert_eq!(d.dependents("hv"), ["vip_hv"]);
/// ```
pub fn dependencies(reg: &Registry) -> Dependencies {
    let mut d = Dependencies::default();
    // Every version of a segment (SPEC §1): what any of them reads, the segment reads.
    for s in reg.versions() {
        d.segments.push(s.id().to_string());
        for r in &s.read_set().segments {
            d.references.push((s.id().to_string(), r.clone()));
        }
        for i in inputs(s) {
            d.readers.entry(i).or_default().push(s.id().to_string());
        }
    }
    d.segments.sort();
    d.segments.dedup();
    d.references.sort();
    d.references.dedup();
    for v in d.readers.values_mut() {
        v.sort();
        v.dedup();
    }
    d
}

/// A segment a schema change breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The segment id.
    pub segment: String,
    /// Its compile errors against the new schema, or the referenced segment that breaks.
    pub why: Vec<String>,
}

/// The segments of `reg` that a new schema breaks (SPEC §26): those that do not compile against
/// it, then every segment referencing one of them. Sorted by id.
pub fn schema_impact(reg: &Registry, schema: &Schema) -> Vec<Broken> {
    let mut broken: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in reg.versions() {
        // A lone definition with references compiles (references resolve at evaluation).
        if let Err(e) = Segment::compile(s.definition().clone(), Some(schema)) {
            let why = e.diagnostics().iter().map(|d| format!("[{}] {}", d.kind.as_str(), d.message));
            broken.entry(s.id().to_string()).or_default().extend(why);
        }
    }
    let deps = dependencies(reg);
    let direct: Vec<String> = broken.keys().cloned().collect();
    for b in direct {
        for dep in deps.dependents(&b) {
            broken.entry(dep).or_insert_with(|| vec![format!("it references `{b}`, which the schema breaks")]);
        }
    }
    broken.into_iter().map(|(segment, why)| Broken { segment, why }).collect()
}
