//! Reading profiles and events (JSONL or CSV) and writing membership rows atomically.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use segcore::{Profile, Value};

/// A one-line error naming the file (and line) it came from.
pub type CliResult<T> = Result<T, String>;

/// Input and output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
}

impl Format {
    /// The format named by `explicit`, or by the file extension.
    pub fn detect(path: &Path, explicit: Option<&str>) -> CliResult<Format> {
        let name = explicit
            .map(str::to_string)
            .or_else(|| path.extension().and_then(|e| e.to_str()).map(|e| e.to_ascii_lowercase()));
        match name.as_deref() {
            Some("jsonl") | Some("ndjson") | Some("json") => Ok(Format::Jsonl),
            Some("csv") => Ok(Format::Csv),
            other => Err(format!(
                "{}: cannot tell the format ({}); use a .jsonl or .csv file or pass --format",
                path.display(),
                other.unwrap_or("no extension")
            )),
        }
    }
}

/// The JSON values of a JSONL file with their 0-based line index; blank lines are skipped and
/// errors name the file and line.
fn jsonl(path: &Path) -> CliResult<impl Iterator<Item = CliResult<(usize, serde_json::Value)>>> {
    let name = path.display().to_string();
    Ok(open(path)?.lines().enumerate().filter_map(move |(i, line)| {
        let line = match line {
            Ok(line) => line,
            Err(e) => return Some(Err(format!("{name}:{}: {e}", i + 1))),
        };
        if line.trim().is_empty() {
            return None;
        }
        Some(serde_json::from_str(&line).map(|v| (i, v)).map_err(|e| format!("{name}:{}: not valid JSON: {e}", i + 1)))
    }))
}

fn open(path: &Path) -> CliResult<BufReader<File>> {
    File::open(path).map(BufReader::new).map_err(|e| format!("{}: cannot open: {e}", path.display()))
}

/// A CSV cell as a value: empty → absent; strict int/float/bool spellings; anything else a string.
/// Zip codes like `01234` stay strings (no leading zeros in numbers); `19.99 EUR` is money.
pub fn csv_value(cell: &str) -> Option<Value> {
    if cell.is_empty() {
        return None;
    }
    if cell == "true" || cell == "false" {
        return Some(Value::Bool(cell == "true"));
    }
    let digits = cell.strip_prefix('-').unwrap_or(cell);
    let leading_zero = digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.");
    if !leading_zero && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = cell.parse::<i64>() {
            return Some(Value::Int(i));
        }
    }
    let numeric = !leading_zero
        && digits.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if numeric {
        if let Ok(f) = cell.parse::<f64>() {
            if f.is_finite() {
                return Some(Value::Float(f));
            }
        }
    }
    // CSV has no objects: `19.99 EUR` is how money is written in a cell.
    if let Some(m) = segcore::value::parse_money_text(cell) {
        return Some(Value::Money(m));
    }
    Some(Value::Str(cell.into()))
}

/// One event row before grouping.
pub struct EventRow {
    pub entity: String,
    pub name: String,
    pub at: i64,
    pub properties: BTreeMap<Box<str>, Value>,
}

/// Reads events: JSONL rows `{"entity_id", "name", "at", "properties"}` or CSV
/// `entity_id,name,at,<property columns>`.
pub fn read_events(path: &Path, format: Format) -> CliResult<Vec<EventRow>> {
    let name = path.display().to_string();
    let mut out = Vec::new();
    match format {
        Format::Jsonl => {
            for row in jsonl(path)? {
                let (i, v) = row?;
                let entity = match v.get("entity_id") {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    _ => return Err(format!("{name}:{}: event has no `entity_id`", i + 1)),
                };
                let (ename, at, properties) =
                    segcore::profile::parse_event(&v).map_err(|m| format!("{name}:{}: {m}", i + 1))?;
                out.push(EventRow { entity, name: ename.to_string(), at, properties });
            }
        }
        Format::Csv => {
            let mut rdr = csv::Reader::from_reader(open(path)?);
            let headers = rdr.headers().map_err(|e| format!("{name}: {e}"))?.clone();
            let col = |n: &str| headers.iter().position(|h| h == n);
            let (Some(ie), Some(iname), Some(iat)) = (col("entity_id"), col("name"), col("at")) else {
                return Err(format!("{name}: an events CSV needs the columns entity_id, name, at"));
            };
            for (i, rec) in rdr.records().enumerate() {
                let rec = rec.map_err(|e| format!("{name}:{}: {e}", i + 2))?;
                let at_text = rec.get(iat).unwrap_or("");
                let at = segcore::time::parse_instant(at_text).ok_or_else(|| {
                    format!("{name}:{}: `at` {at_text:?} is not an RFC 3339 timestamp with an offset", i + 2)
                })?;
                let mut properties = BTreeMap::new();
                for (j, h) in headers.iter().enumerate() {
                    if j != ie && j != iname && j != iat {
                        if let Some(v) = rec.get(j).and_then(csv_value) {
                            properties.insert(h.into(), v);
                        }
                    }
                }
                out.push(EventRow {
                    entity: rec.get(ie).unwrap_or("").to_string(),
                    name: rec.get(iname).unwrap_or("").to_string(),
                    at,
                    properties,
                });
            }
        }
    }
    Ok(out)
}

