//! `segcore drift` (SPEC §25): daily members, entered, exited and churn per segment, by cause,
//! with z-score alerts — a terminal summary, CSV, Parquet, JSON lines and an HTML page of charts.

use std::path::PathBuf;
use std::sync::Arc;

use segcore::reconcile::{drift_with_progress, DriftCause, DriftOptions, DriftRow};

use crate::io::{core_error, CliResult};
use crate::out;

/// Arguments of `segcore drift`.
#[derive(clap::Args)]
pub struct DriftArgs {
    /// Registry folder of definitions (with --profiles).
    #[arg(long, required_unless_present = "log", conflicts_with = "log")]
    pub segments: Option<PathBuf>,
    /// Only these segments (repeatable); default: every segment.
    #[arg(long = "segment", value_name = "ID")]
    pub only: Vec<String>,
    /// Profiles table: JSONL, CSV or Parquet.
    #[arg(long, required_unless_present = "log", conflicts_with = "log")]
    pub profiles: Option<PathBuf>,
    /// Events table in long form, with --profiles.
    #[arg(long, requires = "profiles")]
    pub events: Option<PathBuf>,
    /// FX quotes JSON.
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// Entity schema.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// A membership log folder (`segcore stream`) instead of a registry and data: its committed,
    /// live transitions are counted directly (the range must end by its watermark).
    #[arg(long, value_name = "DIR")]
    pub log: Option<PathBuf>,
    /// With --json: write the lines here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub columns: crate::ColumnArgs,
    /// The first local day, YYYY-MM-DD.
    #[arg(long)]
    pub from: String,
    /// The day after the last one, YYYY-MM-DD (exclusive).
    #[arg(long)]
    pub to: String,
    /// Step length: `1d`, `7d`, … (whole days).
    #[arg(long, default_value = "1d")]
    pub every: String,
    /// The IANA zone whose local days are the steps (DST days are 23 or 25 hours).
    #[arg(long, default_value = "UTC")]
    pub zone: String,
    /// Trailing steps the z-score compares each step's churn with (at least 3).
    #[arg(long, default_value_t = 7)]
    pub window: usize,
    /// Alert when |z| exceeds this.
    #[arg(long, default_value_t = 3.0)]
    pub z: f64,
    /// Write the table as CSV.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// Write the table as Parquet.
    #[arg(long, value_name = "FILE")]
    pub parquet: Option<PathBuf>,
    /// Write a self-contained HTML page with a chart per segment (members; churn by cause).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print every row as a JSON line instead of the summary.
    #[arg(long)]
    pub json: bool,
}

const HEADER: [&str; 15] = [
    "segment",
    "day",
    "start",
    "members",
    "entered",
    "exited",
    "churn_pct",
    "entered_definition",
    "entered_data",
    "entered_time",
    "exited_definition",
    "exited_data",
    "exited_time",
    "z",
    "alert",
];

fn every_days(text: &str) -> CliResult<u32> {
    let bad = || {
        crate::io::error(
            segcore::ErrorKind::InvalidContext,
            format!("--every {text:?} is not a number of days like 1d or 7d"),
        )
    };
    let n: u32 = text.strip_suffix('d').ok_or_else(bad)?.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    Ok(n)
}

