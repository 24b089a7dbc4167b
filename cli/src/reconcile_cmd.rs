//! `segcore fingerprint`, `segcore sketch` and `segcore reconcile` (SPEC §24): reading id exports
//! (text, CSV, JSONL, Parquet) into the core's `IdCollector`, and printing what the core computes.

use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::Array;
use arrow_schema::DataType;
use segcore::reconcile::{read_ids, resolve_symbols, IdCollector, IdFormat, IdOptions, IdSet, Key, Sketch};
use segcore::ErrorKind;

use crate::io::{core_error, error, CliResult};
use crate::out;
use crate::output::io_error;

/// How ids are read from exports.
#[derive(clap::Args, Clone)]
pub struct IdArgs {
    /// The id column (CSV, Parquet) or field (JSONL objects). Default: `id`, or a CSV file's only
    /// column.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
    /// Strip leading and trailing white space from ids (reported either way).
    #[arg(long)]
    pub trim: bool,
    /// Normalise ids to Unicode NFC (reported either way).
    #[arg(long)]
    pub nfc: bool,
    /// The comparison key (both sides must use the same one; SPEC §24).
    #[arg(long, default_value = "segcore")]
    pub key: String,
}

impl IdArgs {
    fn key(&self) -> CliResult<Key> {
        Key::new(&self.key).map_err(|e| core_error("--key", &e))
    }

    fn options(&self) -> IdOptions {
        IdOptions { trim: self.trim, nfc: self.nfc }
    }
}

