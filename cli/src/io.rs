//! Reading profiles and events (JSONL or CSV), bounded: no input record (a JSONL line, a CSV row,
//! a whole FX/schema/profile document) is buffered past `segcore::limits::MAX_RECORD_BYTES`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use segcore::limits::MAX_RECORD_BYTES;
use segcore::{ErrorKind, Profile, Value};

/// An error message for the user, naming the file (and line) it came from. Errors with a kind
/// start with `error[kind]` (see [`error`]); an empty message means "already reported".
pub type CliResult<T> = Result<T, String>;

/// `error[kind] message`: how every CLI error names its stable kind (SPEC §18), the same way the
/// core's diagnostics print. Scripts read the kind from the first `error[…]` on stderr.
pub fn error(kind: ErrorKind, msg: impl fmt::Display) -> String {
    format!("error[{}] {msg}", kind.as_str())
}

/// A core error about the input `origin` (a file, or `file:line`): its first diagnostic's kind and
/// message.
pub fn core_error(origin: &str, e: &segcore::Error) -> String {
    error(e.kind(), format!("{origin}: {}", e.first().message))
}

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

fn open(path: &Path) -> CliResult<File> {
    File::open(path).map_err(|e| error(ErrorKind::Io, format!("{}: cannot open: {e}", path.display())))
}

fn too_long(origin: &str, what: &str, limit: usize) -> String {
    error(
        ErrorKind::LimitExceeded,
        format!(
            "{origin}: {what} is longer than {limit} bytes, the limit on one input record (limits::MAX_RECORD_BYTES)"
        ),
    )
}

/// Reads a whole input document (an FX table, a schema, one profile) of at most
/// `MAX_RECORD_BYTES`; a longer one is `limit_exceeded` after reading one byte past the limit.
/// Invalid UTF-8 is an error of `kind`.
pub fn read_document(path: &Path, kind: ErrorKind) -> CliResult<String> {
    let name = path.display().to_string();
    let mut buf = Vec::new();
    open(path)?
        .take(MAX_RECORD_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| error(ErrorKind::Io, format!("{name}: cannot read: {e}")))?;
    if buf.len() > MAX_RECORD_BYTES {
        return Err(too_long(&name, "the file", MAX_RECORD_BYTES));
    }
    String::from_utf8(buf).map_err(|e| error(kind, format!("{name}: not valid UTF-8: {e}")))
}

/// Calls `f(line_number, line)` for every non-blank line (1-based numbers; `\n` or `\r\n` ends a
/// line and is not counted). A line is read with `read_until` under a `take(limit + 2)`, so no
/// more than `limit + 2` bytes are ever buffered: a longer line (or an endless one, `/dev/zero`)
/// is `limit_exceeded` naming `name` and the line.
fn for_each_line(
    mut reader: impl BufRead,
    name: &str,
    limit: usize,
    mut f: impl FnMut(usize, &str) -> CliResult<()>,
) -> CliResult<()> {
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        line += 1;
        buf.clear();
        let n = (&mut reader)
            .take(limit as u64 + 2)
            .read_until(b'\n', &mut buf)
            .map_err(|e| error(ErrorKind::Io, format!("{name}:{line}: cannot read: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        if buf.len() > limit {
            return Err(too_long(&format!("{name}:{line}"), "the line", limit));
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|e| error(ErrorKind::InvalidProfile, format!("{name}:{line}: not valid UTF-8: {e}")))?;
        if !text.trim().is_empty() {
            f(line, text)?;
        }
    }
}

fn jsonl_lines(path: &Path, f: impl FnMut(usize, &str) -> CliResult<()>) -> CliResult<()> {
    for_each_line(BufReader::new(open(path)?), &path.display().to_string(), MAX_RECORD_BYTES, f)
}

/// What [`CsvGuard`] found in the bytes under the CSV parser.
#[derive(Debug)]
enum CsvProblem {
    /// A quoted field opened on this line runs to the end of the file.
    Unterminated { line: u64 },
    /// The record starting on this line is longer than the limit.
    TooLong { line: u64 },
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvProblem::Unterminated { line } => write!(f, "unterminated quote opened on line {line}"),
            CsvProblem::TooLong { line } => write!(f, "record on line {line} is too long"),
        }
    }
}

