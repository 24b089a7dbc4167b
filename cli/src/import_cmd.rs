//! `segcore import`: rules written for other engines → canonical definitions, exactly or refused
//! with the reason (SPEC §29). One rule (`INPUT`, `-` for stdin) prints its definition; `--audit
//! DIR` inventories a folder of rules and writes the definitions that import to a registry folder.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use segcore::import::{self, Format, Imported, Options, Status};
use segcore::ErrorKind;
use segcore::Registry;

use crate::io::{core_error, error, read_document, CliResult};

/// Arguments of `segcore import`.
#[derive(clap::Args)]
pub struct ImportArgs {
    /// The rule file (`-`: standard input). Not with --audit.
    #[arg(required_unless_present = "audit", conflicts_with = "audit")]
    pub input: Option<PathBuf>,
    /// The rule's format: jsonlogic (json-logic-js 2.0.5), growthbook (a targeting condition,
    /// @growthbook/growthbook 1.8.0), unleash (a feature toggle, as yggdrasil evaluates it) or sql
    /// (`SELECT id FROM profiles WHERE …`, or the WHERE expression alone; SPEC §29.5).
    #[arg(long = "from", value_name = "FORMAT", required_unless_present = "audit")]
    pub from: Option<String>,
    /// Import schema (YAML/JSON, SPEC §18; attribute names may be dotted paths): the type of
    /// every attribute the rules read. Rules that read data need it.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// GrowthBook saved groups (JSON: group id → values), inlined into `$inGroup`/`$notInGroup`
    /// as they are now.
    #[arg(long, value_name = "FILE")]
    pub saved_groups: Option<PathBuf>,
    /// The Unleash feature to import from a document with several.
    #[arg(long)]
    pub toggle: Option<String>,
    /// SQL: the engine whose semantics the import keeps, duckdb (DuckDB 2.0) or postgres
    /// (PostgreSQL 15). With --audit, `*.duckdb.sql`/`*.postgres.sql` name their own.
    #[arg(long, default_value = "duckdb")]
    pub dialect: String,
    /// SQL: the session TimeZone the query runs in (CURRENT_DATE, TIMESTAMP literals, day
    /// intervals); it becomes the definition's `timezone`.
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// SQL: table and column names as JSON, `{"profiles": …, "events": …, "id": …, "entity_id":
    /// …, "name": …, "at": …, "columns": {"COLUMN": "attribute"}}` (defaults: the tables
    /// `segcore sql` writes, columns named as the attributes).
    #[arg(long, value_name = "FILE")]
    pub tables: Option<PathBuf>,
    /// The definition's id (default: `imported`; with --audit, each file's name).
    #[arg(long)]
    pub id: Option<String>,
    /// Write the definition here instead of standard output (with --audit: the registry folder
    /// the definitions are written to; required).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the report(s) as JSON to this file (`-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Inventory a folder of rules (`*.jsonlogic.json` or plain `*.json`: JSON Logic;
    /// `*.growthbook.json`: a GrowthBook condition; `*.unleash.json`: one Unleash feature;
    /// `*.sql`: one SQL query, `*.duckdb.sql`/`*.postgres.sql` naming the dialect): one row per rule with its status, and the
    /// definitions that import written to --out.
    #[arg(long, value_name = "DIR")]
    pub audit: Option<PathBuf>,
    /// Exit 0 even when something was refused (the refusals are still reported; nothing refused
    /// is ever written).
    #[arg(long)]
    pub partial: bool,
}

fn options(args: &ImportArgs) -> CliResult<Options> {
    let mut o = Options::new();
    if let Some(path) = &args.schema {
        let text = read_document(path, ErrorKind::InvalidSchema)?;
        o = o.schema_str(&text).map_err(|e| core_error(&path.display().to_string(), &e))?;
    }
    if let Some(path) = &args.saved_groups {
        let text = read_document(path, ErrorKind::ImportInvalid)?;
        let at = path.display().to_string();
        let groups: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| error(ErrorKind::ImportInvalid, format!("{at}: saved groups are not JSON: {e}")))?;
        o = o.saved_groups(&groups).map_err(|e| core_error(&at, &e))?;
    }
    if let Some(path) = &args.tables {
        let text = read_document(path, ErrorKind::ImportInvalid)?;
        let at = path.display().to_string();
        let tables: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| error(ErrorKind::ImportInvalid, format!("{at}: the table names are not JSON: {e}")))?;
        o = o.tables(&tables).map_err(|e| core_error(&at, &e))?;
    }
    Ok(o.dialect(&args.dialect).timezone(&args.timezone))
}