/// Arguments of `segcore fingerprint`.
#[derive(clap::Args)]
pub struct FingerprintArgs {
    /// Id exports: one id per line (.txt), CSV, JSONL or Parquet. With several, one line each.
    #[arg(required_unless_present = "sql")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub ids: IdArgs,
    /// Print SQL that computes the same fingerprint in a warehouse over --table instead.
    #[arg(long, value_name = "DIALECT", value_parser = ["duckdb", "postgres", "spark", "bigquery", "snowflake"], requires = "table")]
    pub sql: Option<String>,
    /// With --sql: the table (or view) of member ids.
    #[arg(long, requires = "sql")]
    pub table: Option<String>,
    /// With --sql: a SQL condition selecting the member rows.
    #[arg(long = "where", value_name = "CONDITION", requires = "sql")]
    pub filter: Option<String>,
    /// Print JSON lines ({file, fingerprint, count, warnings}).
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `segcore sketch`.
#[derive(clap::Args)]
pub struct SketchArgs {
    /// The id export to sketch.
    pub file: PathBuf,
    /// Where to write the sketch (SPEC §24's bytes).
    #[arg(long)]
    pub out: PathBuf,
    /// Size the sketch to decode about this many differences.
    #[arg(long, default_value_t = 1000, conflicts_with = "symbols")]
    pub differences: usize,
    /// Exact number of coded symbols instead.
    #[arg(long)]
    pub symbols: Option<usize>,
    #[command(flatten)]
    pub ids: IdArgs,
}

/// Arguments of `segcore reconcile`.
#[derive(clap::Args)]
pub struct ReconcileArgs {
    /// Side A: an id export, or a sketch file (`segcore sketch`). `-` computes A's members from
    /// --segments/--segment, --as-of and --profiles.
    pub a: PathBuf,
    /// Side B: an id export, or a sketch file; `-` computes B's members from its setting.
    pub b: PathBuf,
    #[command(flatten)]
    pub why: WhyArgs,
    /// Also write the report as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub ids: IdArgs,
    /// Fail (exit 1) when the sets differ by more than this: a count (`500`) or a share of the
    /// union (`1%`).
    #[arg(long, value_name = "N|P%")]
    pub max_diff: Option<String>,
    /// How many differing ids to list per side (all with --json).
    #[arg(long, default_value_t = 10)]
    pub show: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What each side is supposed to follow, to give every difference a cause (SPEC §25). B's
/// options default to A's.
#[derive(clap::Args, Clone)]
pub struct WhyArgs {
    /// A's registry folder.
    #[arg(long, value_name = "DIR")]
    pub segments: Option<PathBuf>,
    /// A's segment id.
    #[arg(long, value_name = "ID", requires = "segments")]
    pub segment: Option<String>,
    /// B's registry folder (default: A's).
    #[arg(long, value_name = "DIR")]
    pub segments_b: Option<PathBuf>,
    /// B's segment id (default: A's).
    #[arg(long, value_name = "ID")]
    pub segment_b: Option<String>,
    /// A's evaluation instant (RFC 3339 with offset).
    #[arg(long)]
    pub as_of: Option<String>,
    /// B's evaluation instant (default: A's).
    #[arg(long)]
    pub as_of_b: Option<String>,
    /// A's profiles (JSONL, CSV or Parquet).
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// A's events in long form.
    #[arg(long, requires = "profiles")]
    pub events: Option<PathBuf>,
    /// B's profiles (default: A's).
    #[arg(long)]
    pub profiles_b: Option<PathBuf>,
    /// B's events.
    #[arg(long, requires = "profiles_b")]
    pub events_b: Option<PathBuf>,
    /// FX quotes JSON, both sides.
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// Entity schema.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Explained examples per cause.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    #[command(flatten)]
    pub columns: crate::ColumnArgs,
}

impl WhyArgs {
    fn given(&self) -> bool {
        self.segments.is_some() || self.profiles.is_some() || self.identity.identity.is_some()
    }
}

/// An identity map (SPEC §25) and how its canonical ids are chosen.
#[derive(clap::Args, Clone)]
pub struct IdentityArgs {
    /// Identity map: pairs of identifiers naming one entity (CSV with a header, JSONL, or a
    /// Parquet table's first two columns).
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Identifier prefixes in order of preference for canonical ids (repeatable: `user:`).
    #[arg(long, value_name = "PREFIX", requires = "identity")]
    pub prefer: Vec<String>,
    /// Prefixes a component may hold only once (repeatable); a second is a reported conflict.
    #[arg(long, value_name = "PREFIX", requires = "identity")]
    pub unique: Vec<String>,
    /// A conflict in the identity map is an error.
    #[arg(long, requires = "identity")]
    pub strict_identity: bool,
}

impl IdentityArgs {
    /// The map, with its conflicts reported on stderr.
    pub fn load(&self) -> CliResult<Option<segcore::reconcile::IdentityMap>> {
        let Some(path) = &self.identity else { return Ok(None) };
        let opts = segcore::reconcile::IdentityOptions {
            prefer: self.prefer.clone(),
            unique: self.unique.clone(),
            strict: self.strict_identity,
        };
        let is_parquet = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
        let map = if is_parquet {
            segcore::reconcile::IdentityMap::from_pairs(parquet_pairs(path)?, &opts).map_err(|e| e.to_string())?
        } else {
            let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
            segcore::reconcile::read_identity(&path.display().to_string(), &bytes, &opts).map_err(|e| e.to_string())?
        };
        let r = map.report();
        for (c, ids) in &r.conflicts {
            errln!("warning: {}: component {c} joins {}", path.display(), ids.join(", "));
        }
        if r.conflict_count > r.conflicts.len() as u64 {
            errln!("warning: {}: … {} conflicting components in all", path.display(), r.conflict_count);
        }
        Ok(Some(map))
    }
}

/// The pairs of an identity table in Parquet: its first two columns, strings or integers; a null
/// or empty identifier is an error naming the row.
fn parquet_pairs(path: &Path) -> CliResult<Vec<(String, String)>> {
    let shown = path.display().to_string();
    let mut pairs = Vec::new();
    let mut row = 0u64;
    for batch in crate::parquet_io::reader(path, None)? {
        let batch = batch.map_err(|e| core_error(&shown, &e))?;
        if batch.num_columns() < 2 {
            return Err(error(ErrorKind::InvalidIdentity, format!("{shown}: an identity table needs two columns")));
        }
        let cell = |c: usize, i: usize| -> Option<String> {
            let col = batch.column(c);
            if col.is_null(i) {
                return None;
            }
            let v = match col.data_type() {
                DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
                DataType::LargeUtf8 => col.as_string::<i64>().value(i).to_string(),
                DataType::Utf8View => col.as_string_view().value(i).to_string(),
                DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
                DataType::Int32 => col.as_primitive::<Int32Type>().value(i).to_string(),
                _ => return None,
            };
            (!v.is_empty()).then_some(v)
        };
        for i in 0..batch.num_rows() {
            match (cell(0, i), cell(1, i)) {
                (Some(a), Some(b)) => pairs.push((a, b)),
                _ => {
                    return Err(error(
                        ErrorKind::InvalidIdentity,
                        format!(
                            "{shown}: row {}: two non-empty string or integer identifiers expected",
                            row + i as u64
                        ),
                    ))
                }
            }
        }
        row += batch.num_rows() as u64;
    }
    Ok(pairs)
}

/// Reads an id export by its extension (Parquet through Arrow; text formats by the core).
pub fn read_id_file(path: &Path, args: &IdArgs) -> CliResult<IdSet> {
    let shown = path.display().to_string();
    let is_parquet = path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("parquet"));
    if !is_parquet {
        let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
        return read_ids(&shown, &bytes, IdFormat::of_path(path), args.column.as_deref(), args.options())
            .map_err(|e| error(e.kind(), e.to_string().trim_start_matches(&format!("error[{}] ", e.kind().as_str()))));
    }
    let want = args.column.clone().unwrap_or_else(|| "id".into());
    let wanted = std::collections::BTreeSet::from([want.clone()]);
    let mut c = IdCollector::new(&shown, "row", args.options());
    let mut row = 0u64;
    for batch in crate::parquet_io::reader(path, Some(&wanted))? {
        let batch = batch.map_err(|e| core_error(&shown, &e))?;
        let Some(col) = batch.column_by_name(&want) else {
            return Err(error(ErrorKind::InvalidIds, format!("{shown}: no column {want:?} (use --column)")));
        };
        for i in 0..col.len() {
            let place = row + i as u64;
            if col.is_null(i) {
                return Err(core_error(&shown, &c.error(place, "a null id".into())));
            }
            let raw = match col.data_type() {
                DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
                    let dict = col.as_dictionary::<Int32Type>();
                    let key = dict.keys().value(i) as usize;
                    segcore::reconcile::RawId::Str(dict.values().as_string::<i32>().value(key))
                }
                DataType::Utf8 => segcore::reconcile::RawId::Str(col.as_string::<i32>().value(i)),
                DataType::LargeUtf8 => segcore::reconcile::RawId::Str(col.as_string::<i64>().value(i)),
                DataType::Utf8View => segcore::reconcile::RawId::Str(col.as_string_view().value(i)),
                DataType::Int64 => segcore::reconcile::RawId::Int(col.as_primitive::<Int64Type>().value(i)),
                DataType::Int32 => segcore::reconcile::RawId::Int(col.as_primitive::<Int32Type>().value(i).into()),
                other => {
                    return Err(error(
                        ErrorKind::InvalidIds,
                        format!("{shown}: column {want:?} is {other}, not strings or integers"),
                    ))
                }
            };
            c.push(place, raw).map_err(|e| core_error(&shown, &e))?;
        }
        row += col.len() as u64;
    }
    Ok(c.finish())
}

