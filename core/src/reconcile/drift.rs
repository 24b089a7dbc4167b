//! Drift (SPEC §25): per segment and per local day (or every k days), members, entered, exited and
//! churn, each transition attributed to `definition`, `data` or `time`, with z-score alerts. One
//! §22 timeline per entity over the whole range, never a re-evaluation per day; profiles go through
//! in chunks so memory stays bounded.

use crate::context::{EvalContext, FxRates};
use crate::error::{Error, ErrorKind};
use crate::profile::Profile;
use crate::program::Program;
use crate::temporal::{CauseKind, Timeline};
use crate::time;

/// The cause classes of a transition in drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DriftCause {
    /// A definition took or lost effect (§22 `effective`).
    Definition,
    /// New events (§22 `event`).
    Data,
    /// Windows and calendars moving (§22 `window`, `calendar`).
    Time,
}

impl DriftCause {
    /// Every class, in SPEC order.
    pub const ALL: [DriftCause; 3] = [DriftCause::Definition, DriftCause::Data, DriftCause::Time];

    /// The class of a §22 cause; `None` for `reference`, which takes the class of the
    /// referenced segment's change (timelines and logs trace it each their own way).
    pub fn of(kind: CauseKind) -> Option<DriftCause> {
        match kind {
            CauseKind::Effective | CauseKind::Definition => Some(DriftCause::Definition),
            CauseKind::Event => Some(DriftCause::Data),
            CauseKind::Window | CauseKind::Calendar => Some(DriftCause::Time),
            CauseKind::Reference => None,
        }
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftCause::Definition => "definition",
            DriftCause::Data => "data",
            DriftCause::Time => "time",
        }
    }
}

/// What to compute.
#[derive(Debug, Clone)]
pub struct DriftOptions {
    /// The IANA zone whose local days are the steps.
    pub zone: String,
    /// The first local day, `YYYY-MM-DD`.
    pub from: String,
    /// The day after the last one, `YYYY-MM-DD` (exclusive).
    pub to: String,
    /// Days per step (≥ 1).
    pub every: u32,
    /// Trailing steps the z-score compares with (≥ 3).
    pub window: usize,
    /// |z| above which a step alerts.
    pub z: f64,
}

impl Default for DriftOptions {
    fn default() -> DriftOptions {
        DriftOptions { zone: "UTC".into(), from: String::new(), to: String::new(), every: 1, window: 7, z: 3.0 }
    }
}

/// One segment × one step.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftRow {
    /// The segment id.
    pub segment: String,
    /// The step's first local day, `YYYY-MM-DD`.
    pub day: String,
    /// The step's first instant (µs; local midnight).
    pub start: i64,
    /// The step's end (µs, exclusive).
    pub end: i64,
    /// Members at `start`.
    pub members: u64,
    /// Transitions into the segment during the step, per [`DriftCause::ALL`].
    pub entered: [u64; 3],
    /// Transitions out of it, per [`DriftCause::ALL`].
    pub exited: [u64; 3],
    /// (entered + exited) / max(members, 1) × 100.
    pub churn: f64,
    /// The churn's z-score against the trailing window (none before 3 steps).
    pub z: Option<f64>,
    /// |z| > the threshold (or any change after a window with no spread).
    pub alert: bool,
}

impl DriftRow {
    /// All entries.
    pub fn entered_total(&self) -> u64 {
        self.entered.iter().sum()
    }

    /// All exits.
    pub fn exited_total(&self) -> u64 {
        self.exited.iter().sum()
    }
}

fn class(
    timelines: &[Timeline],
    positions: &[&str],
    at: i64,
    kind: CauseKind,
    segment: Option<&str>,
    depth: usize,
) -> DriftCause {
    match DriftCause::of(kind) {
        Some(c) => c,
        None => {
            // The referenced segment's change of this entity at this instant decides.
            let found = segment.and_then(|s| positions.iter().position(|p| *p == s)).and_then(|k| {
                timelines[k].changes.iter().find(|c| c.at == at).map(|c| (c.cause.kind, c.cause.segment.as_deref()))
            });
            match found {
                Some((k, s)) if depth < positions.len() => class(timelines, positions, at, k, s, depth + 1),
                _ => DriftCause::Data,
            }
        }
    }
}

