//! `segcore diff` and `segcore check --against` (SPEC §26): what changed between two registries
//! (folders, files, or a folder and its state at a git ref), the version bump each change needs,
//! and — on data — who enters and leaves each segment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use segcore::diff::{diff, Bump, Change, RegistryDiff};
use segcore::{ErrorKind, EvalContext, Registry};

use crate::io::{self, core_error, error, CliResult, Format};
use crate::out;

/// Arguments of `segcore diff`.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// OLD and NEW registries (folders or definition files); with --against, only NEW.
    #[arg(required = true, num_args = 1..=2)]
    pub paths: Vec<PathBuf>,
    /// Compare NEW with its own state at this git ref (a commit, branch or tag) instead of OLD.
    #[arg(long, value_name = "REF")]
    pub against: Option<String>,
    /// Entity schema to compile both against.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Profiles (JSONL or CSV) to measure who enters and leaves each changed segment.
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// Events in long form, with --profiles.
    #[arg(long, requires = "profiles")]
    pub events: Option<PathBuf>,
    /// Evaluation instant for --profiles.
    #[arg(long, requires = "profiles")]
    pub as_of: Option<String>,
    /// FX quotes JSON, with --profiles.
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// Fail (exit 1) when a segment's members change by more than this share of its old members
    /// (`5%`), with --profiles.
    #[arg(long, value_name = "P%", requires = "profiles")]
    pub max_change: Option<String>,
    /// Entering/leaving ids listed per segment.
    #[arg(long, default_value_t = 10)]
    pub show: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub columns: crate::ColumnArgs,
}

fn git(dir: &Path, args: &[&str]) -> CliResult<Vec<u8>> {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| error(ErrorKind::Io, format!("cannot run git: {e}")))?;
    if !o.status.success() {
        return Err(error(
            ErrorKind::Io,
            format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr).trim()),
        ));
    }
    Ok(o.stdout)
}

/// The registry at `path` as it was at git `rev`: its files written to a temporary folder and
/// loaded from there (an empty registry when the path did not exist at `rev`).
pub fn registry_at_ref(path: &Path, rev: &str, schema: Option<&segcore::Schema>) -> CliResult<Registry> {
    let abs = std::fs::canonicalize(path).map_err(|e| crate::output::io_error(path, e))?;
    let dir = if abs.is_dir() { abs.clone() } else { abs.parent().map(Path::to_path_buf).unwrap_or_default() };
    let root = PathBuf::from(String::from_utf8_lossy(&git(&dir, &["rev-parse", "--show-toplevel"])?).trim());
    let rel = abs
        .strip_prefix(&root)
        .map_err(|_| error(ErrorKind::Io, format!("{} is outside its git repository", path.display())))?;
    let rel_text = rel.to_string_lossy().replace('\\', "/");
    let spec = if rel_text.is_empty() { ".".to_string() } else { rel_text.clone() };
    let listing = git(&root, &["ls-tree", "-r", "--name-only", rev, "--", &spec])?;
    let files: Vec<String> = String::from_utf8_lossy(&listing).lines().map(str::to_string).collect();
    let tmp =
        std::env::temp_dir().join(format!("segcore-diff-{}-{}", std::process::id(), rev.replace(['/', ':'], "_")));
    let _ = std::fs::remove_dir_all(&tmp);
    let mut wrote = 0;
    for f in &files {
        let ext = Path::new(f).extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "yaml" | "yml" | "json") {
            continue;
        }
        let body = git(&root, &["show", &format!("{rev}:{f}")])?;
        let target = tmp.join(f);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| crate::output::io_error(parent, e))?;
        }
        std::fs::write(&target, body).map_err(|e| crate::output::io_error(&target, e))?;
        wrote += 1;
    }
    let result = if wrote == 0 {
        Registry::from_definitions(Vec::new(), schema).map_err(|e| e.to_string())
    } else {
        let at = tmp.join(rel);
        crate::load_registry(&at, schema).map_err(|e| format!("{} at {rev}:\n{e}", path.display()))
    };
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// OLD and NEW as the arguments give them.
pub fn registries(
    paths: &[PathBuf],
    against: Option<&str>,
    schema: Option<&segcore::Schema>,
) -> CliResult<(Registry, Registry)> {
    match (paths, against) {
        ([new], Some(rev)) => Ok((registry_at_ref(new, rev, schema)?, crate::load_registry(new, schema)?)),
        ([old, new], None) => Ok((crate::load_registry(old, schema)?, crate::load_registry(new, schema)?)),
        ([_], None) => Err(error(ErrorKind::InvalidContext, "give OLD and NEW, or NEW with --against REF")),
        _ => Err(error(ErrorKind::InvalidContext, "with --against REF, give only NEW")),
    }
}