pub fn warn(set: &IdSet) {
    for w in set.report.warnings() {
        errln!("warning: {w}");
    }
}

pub fn fingerprint(args: &FingerprintArgs) -> CliResult<()> {
    let key = args.ids.key()?;
    if let Some(dialect) = &args.sql {
        let d: segcore::sql::Dialect = dialect.parse().map_err(|e| error(ErrorKind::InvalidContext, e))?;
        let table = args.table.as_deref().expect("clap requires --table");
        let id_column = args.ids.column.as_deref().unwrap_or("id");
        let source = segcore::sql::FingerprintSource::Table { table, id_column, filter: args.filter.as_deref() };
        return productln!("{};", segcore::sql::fingerprint_sql(d, &key, &source));
    }
    for path in &args.files {
        let set = read_id_file(path, &args.ids)?;
        warn(&set);
        let fp = key.fingerprint(&set.ids);
        if args.json {
            let j = serde_json::json!({
                "file": path.display().to_string(),
                "fingerprint": fp.to_string(),
                "count": fp.count(),
                "warnings": set.report.warnings(),
            });
            productln!("{j}")?;
        } else if args.files.len() == 1 {
            productln!("{fp}")?;
        } else {
            productln!("{fp}  {}", path.display())?;
        }
    }
    Ok(())
}

pub fn sketch(args: &SketchArgs) -> CliResult<()> {
    crate::output::ensure_not_an_input(&args.out, &[("FILE", &args.file)])?;
    let key = args.ids.key()?;
    let set = read_id_file(&args.file, &args.ids)?;
    warn(&set);
    let m = args.symbols.unwrap_or_else(|| Sketch::symbols_for(args.differences));
    let sketch = Sketch::new(&key, &set.ids, m).map_err(|e| core_error("--symbols", &e))?;
    let bytes = sketch.to_bytes();
    let mut file = crate::output::OutputFile::create(&args.out)?;
    use std::io::Write as _;
    file.writer.write_all(&bytes).map_err(|e| file.error(format!("cannot write: {e}")))?;
    file.commit()?;
    reportln!(
        "sketch of {} ids: {} coded symbols (about {} differences), {} bytes → {}",
        set.ids.len(),
        sketch.len(),
        sketch.len() * 5 / 7,
        bytes.len(),
        args.out.display()
    )?;
    Ok(())
}

