//! `segcore next-change` and `segcore timeline` (SPEC §22): membership over time for one profile
//! or a table of them, as JSON lines (one per profile × segment, or per change), and for a table a
//! plot of members over time per segment (SVG).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use segcore::binding::{change_json, format_timestamp};
use segcore::temporal::{Change, Timeline};
use segcore::{ErrorKind, EvalContext, Profile, Registry};

use crate::io::{self, core_error, error, CliResult, Format};

/// Where the profiles come from, and which segments to ask about.
#[derive(clap::Args)]
pub struct Input {
    /// Registry folder of definitions.
    #[arg(long)]
    pub segments: PathBuf,
    /// Only these segments (repeatable); default: every segment of the registry.
    #[arg(long = "segment", value_name = "ID")]
    pub only: Vec<String>,
    /// One profile as a JSON file ({"id", "attributes", "events"}).
    #[arg(long, conflicts_with = "profiles")]
    pub profile: Option<PathBuf>,
    /// Profiles table: JSONL, CSV or Parquet.
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// Events table in long form, with --profiles.
    #[arg(long, requires = "profiles")]
    pub events: Option<PathBuf>,
    /// FX quotes JSON ({"EUR/USD": "1.08"}).
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// Entity schema.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Write JSON lines here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub columns: crate::ColumnArgs,
}

pub(crate) struct Loaded {
    pub(crate) registry: Registry,
    /// Indexes of the segments asked about, in id order.
    pub(crate) targets: Vec<String>,
    pub(crate) profiles: Vec<Profile>,
    pub(crate) fx: segcore::FxRates,
}

/// Refuses an output path that names one of the inputs, before anything is read.
fn guard_outputs(input: &Input, outputs: &[Option<&Path>]) -> CliResult<()> {
    let segments = crate::output::segment_files(&input.segments);
    let mut inputs: Vec<(&str, &Path)> = Vec::new();
    for (flag, p) in [
        ("--profile", &input.profile),
        ("--profiles", &input.profiles),
        ("--events", &input.events),
        ("--fx", &input.fx),
        ("--schema", &input.schema),
    ] {
        inputs.extend(p.as_deref().map(|p| (flag, p)));
    }
    inputs.extend(segments.iter().map(|p| ("--segments", p.as_path())));
    for out in outputs.iter().flatten() {
        crate::output::ensure_not_an_input(out, &inputs)?;
    }
    Ok(())
}

/// Writes `text` to `path` the way every CLI output is written: complete, or not at all.
pub(crate) fn write_file(path: &Path, text: &str) -> CliResult<()> {
    use std::io::Write as _;
    let mut file = crate::output::OutputFile::create(path)?;
    file.writer.write_all(text.as_bytes()).map_err(|e| file.error(format!("cannot write: {e}")))?;
    file.commit()
}

fn load(input: &Input) -> CliResult<Loaded> {
    load_checked(input, &[input.out.as_deref()])
}

/// Loads the registry, profiles and FX, after refusing any output path that names an input.
pub(crate) fn load_checked(input: &Input, outputs: &[Option<&Path>]) -> CliResult<Loaded> {
    guard_outputs(input, outputs)?;
    let schema = crate::load_schema(input.schema.as_deref())?;
    let registry = crate::load_registry(&input.segments, schema.as_ref())?;
    let ids: Vec<String> = registry.segments().iter().map(|s| s.id().to_string()).collect();
    for id in &input.only {
        if !ids.contains(id) {
            return Err(error(
                ErrorKind::UnknownSegment,
                format!("no segment `{id}` in {} (have: {})", input.segments.display(), ids.join(", ")),
            ));
        }
    }
    let targets = if input.only.is_empty() { ids } else { input.only.clone() };
    let cols = input.columns.columns();
    let profiles = match (&input.profile, &input.profiles) {
        (Some(path), _) => {
            let text = io::read_document(path, ErrorKind::InvalidProfile)?;
            vec![Profile::from_json_str(&text).map_err(|e| core_error(&path.display().to_string(), &e))?]
        }
        (None, Some(path)) if Format::detect(path, None)? == Format::Parquet => {
            let read = registry.program().read_set();
            let profiles = crate::parquet_io::read_profiles_for(path, &read, &cols)?;
            let events =
                input.events.as_deref().map(|e| crate::parquet_io::read_events_for(e, &read, &cols)).transpose()?;
            segcore::ingest_arrow::profiles_from_batches(&profiles, events.as_deref(), &cols, &read)
                .map_err(|e| core_error(&path.display().to_string(), &e))?
        }
        (None, Some(path)) => {
            let events = match &input.events {
                Some(e) => io::read_events(e, Format::detect(e, None)?, &cols)?,
                None => Vec::new(),
            };
            io::read_profiles(path, Format::detect(path, None)?, events, &cols)?
        }
        (None, None) => return Err("give --profile FILE, or --profiles FILE (with --events FILE)".into()),
    };
    let fx = crate::load_fx(input.fx.as_deref())?;
    Ok(Loaded { registry, targets, profiles, fx })
}