fn format_of(name: &str) -> CliResult<Format> {
    name.parse::<Format>().map_err(|e| error(e.kind(), e.first().message.clone()))
}

/// A one-line summary of a report for people.
fn summary(imported: &Imported) -> String {
    let r = &imported.report;
    match r.status {
        Status::Exact => "exact".into(),
        Status::ExactUnder => format!(
            "exact under {}",
            r.assumptions.keys().map(|a| format!("{} ({})", a.as_str(), a.statement())).collect::<Vec<_>>().join(", ")
        ),
        Status::Refused => {
            let f = &r.refusals[0];
            format!("refused at {} `{}`: {}", if f.path.is_empty() { "/" } else { &f.path }, f.construct, f.reason)
        }
    }
}

fn write_report(path: &Path, value: &serde_json::Value) -> CliResult<()> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default() + "\n";
    if path == Path::new("-") {
        return crate::out::product(&text);
    }
    std::fs::write(path, text).map_err(|e| error(ErrorKind::Io, format!("{}: cannot write: {e}", path.display())))
}

pub fn run(args: &ImportArgs) -> CliResult<()> {
    if let Some(dir) = &args.audit {
        return audit(args, dir);
    }
    let format = format_of(args.from.as_deref().unwrap_or_default())?;
    let input = args.input.as_deref().unwrap_or(Path::new("-"));
    let (origin, text) = if input == Path::new("-") {
        let mut s = String::new();
        std::io::stdin()
            .take(segcore::limits::MAX_RECORD_BYTES as u64 + 1)
            .read_to_string(&mut s)
            .map_err(|e| error(ErrorKind::Io, format!("standard input: {e}")))?;
        ("<stdin>".to_string(), s)
    } else {
        (input.display().to_string(), read_document(input, ErrorKind::ImportInvalid)?)
    };
    let mut opts = options(args)?;
    if let Some(id) = &args.id {
        opts = opts.id(id);
    }
    if let Some(t) = &args.toggle {
        opts = opts.toggle(t);
    }
    let imported = import::import(format, &text, &opts).map_err(|e| core_error(&origin, &e))?;
    if let Some(path) = &args.report {
        write_report(path, &imported.report.to_json())?;
    }
    errln!("{origin}: {}", summary(&imported));
    let Some(yaml) = &imported.yaml else {
        if let Some(e) = imported.report.error() {
            for d in e.diagnostics() {
                errln!("{}", error(d.kind, format!("{origin}: {}", d.message)));
            }
        }
        return if args.partial { Ok(()) } else { Err(String::new()) };
    };
    match &args.out {
        Some(path) => std::fs::write(path, yaml)
            .map_err(|e| error(ErrorKind::Io, format!("{}: cannot write: {e}", path.display()))),
        None => crate::out::product(yaml),
    }
}

/// A definition id from a file name: lowercase, `[a-z][a-z0-9_]*`, at most 64 bytes.
fn id_from(name: &str) -> String {
    let mut id: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id.insert_str(0, "r_");
    }
    id.truncate(64);
    id
}