pub fn run(args: &DriftArgs) -> CliResult<()> {
    let outputs = [args.csv.as_deref(), args.parquet.as_deref(), args.html.as_deref(), args.out.as_deref()];
    let opts = DriftOptions {
        zone: args.zone.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
        every: every_days(&args.every)?,
        window: args.window,
        z: args.z,
    };
    let rows = match &args.log {
        Some(dir) => {
            for out in outputs.iter().flatten() {
                if out.starts_with(dir) {
                    return Err(crate::io::error(
                        segcore::ErrorKind::Io,
                        format!("{} is inside the log folder {}", out.display(), dir.display()),
                    ));
                }
            }
            let only: Vec<&str> = args.only.iter().map(String::as_str).collect();
            segcore::store::drift_from_log(dir, &only, &opts).map_err(|e| core_error(&dir.display().to_string(), &e))?
        }
        None => from_data(args, &outputs, &opts)?,
    };
    if let Some(p) = &args.csv {
        crate::over_time::write_file(p, &csv(&rows))?;
    }
    if let Some(p) = &args.parquet {
        parquet(p, &rows)?;
    }
    if let Some(p) = &args.html {
        crate::over_time::write_file(p, &html(&rows, &opts))?;
    }
    if args.json {
        // One JSON shape in every runtime: the bindings' rows.
        let mut text = String::new();
        if let serde_json::Value::Array(all) = segcore::binding::drift_json(&rows) {
            for r in all {
                text.push_str(&r.to_string());
                text.push('\n');
            }
        }
        match &args.out {
            Some(p) => crate::over_time::write_file(p, &text)?,
            None => out::product(&text)?,
        }
    } else {
        out::product(&summary(&rows))?;
    }
    Ok(())
}

/// Rows from a registry and data: one timeline per profile.
fn from_data(args: &DriftArgs, outputs: &[Option<&std::path::Path>], opts: &DriftOptions) -> CliResult<Vec<DriftRow>> {
    let t0 = std::time::Instant::now();
    let input = crate::over_time::Input {
        segments: args.segments.clone().ok_or("give --segments and --profiles, or --log")?,
        only: args.only.clone(),
        profile: None,
        profiles: args.profiles.clone(),
        events: args.events.clone(),
        fx: args.fx.clone(),
        schema: args.schema.clone(),
        out: args.out.clone(),
        columns: args.columns.clone(),
    };
    let l = crate::over_time::load_checked(&input, outputs)?;
    let loaded = t0.elapsed();
    let targets: Vec<&str> = l.targets.iter().map(String::as_str).collect();
    let bar = crate::run::Progress::new("timelines", l.profiles.len() * l.registry.program().len());
    let segments = l.registry.program().len();
    let rows = drift_with_progress(l.registry.program(), &targets, &l.profiles, &l.fx, opts, &|done, _| {
        bar.update(done * segments)
    })
    .map_err(|e| core_error("drift", &e))?;
    bar.finish();
    errln!(
        "  loaded {} profiles in {:.1}s; timelines and daily counts in {:.1}s",
        l.profiles.len(),
        loaded.as_secs_f64(),
        (t0.elapsed() - loaded).as_secs_f64()
    );
    Ok(rows)
}

fn csv(rows: &[DriftRow]) -> String {
    let mut out = HEADER.join(",") + "\n";
    for r in rows {
        let z = r.z.map(|z| format!("{z:.4}")).unwrap_or_default();
        out.push_str(&format!(
            "{},{},{},{},{},{},{:.4},{},{},{},{},{},{},{z},{}\n",
            csv_field(&r.segment),
            r.day,
            segcore::binding::format_timestamp(r.start),
            r.members,
            r.entered_total(),
            r.exited_total(),
            r.churn,
            r.entered[0],
            r.entered[1],
            r.entered[2],
            r.exited[0],
            r.exited[1],
            r.exited[2],
            r.alert
        ));
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn parquet(path: &std::path::Path, rows: &[DriftRow]) -> CliResult<()> {
    use arrow_array::{
        ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray, UInt64Array,
    };
    let u = |f: &dyn Fn(&DriftRow) -> u64| -> ArrayRef { Arc::new(UInt64Array::from_iter_values(rows.iter().map(f))) };
    let cols: Vec<(&str, ArrayRef)> = vec![
        ("segment", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.segment.as_str())))),
        ("day", Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.day.as_str())))),
        (
            "start",
            Arc::new(TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.start)).with_timezone("UTC")),
        ),
        ("members", u(&|r| r.members)),
        ("entered", u(&|r| r.entered_total())),
        ("exited", u(&|r| r.exited_total())),
        ("churn_pct", Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.churn)))),
        ("entered_definition", u(&|r| r.entered[0])),
        ("entered_data", u(&|r| r.entered[1])),
        ("entered_time", u(&|r| r.entered[2])),
        ("exited_definition", u(&|r| r.exited[0])),
        ("exited_data", u(&|r| r.exited[1])),
        ("exited_time", u(&|r| r.exited[2])),
        ("z", Arc::new(Float64Array::from(rows.iter().map(|r| r.z).collect::<Vec<_>>()))),
        ("alert", Arc::new(BooleanArray::from(rows.iter().map(|r| r.alert).collect::<Vec<_>>()))),
    ];
    let batch = RecordBatch::try_from_iter(cols).map_err(|e| format!("drift table: {e}"))?;
    crate::parquet_io::write(path, batch.schema(), [batch])
}

