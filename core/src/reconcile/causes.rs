//! The cause of each difference between two member sets (SPEC §25): identity, then a chain that
//! turns A's definition, time and data into B's one at a time; the first step that flips the
//! entity's membership is its cause.

use std::collections::{HashMap, HashSet};

/// Hash sets of ids: foldhash (ids are data, but a collision only costs time, never an answer).
type IdSet<'a> = HashSet<&'a str, foldhash::fast::FixedState>;

use crate::context::{EvalContext, FxRates};
use crate::error::{DataLocation, Error};
use crate::profile::Profile;
use crate::reconcile::IdentityMap;
use crate::registry::Registry;
use crate::temporal::Change;

/// Profiles by (canonical) id.
pub type ProfileIndex<'a> = HashMap<&'a str, &'a Profile>;

/// How a side computes membership: the segment it follows (in a registry), at an instant, with FX
/// quotes, over data.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// The registry holding the segment (and what it references).
    pub registry: &'a Registry,
    /// The segment id.
    pub segment: &'a str,
    /// `as_of` (µs).
    pub as_of: i64,
    /// FX quotes.
    pub fx: &'a FxRates,
    /// The side's data, by canonical id.
    pub profiles: &'a ProfileIndex<'a>,
}

/// One side of a reconciliation: its claimed member set (raw ids: an export) and what it is
/// supposed to follow. Each part of B's setting not given is A's, and the reverse.
#[derive(Clone, Default)]
pub struct SideInput<'a> {
    /// The claimed members (raw ids); `None`: computed from the setting over its data.
    pub claimed: Option<&'a [String]>,
    /// The registry and segment.
    pub definition: Option<(&'a Registry, &'a str)>,
    /// `as_of` (µs).
    pub as_of: Option<i64>,
    /// FX quotes.
    pub fx: Option<&'a FxRates>,
    /// Data by canonical id.
    pub profiles: Option<&'a ProfileIndex<'a>>,
}

/// Why an id is in one set only (SPEC §25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// The sets agree once the identity map is applied, or nobody can resolve the id.
    Identity,
    /// The two definitions disagree on this entity's data.
    Definition,
    /// Membership flips between the two `as_of`.
    Time,
    /// The entity's inputs differ between the two sides' data.
    Data,
    /// A side's list does not follow its own definition on its data (or nothing to evaluate).
    Unexplained,
}

impl Cause {
    /// Every cause, in SPEC order.
    pub const ALL: [Cause; 5] = [Cause::Identity, Cause::Definition, Cause::Time, Cause::Data, Cause::Unexplained];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Identity => "identity",
            Cause::Definition => "definition",
            Cause::Time => "time",
            Cause::Data => "data",
            Cause::Unexplained => "unexplained",
        }
    }
}

/// One id in exactly one set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The id as its side's set holds it.
    pub raw: String,
    /// Its canonical id (the raw id without an identity map).
    pub id: String,
    /// True: only in A; false: only in B.
    pub only_a: bool,
    /// The cause.
    pub cause: Cause,
    /// Membership m₀…m₅ along SPEC §25's chain (`None` where nothing could be evaluated).
    pub chain: [Option<bool>; 6],
    /// For `time`: the first membership change between the two `as_of`.
    pub change: Option<Change>,
}

/// The result: counts and every difference with its cause.
#[derive(Debug, Clone, Default)]
pub struct Reconciliation {
    /// Members of A (canonical ids).
    pub count_a: u64,
    /// Members of B (canonical ids).
    pub count_b: u64,
    /// Members of both (canonical ids).
    pub both: u64,
    /// Raw ids of A that the map merged into another A member.
    pub merged_a: u64,
    /// Raw ids of B that the map merged into another B member.
    pub merged_b: u64,
    /// Every raw id in one set only: A's first, then B's, each by canonical id.
    pub differences: Vec<Difference>,
}

impl Reconciliation {
    /// Differences per cause, in SPEC order.
    pub fn by_cause(&self) -> Vec<(Cause, usize)> {
        Cause::ALL.iter().map(|&c| (c, self.differences.iter().filter(|d| d.cause == c).count())).collect()
    }

    /// Canonical differences (identity-explained ones excluded): what the sets still disagree on.
    pub fn differing(&self) -> usize {
        self.differences.iter().filter(|d| d.cause != Cause::Identity).count()
    }
}

