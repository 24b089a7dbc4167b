//! The batch job behind `segcore eval` and `segcore demo`: every segment of a registry over every
//! profile, segment by segment in dependency order (so each segment's time is measured), spread
//! over the machine's cores, with deterministic output order.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use segcore::{EvalContext, Outcome, Profile, Registry};

use crate::io::{CliResult, Format};
use crate::output::OutputFile;

/// Per-segment results of a run.
pub struct SegmentStats {
    pub id: String,
    pub version: String,
    pub hash: String,
    pub members: usize,
    pub unknown: usize,
    pub time: Duration,
}

/// Membership of every profile in every segment, indexed `[segment][profile]`.
pub struct RunResult {
    pub stats: Vec<SegmentStats>,
    /// Segment order of `stats` and `outcomes` (dependency order).
    pub outcomes: Vec<Vec<Outcome>>,
}

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

/// Evaluates every segment for every profile.
pub fn evaluate_all(registry: &Registry, profiles: &[Profile], cx: &EvalContext) -> CliResult<RunResult> {
    let order: Vec<_> = registry.dependency_order().collect();
    let position = |id: &str| order.iter().position(|s| s.id() == id);
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let mut outcomes: Vec<Vec<Outcome>> = Vec::with_capacity(order.len());
    let mut stats = Vec::new();
    let mut progress = Progress::new("evaluating", order.len() * profiles.len());
    // Each profile is bound to the registry's layout once and read by slot by every segment.
    let bound: Vec<_> = profiles.iter().map(|p| registry.bind(p)).collect();
    for (k, seg) in order.iter().enumerate() {
        // Positions of the segments this one references, resolved once.
        let deps: Vec<(String, usize)> =
            seg.read_set().segments.iter().filter_map(|id| position(id).map(|p| (id.clone(), p))).collect();
        let start = Instant::now();
        let chunk = profiles.len().div_ceil(threads).max(1);
        let done = &outcomes;
        let results: Vec<CliResult<Vec<Outcome>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = bound
                .chunks(chunk)
                .enumerate()
                .map(|(c, part)| {
                    let deps = &deps;
                    scope.spawn(move || {
                        let mut out = Vec::with_capacity(part.len());
                        for (j, p) in part.iter().enumerate() {
                            let row = c * chunk + j;
                            let lookup = |id: &str| {
                                deps.iter().find(|(d, _)| d == id).map(|&(_, pos)| done[pos][row].is_member())
                            };
                            let o = seg.evaluate_bound_with(p, cx.as_of, &cx.fx, &lookup).map_err(|e| {
                                format!("segment `{}`, entity `{}`: {}", seg.id(), p.profile().id(), e.first())
                            })?;
                            out.push(o);
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("evaluation thread panicked".into()))).collect()
        });
        let mut column = Vec::with_capacity(profiles.len());
        for r in results {
            column.extend(r?);
        }
        let time = start.elapsed();
        progress.update((k + 1) * profiles.len());
        stats.push(SegmentStats {
            id: seg.id().to_string(),
            version: seg.version().to_string(),
            hash: seg.definition_hash().to_string(),
            members: column.iter().filter(|o| o.is_member()).count(),
            unknown: column.iter().filter(|o| **o == Outcome::Unknown).count(),
            time,
        });
        outcomes.push(column);
    }
    progress.finish();
    Ok(RunResult { stats, outcomes })
}

/// Writes membership rows `entity_id, segment_id, version, definition_hash, as_of, member`, one per
/// profile and segment, profiles in input order and segments by id.
pub fn write_memberships(
    path: &Path,
    format: Format,
    profiles: &[Profile],
    run: &RunResult,
    as_of: &str,
) -> CliResult<()> {
    let mut out = OutputFile::create(path)?;
    let mut by_id: Vec<usize> = (0..run.stats.len()).collect();
    by_id.sort_by(|&a, &b| run.stats[a].id.cmp(&run.stats[b].id));
    let err = |e: &dyn std::fmt::Display| crate::output::io_error(path, format!("cannot write: {e}"));
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out.writer);
            w.write_record(["entity_id", "segment_id", "version", "definition_hash", "as_of", "member"])
                .map_err(|e| err(&e))?;
            for (row, p) in profiles.iter().enumerate() {
                for &k in &by_id {
                    let s = &run.stats[k];
                    let member = if run.outcomes[k][row].is_member() { "true" } else { "false" };
                    w.write_record([p.id(), &s.id, &s.version, &s.hash, as_of, member]).map_err(|e| err(&e))?;
                }
            }
            w.flush().map_err(|e| err(&e))?;
        }
        Format::Jsonl => {
            let mut line = String::new();
            for (row, p) in profiles.iter().enumerate() {
                for &k in &by_id {
                    let s = &run.stats[k];
                    line.clear();
                    line.push_str("{\"entity_id\":");
                    segcore::canonical::write_str(&mut line, p.id());
                    line.push_str(",\"segment_id\":");
                    segcore::canonical::write_str(&mut line, &s.id);
                    line.push_str(",\"version\":");
                    segcore::canonical::write_str(&mut line, &s.version);
                    line.push_str(",\"definition_hash\":\"");
                    line.push_str(&s.hash);
                    line.push_str("\",\"as_of\":");
                    segcore::canonical::write_str(&mut line, as_of);
                    line.push_str(if run.outcomes[k][row].is_member() {
                        ",\"member\":true}\n"
                    } else {
                        ",\"member\":false}\n"
                    });
                    out.writer.write_all(line.as_bytes()).map_err(|e| err(&e))?;
                }
            }
        }
    }
    out.commit()
}

/// Prints the summary table (report lines: dropped if stdout is closed).
pub fn print_summary(run: &RunResult, profiles: usize) -> CliResult<()> {
    let mut rows: Vec<&SegmentStats> = run.stats.iter().collect();
    rows.sort_by(|a, b| a.id.cmp(&b.id));
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