/// The step boundaries: local midnights of `opts.zone` from `from`, every `every` days, to `to`.
pub fn drift_steps(opts: &DriftOptions) -> Result<Vec<(String, i64)>, Error> {
    let bad = |why: String| Error::new(ErrorKind::InvalidContext, why);
    let tz = time::zone(&opts.zone).ok_or_else(|| bad(format!("{:?} is not an IANA time zone", opts.zone)))?;
    let from =
        time::parse_date(&opts.from).ok_or_else(|| bad(format!("from {:?} is not a date YYYY-MM-DD", opts.from)))?;
    let to = time::parse_date(&opts.to).ok_or_else(|| bad(format!("to {:?} is not a date YYYY-MM-DD", opts.to)))?;
    if to <= from {
        return Err(bad(format!("to ({}) must be after from ({})", opts.to, opts.from)));
    }
    if opts.every == 0 {
        return Err(bad("every must be at least 1 day".into()));
    }
    if time::epoch_days(to) - time::epoch_days(from) > 3660 {
        return Err(Error::new(ErrorKind::LimitExceeded, "a drift covers at most 3,660 days"));
    }
    let mut out = Vec::new();
    let mut d = from;
    loop {
        let start = time::start_of_date(d, &tz).ok_or_else(|| bad(format!("{d} has no start in {}", opts.zone)))?;
        out.push((d.to_string(), start));
        if d >= to {
            break;
        }
        let next = d.checked_add(jiff::Span::new().days(i64::from(opts.every))).map_err(|e| bad(e.to_string()))?;
        d = next.min(to);
    }
    Ok(out)
}

/// Drift of `targets` over `profiles` (SPEC §25): one row per target per step, targets in the
/// given order, steps in time order.
///
/// ```
/// use segcore::{Definition, FxRates, Profile, Registry};
/// use segcore::reconcile::{drift, DriftOptions};
/// let reg = Registry::from_definitions(vec![Definition::new("active", "1.0.0", "count(login within 2d) >= 1")], None).unwrap();
/// let p = Profile::from_json_str(r#"{"id": "u1", "events": [{"name": "login", "at": "2026-03-02T12:00:00Z"}]}"#).unwrap();
/// let opts = DriftOptions { from: "2026-03-01".into(), to: "2026-03-06".into(), ..Default::default() };
/// let rows = drift(reg.program(), &["active"], &[p], &FxRates::new(), &opts).unwrap();
/// let entered: Vec<u64> = rows.iter().map(|r| r.entered_total()).collect();
/// let exited: Vec<u64> = rows.iter().map(|r| r.exited_total()).collect();
/// assert_eq!(entered, [0, 1, 0, 0, 0]); // the login on the 2nd (data)
/// assert_eq!(exited, [0, 0, 0, 1, 0]);  // on the 4th at 12:00, out of the 2-day window (time)
/// ```
pub fn drift(
    program: &Program,
    targets: &[&str],
    profiles: &[Profile],
    fx: &FxRates,
    opts: &DriftOptions,
) -> Result<Vec<DriftRow>, Error> {
    drift_with_progress(program, targets, profiles, fx, opts, &|_, _| {})
}