/// Where JSON lines go: a file (replaced when complete) or standard output.
struct Lines {
    path: Option<PathBuf>,
    text: String,
}

impl Lines {
    fn push(&mut self, v: serde_json::Value) -> CliResult<()> {
        let line = v.to_string();
        if self.path.is_some() {
            self.text.push_str(&line);
            self.text.push('\n');
            Ok(())
        } else {
            productln!("{line}")
        }
    }
    fn finish(self) -> CliResult<()> {
        match &self.path {
            Some(p) => write_file(p, &self.text),
            None => Ok(()),
        }
    }
}

/// `segcore next-change`.
pub fn next_change(input: &Input, as_of: &str, horizon: Option<&str>, json: bool) -> CliResult<()> {
    let l = load(input)?;
    let cx = EvalContext::parse(as_of).map_err(|e| core_error("--as-of", &e))?.with_fx(l.fx.clone());
    let horizon = horizon.map(segcore::temporal::parse_horizon).transpose().map_err(|e| core_error("--horizon", &e))?;
    let program = l.registry.program();
    let human = !json && input.out.is_none() && l.profiles.len() == 1;
    let mut out = Lines { path: input.out.clone(), text: String::new() };
    let targets: Vec<&str> = l.targets.iter().map(String::as_str).collect();
    // Every profile's answers, on every core; then written in input order.
    let answers = program.next_changes(&targets, &l.profiles, &cx, horizon).map_err(|e| e.to_string())?;
    for (p, row) in l.profiles.iter().zip(answers) {
        for (id, (now, next)) in targets.iter().zip(row) {
            let seg = l.registry.get_at(id, cx.as_of).ok_or("internal: target vanished")?;
            if human {
                productln!("{}", describe(id, now.as_str(), next.as_ref()))?;
                continue;
            }
            let mut row = serde_json::json!({
                "entity_id": p.id(),
                "segment_id": id,
                "version": seg.version(),
                "definition_hash": seg.definition_hash(),
                "as_of": format_timestamp(cx.as_of),
                "outcome": now.as_str(),
                "next_change": null,
            });
            if let Some(c) = &next {
                row["next_change"] = change_json(c);
            }
            out.push(row)?;
        }
    }
    out.finish()
}

/// One line for a person: `recent  true → false at 2026-03-31T10:00:00.000001Z (window: purchase at …)`.
fn describe(id: &str, now: &str, next: Option<&Change>) -> String {
    match next {
        None => format!("{id}: {now}, no change within the horizon"),
        Some(c) => {
            let mut s = format!(
                "{id}: {now} until {}, then {} ({}",
                format_timestamp(c.at),
                c.outcome.as_str(),
                c.cause.kind.as_str()
            );
            if let Some(seg) = &c.cause.segment {
                let _ = write!(s, ": segment {seg}");
            }
            if let Some((name, at)) = &c.cause.event {
                let _ = write!(s, ": {name} at {}", format_timestamp(*at));
            }
            s.push(')');
            s
        }
    }
}

