//! The batch job behind `segcore eval` and `segcore demo`: every segment of a registry over every
//! profile, segment by segment in dependency order (so each segment's time is measured), spread
//! over the machine's cores, with deterministic output order.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use segcore::batch::{self, BatchOptions, MembershipRow, Memberships};
use segcore::{EvalContext, Profile, Program};

use crate::io::{CliResult, Format};
use crate::output::OutputFile;

/// A progress line on stderr, only when stderr is a terminal.
pub struct Progress {
    enabled: bool,
    total: usize,
    label: String,
    last: Instant,
}

impl Progress {
    pub fn new(label: &str, total: usize) -> Progress {
        Progress { enabled: std::io::stderr().is_terminal(), total, label: label.into(), last: Instant::now() }
    }
    pub fn update(&mut self, done: usize) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(100) && done < self.total {
            return;
        }
        self.last = Instant::now();
        let pct = (done * 100).checked_div(self.total).unwrap_or(100).min(100);
        let bar = "#".repeat(pct / 4) + &"-".repeat(25 - pct / 4);
        let _ = write!(std::io::stderr(), "\r{} [{bar}] {pct:>3}% ({done}/{})", self.label, self.total);
    }
    pub fn finish(&self) {
        if self.enabled {
            let _ = writeln!(std::io::stderr());
        }
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
    let progress = std::sync::Mutex::new(Progress::new("evaluating", program.len() * profiles.len()));
    let update = |done: usize, _total: usize| {
        if let Ok(mut p) = progress.lock() {
            p.update(done);
        }
    };
    let opts = BatchOptions { progress: Some(&update), keep_going, ..BatchOptions::default() };
    // Ids are unique already: `segcore::ingest` refused a repeated id, naming both lines.
    let bound: Vec<_> = profiles.iter().map(|p| program.bind(p)).collect();
    let result = batch::evaluate_bound(program, &bound, cx, &opts);
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    // The core's message names the row and entity, its location the definition file and line.
    result.map_err(|e| e.first().to_string())
}

/// Evaluates every segment over Arrow record batches (Parquet input): the core's columnar
/// engine, with the same progress bar and failure handling as [`evaluate_all`].
pub fn evaluate_arrow(
    program: &Program,
    profiles: &[arrow_array::RecordBatch],
    events: Option<&[arrow_array::RecordBatch]>,
    cols: &segcore::ingest::Columns,
    cx: &EvalContext,
    keep_going: bool,
) -> CliResult<Memberships> {
    let rows: usize = profiles.iter().map(arrow_array::RecordBatch::num_rows).sum();
    let progress = std::sync::Mutex::new(Progress::new("evaluating", program.len() * rows));
    let update = |done: usize, _total: usize| {
        if let Ok(mut p) = progress.lock() {
            p.update(done);
        }
    };
    let opts = BatchOptions { progress: Some(&update), keep_going, ..BatchOptions::default() };
    let result = segcore::columnar::evaluate(program, profiles, events, cols, cx, &opts);
    if let Ok(p) = progress.lock() {
        p.finish();
    }
    result.map_err(|e| e.first().to_string())
}

/// Writes the membership table (`MembershipRow::COLUMNS`), one row per profile and segment,
/// profiles in input order and segments by id.
pub fn write_memberships(path: &Path, format: Format, run: &Memberships) -> CliResult<()> {
    if format == Format::Parquet {
        return crate::parquet_io::write_memberships(path, run);
    }
    let mut out = OutputFile::create(path)?;
    let err = |e: &dyn std::fmt::Display| crate::output::io_error(path, format!("cannot write: {e}"));
    let as_of = segcore::binding::format_timestamp(run.as_of());
    let member = |b: bool| if b { "true" } else { "false" };
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out.writer);
            w.write_record(MembershipRow::COLUMNS).map_err(|e| err(&e))?;
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
            w.flush().map_err(|e| err(&e))?;
        }
        Format::Jsonl => {
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
                out.writer.write_all(line.as_bytes()).map_err(|e| err(&e))?;
            }
        }
        Format::Parquet => {}
    }
    out.commit()
}

/// Writes the failures of a `--keep-going` run as JSON lines: `entity_id`, `segment_id`, `row`
/// (0-based, in the profiles input), `kind`, `message`.
pub fn write_errors(path: &Path, run: &Memberships) -> CliResult<()> {
    let mut out = OutputFile::create(path)?;
    let ids: Vec<&str> = run.entity_ids().collect();
    for e in run.errors() {
        let d = e.error.first();
        let line = serde_json::json!({
            "entity_id": ids[e.row],
            "segment_id": run.segments()[e.segment].id,
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
pub fn report_errors(run: &Memberships, file: Option<&Path>) -> CliResult<()> {
    const SHOWN: usize = 10;
    let errors = run.errors();
    if errors.is_empty() {
        return Ok(());
    }
    errln!("");
    for e in errors.iter().take(SHOWN) {
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
pub fn print_summary(run: &Memberships, profiles: usize) -> CliResult<()> {
    let rows = run.segments();
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
    let failures = !run.errors().is_empty();
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