/// [`drift`], calling `progress(profiles done, profiles)` after each chunk of profiles.
pub fn drift_with_progress(
    program: &Program,
    targets: &[&str],
    profiles: &[Profile],
    fx: &FxRates,
    opts: &DriftOptions,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<DriftRow>, Error> {
    if opts.window < 3 {
        return Err(Error::new(ErrorKind::InvalidContext, "the z-score window needs at least 3 steps"));
    }
    let steps = drift_steps(opts)?;
    let n = steps.len() - 1;
    let (from, to) = (steps[0].1, steps[n].1);
    // Every segment, so `reference` transitions can be traced to their cause.
    let all: Vec<&str> = program.segments().iter().map(|s| s.id()).collect();
    let wanted: Vec<usize> = targets
        .iter()
        .map(|t| {
            all.iter()
                .position(|a| a == t)
                .ok_or_else(|| Error::new(ErrorKind::UnknownSegment, format!("no segment `{t}` in the program")))
        })
        .collect::<Result<_, _>>()?;
    let cx = EvalContext::new(from).with_fx(fx.clone());
    let starts: Vec<i64> = steps.iter().map(|s| s.1).collect();
    let mut members = vec![0u64; wanted.len()];
    let mut entered = vec![[[0u64; 3]; 2]; 0];
    entered.resize(wanted.len() * n, [[0u64; 3]; 2]);
    // Bounded memory: timelines of a chunk of profiles at a time.
    let mut done = 0;
    for chunk in profiles.chunks(20_000) {
        let timelines = program.timelines(&all, chunk, from, to, &cx)?;
        done += chunk.len();
        progress(done, profiles.len());
        for per_profile in &timelines {
            for (w, &k) in wanted.iter().enumerate() {
                let t = &per_profile[k];
                if t.outcome.is_member() {
                    members[w] += 1;
                }
                for c in &t.changes {
                    let Some(kind) = c.transition() else { continue };
                    let step = starts.partition_point(|&s| s <= c.at) - 1;
                    let cause = class(per_profile, &all, c.at, c.cause.kind, c.cause.segment.as_deref(), 0);
                    let slot = &mut entered[w * n + step.min(n - 1)];
                    slot[usize::from(kind == "exited")]
                        [DriftCause::ALL.iter().position(|x| *x == cause).expect("class")] += 1;
                }
            }
        }
    }
    let names: Vec<String> = wanted.iter().map(|&k| all[k].to_string()).collect();
    Ok(rows_from_counts(&names, &steps, &members, &entered, opts))
}

/// Rows from counts (shared by timelines and membership logs): for each segment, its members at
/// the first step and, per step, `[entered, exited]` by cause (`moves[w * n + i]`); churn and
/// z-scores follow.
pub(crate) fn rows_from_counts(
    segments: &[String],
    steps: &[(String, i64)],
    members: &[u64],
    moves: &[[[u64; 3]; 2]],
    opts: &DriftOptions,
) -> Vec<DriftRow> {
    let n = steps.len() - 1;
    let entered = moves;
    let mut rows = Vec::with_capacity(segments.len() * n);
    for (w, segment) in segments.iter().enumerate() {
        let mut count = members[w];
        let mut churns: Vec<f64> = Vec::with_capacity(n);
        for i in 0..n {
            let [ent, ex] = entered[w * n + i];
            let (e, x) = (ent.iter().sum::<u64>(), ex.iter().sum::<u64>());
            let churn = (e + x) as f64 / count.max(1) as f64 * 100.0;
            let trailing = &churns[i.saturating_sub(opts.window)..];
            let (z, alert) = if trailing.len() < 3 {
                (None, false)
            } else {
                let mean = trailing.iter().sum::<f64>() / trailing.len() as f64;
                let var = trailing.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>() / trailing.len() as f64;
                if var == 0.0 {
                    (None, churn != mean)
                } else {
                    let z = (churn - mean) / var.sqrt();
                    (Some(z), z.abs() > opts.z)
                }
            };
            rows.push(DriftRow {
                segment: segment.clone(),
                day: steps[i].0.clone(),
                start: steps[i].1,
                end: steps[i + 1].1,
                members: count,
                entered: ent,
                exited: ex,
                churn,
                z,
                alert,
            });
            churns.push(churn);
            // A consistent source never exits more than it holds; a damaged one must not wrap.
            count = (count + e).saturating_sub(x);
        }
    }
    rows
}