fn summary(rows: &[DriftRow]) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<22} {:>9} {:>9} {:>9} {:>9} {:>8}  {:>6} {:>6} {:>6}  alerts",
        "segment", "members", "→ last", "entered", "exited", "churn%", "defn", "data", "time"
    );
    let mut i = 0;
    while i < rows.len() {
        let seg = &rows[i].segment;
        let run: Vec<&DriftRow> = rows[i..].iter().take_while(|r| &r.segment == seg).collect();
        i += run.len();
        let first = run[0];
        let last = run[run.len() - 1];
        let end = last.members + last.entered_total() - last.exited_total();
        let (e, x): (u64, u64) =
            run.iter().map(|r| (r.entered_total(), r.exited_total())).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        let mean = run.iter().map(|r| r.churn).sum::<f64>() / run.len() as f64;
        let cause = |k: usize| run.iter().map(|r| r.entered[k] + r.exited[k]).sum::<u64>();
        let alerts: Vec<&str> = run.iter().filter(|r| r.alert).map(|r| r.day.as_str()).collect();
        let _ = writeln!(
            t,
            "{:<22} {:>9} {:>9} {:>9} {:>9} {:>8.2}  {:>6} {:>6} {:>6}  {}",
            seg,
            first.members,
            end,
            e,
            x,
            mean,
            cause(0),
            cause(1),
            cause(2),
            if alerts.is_empty() { "-".to_string() } else { alerts.join(" ") }
        );
    }
    t
}

const CAUSE_COLORS: [&str; 3] = ["#d1495b", "#00798c", "#edae49"];

/// One chart per segment: members (line) above churn by cause (stacked bars), inline SVG.
fn html(rows: &[DriftRow], opts: &DriftOptions) -> String {
    use std::fmt::Write as _;
    let esc = segcore::binding::html_escape;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><link rel=\"icon\" href=\"data:,\"><title>segcore drift</title><style>{}</style></head><body>",
        crate::report::CSS
    );
    let _ = write!(
        h,
        "<h1>Membership drift</h1><p>{} → {} (exclusive), local days of {}, every {} day(s); alerts at |z| &gt; {} over the trailing {} steps.</p>",
        esc(&opts.from),
        esc(&opts.to),
        esc(&opts.zone),
        opts.every,
        opts.z,
        opts.window
    );
    let _ = write!(h, "<p>");
    for (c, color) in DriftCause::ALL.iter().zip(CAUSE_COLORS) {
        let _ = write!(
            h,
            "<svg width=\"12\" height=\"12\"><rect width=\"12\" height=\"12\" fill=\"{color}\"/></svg> {} &nbsp; ",
            c.as_str()
        );
    }
    let _ = write!(
        h,
        "<svg width=\"12\" height=\"12\"><circle cx=\"6\" cy=\"6\" r=\"5\" fill=\"#cf222e\"/></svg> alert</p>"
    );
    let mut i = 0;
    while i < rows.len() {
        let seg = rows[i].segment.clone();
        let run: Vec<&DriftRow> = rows[i..].iter().take_while(|r| r.segment == seg).collect();
        i += run.len();
        let _ = write!(h, "<h2>{}</h2>", esc(&seg));
        h.push_str(&chart(&run));
        let alerts: Vec<&&DriftRow> = run.iter().filter(|r| r.alert).collect();
        if !alerts.is_empty() {
            let _ = write!(h, "<table class=\"rows\"><tr><th>alert</th><th class=\"n\">members</th><th class=\"n\">entered</th><th class=\"n\">exited</th><th class=\"n\">churn %</th><th class=\"n\">z</th></tr>");
            for r in alerts {
                let _ = write!(
                    h,
                    "<tr class=\"alert\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{}</td></tr>",
                    r.day,
                    r.members,
                    r.entered_total(),
                    r.exited_total(),
                    r.churn,
                    r.z.map_or("no spread".to_string(), |z| format!("{z:.1}"))
                );
            }
            h.push_str("</table>");
        }
    }
    h.push_str("</body></html>\n");
    h
}

