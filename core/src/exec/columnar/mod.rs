//! The columnar engine: a [`Program`] over Arrow record batches, node by node over whole
//! columns instead of profile by profile. It gives exactly the interpreter's membership table
//! (outcomes, failures and errors): the differential tests hold it to that on every conformance
//! case and on generated data.
//!
//! How it stays exact:
//! - the table is read into typed columns and time-sorted event runs ([`frame`]); anything the
//!   frame does not read natively (or a table the row path would refuse) goes the row path —
//!   `ingest_arrow` + the batch driver — so every refusal is the row path's, word for word;
//! - the kernels ([`kernel`]) cover the common constructs; a node without one is evaluated by
//!   the interpreter for the rows that reach it, on the row path's profiles;
//! - a kernel only *flags* a failing cell; its error is the batch driver's, re-evaluated.
//!
//! Segments run in dependency order (`in_segment` reads the referenced segment's outcome
//! column); each segment's rows are split over the cores in contiguous ranges; the output is in
//! input order whatever the thread count.

mod frame;
mod kernel;

use std::sync::OnceLock;

use arrow_array::RecordBatch;

use crate::batch::{self, BatchOptions, CellError, EntityIds, Memberships, SegmentRun, Stopwatch};
use crate::context::EvalContext;
use crate::error::{DataLocation, Error, ErrorKind};
use crate::ingest::Columns;
use crate::profile::Profile;
use crate::program::{Outcome, Program};

use frame::{Frame, Ids, Route};
use kernel::{Env, F, T};

/// Evaluates every segment of `program` for every profile of an Arrow profiles table (one row
/// per profile, `cols.id` + attribute columns) with an optional events table in long form
/// (`entity_id`, `name`, `at`, property columns, in any order): the membership table, as
/// [`batch::evaluate`] gives it for the same profiles. Only the columns the program reads are
/// touched; events whose entity is not in the profiles table are ignored and counted
/// ([`Memberships::unmatched_events`]).
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Int64Array, RecordBatch, StringArray};
/// use segcore::{columnar, ingest::Columns, Definition, EvalContext, Outcome, Registry};
///
/// let reg = Registry::from_definitions(vec![Definition::new("adults", "1.0.0", "age >= 18")], None).unwrap();
/// let profiles = RecordBatch::try_from_iter([
///     ("id", Arc::new(StringArray::from(vec!["a", "b", "c"])) as _),
///     ("age", Arc::new(Int64Array::from(vec![Some(30), Some(12), None])) as _),
/// ]).unwrap();
/// let cx = EvalContext::parse("2026-03-15T00:00:00Z").unwrap();
/// let m = columnar::evaluate(reg.program(), &[profiles], None, &Columns::default(), &cx, &Default::default()).unwrap();
/// assert_eq!(m.outcomes(0), [Outcome::True, Outcome::False, Outcome::Unknown]);
/// ```
pub fn evaluate(
    program: &Program,
    profiles: &[RecordBatch],
    events: Option<&[RecordBatch]>,
    cols: &Columns,
    cx: &EvalContext,
    opts: &BatchOptions,
) -> Result<Memberships, Error> {
    evaluate_routed(program, profiles, events, cols, cx, opts, None)
}