impl std::error::Error for CsvProblem {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CsvState {
    StartField,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: the end of the field, or the first half of `""`.
    AfterQuote,
}

/// A reader under the CSV parser that follows the quoting of the `csv` crate's default dialect
/// (`,` delimiter, `"` quotes doubled to escape, `\r`/`\n` terminators) byte by byte. It fails
/// the read when one record grows past `limit` bytes (so the parser never buffers more), and at
/// the end of the input when a quoted field is still open (the `csv` crate would otherwise
/// return the rest of the file as one field and report nothing).
struct CsvGuard<R> {
    inner: R,
    limit: usize,
    state: CsvState,
    line: u64,
    record_line: u64,
    record_bytes: usize,
    quote_line: u64,
}

impl<R: Read> CsvGuard<R> {
    fn new(inner: R, limit: usize) -> CsvGuard<R> {
        CsvGuard { inner, limit, state: CsvState::StartField, line: 1, record_line: 1, record_bytes: 0, quote_line: 0 }
    }

    fn end_record(&mut self) {
        self.state = CsvState::StartField;
        self.record_bytes = 0;
        self.record_line = self.line;
    }

    fn step(&mut self, b: u8) -> Result<(), CsvProblem> {
        let terminator = b == b'\n' || b == b'\r';
        if b == b'\n' {
            self.line += 1;
        }
        match (self.state, b) {
            (CsvState::StartField, b'"') => {
                self.state = CsvState::Quoted;
                self.quote_line = self.line;
            }
            (CsvState::AfterQuote, b'"') => self.state = CsvState::Quoted,
            (CsvState::StartField | CsvState::Unquoted | CsvState::AfterQuote, b',') => {
                self.state = CsvState::StartField
            }
            (CsvState::StartField | CsvState::Unquoted | CsvState::AfterQuote, _) if terminator => {
                self.end_record();
                return Ok(());
            }
            (CsvState::StartField | CsvState::AfterQuote, _) => self.state = CsvState::Unquoted,
            (CsvState::Unquoted, _) => {}
            (CsvState::Quoted, b'"') => self.state = CsvState::AfterQuote,
            (CsvState::Quoted, _) => {}
        }
        self.record_bytes += 1;
        if self.record_bytes > self.limit {
            return Err(CsvProblem::TooLong { line: self.record_line });
        }
        Ok(())
    }
}

impl<R: Read> Read for CsvGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && self.state == CsvState::Quoted {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                CsvProblem::Unterminated { line: self.quote_line },
            ));
        }
        for &b in &buf[..n] {
            self.step(b).map_err(|p| std::io::Error::new(std::io::ErrorKind::InvalidData, p))?;
        }
        Ok(n)
    }
}

fn csv_reader(path: &Path) -> CliResult<csv::Reader<CsvGuard<File>>> {
    Ok(csv::Reader::from_reader(CsvGuard::new(open(path)?, MAX_RECORD_BYTES)))
}

/// A `csv` error as a CLI error naming the file and line.
fn csv_error(name: &str, e: &csv::Error) -> String {
    if let csv::ErrorKind::Io(io) = e.kind() {
        return match io.get_ref().and_then(|inner| inner.downcast_ref::<CsvProblem>()) {
            Some(CsvProblem::Unterminated { line }) => error(
                ErrorKind::InvalidProfile,
                format!(
                    "{name}:{line}: a quoted field opened on this line is never closed (a missing `\"`); \
                     the rest of the file would be read as one field"
                ),
            ),
            Some(CsvProblem::TooLong { line }) => too_long(&format!("{name}:{line}"), "the record", MAX_RECORD_BYTES),
            None => error(ErrorKind::Io, format!("{name}: cannot read: {io}")),
        };
    }
    match e.position() {
        Some(pos) => error(ErrorKind::InvalidProfile, format!("{name}:{}: {e}", pos.line())),
        None => error(ErrorKind::InvalidProfile, format!("{name}: {e}")),
    }
}

