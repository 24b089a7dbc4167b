//! The batch job behind `segcore eval` and `segcore demo`: every segment of a registry over every
//! profile, segment by segment in dependency order (so each segment's time is measured), spread
//! over the machine's cores, with deterministic output order.

use std::io::Write;
use std::path::Path;

use segcore::batch::{self, BatchOptions, MembershipRow, Memberships};
use segcore::{EvalContext, Profile, Program};

use crate::io::{CliResult, Format};
use crate::output::OutputFile;

/// The evaluation's progress bar on stderr: profile × segment evaluations done, time spent and
/// left. indicatif draws nothing when stderr is not a terminal (pipes, CI logs).
pub struct Progress(indicatif::ProgressBar);

impl Progress {
    pub fn new(label: &str, total: usize) -> Progress {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total as u64),
            indicatif::ProgressDrawTarget::stderr_with_hz(10),
        );
        let style = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:25}] {percent:>3}% ({human_pos}/{human_len} profile × segment, {elapsed}, {eta} left)",
        )
        .map(|s| s.progress_chars("#>-"))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_message(label.to_string());
        Progress(bar)
    }
    pub fn update(&self, done: usize) {
        self.0.set_position(done as u64);
    }
    pub fn finish(&self) {
        self.0.finish();
    }
}

/// Evaluates every segment for every profile: the core's batch driver, with a progress bar.
/// `keep_going`: failures are recorded in the result rather than ending the run.
pub fn evaluate_all(
    program: &Program,
    profiles: &[Profile],
    cx: &EvalContext,
    keep_going: bool,
) -> CliResult<Memberships> {
    let progress = Progress::new("evaluating", program.len() * profiles.len());
    let update = |done: usize, _total: usize| progress.update(done);
    let opts = BatchOptions { progress: Some(&update), keep_going, ..BatchOptions::default() };
    // Ids are unique already: `segcore::ingest` refused a repeated id, naming both lines.
    let bound: Vec<_> = profiles.iter().map(|p| program.bind(p)).collect();
    let result = batch::evaluate_bound(program, &bound, cx, &opts);
    progress.finish();
    // The core's message names the row and entity, its location the definition file and line.
    result.map_err(|e| e.first().to_string())
}

/// What a run adds up to, whether the table was evaluated whole or in chunks: per segment
/// counts and time, every failure (with its profile's id), ignored events.
pub struct Summary {
    pub segments: Vec<batch::SegmentRun>,
    pub errors: Vec<(String, batch::CellError)>,
    pub unmatched_events: usize,
}

impl Summary {
    pub fn of(run: &Memberships) -> Summary {
        let ids: Vec<&str> = if run.errors().is_empty() { Vec::new() } else { run.entity_ids().collect() };
        Summary {
            segments: run.segments().to_vec(),
            errors: run.errors().iter().map(|e| (ids[e.row].to_string(), e.clone())).collect(),
            unmatched_events: run.unmatched_events(),
        }
    }
}

/// Evaluates Parquet tables with the core's columnar engine, `chunk_rows` profiles at a time
/// (`segcore::columnar::evaluate_chunked`): the profiles file is read once for its ids, then
/// streamed; the events (only the columns read) are held whole. Each chunk's membership rows are
/// written as soon as it is evaluated, so the whole table never has to be in memory.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_parquet(
    program: &Program,
    profiles: &Path,
    events: Option<&[arrow_array::RecordBatch]>,
    cols: &segcore::ingest::Columns,
    cx: &EvalContext,
    keep_going: bool,
    chunk_rows: usize,
    out: &mut MembershipWriter<'_>,
) -> CliResult<(Summary, usize)> {
    let read = program.read_set();
    let ids = crate::parquet_io::read(profiles, Some(&std::iter::once(cols.id.clone()).collect()))?;
    let rows: usize = ids.iter().map(arrow_array::RecordBatch::num_rows).sum();
    let mut wanted = read.attributes.clone();
    wanted.insert(cols.id.clone());
    let mut stream = crate::parquet_io::reader(profiles, Some(&wanted))?;
    let progress = Progress::new("evaluating", program.len() * rows);
    let update = |done: usize, _total: usize| progress.update(done);
    let opts = BatchOptions { progress: Some(&update), keep_going, ..BatchOptions::default() };
    let mut failed_write: Option<String> = None;
    let mut sink = |_first: usize, m: &Memberships| -> Result<(), segcore::Error> {
        out.write(m).map_err(|e| {
            failed_write = Some(e);
            segcore::Error::new(segcore::ErrorKind::Io, "writing the output failed")
        })
    };
    let result =
        segcore::columnar::evaluate_chunked(program, &ids, &mut stream, events, cols, cx, &opts, chunk_rows, &mut sink);
    progress.finish();
    if let Some(e) = failed_write {
        return Err(e);
    }
    let run = result.map_err(|e| e.first().to_string())?;
    let summary = Summary { segments: run.segments, errors: run.errors, unmatched_events: run.unmatched_events };
    Ok((summary, run.profiles))
}

/// The membership table (`MembershipRow::COLUMNS`) being written, one row per profile and
/// segment, profiles in input order and segments by id; chunk after chunk.
pub enum MembershipWriter<'w> {
    Csv(csv::Writer<&'w mut std::io::BufWriter<std::fs::File>>, &'w Path),
    Jsonl(&'w mut std::io::BufWriter<std::fs::File>, &'w Path),
    Parquet(crate::parquet_io::MembershipSink<'w>),
}

