//! Batch evaluation: a [`Program`] over a table of profiles at one [`EvalContext`], giving the
//! membership table. The CLI's `eval`, Python's `evaluate_batch` (and so `segcore.spark`) and
//! Node's `evaluateMany` all run this one driver.
//!
//! Segments are evaluated one after another in dependency order (a segment's `in_segment`
//! reads the column of the segment it references), each spread over the machine's cores in
//! contiguous chunks of rows; the output order is the input order whatever the thread count.

use std::collections::HashMap;
use std::time::Duration;

use crate::bind::Bound;
use crate::context::EvalContext;
use crate::error::{DataLocation, Error, ErrorKind};
use crate::profile::Profile;
use crate::program::{Outcome, Program};

/// How a batch runs.
#[derive(Clone, Copy, Default)]
pub struct BatchOptions<'a> {
    /// Worker threads; 0 (the default) uses every core, at most 16.
    pub threads: usize,
    /// Called after each segment with (rows evaluated so far, rows in all), for progress bars.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
    /// On an evaluation error (a missing FX quote, an overflow), record it and go on rather than
    /// stop at the first: the failed (profile, segment) cell gets no membership row, a segment
    /// reading it with `in_segment` fails for that profile too, and [`Memberships::errors`] lists
    /// every failure in row order. Off by default: one error fails the batch.
    pub keep_going: bool,
}

impl BatchOptions<'_> {
    /// The worker threads to use: `threads`, or every core (at most 16) for 0.
    pub(crate) fn thread_count(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()).min(16),
            n => n,
        }
    }
}

/// An evaluation that failed in a batch run with [`BatchOptions::keep_going`].
#[derive(Debug, Clone)]
pub struct CellError {
    /// The profile's row.
    pub row: usize,
    /// The segment, as an index into [`Memberships::segments`].
    pub segment: usize,
    /// What went wrong, placed at the row, entity and segment.
    pub error: Error,
}

/// Per-segment facts of a batch run, in [`Program::segments`] order (by id).
#[derive(Debug, Clone)]
pub struct SegmentRun {
    /// The segment's id.
    pub id: String,
    /// The definition's version.
    pub version: String,
    /// Hex SHA-256 of the canonical JSON (SPEC §17).
    pub definition_hash: String,
    /// Rows whose outcome is TRUE.
    pub members: usize,
    /// Rows whose outcome is UNKNOWN; the rest are FALSE, or failed.
    pub unknown: usize,
    /// Rows whose evaluation failed ([`BatchOptions::keep_going`]; otherwise always 0).
    pub failed: usize,
    /// Time spent evaluating this segment over every row.
    pub time: Duration,
}

impl SegmentRun {
    /// The facts of a segment's outcome column (`failed`: the failure mask, empty for none).
    pub(crate) fn new(seg: &crate::Segment, column: &[Outcome], failed: &[bool], time: Duration) -> SegmentRun {
        let n_failed = failed.iter().filter(|f| **f).count();
        SegmentRun {
            id: seg.id().to_string(),
            version: seg.version().to_string(),
            definition_hash: seg.definition_hash().to_string(),
            members: column.iter().filter(|o| o.is_member()).count(),
            unknown: column.iter().filter(|o| **o == Outcome::Unknown).count() - n_failed,
            failed: n_failed,
            time,
        }
    }
}

/// One row of the membership table: one profile in one segment. The same columns, in this
/// order, are the CLI's output, the SQL backend's output contract and `segcore.spark`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MembershipRow<'a> {
    /// The profile's id.
    pub entity_id: &'a str,
    /// The segment's id.
    pub segment_id: &'a str,
    /// The segment definition's version.
    pub version: &'a str,
    /// Hex SHA-256 of the definition's canonical JSON (SPEC §17).
    pub definition_hash: &'a str,
    /// Microseconds since the epoch.
    pub as_of: i64,
    /// `outcome == Outcome::True`.
    pub member: bool,
    /// TRUE, FALSE or UNKNOWN (SPEC §16).
    pub outcome: Outcome,
}

impl MembershipRow<'_> {
    /// The column names, in order.
    pub const COLUMNS: [&'static str; 7] =
        ["entity_id", "segment_id", "version", "definition_hash", "as_of", "member", "outcome"];
}