fn member(s: &Setting<'_>, id: &str) -> Result<bool, Error> {
    let Some(p) = s.profiles.get(id) else { return Ok(false) };
    let cx = EvalContext::new(s.as_of).with_fx(s.fx.clone());
    s.registry.evaluate_one(s.segment, p, &cx).map(|o| o.is_member()).map_err(|e| {
        e.at_data(DataLocation { entity: Some(id.into()), segment: Some(s.segment.into()), ..Default::default() })
    })
}

/// Members computed from a setting over all its data (canonical ids), for a side with no export.
fn computed(s: &Setting<'_>) -> Result<Vec<String>, Error> {
    let mut ids: Vec<&str> = s.profiles.keys().copied().collect();
    ids.sort_unstable();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
    let parts = crate::parallel::parallel_ranges(ids.len(), threads, 2_000, &|range| {
        let mut out = Vec::new();
        for id in &ids[range] {
            if member(s, id)? {
                out.push(id.to_string());
            }
        }
        Ok(out)
    })?;
    Ok(parts.concat())
}

/// The canonical ids of the raw ids in one set only: the only entities whose data a
/// reconciliation reads (callers load just their profiles).
///
/// ```
/// use segcore::reconcile::difference_ids;
/// let ids = difference_ids(&["u1".into(), "u2".into()], &["u2".into(), "u3".into()], None);
/// assert_eq!(ids.len(), 2);
/// assert!(ids.contains("u1") && ids.contains("u3"));
/// ```
pub fn difference_ids(a: &[String], b: &[String], identity: Option<&IdentityMap>) -> HashSet<String> {
    let (ra, rb): (IdSet<'_>, IdSet<'_>) =
        (a.iter().map(String::as_str).collect(), b.iter().map(String::as_str).collect());
    let canon = |id: &str| identity.map_or(id, |m| m.canonical(id)).to_string();
    ra.symmetric_difference(&rb).map(|x| canon(x)).collect()
}