/// One side of a comparison: ids, or a sketch from elsewhere.
enum Side {
    Ids(Box<IdSet>),
    Sketch(Sketch),
}

/// True when the file starts like a sketch (SPEC §24's magic).
fn is_sketch(path: &Path) -> CliResult<bool> {
    if path.as_os_str() == "-" {
        return Ok(false);
    }
    let mut head = [0u8; 8];
    let n = {
        use std::io::Read as _;
        let mut f = std::fs::File::open(path).map_err(|e| io_error(path, e))?;
        f.read(&mut head).map_err(|e| io_error(path, e))?
    };
    Ok(head[..n].starts_with(b"SEGSKT"))
}

fn read_side(path: &Path, args: &IdArgs) -> CliResult<Side> {
    if is_sketch(path)? {
        let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
        return Sketch::from_bytes(&bytes).map(Side::Sketch).map_err(|e| core_error(&path.display().to_string(), &e));
    }
    let set = read_id_file(path, args)?;
    warn(&set);
    Ok(Side::Ids(Box::new(set)))
}

/// `--max-diff`: an absolute count or a percentage of the union.
pub fn allowed(spec: &str, union: u64) -> CliResult<u64> {
    let bad = || error(ErrorKind::InvalidContext, format!("--max-diff {spec:?} is not a count (500) or a share (1%)"));
    if let Some(p) = spec.strip_suffix('%') {
        let p: f64 = p.trim().parse().map_err(|_| bad())?;
        if !(0.0..=100.0).contains(&p) {
            return Err(bad());
        }
        Ok((union as f64 * p / 100.0).floor() as u64)
    } else {
        spec.trim().parse().map_err(|_| bad())
    }
}

