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

use frame::{Frame, Ids};
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
    let read = program.read_set();
    let row_path = || -> Result<Memberships, Error> {
        let (rows, unmatched) = crate::ingest_arrow::profiles_counted(profiles, events, cols, &read)?;
        // Ids are unique already: the Arrow reader refused a repeat, naming its rows and column.
        let bound: Vec<_> = rows.iter().map(|p| program.bind(p)).collect();
        let mut m = batch::evaluate_bound(program, &bound, cx, opts)?;
        m.set_unmatched_events(unmatched);
        Ok(m)
    };
    let Some(frame) = Frame::build(profiles, events, cols, &read) else { return row_path() };
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

type Chunk = (Vec<u8>, Option<Vec<bool>>);

/// `f` over contiguous row ranges on up to `threads` threads, joined in row order.
fn run_chunks(n: usize, threads: usize, f: &(dyn Fn(std::ops::Range<usize>) -> Chunk + Sync)) -> Result<Chunk, Error> {
    // Below 16,384 rows threads cost more than they save.
    let parts = batch::parallel_ranges(n, threads, 16_384, &|range| Ok(f(range)))?;
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
