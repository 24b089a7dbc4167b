//! `segcore stream`, `segcore members` and `segcore transitions` (SPEC §23): events in, a
//! membership log out, and membership at any instant read back from it. The driver is the
//! core's `segcore::store::StreamStore`; this file reads lines and prints summaries.

use std::io::Read;
use std::path::{Path, PathBuf};

use segcore::binding::format_timestamp;
use segcore::store::{self, LogRecord, StoreConfig, StreamStore};
use segcore::stream::StreamConfig;
use segcore::{parse_as_of, ErrorKind, Profile};

use crate::io::{core_error, error, CliResult};

#[derive(clap::Args)]
pub struct StreamArgs {
    /// Registry folder of definitions.
    #[arg(long)]
    pub segments: PathBuf,
    /// Events as JSON lines ({"id", "name", "at", "properties"}, or {"watermark": T}); `-` reads
    /// standard input.
    #[arg(long, required_unless_present = "kafka")]
    pub events: Option<PathBuf>,
    /// Consume events from and produce transitions to Kafka at these brokers (host:port,…)
    /// instead of --events; the folder given with --log keeps the state.
    #[arg(long, conflicts_with = "events", requires_all = ["events_topic", "transitions_topic"])]
    pub kafka: Option<String>,
    /// With --kafka: the topic events are read from (one message per event or watermark).
    #[arg(long)]
    pub events_topic: Option<String>,
    /// With --kafka: the topic transitions are written to, keyed by entity id.
    #[arg(long)]
    pub transitions_topic: Option<String>,
    /// With --kafka: the consumer group its offsets are committed under.
    #[arg(long, default_value = "segcore")]
    pub group: String,
    /// With --kafka: stop once no event has arrived for this long (default: run until stopped).
    #[arg(long)]
    pub idle_exit: Option<String>,
    /// The membership-log folder (created if missing; resumed from its last commit if not).
    #[arg(long)]
    pub log: PathBuf,
    /// Entity schema.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// FX quotes JSON ({"EUR/USD": "1.08"}).
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// Initial profiles (JSON lines with attributes, and events if any), existing from --start.
    #[arg(long, requires = "start")]
    pub profiles: Option<PathBuf>,
    /// The stream's start (RFC 3339); default: the first event's `at` minus the lateness.
    #[arg(long)]
    pub start: Option<String>,
    /// Allowed lateness: later events are applied with corrections (default 1h).
    #[arg(long, default_value = "1h")]
    pub lateness: String,
    /// Events further than this after the watermark are rejected (default 7d).
    #[arg(long, default_value = "7d")]
    pub max_future: String,
    /// Move the watermark to the greatest `at` seen minus this delay after every event (without
    /// it, only {"watermark": T} records move it).
    #[arg(long)]
    pub watermark_delay: Option<String>,
    /// When the definitions differ from the log's: the instant the new ones take effect
    /// (default: 1 µs after the log's watermark).
    #[arg(long)]
    pub effective: Option<String>,
    /// Commit (fsync the log, replace the snapshot) every N input records, and at the end.
    #[arg(long, default_value_t = 100_000)]
    pub commit_every: u64,
}

/// A duration like `90d` or `0s` (the core's `temporal::parse_duration`).
fn duration(flag: &str, text: &str) -> CliResult<i64> {
    segcore::temporal::parse_duration(text).map_err(|e| core_error(flag, &e))
}

fn instant(flag: &str, text: &str) -> CliResult<i64> {
    parse_as_of(text).map_err(|e| core_error(flag, &e))
}