/// [`evaluate`] with the events' profile rows known in advance (`route`, for a chunk of a larger
/// profiles table); the row path and failing cells still read `events` whole.
fn evaluate_routed(
    program: &Program,
    profiles: &[RecordBatch],
    events: Option<&[RecordBatch]>,
    cols: &Columns,
    cx: &EvalContext,
    opts: &BatchOptions,
    route: Option<&Route>,
) -> Result<Memberships, Error> {
    // The versions in force at `as_of` (SPEC §1).
    let program = program.at(cx.as_of);
    let read = program.read_set();
    let row_path = || -> Result<Memberships, Error> {
        let (rows, unmatched) = crate::ingest_arrow::profiles_counted(profiles, events, cols, &read)?;
        // Ids are unique already: the Arrow reader refused a repeat, naming its rows and column.
        let bound: Vec<_> = rows.iter().map(|p| program.bind(p)).collect();
        let mut m = batch::evaluate_bound(program, &bound, cx, opts)?;
        m.set_unmatched_events(unmatched);
        Ok(m)
    };
    let Some(frame) = Frame::build(profiles, events, cols, &read, route) else { return row_path() };
    // The row path's profiles, read once: up front when a node needs the interpreter (so a
    // table it refuses is refused before anything is evaluated, as on the row path), else only
    // to explain a failing cell.
    let rows: OnceLock<Result<Vec<Profile>, Error>> = OnceLock::new();
    let read_rows = || rows.get_or_init(|| crate::ingest_arrow::profiles_from_batches(profiles, events, cols, &read));
    if program.segments().iter().any(|s| kernel::needs_rows(s.ir())) {
        if let Err(e) = read_rows() {
            return Err(e.clone());
        }
    }
    let n = frame.n;
    let threads = opts.thread_count();
    let segments = program.segments();
    let mut outcomes: Vec<Vec<Outcome>> = vec![Vec::new(); segments.len()];
    let mut failed: Vec<Vec<bool>> = vec![Vec::new(); segments.len()];
    let mut errors: Vec<CellError> = Vec::new();
    let mut runs: Vec<Option<SegmentRun>> = vec![None; segments.len()];
    for (done, &k) in program.order().iter().enumerate() {
        let seg = &segments[k];
        let deps = program.dependencies(k);
        let start = Stopwatch::start();
        // Rows where a referenced segment failed fail here too (with `keep_going`).
        let mut dep_failed: Option<Vec<bool>> = None;
        for &d in deps {
            if !failed[d].is_empty() {
                let m = dep_failed.get_or_insert_with(|| vec![false; n]);
                m.iter_mut().zip(&failed[d]).for_each(|(m, f)| *m |= f);
            }
        }
        let (codes, mut fails) = if seg.is_effective(cx.as_of) {
            let profiles_ref = match rows.get() {
                Some(Ok(p)) => Some(p.as_slice()),
                _ => None,
            };
            let env = |range| Env {
                frame: &frame,
                program,
                seg,
                deps,
                cx,
                results: &outcomes,
                profiles: profiles_ref,
                rows: range,
                scope: None,
            };
            let live: Option<Vec<bool>> = dep_failed.as_ref().map(|m| m.iter().map(|f| !f).collect());
            run_chunks(n, threads, &|range: std::ops::Range<usize>| {
                let l = live.as_ref().map(|l| &l[range.clone()]);
                let t = env(range).tri(seg.ir(), l);
                (t.v, t.err)
            })?
        } else {
            (vec![F; n], None)
        };
        if let Some(d) = dep_failed {
            let f = fails.get_or_insert_with(|| vec![false; n]);
            f.iter_mut().zip(d).for_each(|(f, d)| *f |= d);
        }
        let mut column: Vec<Outcome> = codes
            .iter()
            .map(|&c| match c {
                T => Outcome::True,
                F => Outcome::False,
                _ => Outcome::Unknown,
            })
            .collect();
        let mut mask = Vec::new();
        if let Some(f) = fails {
            let profiles = match read_rows() {
                Ok(p) => p,
                Err(e) => return Err(e.clone()),
            };
            for row in (0..n).filter(|&r| f[r]) {
                let b = program.bind(&profiles[row]);
                let error = match batch::cell(program, k, row, &b, &outcomes, &failed, cx) {
                    Err(e) => e,
                    Ok(o) => Error::new(
                        ErrorKind::Internal,
                        format!(
                            "the columnar engine found a failure the interpreter does not (outcome {}; a bug, please report it)",
                            o.as_str()
                        ),
                    )
                    .at_data(DataLocation {
                        row: Some(row as u64),
                        segment: Some(seg.id().to_string()),
                        ..Default::default()
                    }),
                };
                if !opts.keep_going {
                    return Err(error);
                }
                column[row] = Outcome::Unknown;
                errors.push(CellError { row, segment: k, error });
            }
            mask = f;
        }
        runs[k] = Some(SegmentRun::new(seg, &column, &mask, start.elapsed()));
        outcomes[k] = column;
        failed[k] = mask;
        if let Some(progress) = opts.progress {
            progress((done + 1) * n, segments.len() * n);
        }
    }
    errors.sort_by_key(|e| (e.row, e.segment));
    let ids = match frame.ids {
        Ids::Int(v) => EntityIds::Int(v, OnceLock::new()),
        Ids::Str(v) => EntityIds::Text(v.into_iter().map(Into::into).collect()),
    };
    let runs = runs.into_iter().flatten().collect();
    Ok(Memberships::from_parts(cx.as_of, ids, runs, outcomes, failed, errors, frame.unmatched_events))
}