/// `segcore timeline`.
pub fn timeline(input: &Input, from: &str, to: &str, plot: Option<&Path>, json: bool) -> CliResult<()> {
    guard_outputs(input, &[plot])?;
    let l = load(input)?;
    let cx = EvalContext::parse(from).map_err(|e| core_error("--from", &e))?.with_fx(l.fx.clone());
    let to = segcore::parse_as_of(to).map_err(|e| core_error("--to", &e))?;
    let program = l.registry.program();
    let human = !json && input.out.is_none() && l.profiles.len() == 1;
    let mut out = Lines { path: input.out.clone(), text: String::new() };
    let targets: Vec<&str> = l.targets.iter().map(String::as_str).collect();
    // Every profile's timelines, on every core; then written in input order.
    let timelines = program.timelines(&targets, &l.profiles, cx.as_of, to, &cx).map_err(|e| e.to_string())?;
    let mut all: BTreeMap<&str, Vec<Timeline>> = BTreeMap::new();
    for (p, row) in l.profiles.iter().zip(timelines) {
        for (id, t) in targets.iter().zip(row) {
            if human {
                productln!("{id}: {} at {}", t.outcome.as_str(), format_timestamp(t.from))?;
                for c in &t.changes {
                    productln!("  {}", describe_change(c))?;
                }
            } else {
                for c in &t.changes {
                    let mut row = change_json(c);
                    row["entity_id"] = p.id().into();
                    row["segment_id"] = (*id).into();
                    out.push(row)?;
                }
            }
            if plot.is_some() {
                all.entry(id).or_default().push(t);
            }
        }
    }
    out.finish()?;
    if let Some(path) = plot {
        let svg = members_svg(&all, cx.as_of, to);
        write_file(path, &svg)?;
        reportln!("wrote {} (members over time, {} segment(s))", path.display(), all.len())?;
    }
    Ok(())
}

fn describe_change(c: &Change) -> String {
    let arrow = c.transition().map_or(String::new(), |t| format!(" [{t}]"));
    let mut s = format!("{} → {}{arrow} ({}", format_timestamp(c.at), c.outcome.as_str(), c.cause.kind.as_str());
    if let Some(seg) = &c.cause.segment {
        let _ = write!(s, ": segment {seg}");
    }
    if let Some((name, at)) = &c.cause.event {
        let _ = write!(s, ": {name} at {}", format_timestamp(*at));
    }
    s.push(')');
    s
}

/// Members at `from`, then (instant, members from then on) at every instant the count changes.
type Steps = (i64, Vec<(i64, i64)>);

/// Twelve distinguishable colours (ColorBrewer's Paired, reordered); a thirteenth segment dashes.
const PALETTE: [&str; 12] = [
    "#1f78b4", "#e31a1c", "#33a02c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3", "#fb9a99", "#b2df8a", "#fdbf6f",
    "#cab2d6", "#666666",
];

/// A line chart of members over time per segment (plain SVG: no plotting dependency).
fn members_svg(all: &BTreeMap<&str, Vec<Timeline>>, from: i64, to: i64) -> String {
    let (w, h, left, right, top, bottom) = (900.0, 420.0, 70.0, 190.0, 30.0, 50.0);
    let series: Vec<(&str, Steps)> = all.iter().map(|(id, ts)| (*id, segcore::temporal::member_counts(ts))).collect();
    let max = series
        .iter()
        .flat_map(|(_, (s, steps))| std::iter::once(*s).chain(steps.iter().map(|x| x.1)))
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |t: i64| left + (t - from) as f64 / (to - from).max(1) as f64 * (w - left - right);
    let y = |n: i64| top + (1.0 - n as f64 / max as f64) * (h - top - bottom);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = write!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = write!(s, r#"<text x="{left}" y="18" font-size="14">members over time</text>"#);
    // Axes, with the member count at the top and the span's ends below.
    let _ = write!(
        s,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/><line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        h - bottom,
        h - bottom,
        w - right,
        h - bottom
    );
    let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="end">{max}</text>"#, left - 6.0, top + 4.0);
    let _ = write!(s, r#"<text x="{}" y="{}" text-anchor="end">0</text>"#, left - 6.0, h - bottom + 4.0);
    for (t, anchor) in [(from, "start"), (to, "end")] {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
            x(t),
            h - bottom + 18.0,
            esc(&format_timestamp(t))
        );
    }
    for (i, (id, (start, steps))) in series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut points = format!("{:.1},{:.1}", x(from), y(*start));
        let mut last = *start;
        for (at, n) in steps {
            let _ = write!(points, " {:.1},{:.1} {:.1},{:.1}", x(*at), y(last), x(*at), y(*n));
            last = *n;
        }
        let _ = write!(points, " {:.1},{:.1}", x(to), y(last));
        let dash = if i >= PALETTE.len() { r#" stroke-dasharray="6 3""# } else { "" };
        let _ = write!(s, r#"<polyline fill="none" stroke="{color}" stroke-width="1.5"{dash} points="{points}"/>"#);
        let ly = top + 16.0 * i as f64;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}">{} ({last})</text>"#,
            w - right + 12.0,
            ly,
            w - right + 26.0,
            ly + 9.0,
            esc(id)
        );
    }
    s.push_str("</svg>\n");
    s
}

fn esc(text: &str) -> String {
    segcore::binding::html_escape(text)
}