/// Reads profiles (JSONL objects `{"id", "attributes", "events"?}` or CSV with an `id` column and
/// one column per attribute) and attaches `events` by entity id.
pub fn read_profiles(path: &Path, format: Format, events: Vec<EventRow>) -> CliResult<Vec<Profile>> {
    let name = path.display().to_string();
    let mut profiles = Vec::new();
    match format {
        Format::Jsonl => {
            for row in jsonl(path)? {
                let (i, v) = row?;
                profiles.push(Profile::from_json(&v).map_err(|e| format!("{name}:{}: {}", i + 1, e.first().message))?);
            }
        }
        Format::Csv => {
            let mut rdr = csv::Reader::from_reader(open(path)?);
            let headers = rdr.headers().map_err(|e| format!("{name}: {e}"))?.clone();
            let Some(iid) = headers.iter().position(|h| h == "id") else {
                return Err(format!("{name}: a profiles CSV needs an `id` column"));
            };
            for (i, rec) in rdr.records().enumerate() {
                let rec = rec.map_err(|e| format!("{name}:{}: {e}", i + 2))?;
                let mut p = Profile::new(rec.get(iid).unwrap_or(""));
                for (j, h) in headers.iter().enumerate() {
                    if j != iid {
                        if let Some(v) = rec.get(j).and_then(csv_value) {
                            p.set_attribute(h, v);
                        }
                    }
                }
                profiles.push(p);
            }
        }
    }
    if !events.is_empty() {
        let index: HashMap<String, usize> = profiles.iter().enumerate().map(|(i, p)| (p.id().to_string(), i)).collect();
        for e in events {
            // Events of entities without a profile row are ignored, like a left join.
            if let Some(&i) = index.get(&e.entity) {
                profiles[i]
                    .push_event(&e.name, e.at, e.properties)
                    .map_err(|err| format!("{name}: {}", err.first().message))?;
            }
        }
        for p in &mut profiles {
            p.finish();
        }
    }
    Ok(profiles)
}

/// A file written to a temporary name beside its destination and renamed into place on
/// [`AtomicFile::commit`], so a failure never leaves a half-written output.
pub struct AtomicFile {
    tmp: PathBuf,
    dest: PathBuf,
    pub writer: BufWriter<File>,
}

impl AtomicFile {
    /// Creates the temporary file.
    pub fn create(dest: &Path) -> CliResult<AtomicFile> {
        let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create folder: {e}", dir.display()))?;
        let file_name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
        let f = File::create(&tmp).map_err(|e| format!("{}: cannot create: {e}", tmp.display()))?;
        Ok(AtomicFile { tmp, dest: dest.to_path_buf(), writer: BufWriter::new(f) })
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(mut self) -> CliResult<()> {
        let dest = self.dest.display().to_string();
        self.writer.flush().map_err(|e| format!("{dest}: {e}"))?;
        self.writer.get_ref().sync_all().map_err(|e| format!("{dest}: {e}"))?;
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| format!("{dest}: cannot move into place: {e}"))?;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        // After a successful commit the temporary name no longer exists; otherwise clean up.
        let _ = std::fs::remove_file(&self.tmp);
    }
}