/// Members per segment of a registry over profiles at an instant.
fn members(
    reg: &Registry,
    profiles: &[segcore::Profile],
    cx: &EvalContext,
) -> CliResult<BTreeMap<String, BTreeSet<String>>> {
    let run = crate::run::evaluate_all(reg.program(), profiles, cx, false)?;
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in reg.segments() {
        out.entry(s.id().to_string()).or_default();
    }
    for r in run.rows().filter(|r| r.member) {
        out.entry(r.segment_id.to_string()).or_default().insert(r.entity_id.to_string());
    }
    Ok(out)
}

/// Entering and leaving ids of one segment on the data.
struct Impact {
    old: u64,
    new: u64,
    entering: Vec<String>,
    leaving: Vec<String>,
}

pub fn run(args: &DiffArgs) -> CliResult<()> {
    let schema = crate::load_schema(args.schema.as_deref())?;
    let (old, new) = registries(&args.paths, args.against.as_deref(), schema.as_ref())?;
    let d = diff(&old, &new);
    let mut impact: BTreeMap<String, Impact> = BTreeMap::new();
    let mut too_big: Vec<String> = Vec::new();
    if let Some(path) = &args.profiles {
        let Some(at) = &args.as_of else {
            return Err(error(ErrorKind::InvalidContext, "--profiles needs --as-of"));
        };
        let cx =
            EvalContext::parse(at).map_err(|e| core_error("--as-of", &e))?.with_fx(crate::load_fx(args.fx.as_deref())?);
        let cols = args.columns.columns();
        let events = match &args.events {
            Some(e) => io::read_events(e, Format::detect(e, None)?, &cols)?,
            None => Vec::new(),
        };
        let profiles = io::read_profiles(path, Format::detect(path, None)?, events, &cols)?;
        let (mo, mn) = (members(&old, &profiles, &cx)?, members(&new, &profiles, &cx)?);
        let limit = args.max_change.as_deref().map(percent).transpose()?;
        // Members are per segment id; with versions side by side (SPEC §1) the diff has one entry
        // per version (`id@version`): the impact goes on the entry of the version in force at
        // --as-of, once per id.
        let base = |e: &str| e.split('@').next().unwrap_or(e).to_string();
        let mut owners: BTreeMap<String, String> = BTreeMap::new();
        for s in &d.segments {
            let id = base(&s.id);
            let in_force = new.get_at(&id, cx.as_of).or_else(|| old.get_at(&id, cx.as_of)).map(|x| x.version());
            if !s.id.contains('@') || s.versions.1.as_deref().or(s.versions.0.as_deref()) == in_force {
                owners.entry(id).or_insert_with(|| s.id.clone());
            }
        }
        for s in &d.segments {
            owners.entry(base(&s.id)).or_insert_with(|| s.id.clone());
        }
        for (id, entry) in &owners {
            let empty = BTreeSet::new();
            let (a, b) = (mo.get(id).unwrap_or(&empty), mn.get(id).unwrap_or(&empty));
            let i = Impact {
                old: a.len() as u64,
                new: b.len() as u64,
                entering: b.difference(a).cloned().collect(),
                leaving: a.difference(b).cloned().collect(),
            };
            if let Some(p) = limit {
                let moved = (i.entering.len() + i.leaving.len()) as f64;
                if moved > p / 100.0 * (i.old.max(1) as f64) {
                    too_big.push(format!(
                        "{}: {} entering and {} leaving of {} members, more than {p}%",
                        id,
                        i.entering.len(),
                        i.leaving.len(),
                        i.old
                    ));
                }
            }
            impact.insert(entry.clone(), i);
        }
    }
    if args.json {
        let mut j = segcore::binding::diff_json(&d);
        if let Some(segs) = j.get_mut("segments").and_then(|s| s.as_array_mut()) {
            for s in segs {
                let id = s["id"].as_str().unwrap_or("").to_string();
                if let (Some(i), Some(o)) = (impact.get(&id), s.as_object_mut()) {
                    o.insert(
                        "impact".into(),
                        serde_json::json!({"old": i.old, "new": i.new, "entering": i.entering, "leaving": i.leaving}),
                    );
                }
            }
        }
        productln!("{}", serde_json::to_string_pretty(&j).unwrap_or_default())?;
    } else {
        out::product(&table(&d, &impact, args.show))?;
    }
    if !too_big.is_empty() {
        for t in &too_big {
            errln!("segcore: {t}");
        }
        return Err(String::new());
    }
    Ok(())
}

