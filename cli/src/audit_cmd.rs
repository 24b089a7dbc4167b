//! `segcore audit` (SPEC §25): definitions that claim to be the same segment, side by side, and
//! their measured overlap on data.

use std::path::PathBuf;

use segcore::reconcile::audit;
use segcore::{ErrorKind, Registry, Segment};

use crate::io::{self, core_error, error, CliResult, Format};
use crate::out;

/// Arguments of `segcore audit`.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Definition files (YAML/JSON), two or more.
    #[arg(required = true, num_args = 2..)]
    pub definitions: Vec<PathBuf>,
    /// Profiles (JSONL, CSV or Parquet) to measure members and overlap on.
    #[arg(long)]
    pub profiles: Option<PathBuf>,
    /// Events in long form.
    #[arg(long, requires = "profiles")]
    pub events: Option<PathBuf>,
    /// Evaluation instant (with --profiles).
    #[arg(long)]
    pub as_of: Option<String>,
    /// FX quotes JSON.
    #[arg(long)]
    pub fx: Option<PathBuf>,
    /// Entity schema.
    #[arg(long)]
    pub schema: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub columns: crate::ColumnArgs,
}

pub fn run(args: &AuditArgs) -> CliResult<()> {
    let schema = crate::load_schema(args.schema.as_deref())?;
    let registries: Vec<Registry> =
        args.definitions.iter().map(|p| crate::load_registry(p, schema.as_ref())).collect::<CliResult<_>>()?;
    let mut segments: Vec<&Segment> = Vec::new();
    for (reg, path) in registries.iter().zip(&args.definitions) {
        match reg.versions().as_slice() {
            [one] => segments.push(one),
            many => {
                return Err(error(
                    ErrorKind::InvalidDefinition,
                    format!("{} holds {} definitions; give one definition file per side", path.display(), many.len()),
                ))
            }
        }
    }
    let profiles = match &args.profiles {
        None => None,
        Some(path) => {
            if args.as_of.is_none() {
                return Err(error(ErrorKind::InvalidContext, "--profiles needs --as-of"));
            }
            let cols = args.columns.columns();
            let events = match &args.events {
                Some(e) => io::read_events(e, Format::detect(e, None)?, &cols)?,
                None => Vec::new(),
            };
            Some(io::read_profiles(path, Format::detect(path, None)?, events, &cols)?)
        }
    };
    let as_of =
        args.as_of.as_deref().map(|t| segcore::parse_as_of(t).map_err(|e| core_error("--as-of", &e))).transpose()?;
    let fx = crate::load_fx(args.fx.as_deref())?;
    let a = audit(&segments, profiles.as_deref(), as_of.unwrap_or(0), &fx).map_err(|e| e.first().to_string())?;
    let labels: Vec<String> = args.definitions.iter().map(|p| p.display().to_string()).collect();
    if args.json {
        let j = serde_json::json!({
            "definitions": labels,
            "fields": a.fields.iter().map(|f| serde_json::json!({"name": f.name, "same": f.same, "values": f.values})).collect::<Vec<_>>(),
            "members": a.members,
            "overlap": a.overlap.iter().map(|(i, j, both, jac)| serde_json::json!({"a": labels[*i], "b": labels[*j], "both": both, "jaccard": jac})).collect::<Vec<_>>(),
        });
        return productln!("{}", serde_json::to_string_pretty(&j).unwrap_or_default());
    }
    use std::fmt::Write as _;
    let mut t = String::new();
    for (i, l) in labels.iter().enumerate() {
        let _ = writeln!(t, "[{}] {l}", i + 1);
    }
    let differing: Vec<_> = a.fields.iter().filter(|f| !f.same && f.name != "definition_hash").collect();
    if differing.is_empty() {
        let _ = writeln!(t, "\nno differences: the definitions are the same segment");
    } else {
        let _ = writeln!(t, "\ndiffering fields:");
        for f in differing {
            let _ = writeln!(t, "  {}:", f.name);
            for (i, v) in f.values.iter().enumerate() {
                let _ = writeln!(t, "    [{}] {}", i + 1, v.replace('\n', "\n        "));
            }
        }
    }
    let same: Vec<&str> = a.fields.iter().filter(|f| f.same).map(|f| f.name).collect();
    let _ = writeln!(t, "same: {}", same.join(", "));
    if !a.members.is_empty() {
        let _ = writeln!(t, "\nmembers at {}:", args.as_of.as_deref().unwrap_or(""));
        for (i, n) in a.members.iter().enumerate() {
            let _ = writeln!(t, "  [{}] {n}", i + 1);
        }
        let _ = writeln!(t, "overlap:");
        for (i, j, both, jac) in &a.overlap {
            let _ = writeln!(t, "  [{}] & [{}]  {both} in both, Jaccard {jac:.4}", i + 1, j + 1);
        }
    }
    out::product(&t)
}
