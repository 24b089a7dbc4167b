//! Drift from a membership log (SPEC §25 over SPEC §23): daily members, entered and exited by
//! cause straight from a stream's committed transitions — no profiles, no evaluation.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::error::{Error, ErrorKind};
use crate::reconcile::{drift_steps, DriftCause, DriftOptions, DriftRow};
use crate::stream::{Transition, TransitionKind};
use crate::temporal::CauseKind;

use super::log::{read_log, LogRecord};

/// Drift of `segments` (all the log names when empty) from the live transitions of a membership
/// log: those emitted and not retracted later, through the last commit. The range must end by the
/// log's watermark (later transitions may still come).
///
/// ```no_run
/// use segcore::reconcile::DriftOptions;
/// let opts = DriftOptions { from: "2026-03-01".into(), to: "2026-03-08".into(), ..Default::default() };
/// let rows = segcore::store::drift_from_log(std::path::Path::new("membership-log"), &[], &opts).unwrap();
/// for r in rows {
///     println!("{} {} members {} +{} -{}", r.segment, r.day, r.members, r.entered_total(), r.exited_total());
/// }
/// ```
pub fn drift_from_log(dir: &Path, segments: &[&str], opts: &DriftOptions) -> Result<Vec<DriftRow>, Error> {
    if opts.window < 3 {
        return Err(Error::new(ErrorKind::InvalidContext, "the z-score window needs at least 3 steps"));
    }
    let steps = drift_steps(opts)?;
    let n = steps.len() - 1;
    let (from, to) = (steps[0].1, steps[n].1);
    let log = read_log(dir)?;
    let Some((watermark, _)) = log.commit else {
        return Err(Error::new(ErrorKind::InvalidContext, format!("{}: the log has no commit yet", dir.display())));
    };
    if to > watermark + 1 {
        return Err(Error::new(
            ErrorKind::InvalidContext,
            format!(
                "{}: the log's watermark is {}; a drift must end by then (later transitions may still come)",
                dir.display(),
                crate::time::format_timestamp(watermark)
            ),
        ));
    }
    // Live transitions, in log order of their (last) emission.
    let mut order: Vec<[u8; 16]> = Vec::new();
    let mut live: HashMap<[u8; 16], Transition> = HashMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    for r in log.records {
        match r {
            LogRecord::Definition(d) => {
                names.insert(d.segment.clone());
            }
            LogRecord::Emit(t) => {
                order.push(t.id);
                live.insert(t.id, t);
            }
            LogRecord::Retract(t) => {
                live.remove(&t.id);
            }
            _ => {}
        }
    }
    let targets: Vec<String> = if segments.is_empty() {
        names.into_iter().collect()
    } else {
        for s in segments {
            if !names.contains(*s) {
                return Err(Error::new(ErrorKind::UnknownSegment, format!("the log has no segment `{s}`")));
            }
        }
        segments.iter().map(|s| s.to_string()).collect()
    };
    let position: HashMap<&str, usize> = targets.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
    // `reference` transitions take the class of the referenced segment's transition of the same
    // entity at the same instant.
    let mut by_key: HashMap<(&str, &str, i64), CauseKind> = HashMap::new();
    let mut seen = std::collections::HashSet::new();
    let transitions: Vec<&Transition> =
        order.iter().rev().filter(|id| seen.insert(**id)).filter_map(|id| live.get(id)).collect::<Vec<_>>();
    for t in &transitions {
        by_key.insert((&t.entity, &t.definition.segment, t.at), t.cause.kind);
    }
    let resolve = |t: &Transition| -> DriftCause {
        let (mut kind, mut seg) = (t.cause.kind, t.cause.segment.clone());
        for _ in 0..64 {
            if let Some(c) = DriftCause::of(kind) {
                return c;
            }
            match seg.as_deref().and_then(|s| by_key.get(&(&*t.entity, s, t.at))) {
                Some(k) => {
                    kind = *k;
                    seg = None;
                }
                None => break,
            }
        }
        DriftCause::Data
    };
    // Membership at `from`: the latest live transition at or before it, per entity and segment.
    let mut last: HashMap<(&str, usize), (i64, TransitionKind)> = HashMap::new();
    let mut moves = vec![[[0u64; 3]; 2]; targets.len() * n];
    let starts: Vec<i64> = steps.iter().map(|s| s.1).collect();
    for t in transitions.iter().rev() {
        let Some(&w) = position.get(t.definition.segment.as_str()) else { continue };
        if t.at <= from {
            let e = last.entry((&t.entity, w)).or_insert((t.at, t.kind));
            if t.at >= e.0 {
                *e = (t.at, t.kind);
            }
        } else if t.at < to {
            let step = starts.partition_point(|&s| s <= t.at) - 1;
            let c = DriftCause::ALL.iter().position(|x| *x == resolve(t)).expect("a class");
            moves[w * n + step][usize::from(t.kind == TransitionKind::Exited)][c] += 1;
        }
    }
    let mut members = vec![0u64; targets.len()];
    for ((_, w), (_, kind)) in last {
        if kind == TransitionKind::Entered {
            members[w] += 1;
        }
    }
    Ok(crate::reconcile::drift::rows_from_counts(&targets, &steps, &members, &moves, opts))
}