fn percent(text: &str) -> CliResult<f64> {
    let bad = || error(ErrorKind::InvalidContext, format!("--max-change {text:?} is not a share like 5%"));
    let p: f64 = text.strip_suffix('%').ok_or_else(bad)?.trim().parse().map_err(|_| bad())?;
    if !(0.0..=100.0).contains(&p) {
        return Err(bad());
    }
    Ok(p)
}

fn table(d: &RegistryDiff, impact: &BTreeMap<String, Impact>, show: usize) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    for s in d.segments.iter().filter(|s| s.change != Change::Unchanged) {
        let versions = match (&s.versions.0, &s.versions.1) {
            (Some(a), Some(b)) => format!("{a} → {b}"),
            (Some(a), None) => a.clone(),
            (None, Some(b)) => b.clone(),
            _ => String::new(),
        };
        let verdict = match &s.problem {
            Some((kind, _)) => format!("  ✗ {kind}"),
            None => String::new(),
        };
        let _ =
            writeln!(t, "{:<9} {:<24} {versions:<18} {} bump{verdict}", s.change.as_str(), s.id, s.required.as_str());
        for r in &s.reasons {
            let _ = writeln!(t, "          · {r}");
        }
        for (a, b) in &s.rule_changes {
            let _ = writeln!(t, "          - {a}\n          + {b}");
        }
        if let Some(i) = impact.get(&s.id) {
            let list = |v: &[String]| {
                let shown: Vec<&str> = v.iter().take(show).map(String::as_str).collect();
                let more =
                    if v.len() > shown.len() { format!(" … {} more", v.len() - shown.len()) } else { String::new() };
                format!("{}{more}", shown.join(", "))
            };
            let _ = writeln!(t, "          members {} → {}: +{} −{}", i.old, i.new, i.entering.len(), i.leaving.len());
            if !i.entering.is_empty() {
                let _ = writeln!(t, "            entering: {}", list(&i.entering));
            }
            if !i.leaving.is_empty() {
                let _ = writeln!(t, "            leaving: {}", list(&i.leaving));
            }
        }
    }
    let unchanged = d.segments.iter().filter(|s| s.change == Change::Unchanged).count();
    let problems = d.problems().count();
    let _ = writeln!(
        t,
        "{} changed, {unchanged} unchanged; the registry needs a {} bump{}",
        d.segments.len() - unchanged,
        d.required().as_str(),
        if problems > 0 { format!("; {problems} version problem(s)") } else { String::new() }
    );
    if d.required() == Bump::None {
        t = format!("no changes ({unchanged} segments)\n");
    }
    t
}

/// `segcore check PATH --against REF`: the SPEC §26 version rules as errors, and references to
/// deprecated or removed segments. Returns the number of problems printed.
pub fn check_against(path: &Path, rev: &str, schema: Option<&segcore::Schema>) -> CliResult<usize> {
    let (old, new) = registries(&[path.to_path_buf()], Some(rev), schema)?;
    let d = diff(&old, &new);
    let mut problems = 0;
    for s in d.problems() {
        let (kind, message) = s.problem.as_ref().expect("problems have one");
        errln!("error[{kind}] {message}");
        problems += 1;
    }
    for seg in new.segments() {
        if seg.definition().status != segcore::Status::Active {
            continue;
        }
        for r in &seg.read_set().segments {
            let removed = new.get(r).is_none() && old.get(r).is_some();
            let deprecated = new.get(r).is_some_and(|x| x.definition().status == segcore::Status::Deprecated);
            if removed || deprecated {
                errln!(
                    "error[deprecated_reference] {}: the active segment references `{r}`, which is {}",
                    seg.id(),
                    if removed { "removed" } else { "deprecated" }
                );
                problems += 1;
            }
        }
    }
    Ok(problems)
}

/// `segcore bundle`: a registry folder as one bundle file (SPEC §27).
pub fn bundle(segments: &Path, schema: Option<&Path>, out: &Path) -> CliResult<()> {
    let files = crate::output::segment_files(segments);
    let mut inputs: Vec<(&str, &Path)> = files.iter().map(|p| ("SEGMENTS", p.as_path())).collect();
    inputs.extend(schema.map(|p| ("--schema", p)));
    crate::output::ensure_not_an_input(out, &inputs)?;
    let schema = crate::load_schema(schema)?;
    let reg = crate::load_registry(segments, schema.as_ref())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let text = reg.to_bundle(now);
    crate::over_time::write_file(out, &text)?;
    reportln!(
        "bundle {} — {} definition(s), {} bytes → {}",
        reg.bundle_hash(),
        reg.versions().len(),
        text.len(),
        out.display()
    )
}