/// The file line a CSV record starts on.
fn csv_line(rec: &csv::StringRecord) -> usize {
    rec.position().map_or(0, |p| p.line() as usize)
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
    /// The line of the events file it came from.
    pub line: usize,
}

/// The rows of an events file, with the file's name for messages.
#[derive(Default)]
pub struct Events {
    pub file: String,
    pub rows: Vec<EventRow>,
}

/// Reads events: JSONL rows `{"entity_id", "name", "at", "properties"}` or CSV
/// `entity_id,name,at,<property columns>`.
pub fn read_events(path: &Path, format: Format) -> CliResult<Events> {
    let name = path.display().to_string();
    let mut out = Vec::new();
    match format {
        Format::Jsonl => {
            jsonl_lines(path, |line, text| {
                // The core's document reader: nesting scanned before parsing, the last of
                // repeated keys kept (as for profiles); property values at most 100 levels deep.
                let v = segcore::document::parse_json(
                    text,
                    ErrorKind::InvalidProfile,
                    "event",
                    segcore::document::DuplicateKeys::KeepLast,
                )
                .map_err(|e| core_error(&format!("{name}:{line}"), &e))?;
                if let Some(props) = v.get("properties").and_then(serde_json::Value::as_object) {
                    for (k, p) in props {
                        segcore::document::check_value_depth(p, &format!("event property `{k}`"))
                            .map_err(|e| core_error(&format!("{name}:{line}"), &e))?;
                    }
                }
                let entity = match v.get("entity_id") {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    _ => {
                        return Err(error(
                            ErrorKind::InvalidProfile,
                            format!("{name}:{line}: event has no `entity_id`"),
                        ))
                    }
                };
                let (ename, at, properties) = segcore::profile::parse_event(&v)
                    .map_err(|m| error(ErrorKind::InvalidProfile, format!("{name}:{line}: {m}")))?;
                out.push(EventRow { entity, name: ename.to_string(), at, properties, line });
                Ok(())
            })?;
        }
        Format::Csv => {
            let mut rdr = csv_reader(path)?;
            let headers = rdr.headers().map_err(|e| csv_error(&name, &e))?.clone();
            let col = |n: &str| headers.iter().position(|h| h == n);
            let (Some(ie), Some(iname), Some(iat)) = (col("entity_id"), col("name"), col("at")) else {
                return Err(error(
                    ErrorKind::InvalidProfile,
                    format!("{name}: an events CSV needs the columns entity_id, name, at"),
                ));
            };
            for rec in rdr.records() {
                let rec = rec.map_err(|e| csv_error(&name, &e))?;
                let line = csv_line(&rec);
                let at_text = rec.get(iat).unwrap_or("");
                let at = segcore::time::parse_instant(at_text).ok_or_else(|| {
                    error(
                        ErrorKind::InvalidProfile,
                        format!("{name}:{line}: `at` {at_text:?} is not an RFC 3339 timestamp with an offset"),
                    )
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
                    line,
                });
            }
        }
    }
    Ok(Events { file: name, rows: out })
}

/// Profiles read so far, with the line each came from, refusing a second row with the same id.
struct ProfileRows<'a> {
    file: &'a str,
    profiles: Vec<Profile>,
    index: HashMap<String, (usize, usize)>,
}

impl ProfileRows<'_> {
    fn push(&mut self, p: Profile, line: usize) -> CliResult<()> {
        let file = self.file;
        match self.index.entry(p.id().to_string()) {
            std::collections::hash_map::Entry::Occupied(first) => Err(error(
                ErrorKind::DuplicateProfileId,
                format!(
                    "{file}:{line}: profile id `{}` appears twice: {file}:{} and {file}:{line}",
                    p.id(),
                    first.get().1
                ),
            )),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((self.profiles.len(), line));
                self.profiles.push(p);
                Ok(())
            }
        }
    }
}