/// The rule files of a folder (sorted) and their formats.
/// A rule file of an audit: its path, format, definition id and (SQL) dialect.
type RuleFile = (PathBuf, Format, String, Option<&'static str>);

fn rule_files(dir: &Path) -> CliResult<Vec<RuleFile>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| error(ErrorKind::Io, format!("{}: cannot read: {e}", dir.display())))?;
    let mut files = vec![];
    for entry in entries {
        let path = entry.map_err(|e| error(ErrorKind::Io, format!("{}: {e}", dir.display())))?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
        if !path.is_file() {
            continue;
        }
        let mut dialect = None;
        let (stem, format) = if let Some(s) = name.strip_suffix(".growthbook.json") {
            (s, Format::GrowthBook)
        } else if let Some(s) = name.strip_suffix(".duckdb.sql") {
            dialect = Some("duckdb");
            (s, Format::Sql)
        } else if let Some(s) = name.strip_suffix(".postgres.sql") {
            dialect = Some("postgres");
            (s, Format::Sql)
        } else if let Some(s) = name.strip_suffix(".sql") {
            (s, Format::Sql)
        } else if let Some(s) = name.strip_suffix(".unleash.json") {
            (s, Format::Unleash)
        } else if let Some(s) = name.strip_suffix(".jsonlogic.json") {
            (s, Format::JsonLogic)
        } else if let Some(s) = name.strip_suffix(".json") {
            (s, Format::JsonLogic)
        } else {
            continue;
        };
        files.push((path.clone(), format, id_from(stem), dialect));
    }
    files.sort();
    Ok(files)
}

fn audit(args: &ImportArgs, dir: &Path) -> CliResult<()> {
    let out = args
        .out
        .as_deref()
        .ok_or_else(|| error(ErrorKind::Io, "--audit needs --out: the registry folder to write the definitions to"))?;
    let base = options(args)?;
    let files = rule_files(dir)?;
    if files.is_empty() {
        return Err(error(
            ErrorKind::Io,
            format!(
                "{}: no rule files (*.json, *.jsonlogic.json, *.growthbook.json, *.unleash.json, *.sql)",
                dir.display()
            ),
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| error(ErrorKind::Io, format!("{}: cannot create: {e}", out.display())))?;
    let mut rows = vec![];
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut seen = BTreeMap::new();
    // A bar on stderr for large folders (indicatif draws nothing when stderr is not a terminal).
    let progress = indicatif::ProgressBar::with_draw_target(
        Some(files.len() as u64),
        indicatif::ProgressDrawTarget::stderr_with_hz(10),
    );
    for (path, format, mut id, dialect) in files {
        progress.inc(1);
        // Two files mapping to one id keep both: the later gets a suffix.
        let n = seen.entry(id.clone()).or_insert(0usize);
        *n += 1;
        if *n > 1 {
            id = format!("{id}_{n}");
        }
        let source = path.display().to_string();
        let mut opts = base.clone().id(&id);
        if let Some(d) = dialect {
            opts = opts.dialect(d);
        }
        let result = read_document(&path, ErrorKind::ImportInvalid)
            .and_then(|text| import::import(format, &text, &opts).map_err(|e| core_error(&source, &e)));
        let row = match result {
            Err(msg) => {
                *counts.entry("invalid").or_default() += 1;
                serde_json::json!({"source": source, "format": format.as_str(), "id": id, "status": "invalid", "error": msg})
            }
            Ok(imported) => {
                *counts.entry(imported.report.status.as_str()).or_default() += 1;
                let mut row = imported.report.to_json();
                row["source"] = source.clone().into();
                row["id"] = id.clone().into();
                if let Some(yaml) = &imported.yaml {
                    let target = out.join(format!("{id}.yaml"));
                    std::fs::write(&target, yaml)
                        .map_err(|e| error(ErrorKind::Io, format!("{}: cannot write: {e}", target.display())))?;
                    row["definition"] = target.display().to_string().into();
                }
                row
            }
        };
        rows.push(row);
    }
    progress.finish_and_clear();
    // The inventory table (seeds' phase 1): source, id, status, assumptions, read set.
    let width = rows.iter().map(|r| r["source"].as_str().unwrap_or("").len()).max().unwrap_or(6).max(6);
    productln!(
        "{:<width$}  {:<10}  {:<24}  {:<11}  {:<11}  READS / REASON",
        "SOURCE",
        "FORMAT",
        "ID",
        "STATUS",
        "ASSUMES"
    )?;
    for r in &rows {
        let assumes: Vec<&str> =
            r["assumptions"].as_array().into_iter().flatten().filter_map(|a| a["id"].as_str()).collect();
        let detail = match r["status"].as_str() {
            Some("refused") => {
                let f = &r["refusals"][0];
                format!(
                    "{} `{}`: {}",
                    f["path"].as_str().filter(|p| !p.is_empty()).unwrap_or("/"),
                    f["construct"].as_str().unwrap_or(""),
                    f["reason"].as_str().unwrap_or("")
                )
            }
            Some("invalid") => r["error"].as_str().unwrap_or("").to_string(),
            _ => r["reads"].as_array().into_iter().flatten().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", "),
        };
        productln!(
            "{:<width$}  {:<10}  {:<24}  {:<11}  {:<11}  {detail}",
            r["source"].as_str().unwrap_or(""),
            r["format"].as_str().unwrap_or(""),
            r["id"].as_str().unwrap_or(""),
            r["status"].as_str().unwrap_or(""),
            if assumes.is_empty() { "-".to_string() } else { assumes.join(",") },
        )?;
    }
    let imported = counts.get("exact").copied().unwrap_or(0) + counts.get("exact_under").copied().unwrap_or(0);
    let failed = counts.get("refused").copied().unwrap_or(0) + counts.get("invalid").copied().unwrap_or(0);
    errln!(
        "{} rules: {imported} imported ({} exact, {} exact under assumptions), {} refused, {} invalid; definitions in {}",
        rows.len(),
        counts.get("exact").copied().unwrap_or(0),
        counts.get("exact_under").copied().unwrap_or(0),
        counts.get("refused").copied().unwrap_or(0),
        counts.get("invalid").copied().unwrap_or(0),
        out.display()
    );
    if let Some(path) = &args.report {
        write_report(path, &serde_json::json!({"rules": rows}))?;
    }
    if failed > 0 && !args.partial {
        return Err(String::new());
    }
    Ok(())
}

/// Arguments of `segcore export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// Definition files or registry folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The target: jsonlogic (json-logic-js 2.0.5).
    #[arg(long = "to", value_name = "FORMAT")]
    pub to: String,
    /// Import schema (YAML/JSON; dotted names for nested values): the type of every attribute the
    /// definitions read — the export is exact only on data of those types (A1).
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Leave out (and report) what cannot be exported, exit 0.
    #[arg(long)]
    pub partial: bool,
}