/// The result of a batch: an outcome per segment and row.
///
/// ```
/// use segcore::batch::{evaluate, BatchOptions};
/// use segcore::{Definition, EvalContext, Profile, Registry};
/// let reg = Registry::from_definitions(vec![
///     Definition::new("adults", "1.0.0", "age >= 18"),
///     Definition::new("seniors", "1.0.0", "in_segment(\"adults\") and age >= 65"),
/// ], None).unwrap();
/// let profiles: Vec<Profile> = [("a", 30), ("b", 70), ("c", 12)].iter()
///     .map(|(id, age)| Profile::from_json_str(&format!(r#"{{"id": "{id}", "attributes": {{"age": {age}}}}}"#)).unwrap())
///     .collect();
/// let cx = EvalContext::parse("2026-03-15T00:00:00Z").unwrap();
/// let m = evaluate(reg.program(), &profiles, &cx, &BatchOptions::default()).unwrap();
/// let members: Vec<(&str, &str)> = m.rows().filter(|r| r.member).map(|r| (r.entity_id, r.segment_id)).collect();
/// assert_eq!(members, [("a", "adults"), ("b", "adults"), ("b", "seniors")]);
/// ```
#[derive(Debug, Clone)]
pub struct Memberships {
    as_of: i64,
    entity_ids: EntityIds,
    segments: Vec<SegmentRun>,
    /// `outcomes[segment][row]`, segments in [`Program::segments`] order.
    outcomes: Vec<Vec<Outcome>>,
    /// `failed[segment][row]` (empty for a segment with no failure): the cell has no outcome.
    failed: Vec<Vec<bool>>,
    /// Every failure, in row order then segment order (with `keep_going`).
    errors: Vec<CellError>,
    /// Events whose entity is not in the profiles table (Arrow input), ignored.
    unmatched_events: usize,
    /// Which engine computed the table.
    engine: Engine,
}

/// Which engine computed a [`Memberships`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The batch driver: profiles one by one through the interpreter.
    Rows,
    /// The columnar engine over Arrow columns ([`crate::columnar`] with feature `arrow`).
    Columnar,
}

/// Entity ids in row order; integer ids (Arrow input) become text only when asked for.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "arrow"), allow(dead_code))]
pub(crate) enum EntityIds {
    Text(Vec<Box<str>>),
    Int(Vec<i64>, std::sync::OnceLock<Vec<Box<str>>>),
}

impl EntityIds {
    fn text(&self) -> &[Box<str>] {
        match self {
            EntityIds::Text(v) => v,
            EntityIds::Int(v, text) => text.get_or_init(|| v.iter().map(|i| i.to_string().into()).collect()),
        }
    }
    fn len(&self) -> usize {
        match self {
            EntityIds::Text(v) => v.len(),
            EntityIds::Int(v, _) => v.len(),
        }
    }
}

impl Memberships {
    #[cfg(feature = "arrow")]
    pub(crate) fn from_parts(
        as_of: i64,
        entity_ids: EntityIds,
        segments: Vec<SegmentRun>,
        outcomes: Vec<Vec<Outcome>>,
        failed: Vec<Vec<bool>>,
        errors: Vec<CellError>,
        unmatched_events: usize,
    ) -> Memberships {
        Memberships {
            as_of,
            entity_ids,
            segments,
            outcomes,
            failed,
            errors,
            unmatched_events,
            engine: Engine::Columnar,
        }
    }
    /// Which engine computed the table: Arrow input the columnar engine declines (a column type
    /// it does not read natively, a table the row path refuses) goes through the batch driver.
    pub fn engine(&self) -> Engine {
        self.engine
    }
    #[cfg(feature = "arrow")]
    pub(crate) fn set_unmatched_events(&mut self, n: usize) {
        self.unmatched_events = n;
    }
    /// The evaluation instant.
    pub fn as_of(&self) -> i64 {
        self.as_of
    }
    /// Number of profile rows.
    pub fn len(&self) -> usize {
        self.entity_ids.len()
    }
    /// Events of the input whose entity id is no profile of the table: ignored (as in a left
    /// join) and counted here, so a caller can warn. Counted by the Arrow readers; 0 otherwise.
    pub fn unmatched_events(&self) -> usize {
        self.unmatched_events
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.entity_ids.len() == 0
    }
    /// Entity ids in input order.
    pub fn entity_ids(&self) -> impl Iterator<Item = &str> {
        self.entity_ids.text().iter().map(|s| &**s)
    }
    /// Per-segment facts, by segment id.
    pub fn segments(&self) -> &[SegmentRun] {
        &self.segments
    }
    /// The outcomes of segment `k` (index into [`Memberships::segments`]), one per row (a
    /// failed cell, see [`Memberships::failed`], reads UNKNOWN here).
    pub fn outcomes(&self, k: usize) -> &[Outcome] {
        &self.outcomes[k]
    }
    /// Whether the evaluation of segment `k` failed for `row` ([`BatchOptions::keep_going`]).
    pub fn failed(&self, k: usize, row: usize) -> bool {
        self.failed[k].get(row).copied().unwrap_or(false)
    }
    /// The failures of a [`BatchOptions::keep_going`] run, in row order then segment order.
    pub fn errors(&self) -> &[CellError] {
        &self.errors
    }
    /// The membership table: profiles in input order, each with its segments by id; a failed
    /// cell has no row.
    pub fn rows(&self) -> impl Iterator<Item = MembershipRow<'_>> {
        self.entity_ids.text().iter().enumerate().flat_map(move |(row, id)| {
            self.segments.iter().zip(&self.outcomes).enumerate().filter(move |(k, _)| !self.failed(*k, row)).map(
                move |(_, (s, column))| {
                    let outcome = column[row];
                    MembershipRow {
                        entity_id: id,
                        segment_id: &s.id,
                        version: &s.version,
                        definition_hash: &s.definition_hash,
                        as_of: self.as_of,
                        member: outcome.is_member(),
                        outcome,
                    }
                },
            )
        })
    }
}

