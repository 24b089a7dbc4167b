//! The `segcore` command: check, format, hash, evaluate and explain segment definitions, and a demo.

#[macro_use]
mod out;
mod audit_cmd;
mod demo;
mod diff_cmd;
mod drift_cmd;
mod format;
mod import_cmd;
mod io;
mod output;
mod over_time;
mod parquet_io;
mod reconcile_cmd;
mod report;
mod run;
mod serve;
mod stream_cmd;
mod why;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use segcore::{ErrorKind, EvalContext, FxRates, Registry, Schema, Segment, Severity};

use crate::io::{core_error, error, CliResult, Format};

#[derive(Parser)]
#[command(
    name = "segcore",
    version,
    about = "One canonical definition per audience segment, the same membership in every runtime."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate and type-check definitions (files or folders); non-zero exit on any error.
    Check {
        /// Definition files or registry folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Entity schema (YAML/JSON) to type-check against.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Also hold every change since this git ref to SPEC §26's version rules (CI): a change
        /// without the required bump, a version that goes down or is reused, an active segment
        /// referencing a deprecated or removed one — each an error, exit 1.
        #[arg(long, value_name = "REF")]
        against: Option<String>,
    },
    /// Format definition files canonically (in place), or check that they are.
    Fmt {
        /// Definition files or folders.
        paths: Vec<PathBuf>,
        /// Report files that are not formatted; change nothing; exit 1 if any.
        #[arg(long)]
        check: bool,
        /// Print the formatted files instead of writing them.
        #[arg(long, conflicts_with = "check")]
        stdout: bool,
        /// Format one rule given as text and print it.
        #[arg(long, conflicts_with_all = ["check", "stdout"])]
        rule: Option<String>,
    },
    /// Print the definition hash (SHA-256 of the canonical JSON) of each definition.
    Hash {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print the canonical JSON instead of the hash.
        #[arg(long)]
        canonical: bool,
    },
    /// Evaluate every segment of a registry over profiles and events; write membership rows.
    Eval(EvalArgs),
    /// Explain one profile's outcome for one segment as a tree of values.
    Explain {
        /// Registry folder.
        #[arg(long)]
        segments: PathBuf,
        /// Segment id.
        #[arg(long)]
        segment: String,
        /// One profile as a JSON file ({"id", "attributes", "events"}).
        #[arg(long, conflicts_with_all = ["profiles", "entity"])]
        profile: Option<PathBuf>,
        /// Profiles file (JSONL or CSV), with --entity.
        #[arg(long, requires = "entity")]
        profiles: Option<PathBuf>,
        /// Events file (JSONL or CSV), with --profiles.
        #[arg(long)]
        events: Option<PathBuf>,
        /// Entity id to explain, with --profiles.
        #[arg(long)]
        entity: Option<String>,
        /// Evaluation instant, RFC 3339 with offset.
        #[arg(long)]
        as_of: String,
        /// FX quotes JSON ({"EUR/USD": "1.08"}).
        #[arg(long)]
        fx: Option<PathBuf>,
        /// Entity schema.
        #[arg(long)]
        schema: Option<PathBuf>,
        /// Print the explanation as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        columns: ColumnArgs,
    },
    /// The next instant each profile's outcome changes if no new data arrives, exact to the
    /// microsecond, with the new outcome and its cause (SPEC §22).
    ///
    /// One profile (--profile) prints a line per segment; a table (--profiles), or --json,
    /// prints JSON lines: entity_id, segment_id, version, definition_hash, as_of, outcome,
    /// next_change ({at, previous, outcome, member, transition, cause, …} or null).
    NextChange {
        #[command(flatten)]
        input: over_time::Input,
        /// Evaluation instant, RFC 3339 with offset.
        #[arg(long)]
        as_of: String,
        /// How far to look: a duration such as 90d or 12h (default 3660d, at most 36600d).
        #[arg(long)]
        horizon: Option<String>,
        /// JSON lines even for one profile.
        #[arg(long)]
        json: bool,
    },
    /// Every change of outcome over [--from, --to) with its cause (SPEC §22); for a table,
    /// --plot writes an SVG of members over time per segment.
    ///
    /// JSON lines, one per change: entity_id, segment_id, at, previous, outcome, member,
    /// transition (entered/exited/null), cause, causeSegment, causeEvent, causeEventAt.
    Timeline {
        #[command(flatten)]
        input: over_time::Input,
        /// First instant (inclusive), RFC 3339 with offset.
        #[arg(long)]
        from: String,
        /// End (exclusive), RFC 3339 with offset.
        #[arg(long)]
        to: String,
        /// Write a chart of members over time per segment to this SVG file.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
        /// JSON lines even for one profile.
        #[arg(long)]
        json: bool,
    },
    /// Consume an events stream into a membership log (SPEC §23): exact transitions as the
    /// watermark advances, late events corrected, rejects in dead-letter.jsonl; resumable.
    Stream(stream_cmd::StreamArgs),
    /// Membership at an instant, reconstructed from a membership log (SPEC §23).
    Members(stream_cmd::MembersArgs),
    /// A membership log's committed records as JSON lines (emits, retractions, commits).
    Transitions {
        /// The membership-log folder.
        #[arg(long)]
        log: PathBuf,
    },
    /// Generate the SQL that computes the membership table of every segment in a registry.
    ///
    /// The query reads `profiles(id, <attributes>)` and `events(entity_id, seq, name, at,
    /// <properties>)` with the column types of --schema, and returns `entity_id, segment_id,
    /// version, definition_hash, as_of, member, outcome`. Constructs a dialect cannot express
    /// exactly are refused (exit 1) with their line:col; see SPEC.md §21.
    Sql(SqlArgs),
    /// The fingerprint of a member set (SPEC §24): `sfp1:…`, equal for equal sets in every
    /// runtime and in the SQL of every dialect (--sql prints that SQL). Reports duplicate,
    /// blank, padded and non-NFC ids instead of altering them.
    Fingerprint(reconcile_cmd::FingerprintArgs),
    /// Write a reconciliation sketch of a member set (a few KB: about 28 bytes per difference it
    /// can decode), to send to the other side of `segcore reconcile`.
    Sketch(reconcile_cmd::SketchArgs),
    /// Compare two member sets — id exports or sketches — and list exactly which ids differ:
    /// counts, overlap, Jaccard; exit 1 past --max-diff.
    Reconcile(Box<reconcile_cmd::ReconcileArgs>),
    /// Members, entered, exited and churn per segment per local day over a date range, each
    /// change attributed to definition, data or time, with z-score alerts (SPEC §25); CSV,
    /// Parquet, JSON lines and an HTML page of charts. One timeline per profile, not a
    /// re-evaluation per day.
    Drift(Box<drift_cmd::DriftArgs>),
    /// Definitions that claim to be the same segment (60 vs 90 days, USD vs EUR): their differing
    /// fields side by side and, on data, their members and pairwise overlap (SPEC §25).
    Audit(audit_cmd::AuditArgs),
    /// What changed between two registries (folders, files, or NEW against a git ref): per
    /// segment added/removed/changed, the changed fields and rule sub-expressions, the version
    /// bump each change requires (SPEC §26), and with --profiles who enters and leaves.
    Diff(Box<diff_cmd::DiffArgs>),
    /// Import rules written for other engines (JSON Logic, GrowthBook, Unleash, SQL `WHERE`
    /// clauses for DuckDB or PostgreSQL) as canonical definitions — exactly,
    /// or refused with the construct, where it is and why (SPEC §29).
    Import(Box<import_cmd::ImportArgs>),
    /// Export definitions as JSON Logic rules json-logic-js evaluates to segcore's membership,
    /// refusing what JSON Logic cannot express exactly (SPEC §29.3).
    Export(import_cmd::ExportArgs),
    /// A registry folder as one bundle file (SPEC §27): definitions, schema, a content hash;
    /// every runtime loads it (`Registry.from_bundle`, `Registry.fromBundle`).
    Bundle {
        /// Registry folder.
        segments: PathBuf,
        /// Entity schema the definitions are compiled against (carried in the bundle).
        #[arg(long)]
        schema: Option<PathBuf>,
        /// The bundle file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// The registry's dependency graph (DOT, Mermaid or SVG) and, per attribute, event and event
    /// property, the segments that read it.
    Deps {
        /// Registry folder.
        segments: PathBuf,
        /// `text` (readers per input), `dot`, `mermaid` or `svg`.
        #[arg(long, default_value = "text", value_parser = ["text", "dot", "mermaid", "svg"])]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Publish a registry (folder or bundle) over HTTP (SPEC §28): the bundle with an ETag, the
    /// segments and their published versions, a change feed, evaluation, health and metrics;
    /// republished whenever SOURCE changes.
    Serve(Box<serve::ServeArgs>),
    /// Generate a demo dataset, evaluate the bundled segments over it and print a summary.
    Demo {
        /// Output folder.
        #[arg(long, default_value = "segcore-demo")]
        out: PathBuf,
        /// Number of profiles to generate.
        #[arg(long, default_value_t = 100_000)]
        profiles: usize,
        /// Format of the generated data and of the membership table.
        #[arg(long, value_enum, default_value = "parquet")]
        format: demo::DataFormat,
    },
}

/// Arguments of `segcore eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// Registry folder of definitions.
    #[arg(long)]
    pub segments: PathBuf,
    /// Profiles: JSONL ({"id", "attributes", "events"?}: events may be embedded) or CSV (id +
    /// attribute columns).
    #[arg(long)]
    pub profiles: PathBuf,
    /// Events in long form: JSONL ({"entity_id", "name", "at", "properties"}) or CSV.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Evaluation instant, RFC 3339 with offset (never defaults to now).
    #[arg(long)]
    pub as_of: String,
    /// FX quotes JSON ({"EUR/USD": "1.08"}).
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// Entity schema to type-check definitions against.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Output file (.jsonl or .csv). A regular file is replaced atomically (through a symlink, the
    /// target is replaced); a device or FIFO (`/dev/stdout`) is written directly. Must not be an input.
    #[arg(long)]
    pub out: PathBuf,
    /// Output format (default: from the --out extension).
    #[arg(long, value_parser = ["jsonl", "csv"])]
    pub format: Option<String>,
    /// Input format of profiles and events (default: from extensions).
    #[arg(long, value_parser = ["jsonl", "csv"])]
    pub input_format: Option<String>,
    /// On an evaluation error (a missing FX quote, an overflow) go on with the other profiles:
    /// the failed profile × segment pairs get no membership row, the first errors are printed,
    /// and the exit status is 1. Without it, the first error stops the run with no output.
    #[arg(long)]
    pub keep_going: bool,
    /// With --keep-going: write every error as a JSON line (entity_id, segment_id, row, kind,
    /// message) to this file.
    #[arg(long, value_name = "FILE", requires = "keep_going")]
    pub errors: Option<PathBuf>,
    /// Parquet input: evaluate this many profiles at a time, writing each chunk's rows before
    /// reading the next, so a profiles file larger than memory can be evaluated (the events
    /// file is held whole, only the columns read). Same output whatever the size.
    #[arg(long, default_value_t = 262_144, value_name = "ROWS", value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_rows: u64,
    /// Merge the profiles of identifiers that name one entity (SPEC §25): one profile per
    /// canonical id, all its events, attributes of the canonical profile first.
    #[command(flatten)]
    pub identity: reconcile_cmd::IdentityArgs,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

/// Names of the columns segcore reads by role, for files that name them differently.
#[derive(clap::Args, Clone)]
pub struct ColumnArgs {
    /// The profiles' id column (CSV).
    #[arg(long, default_value = "id", value_name = "NAME")]
    pub id_column: String,
    /// The events' entity id column (CSV and JSONL).
    #[arg(long, default_value = "entity_id", value_name = "NAME")]
    pub entity_column: String,
    /// The events' name column (CSV).
    #[arg(long, default_value = "name", value_name = "NAME")]
    pub name_column: String,
    /// The events' time column (CSV; RFC 3339 with an offset).
    #[arg(long, default_value = "at", value_name = "NAME")]
    pub at_column: String,
}

impl ColumnArgs {
    fn columns(&self) -> segcore::ingest::Columns {
        segcore::ingest::Columns {
            id: self.id_column.clone(),
            entity_id: self.entity_column.clone(),
            name: self.name_column.clone(),
            at: self.at_column.clone(),
        }
    }
}

/// Arguments of `segcore sql`.
#[derive(clap::Args)]
pub struct SqlArgs {
    /// Target dialect.
    #[arg(long, value_parser = ["duckdb", "postgres", "spark", "bigquery", "snowflake"])]
    pub dialect: String,
    /// Registry folder of definitions.
    #[arg(long)]
    pub segments: PathBuf,
    /// Entity schema (YAML/JSON): the input tables' column types. Required: SQL columns are typed.
    #[arg(long)]
    pub schema: PathBuf,
    /// Evaluation instant, RFC 3339 with offset (written into the query).
    #[arg(long)]
    pub as_of: String,
    /// FX quotes JSON ({"EUR/USD": "1.08"}), written into the query.
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// Name of the profiles table.
    #[arg(long, default_value = "profiles")]
    pub profiles_table: String,
    /// Name of the events table.
    #[arg(long, default_value = "events")]
    pub events_table: String,
    /// Also print CREATE TABLE statements for the input tables, before the query.
    #[arg(long)]
    pub ddl: bool,
    /// Write the SQL to this file (atomically) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Return each segment's membership fingerprint (SPEC §24: `segment_id, fingerprint`)
    /// instead of the membership rows, to compare with `segcore fingerprint` of another system.
    #[arg(long)]
    pub fingerprint: bool,
    /// With --fingerprint: the comparison key.
    #[arg(long, default_value = "segcore", requires = "fingerprint")]
    pub key: String,
}

fn sql_command(args: &SqlArgs) -> CliResult<()> {
    if let Some(out) = &args.out {
        let segments = output::segment_files(&args.segments);
        let mut inputs: Vec<(&str, &Path)> = vec![("--schema", &args.schema)];
        inputs.extend(args.fx.as_deref().map(|p| ("--fx", p)));
        inputs.extend(segments.iter().map(|p| ("--segments", p.as_path())));
        output::ensure_not_an_input(out, &inputs)?;
    }
    let schema = load_schema(Some(&args.schema))?;
    let registry = load_registry(&args.segments, schema.as_ref())?;
    let as_of = segcore::parse_as_of(&args.as_of).map_err(|e| core_error("--as-of", &e))?;
    let dialect: segcore::sql::Dialect = args.dialect.parse().map_err(|e| error(ErrorKind::InvalidContext, e))?;
    let mut opts = segcore::sql::SqlOptions::new(dialect, as_of);
    opts.fx = load_fx(args.fx.as_deref())?;
    opts.profiles_table = args.profiles_table.clone();
    opts.events_table = args.events_table.clone();
    let query = segcore::sql::to_sql(registry.program(), &opts).map_err(|e| {
        format!(
            "{} construct(s) in {} cannot be generated as {dialect} SQL:\n{e}",
            e.diagnostics().len(),
            args.segments.display()
        )
    })?;
    let mut text = String::new();
    if args.ddl {
        text.push_str(&query.ddl(&opts));
        text.push('\n');
    }
    if args.fingerprint {
        let key = segcore::reconcile::Key::new(&args.key).map_err(|e| core_error("--key", &e))?;
        let source = segcore::sql::FingerprintSource::Membership(&query.sql);
        text.push_str(&segcore::sql::fingerprint_sql(dialect, &key, &source));
    } else {
        text.push_str(&query.sql);
    }
    text.push_str(";\n");
    match &args.out {
        Some(path) => {
            use std::io::Write as _;
            let mut file = output::OutputFile::create(path)?;
            file.writer.write_all(text.as_bytes()).map_err(|e| file.error(format!("cannot write: {e}")))?;
            file.commit()
        }
        None => out::product(&text),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { paths, schema, against } => check(&paths, schema.as_deref(), against.as_deref()),
        Command::Fmt { paths, check, stdout, rule } => format::fmt(&paths, check, stdout, rule.as_deref()),
        Command::Hash { paths, canonical } => hash(&paths, canonical),
        Command::Eval(args) => eval_command(&args),
        Command::Explain { segments, segment, profile, profiles, events, entity, as_of, fx, schema, json, columns } => {
            explain(
                &segments,
                &segment,
                profile.as_deref(),
                profiles.as_deref(),
                events.as_deref(),
                entity.as_deref(),
                &as_of,
                fx.as_deref(),
                schema.as_deref(),
                json,
                &columns.columns(),
            )
        }
        Command::NextChange { input, as_of, horizon, json } => {
            over_time::next_change(&input, &as_of, horizon.as_deref(), json)
        }
        Command::Timeline { input, from, to, plot, json } => {
            over_time::timeline(&input, &from, &to, plot.as_deref(), json)
        }
        Command::Stream(args) => stream_cmd::stream(&args),
        Command::Members(args) => stream_cmd::members(&args),
        Command::Transitions { log } => stream_cmd::transitions(&log),
        Command::Sql(args) => sql_command(&args),
        Command::Fingerprint(args) => reconcile_cmd::fingerprint(&args),
        Command::Sketch(args) => reconcile_cmd::sketch(&args),
        Command::Reconcile(args) => reconcile_cmd::reconcile(&args),
        Command::Drift(args) => drift_cmd::run(&args),
        Command::Audit(args) => audit_cmd::run(&args),
        Command::Diff(args) => diff_cmd::run(&args),
        Command::Deps { segments, format, out } => deps(&segments, &format, out.as_deref()),
        Command::Import(args) => import_cmd::run(&args),
        Command::Export(args) => import_cmd::export(&args),
        Command::Bundle { segments, schema, out } => diff_cmd::bundle(&segments, schema.as_deref(), &out),
        Command::Serve(args) => serve::serve(&args),
        Command::Demo { out, profiles, format } => demo::run(&out, profiles, format),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output has gone (`segcore hash | head -1`): a quiet success, as in ripgrep.
        Err(msg) if msg == out::STDOUT_CLOSED => ExitCode::SUCCESS,
        Err(msg) => {
            if !msg.is_empty() {
                errln!("segcore: {msg}");
            }
            ExitCode::FAILURE
        }
    }
}

fn load_schema(path: Option<&Path>) -> CliResult<Option<Schema>> {
    let Some(path) = path else { return Ok(None) };
    let text = io::read_document(path, ErrorKind::InvalidSchema)?;
    Schema::from_yaml_str(&text).map(Some).map_err(|e| core_error(&path.display().to_string(), &e))
}

fn load_fx(path: Option<&Path>) -> CliResult<FxRates> {
    let Some(path) = path else {
        return Ok(FxRates::new());
    };
    let text = io::read_document(path, ErrorKind::InvalidContext)?;
    FxRates::from_json_str(&text).map_err(|e| core_error(&path.display().to_string(), &e))
}

fn load_registry(path: &Path, schema: Option<&Schema>) -> CliResult<Registry> {
    // A bundle file (SPEC §27) is a whole registry with its own schema.
    if path.is_file() {
        let mut head = [0u8; 256];
        let n = std::fs::File::open(path).and_then(|mut f| std::io::Read::read(&mut f, &mut head)).unwrap_or(0);
        let head = String::from_utf8_lossy(&head[..n]);
        if head.trim_start().starts_with('{') && head.contains("\"format\": \"segcore-bundle/") {
            let text = io::read_document(path, ErrorKind::BundleInvalid)?;
            return Registry::from_bundle(&text).map_err(|e| format!("{}:\n{e}", path.display()));
        }
    }
    Registry::load(path, schema)
        .map_err(|e| format!("{} problem(s) in {}:\n{e}", e.diagnostics().len(), path.display()))
}

fn check(paths: &[PathBuf], schema: Option<&Path>, against: Option<&str>) -> CliResult<()> {
    let schema = load_schema(schema)?;
    let mut failed = false;
    if let Some(rev) = against {
        for path in paths {
            let problems = diff_cmd::check_against(path, rev, schema.as_ref())?;
            if problems > 0 {
                failed = true;
            } else {
                reportln!("ok: {} — every change since {rev} carries the version bump it needs", path.display())?;
            }
        }
    }
    for path in paths {
        match load_registry(path, schema.as_ref()) {
            Ok(reg) => {
                let mut warnings = 0;
                let versions = reg.versions();
                // Versions side by side (SPEC §1): each later version carries the bump its change
                // from the one before requires (§26).
                let mut bad = false;
                for pair in versions.windows(2).filter(|w| w[0].id() == w[1].id()) {
                    let d = segcore::diff::between(pair[0], pair[1]);
                    if let Some((kind, message)) = &d.problem {
                        bad = true;
                        errln!("error[{kind}] {}: {message}", path.display());
                    }
                }
                if bad {
                    failed = true;
                    continue;
                }
                for &seg in &versions {
                    for id in &seg.read_set().segments {
                        if let Some(dep) = reg.get(id) {
                            let status = dep.definition().status;
                            if status != segcore::Status::Active {
                                warnings += 1;
                                errln!("warning: {} references `{id}`, which is {}", seg.id(), status.as_str());
                            }
                        }
                    }
                    for w in seg.warnings().iter().filter(|w| w.severity == Severity::Warning) {
                        warnings += 1;
                        errln!("{w}");
                    }
                }
                let side_by_side = versions.len() - reg.len();
                reportln!(
                    "ok: {} — {} definition(s){}{}{}",
                    path.display(),
                    versions.len(),
                    if side_by_side > 0 {
                        format!(" ({} segments; {side_by_side} later version(s) side by side)", reg.len())
                    } else {
                        String::new()
                    },
                    if schema.is_some() { ", type-checked against the schema" } else { "" },
                    if warnings > 0 { format!(", {warnings} warning(s)") } else { String::new() }
                )?;
            }
            Err(msg) => {
                failed = true;
                errln!("{msg}");
                // Without the schema it compiles: list what the schema breaks, references included.
                if let (Some(sch), Ok(reg)) = (schema.as_ref(), Registry::load(path, None)) {
                    let broken = segcore::deps::schema_impact(&reg, sch);
                    errln!("the schema breaks {} of {} segment(s):", broken.len(), reg.len());
                    for b in broken {
                        errln!("  {}: {}", b.segment, b.why.join("; "));
                    }
                }
            }
        }
    }
    if failed {
        Err(String::new())
    } else {
        Ok(())
    }
}

fn deps(segments: &Path, format: &str, out: Option<&Path>) -> CliResult<()> {
    if let Some(o) = out {
        let files = output::segment_files(segments);
        let inputs: Vec<(&str, &Path)> = files.iter().map(|p| ("--segments", p.as_path())).collect();
        output::ensure_not_an_input(o, &inputs)?;
    }
    let reg = load_registry(segments, None)?;
    let d = segcore::deps::dependencies(&reg);
    let text = match format {
        "dot" => d.to_dot(),
        "mermaid" => d.to_mermaid(),
        "svg" => d.to_svg(),
        _ => {
            use std::fmt::Write as _;
            let mut t = String::new();
            for (input, readers) in &d.readers {
                let _ = writeln!(t, "{input:<40} {}", readers.join(", "));
            }
            for (a, b) in &d.references {
                let _ = writeln!(t, "{:<40} {a}", format!("segment {b}"));
            }
            t
        }
    };
    match out {
        Some(path) => over_time::write_file(path, &text),
        None => out::product(&text),
    }
}

fn hash(paths: &[PathBuf], canonical: bool) -> CliResult<()> {
    for path in paths {
        let reg = load_registry(path, None)?;
        // Every version side by side (SPEC §1), each its own definition and hash.
        for seg in reg.versions() {
            if canonical {
                productln!("{}", seg.canonical_json())?;
            } else {
                productln!("{}  {}@{}", seg.definition_hash(), seg.id(), seg.version())?;
            }
        }
    }
    Ok(())
}

/// `segcore eval` (also the demo's main job).
pub fn eval_command(args: &EvalArgs) -> CliResult<()> {
    // Before anything is read or written: the output must not be one of the inputs.
    let segments = output::segment_files(&args.segments);
    let mut inputs: Vec<(&str, &Path)> = vec![("--profiles", &args.profiles)];
    inputs.extend(args.events.as_deref().map(|p| ("--events", p)));
    inputs.extend(args.fx.as_deref().map(|p| ("--fx", p)));
    inputs.extend(args.schema.as_deref().map(|p| ("--schema", p)));
    inputs.extend(segments.iter().map(|p| ("--segments", p.as_path())));
    output::ensure_not_an_input(&args.out, &inputs)?;
    if let Some(errors) = &args.errors {
        output::ensure_not_an_input(errors, &inputs)?;
        if errors == &args.out {
            return Err(error(ErrorKind::Io, "--errors and --out must be different files"));
        }
    }
    let schema = load_schema(args.schema.as_deref())?;
    let registry = load_registry(&args.segments, schema.as_ref())?;
    let mut cx = EvalContext::parse(&args.as_of).map_err(|e| core_error("--as-of", &e))?;
    cx.fx = load_fx(args.fx.as_deref())?;
    let out_format = Format::detect(&args.out, args.format.as_deref())?;
    let t0 = Instant::now();
    let cols = args.columns.columns();
    let profiles_format = Format::detect(&args.profiles, args.input_format.as_deref())?;
    let events_format = match &args.events {
        Some(p) => Some(Format::detect(p, args.input_format.as_deref())?),
        None => None,
    };
    // The output is written as the evaluation goes (chunk by chunk for Parquet input) and only
    // committed when the run succeeds.
    let mut out_file = output::OutputFile::create(&args.out)?;
    let mut writer = run::MembershipWriter::new(&mut out_file, &args.out, out_format)?;
    let parquet = profiles_format == Format::Parquet || events_format == Some(Format::Parquet);
    // Merging identities needs whole profiles: the row path, not the chunked columnar route.
    let (run, n_profiles, eval_time, t2) = if parquet && args.identity.identity.is_none() {
        if events_format.is_some_and(|f| f != profiles_format) {
            return Err(error(ErrorKind::Io, "--profiles and --events must both be Parquet files, or neither"));
        }
        // Only the columns the segments read are decoded.
        let read = registry.program().read_set();
        let events = match &args.events {
            Some(p) => {
                let mut wanted: std::collections::BTreeSet<String> =
                    read.event_properties.values().flatten().cloned().collect();
                wanted.extend([cols.entity_id.clone(), cols.name.clone(), cols.at.clone()]);
                Some(parquet_io::read(p, Some(&wanted))?)
            }
            None => None,
        };
        let n_events: usize = events.iter().flatten().map(|b| b.num_rows()).sum();
        errln!(
            "  loaded {n_events} events in {:.1}s; profiles are read as they are evaluated",
            t0.elapsed().as_secs_f64()
        );
        let t1 = Instant::now();
        let chunk_rows = usize::try_from(args.chunk_rows).unwrap_or(usize::MAX);
        let (run, n_profiles) = run::evaluate_parquet(
            registry.program(),
            &args.profiles,
            events.as_deref(),
            &cols,
            &cx,
            args.keep_going,
            chunk_rows,
            &mut writer,
        )?;
        if run.unmatched_events > 0 {
            errln!("  note: {} events name an entity with no profile row; they were ignored", run.unmatched_events);
        }
        // Rows were written as the chunks were evaluated (in the evaluation's time).
        (run, n_profiles, t1.elapsed(), Instant::now())
    } else {
        let mut profiles = if parquet {
            if events_format.is_some_and(|f| f != profiles_format) || profiles_format != Format::Parquet {
                return Err(error(ErrorKind::Io, "--profiles and --events must both be Parquet files, or neither"));
            }
            let read = registry.program().read_set();
            let batches = parquet_io::read_profiles_for(&args.profiles, &read, &cols)?;
            let events = args.events.as_deref().map(|e| parquet_io::read_events_for(e, &read, &cols)).transpose()?;
            segcore::ingest_arrow::profiles_from_batches(&batches, events.as_deref(), &cols, &read)
                .map_err(|e| core_error(&args.profiles.display().to_string(), &e))?
        } else {
            let events = match (&args.events, events_format) {
                (Some(p), Some(f)) => io::read_events(p, f, &cols)?,
                _ => Vec::new(),
            };
            io::read_profiles(&args.profiles, profiles_format, events, &cols)?
        };
        if let Some(map) = args.identity.load()? {
            let before = profiles.len();
            let (merged, conflicts) = map.merge_profiles(profiles);
            profiles = merged;
            errln!("  identity: {before} profiles merged into {} entities", profiles.len());
            for (id, attr) in conflicts.iter().take(5) {
                errln!("  warning: {id}: attribute `{attr}` differs between merged profiles; the first (canonical, then by identifier) is kept");
            }
            if conflicts.len() > 5 {
                errln!("  warning: … {} attribute conflicts in all", conflicts.len());
            }
        }
        // Counted on the profiles: events embedded in profile lines count too.
        let n_events: usize = profiles.iter().map(segcore::Profile::event_count).sum();
        errln!("  loaded {} profiles and {n_events} events in {:.1}s", profiles.len(), t0.elapsed().as_secs_f64());
        let t1 = Instant::now();
        let run = run::evaluate_all(registry.program(), &profiles, &cx, args.keep_going)?;
        let eval_time = t1.elapsed();
        let t2 = Instant::now();
        writer.write(&run)?;
        let n = profiles.len();
        // Millions of small maps and strings: freeing them one by one costs more than a tenth
        // of the run, and the process ends right after the summary.
        std::mem::forget(profiles);
        (run::Summary::of(&run), n, eval_time, t2)
    };
    writer.finish()?;
    out_file.commit()?;
    if let Some(path) = &args.errors {
        run::write_errors(path, &run)?;
    }
    let rows = n_profiles * registry.len() - run.errors.len();
    out::report("\n")?;
    run::print_summary(&run, n_profiles)?;
    reportln!(
        "\n{} profiles × {} segments evaluated in {:.2}s ({:.0} profile-segments/s); {rows} rows written to {} in {:.1}s",
        n_profiles,
        registry.len(),
        eval_time.as_secs_f64(),
        rows as f64 / eval_time.as_secs_f64().max(1e-9),
        args.out.display(),
        t2.elapsed().as_secs_f64()
    )?;
    run::report_errors(&run, args.errors.as_deref())
}

#[allow(clippy::too_many_arguments)]
fn explain(
    segments: &Path,
    segment: &str,
    profile: Option<&Path>,
    profiles: Option<&Path>,
    events: Option<&Path>,
    entity: Option<&str>,
    as_of: &str,
    fx: Option<&Path>,
    schema: Option<&Path>,
    json: bool,
    cols: &segcore::ingest::Columns,
) -> CliResult<()> {
    let schema = load_schema(schema)?;
    let registry = load_registry(segments, schema.as_ref())?;
    if registry.get(segment).is_none() {
        let ids: Vec<&str> = registry.segments().iter().map(Segment::id).collect();
        return Err(error(
            ErrorKind::UnknownSegment,
            format!("no segment `{segment}` in {} (have: {})", segments.display(), ids.join(", ")),
        ));
    }
    let mut cx = EvalContext::parse(as_of).map_err(|e| core_error("--as-of", &e))?;
    cx.fx = load_fx(fx)?;
    let p = match (profile, profiles, entity) {
        (Some(path), _, _) => {
            let text = io::read_document(path, ErrorKind::InvalidProfile)?;
            segcore::Profile::from_json_str(&text).map_err(|e| core_error(&path.display().to_string(), &e))?
        }
        (None, Some(path), Some(id)) if Format::detect(path, None)? == Format::Parquet => {
            // The tables as Arrow, read by the core's Arrow reader; then the one profile.
            let profiles = parquet_io::read(path, None)?;
            let events = events.map(|e| parquet_io::read(e, None)).transpose()?;
            let read = registry.program().read_set();
            let all = segcore::ingest_arrow::profiles_from_batches(&profiles, events.as_deref(), cols, &read)
                .map_err(|e| core_error(&path.display().to_string(), &e))?;
            all.into_iter().find(|p| p.id() == id).ok_or_else(|| {
                error(ErrorKind::InvalidProfile, format!("{}: no profile with id `{id}`", path.display()))
            })?
        }
        (None, Some(path), Some(id)) => {
            let mut p = io::find_profile(path, Format::detect(path, None)?, id, cols)?.ok_or_else(|| {
                error(ErrorKind::InvalidProfile, format!("{}: no profile with id `{id}`", path.display()))
            })?;
            if let Some(e) = events {
                for r in io::read_events(e, Format::detect(e, None)?, cols)?.into_iter().filter(|r| r.entity == id) {
                    p.push_event(&r.name, r.at, r.properties).map_err(|err| {
                        error(err.kind(), format!("{}:{}: {}", r.source, r.line, err.first().message))
                    })?;
                }
                p.finish();
            }
            p
        }
        _ => return Err("give --profile FILE, or --profiles FILE with --entity ID".into()),
    };
    let ex = registry.explain(segment, &p, &cx).map_err(|e| e.to_string())?;
    if json {
        productln!("{}", serde_json::to_string_pretty(&ex.to_json()).unwrap_or_default())
    } else {
        out::product(&ex.to_string())
    }
}