fn chart(run: &[&DriftRow]) -> String {
    use std::fmt::Write as _;
    let (w, top, mid, bottom) = (960.0, 20.0, 150.0, 280.0);
    let n = run.len().max(1) as f64;
    let step = (w - 80.0) / n;
    // Members on their own range (a flat line at the top would hide a 2% change).
    let max_members = run.iter().map(|r| r.members).max().unwrap_or(0) as f64;
    let min_members = run.iter().map(|r| r.members).min().unwrap_or(0) as f64;
    let span = (max_members - min_members).max(1.0);
    let max_moves = run.iter().map(|r| r.entered_total() + r.exited_total()).max().unwrap_or(0).max(1) as f64;
    let x = |i: usize| 60.0 + step * (i as f64 + 0.5);
    let mut s = String::new();
    let _ = write!(s, "<svg class=\"drift\" width=\"{w}\" height=\"{}\" role=\"img\">", bottom + 30.0);
    // Members: a line over the top band.
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\">members</text>", top + 10.0);
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\">{}</text>", top + 26.0, max_members as u64);
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\">{}</text>", mid - 10.0, min_members as u64);
    let pts: Vec<String> = run
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!("{:.1},{:.1}", x(i), mid - 14.0 - (mid - 24.0 - top) * (r.members as f64 - min_members) / span)
        })
        .collect();
    let _ = write!(s, "<polyline fill=\"none\" stroke=\"#30638e\" stroke-width=\"2\" points=\"{}\"/>", pts.join(" "));
    // Moves (entered + exited) stacked by cause over the bottom band.
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\">moves</text>", mid + 14.0);
    let _ = write!(s, "<text x=\"4\" y=\"{}\" font-size=\"11\">{}</text>", mid + 30.0, max_moves as u64);
    for (i, r) in run.iter().enumerate() {
        let mut y = bottom;
        for (k, color) in CAUSE_COLORS.iter().enumerate() {
            let v = (r.entered[k] + r.exited[k]) as f64;
            if v == 0.0 {
                continue;
            }
            let hgt = (bottom - mid - 20.0) * v / max_moves;
            y -= hgt;
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{hgt:.1}\" fill=\"{color}\"><title>{} {}: {} moves</title></rect>",
                x(i) - step * 0.4,
                step * 0.8,
                r.day,
                DriftCause::ALL[k].as_str(),
                v
            );
        }
        if r.alert {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"5\" fill=\"#cf222e\"><title>alert {}</title></circle>",
                x(i),
                mid + 4.0,
                r.day
            );
        }
        if i == 0 || i + 1 == run.len() || (run.len() > 10 && i % (run.len() / 6).max(1) == 0) {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>",
                x(i),
                bottom + 16.0,
                r.day
            );
        }
    }
    let _ = write!(s, "<line x1=\"56\" x2=\"{}\" y1=\"{bottom}\" y2=\"{bottom}\" stroke=\"#999\"/>", w - 20.0);
    s.push_str("</svg>");
    s
}