/// Reads profiles (JSONL objects `{"id", "attributes", "events"?}` or CSV with an `id` column and
/// one column per attribute) and attaches `events` by entity id. Two rows with the same id are
/// the error `duplicate_profile_id` naming both lines (SPEC §11).
pub fn read_profiles(path: &Path, format: Format, events: Events) -> CliResult<Vec<Profile>> {
    let name = path.display().to_string();
    let mut rows = ProfileRows { file: &name, profiles: Vec::new(), index: HashMap::new() };
    match format {
        Format::Jsonl => {
            jsonl_lines(path, |line, text| {
                let p = Profile::from_json_str(text).map_err(|e| core_error(&format!("{name}:{line}"), &e))?;
                rows.push(p, line)
            })?;
        }
        Format::Csv => {
            let mut rdr = csv_reader(path)?;
            let headers = rdr.headers().map_err(|e| csv_error(&name, &e))?.clone();
            let Some(iid) = headers.iter().position(|h| h == "id") else {
                return Err(error(ErrorKind::InvalidProfile, format!("{name}: a profiles CSV needs an `id` column")));
            };
            for rec in rdr.records() {
                let rec = rec.map_err(|e| csv_error(&name, &e))?;
                let mut p = Profile::new(rec.get(iid).unwrap_or(""));
                for (j, h) in headers.iter().enumerate() {
                    if j != iid {
                        if let Some(v) = rec.get(j).and_then(csv_value) {
                            p.set_attribute(h, v);
                        }
                    }
                }
                rows.push(p, csv_line(&rec))?;
            }
        }
    }
    let ProfileRows { mut profiles, index, .. } = rows;
    if !events.rows.is_empty() {
        for e in events.rows {
            // Events of entities without a profile row are ignored, like a left join.
            if let Some(&(i, _)) = index.get(&e.entity) {
                profiles[i]
                    .push_event(&e.name, e.at, e.properties)
                    .map_err(|err| core_error(&format!("{}:{}", events.file, e.line), &err))?;
            }
        }
        for p in &mut profiles {
            p.finish();
        }
    }
    Ok(profiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str, limit: usize) -> CliResult<Vec<(usize, String)>> {
        let mut out = Vec::new();
        for_each_line(input.as_bytes(), "f", limit, |n, l| {
            out.push((n, l.to_string()));
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn lines_up_to_the_limit_are_read_and_longer_ones_refused() {
        assert_eq!(lines("abcd\n\nxy\r\nz", 4).unwrap(), [(1, "abcd".into()), (3, "xy".into()), (4, "z".into())]);
        assert_eq!(lines("abcd\r\n", 4).unwrap(), [(1, "abcd".into())]);
        assert_eq!(lines("abcd", 4).unwrap(), [(1, "abcd".into())]);
        let e = lines("ab\nabcde\nx\n", 4).unwrap_err();
        assert!(e.starts_with("error[limit_exceeded] f:2: the line is longer than"), "{e}");
        assert!(lines("abcde", 4).unwrap_err().starts_with("error[limit_exceeded] f:1: "));
    }

    fn guard(input: &str, limit: usize) -> Result<(), String> {
        let mut g = CsvGuard::new(input.as_bytes(), limit);
        let mut sink = Vec::new();
        g.read_to_end(&mut sink).map(|_| ()).map_err(|e| e.get_ref().map(|p| p.to_string()).unwrap_or_default())
    }

    #[test]
    fn the_csv_guard_follows_quotes_and_bounds_records() {
        assert_eq!(guard("a,b\n\"x\ny\",\"he said \"\"hi\"\"\"\n", 100), Ok(()));
        assert_eq!(guard("a,b\nc,\"open\nd,e\n", 100), Err("unterminated quote opened on line 2".into()));
        assert_eq!(guard("a,b\nc,\"\"\"\n", 100), Err("unterminated quote opened on line 2".into()));
        // A quote inside an unquoted field is a plain character.
        assert_eq!(guard("a,b\nc,d\"e\n", 100), Ok(()));
        assert_eq!(guard("abcd\nabcd\r\nabcd", 4), Ok(()));
        assert_eq!(guard("abcd\nab\"cde\n", 4), Err("record on line 2 is too long".into()));
        assert_eq!(guard("\"ab\ncd\"\n", 4), Err("record on line 1 is too long".into()));
    }
}