/// `segcore export --to jsonlogic`: one definition prints its JSON Logic rule; several print
/// `{id: rule}` (SPEC §29.3). What JSON Logic cannot express exactly is refused with the reason.
pub fn export(args: &ExportArgs) -> CliResult<()> {
    if args.to != "jsonlogic" {
        return Err(error(
            ErrorKind::ExportRefused,
            format!("unknown export format `{}` (formats: jsonlogic)", args.to),
        ));
    }
    let mut opts = Options::new();
    if let Some(path) = &args.schema {
        let text = read_document(path, ErrorKind::InvalidSchema)?;
        opts = opts.schema_str(&text).map_err(|e| core_error(&path.display().to_string(), &e))?;
    }
    let mut rules = serde_json::Map::new();
    let mut failed = 0;
    for path in &args.paths {
        // Compiled without the schema: its dotted names are the export's, not a §18 schema's.
        let reg = Registry::load(path, None).map_err(|e| core_error(&path.display().to_string(), &e))?;
        for seg in reg.versions() {
            let def = seg.definition();
            match import::export_jsonlogic(def, &opts) {
                Ok(out) => {
                    let key = if reg.versions().iter().filter(|s| s.id() == def.id).count() > 1 {
                        format!("{}@{}", def.id, def.version)
                    } else {
                        def.id.clone()
                    };
                    rules.insert(key, out.rule);
                }
                Err(e) => {
                    failed += 1;
                    errln!("{}", core_error(&path.display().to_string(), &e));
                }
            }
        }
    }
    let value = if rules.len() == 1 && failed == 0 && args.paths.len() == 1 && args.paths[0].is_file() {
        rules.into_iter().next().map(|(_, v)| v).unwrap_or(serde_json::Value::Null)
    } else {
        serde_json::Value::Object(rules)
    };
    crate::out::product(&(value.to_string() + "\n"))?;
    if failed > 0 && !args.partial {
        return Err(String::new());
    }
    Ok(())
}
