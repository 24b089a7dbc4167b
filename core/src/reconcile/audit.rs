//! Audit (SPEC §25): definitions that claim to be the same segment, compared field by field and
//! by their measured membership overlap on data.

use std::collections::HashSet;

use crate::context::{EvalContext, FxRates};
use crate::error::{DataLocation, Error};
use crate::profile::Profile;
use crate::segment::Segment;

/// One compared field: its value in each definition, and whether they all agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditField {
    /// The field's name (`rule`, `timezone`, `currency`, `reads`, …).
    pub name: &'static str,
    /// Its value in each definition, in input order.
    pub values: Vec<String>,
    /// True when every value is the same.
    pub same: bool,
}

/// The audit of several definitions.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    /// The compared fields, differing ones first.
    pub fields: Vec<AuditField>,
    /// Members of each definition on the data (empty without data).
    pub members: Vec<u64>,
    /// For each pair (i < j): (i, j, members of both, Jaccard index).
    pub overlap: Vec<(usize, usize, u64, f64)>,
}

fn fields(segments: &[&Segment]) -> Vec<AuditField> {
    let ts = |t: Option<i64>| t.map(crate::time::format_timestamp).unwrap_or_else(|| "-".into());
    type Getter<'g> = (&'static str, &'g dyn Fn(&Segment) -> String);
    let getters: [Getter<'_>; 10] = [
        ("rule", &|s| crate::printer::print(s.ast())),
        ("timezone", &|s| s.definition().timezone.clone()),
        ("currency", &|s| s.definition().currency.clone()),
        ("effective_from", &|s| ts(s.definition().effective_from)),
        ("effective_until", &|s| ts(s.definition().effective_until)),
        ("status", &|s| s.definition().status.as_str().to_string()),
        ("version", &|s| s.definition().version.clone()),
        ("id", &|s| s.definition().id.clone()),
        ("reads", &|s| {
            let r = s.read_set();
            let mut parts: Vec<String> = r.attributes.iter().cloned().collect();
            parts.extend(r.events.iter().map(|e| format!("{e} events")));
            parts.extend(r.segments.iter().map(|x| format!("segment {x}")));
            parts.join(", ")
        }),
        ("definition_hash", &|s| s.definition_hash().to_string()),
    ];
    let mut out: Vec<AuditField> = getters
        .iter()
        .map(|(name, get)| {
            let values: Vec<String> = segments.iter().map(|s| get(s)).collect();
            let same = values.windows(2).all(|w| w[0] == w[1]);
            AuditField { name, values, same }
        })
        .collect();
    // Differing fields first, each group in the order above.
    out.sort_by_key(|f| f.same);
    out
}

/// Audits `segments` (SPEC §25); with `profiles`, also their members at `as_of` and every pair's
/// overlap.
///
/// ```
/// use segcore::{Definition, FxRates, Profile, Segment};
/// use segcore::reconcile::audit;
/// let a = Segment::compile(Definition::new("hv", "1.0.0", "ltv > 500"), None).unwrap();
/// let mut d = Definition::new("hv", "1.0.0", "ltv > 500");
/// d.currency = "EUR".into();
/// let b = Segment::compile(d, None).unwrap();
/// let r = audit(&[&a, &b], None, 0, &FxRates::new()).unwrap();
/// let differing: Vec<&str> = r.fields.iter().filter(|f| !f.same).map(|f| f.name).collect();
/// assert_eq!(differing, ["currency", "definition_hash"]);
/// ```
pub fn audit(segments: &[&Segment], profiles: Option<&[Profile]>, as_of: i64, fx: &FxRates) -> Result<Audit, Error> {
    let mut out = Audit { fields: fields(segments), members: Vec::new(), overlap: Vec::new() };
    let Some(profiles) = profiles else { return Ok(out) };
    let cx = EvalContext::new(as_of).with_fx(fx.clone());
    let mut sets: Vec<HashSet<usize>> = Vec::with_capacity(segments.len());
    for s in segments {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
        let parts = crate::parallel::parallel_ranges(profiles.len(), threads, 2_000, &|range| {
            let mut members = Vec::new();
            for i in range {
                let o = s.evaluate(&profiles[i], &cx).map_err(|e| {
                    e.at_data(DataLocation {
                        entity: Some(profiles[i].id().into()),
                        segment: Some(s.id().into()),
                        ..Default::default()
                    })
                })?;
                if o.is_member() {
                    members.push(i);
                }
            }
            Ok(members)
        })?;
        sets.push(parts.into_iter().flatten().collect());
    }
    out.members = sets.iter().map(|s| s.len() as u64).collect();
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            let both = sets[i].intersection(&sets[j]).count() as u64;
            let union = sets[i].len() as u64 + sets[j].len() as u64 - both;
            out.overlap.push((i, j, both, if union == 0 { 1.0 } else { both as f64 / union as f64 }));
        }
    }
    Ok(out)
}