pub fn reconcile(args: &ReconcileArgs) -> CliResult<()> {
    let causes = args.why.given() || args.a.as_os_str() == "-" || args.b.as_os_str() == "-";
    if causes || args.html.is_some() {
        for p in [&args.a, &args.b] {
            if is_sketch(p)? {
                return Err(error(
                    ErrorKind::InvalidContext,
                    format!(
                        "{} is a sketch: causes and --html need both sides' ids (compare sketches without them, then exchange the differing ids)",
                        p.display()
                    ),
                ));
            }
        }
        return crate::why::reconcile(args);
    }
    let key = args.ids.key()?;
    let (a, b) = (read_side(&args.a, &args.ids)?, read_side(&args.b, &args.ids)?);
    // The exact difference: by set operations when both id lists are here, else through sketches
    // (one side's ids are sketched at the other sketch's length).
    let (only_a, only_b, count_a, count_b, via) = match (&a, &b) {
        (Side::Ids(x), Side::Ids(y)) => {
            // The core's reconciliation with bare sides: the same sets every binding computes.
            let side = |ids| segcore::reconcile::SideInput {
                claimed: Some(ids),
                definition: None,
                as_of: None,
                fx: None,
                profiles: None,
            };
            let r = segcore::reconcile::reconcile(&side(&x.ids), &side(&y.ids), None)
                .map_err(|e| core_error("reconcile", &e))?;
            let (mut oa, mut ob) = (Vec::new(), Vec::new());
            for d in r.differences {
                if d.only_a {
                    oa.push(d.raw)
                } else {
                    ob.push(d.raw)
                }
            }
            oa.sort();
            ob.sort();
            (oa, ob, r.count_a, r.count_b, "ids")
        }
        _ => {
            let sketch_of = |s: &Side, m: usize| -> CliResult<Sketch> {
                match s {
                    Side::Sketch(s) => Ok(s.clone()),
                    Side::Ids(set) => Sketch::new(&key, &set.ids, m).map_err(|e| core_error("sketch", &e)),
                }
            };
            let m = match (&a, &b) {
                (Side::Sketch(s), _) | (_, Side::Sketch(s)) => s.len(),
                _ => unreachable!(),
            };
            let (sa, sb) = (sketch_of(&a, m)?, sketch_of(&b, m)?);
            let shown = format!("{} vs {}", args.a.display(), args.b.display());
            let diff = sa.decode(&sb).map_err(|e| core_error(&shown, &e))?;
            let names = |side: &Side, symbols: &[u64]| -> CliResult<Vec<String>> {
                match side {
                    Side::Sketch(_) => {
                        Ok(symbols.iter().map(|s| format!("#{}", segcore::reconcile::symbol_hex(*s))).collect())
                    }
                    Side::Ids(set) => resolve_symbols(&key, &set.ids, symbols).map_err(|e| core_error(&shown, &e)),
                }
            };
            let (oa, ob) = (names(&a, &diff.only_a)?, names(&b, &diff.only_b)?);
            (oa, ob, sa.fingerprint().count(), sb.fingerprint().count(), "sketch")
        }
    };
    let both = count_a - only_a.len() as u64;
    let union = count_a + only_b.len() as u64;
    let differing = (only_a.len() + only_b.len()) as u64;
    let jaccard = if union == 0 { 1.0 } else { both as f64 / union as f64 };
    let limit = args.max_diff.as_deref().map(|s| allowed(s, union)).transpose()?;
    let passed = limit.is_none_or(|l| differing <= l);
    let fp = |s: &Side| match s {
        Side::Ids(set) => key.fingerprint(&set.ids).to_string(),
        Side::Sketch(sk) => sk.fingerprint().to_string(),
    };
    let warnings = |s: &Side| match s {
        Side::Ids(set) => set.report.warnings(),
        Side::Sketch(_) => Vec::new(),
    };
    if args.json {
        // The shape of every reconciliation (the bindings' and `reconcile` with causes), with no
        // cause: none was asked for.
        let diff = |raw: &String, side: &str| serde_json::json!({"raw": raw, "id": raw, "side": side, "cause": null});
        let differences: Vec<serde_json::Value> =
            only_a.iter().map(|r| diff(r, "a")).chain(only_b.iter().map(|r| diff(r, "b"))).collect();
        let j = serde_json::json!({
            "a": count_a,
            "b": count_b,
            "both": both,
            "jaccard": jaccard,
            "differing": differing,
            "differences": differences,
            "sources": {"a": args.a.display().to_string(), "b": args.b.display().to_string()},
            "fingerprints": {"a": fp(&a), "b": fp(&b)},
            "warnings": {"a": warnings(&a), "b": warnings(&b)},
            "compared_by": via,
            "max_diff": limit,
            "passed": passed,
        });
        productln!("{}", serde_json::to_string_pretty(&j).unwrap_or_default())?;
    } else {
        let pct = |n: usize, of: u64| if of == 0 { 0.0 } else { 100.0 * n as f64 / of as f64 };
        let mut t = String::new();
        use std::fmt::Write as _;
        let _ = writeln!(t, "A  {:>12}  {}", count_a, args.a.display());
        let _ = writeln!(t, "B  {:>12}  {}", count_b, args.b.display());
        let _ = writeln!(t, "in both      {both:>8}   Jaccard {jaccard:.4}");
        let _ = writeln!(t, "only in A    {:>8}   {:.2}% of A", only_a.len(), pct(only_a.len(), count_a));
        let _ = writeln!(t, "only in B    {:>8}   {:.2}% of B", only_b.len(), pct(only_b.len(), count_b));
        if via == "sketch" {
            let _ =
                writeln!(t, "(compared through a sketch: ids of a side given only as a sketch are shown as #symbols)");
        }
        for (name, ids) in [("A", &only_a), ("B", &only_b)] {
            if !ids.is_empty() {
                let shown: Vec<&str> = ids.iter().take(args.show).map(String::as_str).collect();
                let more = if ids.len() > shown.len() {
                    format!(" … and {} more", ids.len() - shown.len())
                } else {
                    String::new()
                };
                let _ = writeln!(t, "only in {name}: {}{more}", shown.join(", "));
            }
        }
        if let Some(l) = limit {
            let verdict = if passed { "ok" } else { "FAILED" };
            let _ = writeln!(
                t,
                "max diff {} = {l}: {differing} differ — {verdict}",
                args.max_diff.as_deref().unwrap_or("")
            );
        }
        out::product(&t)?;
    }
    if passed {
        Ok(())
    } else {
        errln!("segcore: the sets differ by {differing} ids, more than --max-diff allows ({})", limit.unwrap_or(0));
        Err(String::new())
    }
}