/// What the chunks of an [`evaluate_chunked`] run add up to (the membership rows went to its
/// sink, chunk by chunk).
#[derive(Debug, Default)]
pub struct ChunkedRun {
    /// Profiles evaluated.
    pub profiles: usize,
    /// Chunks the profiles were evaluated in (1 when the table went whole).
    pub chunks: usize,
    /// Per segment (in [`Program::segments`] order): members, unknown and failed rows over
    /// every chunk, and the time spent.
    pub segments: Vec<batch::SegmentRun>,
    /// Every failure (with [`BatchOptions::keep_going`]), rows counted in the whole table, with
    /// the profile's id.
    pub errors: Vec<(String, CellError)>,
    /// Events whose entity is not in the profiles table (ignored).
    pub unmatched_events: usize,
}

/// Evaluates a profiles table `chunk_rows` profiles at a time, so that it never has to be in
/// memory at once: `ids` is every profile's id column (a first, cheap pass over the table),
/// `profiles` yields the table's record batches again in the same order (the attribute
/// columns; a reader over a file), and `events` are held whole (only the columns read). Each
/// event is matched to its profile row once; each chunk is then evaluated by [`evaluate`]'s
/// engine and handed to `sink` with its first row, in order. The rows the sink receives, the
/// failures and the errors are exactly [`evaluate`]'s over the whole table, rows numbered in
/// the whole table. Without [`BatchOptions::keep_going`] the error returned is the one the
/// whole-table run returns (found once every chunk is evaluated): the chunks the sink has
/// received by then must be thrown away, as the CLI does by never committing its output file.
/// A table with unreadable values is refused with the error of the first chunk that reaches
/// one: the same kind, but when there are several such values it may name another one than
/// the whole-table run (which reads every profile column before the events).
///
/// Memory: the ids, the events (as given, plus 4 bytes per event and the property values read)
/// and one chunk of profiles with its results, rather than the whole profiles table.
///
/// When the ids or the events' entity column are not read natively (ids of mixed types, a
/// repeated id, nulls), the table is read whole and evaluated at once, so that its errors are
/// [`evaluate`]'s word for word.
///
/// ```
/// use std::sync::Arc;
/// use arrow_array::{Int64Array, RecordBatch};
/// use segcore::{columnar, ingest::Columns, Definition, EvalContext, Registry};
///
/// let reg = Registry::from_definitions(vec![Definition::new("adults", "1.0.0", "age >= 18")], None).unwrap();
/// let table = RecordBatch::try_from_iter([
///     ("id", Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])) as _),
///     ("age", Arc::new(Int64Array::from(vec![30, 12, 40, 18, 2])) as _),
/// ]).unwrap();
/// let ids = [table.project(&[0]).unwrap()];
/// let mut stream = std::iter::once(Ok(table.clone()));
/// let cx = EvalContext::parse("2026-03-15T00:00:00Z").unwrap();
/// let mut members = Vec::new();
/// let run = columnar::evaluate_chunked(reg.program(), &ids, &mut stream, None, &Columns::default(), &cx,
///     &Default::default(), 2, &mut |first, m| {
///         members.extend(m.outcomes(0).iter().enumerate().filter(|(_, o)| o.is_member()).map(|(r, _)| first + r));
///         Ok(())
///     }).unwrap();
/// assert_eq!((run.profiles, run.chunks, run.segments[0].members), (5, 3, 3));
/// assert_eq!(members, [0, 2, 3]);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn evaluate_chunked(
    program: &Program,
    ids: &[RecordBatch],
    profiles: &mut dyn Iterator<Item = Result<RecordBatch, Error>>,
    events: Option<&[RecordBatch]>,
    cols: &Columns,
    cx: &EvalContext,
    opts: &BatchOptions,
    chunk_rows: usize,
    sink: &mut dyn FnMut(usize, &Memberships) -> Result<(), Error>,
) -> Result<ChunkedRun, Error> {
    let program = program.at(cx.as_of);
    let total: usize = ids.iter().map(RecordBatch::num_rows).sum();
    let k = program.segments().len();
    // No profile (nothing to chunk; the events are still checked), or ids/entities that are not
    // read natively: the table goes whole.
    let route = if total == 0 { None } else { Route::new(ids, events.unwrap_or(&[]), cols, &program.read_set()) };
    let Some(mut route) = route else {
        let all = profiles.collect::<Result<Vec<_>, Error>>()?;
        let m = evaluate(program, &all, events, cols, cx, opts)?;
        sink(0, &m)?;
        let ids: Vec<&str> = m.entity_ids().collect();
        let errors = m.errors().iter().map(|e| (ids[e.row].to_string(), e.clone())).collect();
        return Ok(ChunkedRun {
            profiles: m.len(),
            chunks: 1,
            segments: m.segments().to_vec(),
            errors,
            unmatched_events: m.unmatched_events(),
        });
    };
    let chunk_rows = chunk_rows.max(1);
    let mut run = ChunkedRun { unmatched_events: route.unmatched, ..Default::default() };
    let mut pending: Vec<RecordBatch> = Vec::new();
    let mut held = 0usize;
    let mut done = false;
    while !done || held > 0 {
        // Take batches until a chunk is full (the last batch is cut, without a copy).
        while !done && held < chunk_rows {
            match profiles.next() {
                Some(b) => {
                    let b = b?;
                    held += b.num_rows();
                    pending.push(b);
                }
                None => done = true,
            }
        }
        if held == 0 {
            break;
        }
        let take = held.min(chunk_rows);
        let mut chunk = Vec::new();
        let mut rest = Vec::new();
        let mut got = 0usize;
        for b in pending.drain(..) {
            let n = b.num_rows();
            if got + n <= take {
                got += n;
                chunk.push(b);
            } else if got < take {
                let cut = take - got;
                got = take;
                chunk.push(b.slice(0, cut));
                rest.push(b.slice(cut, n - cut));
            } else {
                rest.push(b);
            }
        }
        pending = rest;
        held -= take;
        let first = run.profiles;
        if first + take > total {
            return Err(Error::new(
                ErrorKind::InvalidProfile,
                format!(
                    "the profiles have more rows than their id column ({total}): the two passes read different tables"
                ),
            ));
        }
        route.first = first;
        route.len = take;
        let progress = opts.progress.map(|p| move |d: usize, _: usize| p(first * k + d, total * k));
        // Failures are collected over every chunk: without keep_going the one returned is then
        // the whole table's first (first segment in dependency order, then first row), not the
        // first chunk's.
        let chunk_opts = BatchOptions {
            progress: progress.as_ref().map(|p| p as &(dyn Fn(usize, usize) + Sync)),
            keep_going: true,
            ..*opts
        };
        let m = evaluate_routed(program, &chunk, events, cols, cx, &chunk_opts, Some(&route))
            .map_err(|e| e.shift_profile_rows(first))?;
        sink(first, &m)?;
        if !m.errors().is_empty() {
            let ids: Vec<&str> = m.entity_ids().collect();
            run.errors.extend(m.errors().iter().map(|e| {
                let cell = CellError {
                    row: first + e.row,
                    segment: e.segment,
                    error: e.error.clone().shift_profile_rows(first),
                };
                (ids[e.row].to_string(), cell)
            }));
        }
        if run.segments.is_empty() {
            run.segments = m.segments().to_vec();
        } else {
            for (all, s) in run.segments.iter_mut().zip(m.segments()) {
                all.members += s.members;
                all.unknown += s.unknown;
                all.failed += s.failed;
                all.time += s.time;
            }
        }
        run.profiles += take;
        run.chunks += 1;
    }
    if run.profiles != total {
        return Err(Error::new(
            ErrorKind::InvalidProfile,
            format!(
                "the profiles have {} rows and their id column {total}: the two passes read different tables",
                run.profiles
            ),
        ));
    }
    if !opts.keep_going {
        let position: Vec<usize> = {
            let mut p = vec![0; k];
            program.order().iter().enumerate().for_each(|(i, &s)| p[s] = i);
            p
        };
        if let Some((_, e)) = run.errors.iter().min_by_key(|(_, e)| (position[e.segment], e.row)) {
            return Err(e.error.clone());
        }
    }
    Ok(run)
}

type Chunk = (Vec<u8>, Option<Vec<bool>>);

/// `f` over contiguous row ranges on up to `threads` threads, joined in row order.
fn run_chunks(n: usize, threads: usize, f: &(dyn Fn(std::ops::Range<usize>) -> Chunk + Sync)) -> Result<Chunk, Error> {
    // Below 16,384 rows threads cost more than they save.
    let parts = crate::parallel::parallel_ranges(n, threads, 16_384, &|range| Ok(f(range)))?;
    let mut v = Vec::with_capacity(n);
    let mut err: Option<Vec<bool>> = None;
    for (pv, pe) in parts {
        match (pe, err.as_mut()) {
            (Some(pe), _) => err.get_or_insert_with(|| vec![false; v.len()]).extend(pe),
            (None, Some(e)) => e.extend(std::iter::repeat_n(false, pv.len())),
            (None, None) => {}
        }
        v.extend(pv);
    }
    Ok((v, err))
}