/// Reconciles two sides (SPEC §25): counts, and each raw id in one set only with its cause.
///
/// ```
/// use std::collections::HashMap;
/// use segcore::{Definition, FxRates, Profile, Registry};
/// use segcore::reconcile::{reconcile, Cause, SideInput};
/// let reg = Registry::from_definitions(vec![
///     Definition::new("adults_18", "1.0.0", "age >= 18"),
///     Definition::new("adults_21", "1.0.0", "age >= 21"),
/// ], None).unwrap();
/// let mut p = Profile::new("u1");
/// p.set_attribute("age", segcore::Value::Int(19));
/// let data: HashMap<&str, &Profile> = HashMap::from([("u1", &p)]);
/// let (a_ids, b_ids) = (vec!["u1".to_string()], vec![]);
/// let fx = FxRates::new();
/// let at = segcore::parse_as_of("2026-03-15T00:00:00Z").unwrap();
/// let a = SideInput { claimed: Some(&a_ids), definition: Some((&reg, "adults_18")), as_of: Some(at), fx: Some(&fx), profiles: Some(&data) };
/// let b = SideInput { claimed: Some(&b_ids), definition: Some((&reg, "adults_21")), ..Default::default() };
/// let r = reconcile(&a, &b, None).unwrap();
/// assert_eq!(r.differences[0].cause, Cause::Definition);
/// ```
pub fn reconcile<'a>(
    a: &SideInput<'a>,
    b: &SideInput<'a>,
    identity: Option<&IdentityMap>,
) -> Result<Reconciliation, Error> {
    static NO_FX: std::sync::LazyLock<FxRates> = std::sync::LazyLock::new(FxRates::new);
    fn setting<'a>(x: &SideInput<'a>, y: &SideInput<'a>) -> Option<Setting<'a>> {
        let (registry, segment) = x.definition.or(y.definition)?;
        Some(Setting {
            registry,
            segment,
            as_of: x.as_of.or(y.as_of)?,
            fx: x.fx.or(y.fx).unwrap_or(&NO_FX),
            profiles: x.profiles.or(y.profiles)?,
        })
    }
    let (sa, sb) = (setting(a, b), setting(b, a));
    // Raw sets (an export, or computed from the side's setting).
    let raw = |x: &SideInput<'a>, s: &Option<Setting<'a>>| -> Result<std::borrow::Cow<'a, [String]>, Error> {
        match (x.claimed, s) {
            (Some(ids), _) => Ok(std::borrow::Cow::Borrowed(ids)),
            (None, Some(s)) => computed(s).map(std::borrow::Cow::Owned),
            (None, None) => Err(Error::new(
                crate::ErrorKind::InvalidContext,
                "a side needs its members (an export) or a definition, an as_of and data to compute them",
            )),
        }
    };
    let (ra, rb) = (raw(a, &sa)?, raw(b, &sb)?);
    let canon_of = |id: &str| -> String { identity.map_or(id, |m| m.canonical(id)).to_string() };
    let (raw_a, raw_b) = (canonical(&ra, None), canonical(&rb, None));
    // Canonical sets borrow from the raw ids, or from the identity map.
    fn canonical<'s>(set: &'s [String], identity: Option<&'s IdentityMap>) -> IdSet<'s> {
        let mut out = IdSet::with_capacity_and_hasher(set.len(), Default::default());
        out.extend(set.iter().map(|x| identity.map_or(x.as_str(), |m| m.canonical(x))));
        out
    }
    // Without a map the canonical sets are the raw ones (a copy, not a second hashing).
    let (ca, cb) = match identity {
        Some(_) => (canonical(&ra, identity), canonical(&rb, identity)),
        None => (raw_a.clone(), raw_b.clone()),
    };
    let mut out = Reconciliation {
        count_a: ca.len() as u64,
        count_b: cb.len() as u64,
        both: ca.intersection(&cb).count() as u64,
        merged_a: (raw_a.len() - ca.len()) as u64,
        merged_b: (raw_b.len() - cb.len()) as u64,
        differences: Vec::new(),
    };
    let in_data = |id: &str| [sa, sb].iter().flatten().any(|s| s.profiles.contains_key(id));
    for (only_a, mine, theirs_raw, theirs) in [(true, &*ra, &raw_b, &cb), (false, &*rb, &raw_a, &ca)] {
        let mut seen: IdSet<'_> = IdSet::default();
        let mut diffs = Vec::new();
        for x in mine.iter() {
            if theirs_raw.contains(x.as_str()) || !seen.insert(x.as_str()) {
                continue;
            }
            let c = canon_of(x);
            let unresolved = identity.is_some_and(|m| !m.knows(x)) && !in_data(&c);
            let mut d = Difference {
                raw: x.clone(),
                id: c.clone(),
                only_a,
                cause: Cause::Unexplained,
                chain: [None; 6],
                change: None,
            };
            if theirs.contains(c.as_str()) || unresolved {
                d.cause = Cause::Identity;
                diffs.push(d);
                continue;
            }
            if let (Some(sa), Some(sb)) = (sa, sb) {
                let m0 = only_a;
                let m1 = member(&sa, &c)?;
                let m2 = member(&Setting { registry: sb.registry, segment: sb.segment, ..sa }, &c)?;
                let m3 =
                    member(&Setting { as_of: sb.as_of, fx: sb.fx, ..Setting { profiles: sa.profiles, ..sb } }, &c)?;
                let m4 = member(&sb, &c)?;
                let m5 = !only_a;
                d.chain = [Some(m0), Some(m1), Some(m2), Some(m3), Some(m4), Some(m5)];
                if m0 == m1 && m4 == m5 {
                    d.cause = if m1 != m2 {
                        Cause::Definition
                    } else if m2 != m3 {
                        Cause::Time
                    } else {
                        Cause::Data
                    };
                }
                if d.cause == Cause::Time {
                    if let Some(p) = sa.profiles.get(c.as_str()) {
                        let (from, to) = (sa.as_of.min(sb.as_of), sa.as_of.max(sb.as_of));
                        let cx = EvalContext::new(from).with_fx(sb.fx.clone());
                        let t = sb.registry.program().timeline(sb.segment, p, from, to + 1, &cx)?;
                        d.change = t.changes.into_iter().find(|ch| ch.transition().is_some());
                    }
                }
            }
            diffs.push(d);
        }
        diffs.sort_by(|x, y| (&x.id, &x.raw).cmp(&(&y.id, &y.raw)));
        out.differences.extend(diffs);
    }
    Ok(out)
}