pub fn stream(a: &StreamArgs) -> CliResult<()> {
    let schema = crate::load_schema(a.schema.as_deref())?;
    let registry = crate::load_registry(&a.segments, schema.as_ref())?;
    let fx = crate::load_fx(a.fx.as_deref())?;
    let config = StoreConfig {
        stream: StreamConfig {
            lateness: duration("--lateness", &a.lateness)?,
            max_future: duration("--max-future", &a.max_future)?,
        },
        start: a.start.as_deref().map(|t| instant("--start", t)).transpose()?,
        watermark_delay: a.watermark_delay.as_deref().map(|d| duration("--watermark-delay", d)).transpose()?,
        effective: a.effective.as_deref().map(|t| instant("--effective", t)).transpose()?,
    };
    let log_name = a.log.display().to_string();
    if let Some(brokers) = &a.kafka {
        return kafka(a, brokers, registry, fx, config);
    }
    let (mut store, resume) = StreamStore::open(&a.log, registry, fx, config).map_err(|e| core_error(&log_name, &e))?;
    if let Some(d) = &resume.damage {
        errln!(
            "segcore: {log_name}: the log was damaged at byte {} ({}); {} byte(s) after the last good record were cut",
            d.offset,
            d.problem,
            d.bytes
        );
    }
    if resume.restored {
        errln!(
            "segcore: {log_name}: resuming after input record {} (watermark {}){}",
            resume.consumed,
            store.stream().map_or_else(String::new, |s| format_timestamp(s.watermark())),
            if resume.cut > 0 {
                format!("; {} uncommitted byte(s) cut, to be produced again", resume.cut)
            } else {
                String::new()
            }
        );
        if resume.new_definitions {
            errln!(
                "segcore: {log_name}: the definitions changed; the new set takes effect as `definition` transitions"
            );
        }
    }
    if let Some(path) = &a.profiles {
        if resume.restored {
            errln!("segcore: --profiles ignored: the log's snapshot has the initial profiles");
        } else {
            for p in read_profiles(path)? {
                let origin = format!("{}: profile `{}`", path.display(), p.id());
                store.add_profile(p).map_err(|e| core_error(&origin, &e))?;
            }
        }
    }
    let events = a.events.as_deref().ok_or("internal: --events or --kafka")?;
    let (reader, size): (Box<dyn Read>, Option<u64>) = if events == Path::new("-") {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = std::fs::File::open(events).map_err(|e| error(ErrorKind::Io, format!("{}: {e}", events.display())))?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let bar = indicatif::ProgressBar::with_draw_target(size, indicatif::ProgressDrawTarget::stderr_with_hz(10));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "streaming [{bar:25}] {percent:>3}% ({binary_bytes}/{binary_total_bytes}, {elapsed}, {eta} left)",
    ) {
        bar.set_style(style.progress_chars("#>-"));
    }
    let events_name = events.display().to_string();
    let clock = std::time::Instant::now();
    let counted = Counted { inner: reader, read: 0, bar: bar.clone() };
    let result = store.consume_lines(counted, &events_name, a.commit_every, &mut |_| {});
    // The core's error names the input file and line (a line too long, a failed evaluation).
    result.map_err(crate::io::data_error)?;
    let position = store.consumed();
    bar.finish_and_clear();
    let s = store.stats();
    let watermark = store.stream().map_or_else(|| "none".to_string(), |st| format_timestamp(st.watermark()));
    errln!(
        "segcore: {} record(s) read ({} already in the log) in {:.2?}: {} event(s) applied ({} late), {} too late, \
         {} too far ahead, {} malformed, {} stale watermark(s); {} transition(s) emitted, {} retracted; watermark {watermark}; \
         {} dead letter(s)",
        position,
        resume.consumed.min(position),
        clock.elapsed(),
        s.events,
        s.late,
        s.too_late,
        s.future,
        store.malformed(),
        s.stale_watermarks,
        s.emitted,
        s.retracted,
        store.dead_letters()
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct MembersArgs {
    /// The membership-log folder.
    #[arg(long)]
    pub log: PathBuf,
    /// The instant (RFC 3339), at most the log's committed watermark.
    #[arg(long)]
    pub at: String,
    /// Only this segment (repeatable).
    #[arg(long = "segment", value_name = "ID")]
    pub only: Vec<String>,
    /// Print a count per segment instead of the members.
    #[arg(long)]
    pub count: bool,
}

/// Members at an instant: `segment_id<TAB>entity_id` lines (sorted), or counts.
pub fn members(a: &MembersArgs) -> CliResult<()> {
    let at = instant("--at", &a.at)?;
    let name = a.log.display().to_string();
    let m = store::membership_at(&a.log, at).map_err(|e| core_error(&name, &e))?;
    if let Some(d) = &m.damage {
        errln!("segcore: {name}: read up to byte {} ({}; {} byte(s) after it ignored)", d.offset, d.problem, d.bytes);
    }
    for id in &a.only {
        if !m.segments.iter().any(|(s, _)| s == id) {
            return Err(error(ErrorKind::UnknownSegment, format!("{name}: no segment `{id}` in the log")));
        }
    }
    for (seg, members) in &m.segments {
        if !a.only.is_empty() && !a.only.contains(seg) {
            continue;
        }
        if a.count {
            productln!("{seg}\t{}", members.len())?;
        } else {
            for e in members {
                productln!("{seg}\t{e}")?;
            }
        }
    }
    Ok(())
}

/// Every committed record as a JSON line: `{"op": "emit" | "retract", …transition}` and
/// `{"op": "commit", "watermark", "consumed"}`.
pub fn transitions(log: &Path) -> CliResult<()> {
    let name = log.display().to_string();
    let c = store::read_log(log).map_err(|e| core_error(&name, &e))?;
    for r in &c.records {
        let v = match r {
            LogRecord::Definition(_) | LogRecord::Entity => continue,
            LogRecord::Emit(t) => t.record_json(false),
            LogRecord::Retract(t) => t.record_json(true),
            LogRecord::Commit { watermark, consumed } => {
                serde_json::json!({"op": "commit", "watermark": format_timestamp(*watermark), "consumed": consumed})
            }
        };
        productln!("{v}")?;
    }
    if let Some(d) = &c.damage {
        errln!("segcore: {name}: read up to byte {} ({}; {} byte(s) after it ignored)", d.offset, d.problem, d.bytes);
    }
    Ok(())
}

/// `segcore stream --kafka`: the core's Kafka route, with a summary line per commit on stderr.
fn kafka(
    a: &StreamArgs,
    brokers: &str,
    registry: segcore::Registry,
    fx: segcore::FxRates,
    config: StoreConfig,
) -> CliResult<()> {
    let profiles = match &a.profiles {
        Some(path) => read_profiles(path)?,
        None => Vec::new(),
    };
    let idle_exit = match a.idle_exit.as_deref() {
        Some(d) => Some(std::time::Duration::from_micros(duration("--idle-exit", d)?.max(0) as u64)),
        None => None,
    };
    let options = store::kafka::KafkaOptions {
        brokers: brokers.to_string(),
        events_topic: a.events_topic.clone().unwrap_or_default(),
        transitions_topic: a.transitions_topic.clone().unwrap_or_default(),
        group: a.group.clone(),
        commit_every: a.commit_every,
        idle_exit,
    };
    let log_name = a.log.display().to_string();
    let clock = std::time::Instant::now();
    let mut first = true;
    let run = store::kafka::run(&a.log, registry, fx, config, profiles, &options, &mut |store, run| {
        if first && run.resume.restored {
            errln!(
                "segcore: {log_name}: resumed from its snapshot ({} input record(s) done{})",
                run.resume.consumed,
                if run.resume.cut > 0 {
                    format!(", {} uncommitted byte(s) cut", run.resume.cut)
                } else {
                    String::new()
                }
            );
        }
        first = false;
        let s = store.stats();
        let w = store.stream().map_or_else(|| "none".to_string(), |st| format_timestamp(st.watermark()));
        errln!(
            "segcore: committed: {} event message(s) this run, {} transition message(s) produced, {} late, \
             {} dead letter(s); watermark {w}",
            run.consumed,
            run.produced,
            s.late,
            store.dead_letters()
        );
    })
    .map_err(|e| core_error(&log_name, &e))?;
    errln!(
        "segcore: stopped after {:.2?}: {} event message(s) consumed, {} transition message(s) produced, \
         {} poll error(s) waited out",
        clock.elapsed(),
        run.consumed,
        run.produced,
        run.poll_errors
    );
    Ok(())
}

/// Initial profiles: one JSON profile per line.
fn read_profiles(path: &Path) -> CliResult<Vec<Profile>> {
    let text = crate::io::read_document(path, ErrorKind::InvalidProfile)?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let origin = format!("{}:{}", path.display(), n + 1);
        out.push(Profile::from_json_str(line).map_err(|e| core_error(&origin, &e))?);
    }
    Ok(out)
}

/// The input, counting bytes read into the progress bar.
struct Counted<R> {
    inner: R,
    read: u64,
    bar: indicatif::ProgressBar,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.bar.set_position(self.read);
        Ok(n)
    }
}