/// Refuses a table in which two profiles share an id (SPEC §19): membership rows are keyed by
/// entity id, so a repeated id would make two answers for one entity. The error names both rows.
pub fn check_unique_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Result<(), Error> {
    // foldhash: ids are data, but a collision only costs time, never a wrong answer.
    let mut seen: HashMap<&str, usize, foldhash::fast::FixedState> = HashMap::default();
    for (row, id) in ids.into_iter().enumerate() {
        if let Some(first) = seen.insert(id, row) {
            let message = format!("profile id `{id}` appears twice: rows {first} and {row}");
            return Err(Error::new(ErrorKind::DuplicateProfileId, message).at_data(DataLocation {
                row: Some(row as u64),
                entity: Some(id.to_string()),
                ..Default::default()
            }));
        }
    }
    Ok(())
}

/// Evaluates every segment of `program` for every profile of a table: the membership table.
/// Its rows are keyed by entity id, so ids must be unique ([`check_unique_ids`]).
pub fn evaluate(
    program: &Program,
    profiles: &[Profile],
    cx: &EvalContext,
    opts: &BatchOptions,
) -> Result<Memberships, Error> {
    check_unique_ids(profiles.iter().map(Profile::id))?;
    let bound: Vec<Bound> = profiles.iter().map(|p| program.bind(p)).collect();
    evaluate_bound(program, &bound, cx, opts)
}

/// Evaluates profiles already bound to the program's layout (a binding that decoded its rows
/// straight into slots, say; rows bound to another layout are read by name), position by
/// position. Ids are not checked: a list of profiles that carry their own events (JS
/// `evaluateMany`) joins nothing by id, so a repeated id is no ambiguity. Callers building a
/// membership table keyed by id check first, as [`evaluate`] does.
pub fn evaluate_bound(
    program: &Program,
    rows: &[Bound],
    cx: &EvalContext,
    opts: &BatchOptions,
) -> Result<Memberships, Error> {
    // The versions in force at `as_of` (SPEC §1).
    let program = program.at(cx.as_of);
    let segments = program.segments();
    let threads = opts.thread_count();
    let mut outcomes: Vec<Vec<Outcome>> = vec![Vec::new(); segments.len()];
    let mut failed: Vec<Vec<bool>> = vec![Vec::new(); segments.len()];
    let mut errors: Vec<CellError> = Vec::new();
    let mut runs: Vec<Option<SegmentRun>> = vec![None; segments.len()];
    for (done, &k) in program.order().iter().enumerate() {
        let seg = &segments[k];
        let start = Stopwatch::start();
        let cells = {
            let (earlier, earlier_failed) = (&outcomes, &failed);
            let one = |row: usize, b: &Bound| cell(program, k, row, b, earlier, earlier_failed, cx);
            if opts.keep_going {
                parallel_rows(rows, threads, &|row, b| Ok(one(row, b)))?
            } else {
                parallel_rows(rows, threads, &one)?.into_iter().map(Ok).collect()
            }
        };
        let time = start.elapsed();
        let mut column = Vec::with_capacity(cells.len());
        let mut mask = Vec::new();
        for (row, cell) in cells.into_iter().enumerate() {
            match cell {
                Ok(o) => column.push(o),
                Err(error) => {
                    if mask.is_empty() {
                        mask = vec![false; rows.len()];
                    }
                    mask[row] = true;
                    errors.push(CellError { row, segment: k, error });
                    column.push(Outcome::Unknown);
                }
            }
        }
        runs[k] = Some(SegmentRun::new(seg, &column, &mask, time));
        outcomes[k] = column;
        failed[k] = mask;
        if let Some(progress) = opts.progress {
            progress((done + 1) * rows.len(), segments.len() * rows.len());
        }
    }
    errors.sort_by_key(|e| (e.row, e.segment));
    Ok(Memberships {
        as_of: cx.as_of,
        entity_ids: EntityIds::Text(rows.iter().map(|b| b.profile().id().into()).collect()),
        segments: runs.into_iter().flatten().collect(),
        outcomes,
        failed,
        errors,
        unmatched_events: 0,
        engine: Engine::Rows,
    })
}