impl<'w> MembershipWriter<'w> {
    pub fn new(out: &'w mut OutputFile, path: &'w Path, format: Format) -> CliResult<MembershipWriter<'w>> {
        let err = |e: &dyn std::fmt::Display| crate::output::io_error(path, format!("cannot write: {e}"));
        Ok(match format {
            Format::Parquet => {
                MembershipWriter::Parquet(crate::parquet_io::MembershipSink::new(&mut out.writer, path)?)
            }
            Format::Csv => {
                let mut w = csv::Writer::from_writer(&mut out.writer);
                w.write_record(MembershipRow::COLUMNS).map_err(|e| err(&e))?;
                MembershipWriter::Csv(w, path)
            }
            Format::Jsonl => MembershipWriter::Jsonl(&mut out.writer, path),
        })
    }

    pub fn write(&mut self, run: &Memberships) -> CliResult<()> {
        let as_of = segcore::binding::format_timestamp(run.as_of());
        let member = |b: bool| if b { "true" } else { "false" };
        match self {
            MembershipWriter::Parquet(w) => w.write(run),
            MembershipWriter::Csv(w, path) => {
                let err = |e: &dyn std::fmt::Display| crate::output::io_error(path, format!("cannot write: {e}"));
                for r in run.rows() {
                    w.write_record([
                        r.entity_id,
                        r.segment_id,
                        r.version,
                        r.definition_hash,
                        &as_of,
                        member(r.member),
                        r.outcome.as_str(),
                    ])
                    .map_err(|e| err(&e))?;
                }
                Ok(())
            }
            MembershipWriter::Jsonl(w, path) => {
                let mut line = String::new();
                for r in run.rows() {
                    line.clear();
                    line.push_str("{\"entity_id\":");
                    segcore::binding::write_str(&mut line, r.entity_id);
                    line.push_str(",\"segment_id\":");
                    segcore::binding::write_str(&mut line, r.segment_id);
                    line.push_str(",\"version\":");
                    segcore::binding::write_str(&mut line, r.version);
                    line.push_str(",\"definition_hash\":\"");
                    line.push_str(r.definition_hash);
                    line.push_str("\",\"as_of\":");
                    segcore::binding::write_str(&mut line, &as_of);
                    line.push_str(",\"member\":");
                    line.push_str(member(r.member));
                    line.push_str(",\"outcome\":\"");
                    line.push_str(r.outcome.as_str());
                    line.push_str("\"}\n");
                    w.write_all(line.as_bytes())
                        .map_err(|e| crate::output::io_error(path, format!("cannot write: {e}")))?;
                }
                Ok(())
            }
        }
    }

    /// Flushes what is buffered (Parquet: the footer); then commit the file.
    pub fn finish(self) -> CliResult<()> {
        match self {
            MembershipWriter::Parquet(w) => w.finish(),
            MembershipWriter::Csv(mut w, path) => {
                w.flush().map_err(|e| crate::output::io_error(path, format!("cannot write: {e}")))
            }
            MembershipWriter::Jsonl(..) => Ok(()),
        }
    }
}

/// Writes the failures of a `--keep-going` run as JSON lines: `entity_id`, `segment_id`, `row`
/// (0-based, in the profiles input), `kind`, `message`.
pub fn write_errors(path: &Path, run: &Summary) -> CliResult<()> {
    let mut out = OutputFile::create(path)?;
    for (id, e) in &run.errors {
        let d = e.error.first();
        let line = serde_json::json!({
            "entity_id": id,
            "segment_id": run.segments[e.segment].id,
            "row": e.row,
            "kind": d.kind.as_str(),
            "message": d.message,
        });
        writeln!(out.writer, "{line}").map_err(|err| crate::output::io_error(path, format!("cannot write: {err}")))?;
    }
    out.commit()
}

/// After a `--keep-going` run with failures: the first few on stderr, where the rest went, and
/// exit status 1 (the membership file lacks the failed rows).
pub fn report_errors(run: &Summary, file: Option<&Path>) -> CliResult<()> {
    const SHOWN: usize = 10;
    let errors = &run.errors;
    if errors.is_empty() {
        return Ok(());
    }
    errln!("");
    for (_, e) in errors.iter().take(SHOWN) {
        errln!("{}", e.error.first());
    }
    let more = errors.len().saturating_sub(SHOWN);
    let rest = match (more, file) {
        (0, _) => String::new(),
        (n, Some(f)) => format!(" ({n} more not shown; all in {})", f.display()),
        (n, None) => format!(" ({n} more not shown; --errors FILE writes them all)"),
    };
    Err(format!("{} profile × segment evaluations failed and have no membership row{rest}", errors.len()))
}

/// Prints the summary table (report lines: dropped if stdout is closed).
pub fn print_summary(run: &Summary, profiles: usize) -> CliResult<()> {
    let rows = &run.segments;
    let width = rows.iter().map(|s| s.id.len()).max().unwrap_or(7).max(7);
    reportln!(
        "{:<width$}  {:>9}  {:>7}  {:>8}  {:>10}  {:>12}",
        "segment",
        "members",
        "share",
        "unknown",
        "time",
        "profiles/s"
    )?;
    let failures = !run.errors.is_empty();
    for s in rows {
        let share = if profiles == 0 { 0.0 } else { s.members as f64 * 100.0 / profiles as f64 };
        let secs = s.time.as_secs_f64();
        let rate = if secs > 0.0 { profiles as f64 / secs } else { f64::INFINITY };
        reportln!(
            "{:<width$}  {:>9}  {:>6.2}%  {:>8}  {:>8.1}ms  {:>12}",
            s.id,
            s.members,
            share,
            s.unknown,
            secs * 1000.0,
            human(rate)
        )?;
        if failures && s.failed > 0 {
            reportln!("{:<width$}  {:>9} failed (no row written)", "", s.failed)?;
        }
    }
    Ok(())
}

fn human(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x >= 1e6 {
        format!("{:.1}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.0}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}