/// One cell of the membership table: segment `k` for the profile of `row`, given the outcomes
/// (and failures) of the segments evaluated before it, placed at row, entity and segment. The
/// batch driver evaluates every cell this way; the columnar engine asks it for the exact error of
/// a cell its kernels found failing.
pub(crate) fn cell(
    program: &Program,
    k: usize,
    row: usize,
    b: &Bound,
    earlier: &[Vec<Outcome>],
    earlier_failed: &[Vec<bool>],
    cx: &EvalContext,
) -> Result<Outcome, Error> {
    let segments = program.segments();
    let (seg, deps) = (&segments[k], program.dependencies(k));
    let place = |e: Error| {
        e.at_data(DataLocation {
            source: Some("profiles".into()),
            row: Some(row as u64),
            entity: Some(b.profile().id().to_string()),
            segment: Some(seg.id().to_string()),
            ..Default::default()
        })
    };
    // A referenced segment that failed for this profile leaves this one undecided.
    if let Some(&d) = deps.iter().find(|&&d| earlier_failed[d].get(row).copied().unwrap_or(false)) {
        let message = format!(
            "`{}` reads in_segment(\"{}\"), whose evaluation failed for this profile",
            seg.id(),
            segments[d].id()
        );
        return Err(place(Error::new(ErrorKind::SegmentResultMissing, message)));
    }
    let lookup = |id: &str| {
        deps.iter()
            .find(|&&d| segments[d].id() == id)
            .map(|&d| earlier[d][row].is_member())
            .or_else(|| cx.segments.get(id).copied())
    };
    seg.evaluate_bound_with(b, cx.as_of, &cx.fx, &lookup).map_err(place)
}

/// `f` over every row, in contiguous chunks on up to `threads` threads, results in row order.
/// The first error in row order is returned; a panic is the error `internal` at its chunk's
/// first row (a bug, never bad input: tests make sure no input reaches it).
fn parallel_rows<T: Sync, U: Send, F: Fn(usize, &T) -> Result<U, Error> + Sync>(
    rows: &[T],
    threads: usize,
    f: &F,
) -> Result<Vec<U>, Error> {
    let parts = crate::parallel::parallel_ranges(rows.len(), threads, 1024, &|range: std::ops::Range<usize>| {
        let start = range.start;
        rows[range].iter().enumerate().map(|(i, r)| f(start + i, r)).collect::<Result<Vec<U>, Error>>()
    })?;
    Ok(parts.into_iter().flatten().collect())
}

/// Elapsed time for the per-segment statistics (never read by evaluation). WASM has no clock
/// without JavaScript's help, so it reports zero there.
pub(crate) struct Stopwatch {
    #[cfg(not(target_family = "wasm"))]
    start: std::time::Instant,
}

impl Stopwatch {
    pub(crate) fn start() -> Stopwatch {
        Stopwatch {
            #[cfg(not(target_family = "wasm"))]
            start: std::time::Instant::now(),
        }
    }
    pub(crate) fn elapsed(&self) -> Duration {
        #[cfg(not(target_family = "wasm"))]
        return self.start.elapsed();
        #[cfg(target_family = "wasm")]
        return Duration::ZERO;
    }
}
