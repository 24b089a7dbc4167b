//! Reading tables of profiles and events from text: JSON Lines and CSV, bounded (no record — a
//! JSONL line, a CSV row — is buffered past [`MAX_RECORD_BYTES`]), with one typing rule for CSV
//! cells ([`csv_value`]). The CLI reads its files through this module; Arrow tables have their
//! own reader (`ingest_arrow`, feature `arrow`), the tape its decoder (`tape`).
//!
//! Errors are `invalid_profile` (or `limit_exceeded`, `duplicate_profile_id`, `io`) placed at the
//! input's name and line ([`DataLocation`]; they print as `error[kind] file:line: message`).
//!
//! ```
//! use segcore::ingest::{read_events, read_profiles, Columns, TextFormat};
//! let cols = Columns::default();
//! let events = read_events("entity_id,name,at,amount\nu1,purchase,2026-03-01T00:00:00Z,19.99 EUR\n".as_bytes(),
//!     TextFormat::Csv, "events.csv", &cols).unwrap();
//! let mut table = read_profiles("id,age,zip\nu1,30,01234\n".as_bytes(), TextFormat::Csv, "profiles.csv", &cols).unwrap();
//! table.attach_events(events).unwrap();
//! let p = &table.profiles()[0];
//! assert_eq!(p.attribute("zip"), Some(&segcore::Value::Str("01234".into()))); // no leading zeros in numbers
//! assert_eq!(p.event_count(), 1);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::ops::ControlFlow;

use crate::error::{DataLocation, Error, ErrorKind};
use crate::limits::MAX_RECORD_BYTES;
use crate::profile::Profile;
use crate::value::Value;

/// A text table format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFormat {
    /// One JSON object per line: profiles `{"id", "attributes", "events"?}`, events
    /// `{"entity_id", "name", "at", "properties"?}`.
    Jsonl,
    /// A header row, then one row per profile (an id column and one column per attribute) or per
    /// event (entity id, name and `at` columns, one column per property).
    Csv,
}

/// The names of the columns segcore reads by role; everything else is an attribute (profiles)
/// or a property (events). The defaults are `id`, `entity_id`, `name` and `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The profiles' id column (CSV).
    pub id: String,
    /// The events' entity id column (CSV and JSONL).
    pub entity_id: String,
    /// The events' name column (CSV).
    pub name: String,
    /// The events' time column (CSV).
    pub at: String,
}

impl Default for Columns {
    fn default() -> Columns {
        Columns { id: "id".into(), entity_id: "entity_id".into(), name: "name".into(), at: "at".into() }
    }
}

/// An error about `source` at `line` (1-based), placed there.
fn at_line(kind: ErrorKind, source: &str, line: u64, message: impl fmt::Display) -> Error {
    Error::new(kind, message.to_string()).at_data(DataLocation {
        source: Some(source.into()),
        line: Some(line),
        ..Default::default()
    })
}

/// An error about the whole of `source`.
fn in_source(kind: ErrorKind, source: &str, message: impl fmt::Display) -> Error {
    Error::new(kind, message.to_string()).at_data(DataLocation { source: Some(source.into()), ..Default::default() })
}

fn too_long(source: &str, line: u64, what: &str, limit: usize) -> Error {
    at_line(
        ErrorKind::LimitExceeded,
        source,
        line,
        format_args!("{what} is longer than {limit} bytes, the limit on one input record (limits::MAX_RECORD_BYTES)"),
    )
}

/// A core error found at `line` of `source`: its kind and first message, placed there.
fn located(source: &str, line: u64, e: &Error) -> Error {
    at_line(e.kind(), source, line, &e.first().message)
}

/// Calls `f(line_number, line)` for every non-blank line (1-based numbers; `\n` or `\r\n` ends a
/// line and is not counted). A line is read with `read_until` under a `take(limit + 2)`, so no
/// more than `limit + 2` bytes are ever buffered: a longer line (or an endless one, `/dev/zero`)
/// is `limit_exceeded` naming `source` and the line. `f` may stop the reading early.
pub fn for_each_line(
    reader: impl Read,
    source: &str,
    limit: usize,
    mut f: impl FnMut(u64, &str) -> Result<ControlFlow<()>, Error>,
) -> Result<(), Error> {
    for_each_raw_line(reader, source, limit, |line, bytes| {
        let text = std::str::from_utf8(bytes)
            .map_err(|e| at_line(ErrorKind::InvalidProfile, source, line, format_args!("not valid UTF-8: {e}")))?;
        f(line, text)
    })
}

/// [`for_each_line`] without the UTF-8 check: `f` gets each non-blank line's bytes (a stream
/// dead-letters a line that is not text instead of stopping).
pub fn for_each_raw_line(
    reader: impl Read,
    source: &str,
    limit: usize,
    mut f: impl FnMut(u64, &[u8]) -> Result<ControlFlow<()>, Error>,
) -> Result<(), Error> {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        line += 1;
        buf.clear();
        let n = (&mut reader)
            .take(limit as u64 + 2)
            .read_until(b'\n', &mut buf)
            .map_err(|e| at_line(ErrorKind::Io, source, line, format_args!("cannot read: {e}")))?;
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
            return Err(too_long(source, line, "the line", limit));
        }
        let blank = std::str::from_utf8(&buf).is_ok_and(|t| t.trim().is_empty());
        if !blank && f(line, &buf)?.is_break() {
            return Ok(());
        }
    }
}

/// Whole lines gathered before they are parsed on every core (bytes, about).
const BLOCK_BYTES: usize = 4 << 20;

/// A block of lines: the text, and each line's number and byte range in it.
#[derive(Default)]
struct Block {
    text: String,
    lines: Vec<(u64, usize, usize)>,
}

impl Block {
    /// Parses the block's lines on up to `threads` threads, then hands the results to `sink` in
    /// line order; the first parse error in line order ends it, after every line before it
    /// reached the sink, exactly as when each line is parsed as it is read.
    fn drain<T: Send>(
        &mut self,
        threads: usize,
        parse: &(dyn Fn(u64, &str) -> Result<T, Error> + Sync),
        sink: &mut dyn FnMut(T, u64) -> Result<ControlFlow<()>, Error>,
    ) -> Result<ControlFlow<()>, Error> {
        let (text, lines) = (&self.text, &self.lines);
        let parts = crate::parallel::parallel_ranges(lines.len(), threads, 64, &|r| {
            let mut out = Vec::with_capacity(r.len());
            for &(line, a, b) in &lines[r] {
                match parse(line, &text[a..b]) {
                    Ok(t) => out.push((t, line)),
                    Err(e) => return Ok((out, Some(e))),
                }
            }
            Ok((out, None))
        })?;
        self.text.clear();
        self.lines.clear();
        for (parsed, error) in parts {
            for (t, line) in parsed {
                if sink(t, line)?.is_break() {
                    return Ok(ControlFlow::Break(()));
                }
            }
            if let Some(e) = error {
                return Err(e);
            }
        }
        Ok(ControlFlow::Continue(()))
    }
}

/// [`for_each_line`] with each line parsed by `parse` on every core: lines are gathered into
/// blocks of about 4 MiB and parsed in contiguous ranges, `sink` receives the results in line
/// order, and the error returned is the first in line order (a parse error, an error of `sink`,
/// or a line that cannot be read) — the same one a line-by-line read returns.
fn for_each_parsed_line<T: Send>(
    reader: impl Read,
    source: &str,
    limit: usize,
    parse: &(dyn Fn(u64, &str) -> Result<T, Error> + Sync),
    mut sink: impl FnMut(T, u64) -> Result<ControlFlow<()>, Error>,
) -> Result<(), Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(16);
    let mut block = Block::default();
    let read = for_each_line(reader, source, limit, |line, text| {
        let start = block.text.len();
        block.text.push_str(text);
        block.lines.push((line, start, block.text.len()));
        if block.text.len() < BLOCK_BYTES {
            return Ok(ControlFlow::Continue(()));
        }
        block.drain(threads, parse, &mut sink)
    });
    // The lines read before a line that cannot be read come first: their error, or a sink that
    // stopped there, wins over the read error.
    match block.drain(threads, parse, &mut sink)? {
        ControlFlow::Break(()) => Ok(()),
        ControlFlow::Continue(()) => read,
    }
}

/// What [`CsvGuard`] found in the bytes under the CSV parser.
#[derive(Debug)]
enum CsvProblem {
    /// A quoted field opened on this line runs to the end of the input.
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
/// return the rest of the input as one field and report nothing).
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

fn csv_reader<R: Read>(reader: R) -> csv::Reader<CsvGuard<R>> {
    csv::Reader::from_reader(CsvGuard::new(reader, MAX_RECORD_BYTES))
}

/// A `csv` error as a segcore error naming the input and line.
fn csv_error(source: &str, e: &csv::Error) -> Error {
    if let csv::ErrorKind::Io(io) = e.kind() {
        return match io.get_ref().and_then(|inner| inner.downcast_ref::<CsvProblem>()) {
            Some(CsvProblem::Unterminated { line }) => at_line(
                ErrorKind::InvalidProfile,
                source,
                *line,
                "a quoted field opened on this line is never closed (a missing `\"`); \
                 the rest of the file would be read as one field",
            ),
            Some(CsvProblem::TooLong { line }) => too_long(source, *line, "the record", MAX_RECORD_BYTES),
            None => in_source(ErrorKind::Io, source, format_args!("cannot read: {io}")),
        };
    }
    match e.position() {
        Some(pos) => at_line(ErrorKind::InvalidProfile, source, pos.line(), e),
        None => in_source(ErrorKind::InvalidProfile, source, e),
    }
}

/// The line a CSV record starts on.
fn csv_line(rec: &csv::StringRecord) -> u64 {
    rec.position().map_or(0, |p| p.line())
}

/// A CSV cell as a value (SPEC §15): empty → absent; strict int/float/bool spellings; anything
/// else a string. Zip codes like `01234` stay strings (no leading zeros in numbers); `19.99 EUR`
/// is money.
///
/// ```
/// use segcore::{ingest::csv_value, Value};
/// assert_eq!(csv_value(""), None);
/// assert_eq!(csv_value("42"), Some(Value::Int(42)));
/// assert_eq!(csv_value("007"), Some(Value::Str("007".into())));
/// ```
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
    if let Some(m) = crate::value::parse_money_text(cell) {
        return Some(Value::Money(m));
    }
    Some(Value::Str(cell.into()))
}

/// One event row before grouping by entity.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    /// The profile's id the event belongs to (the `entity_id` column).
    pub entity: String,
    /// The event name aggregates select by (`purchase` in `count(purchase)`).
    pub name: String,
    /// Microseconds since the epoch (UTC); the input needs an offset.
    pub at: i64,
    /// Property values by name (CSV: the columns other than id, name and `at`).
    pub properties: BTreeMap<Box<str>, Value>,
    /// The input it came from, and its line there.
    pub source: std::sync::Arc<str>,
    /// 1-based line in `source` (for CSV, where the record starts).
    pub line: u64,
}

/// Reads events in long form: JSONL rows `{"entity_id", "name", "at", "properties"}` or CSV
/// `entity_id,name,at,<property columns>` (column names per `cols`).
pub fn read_events(
    reader: impl Read,
    format: TextFormat,
    source: &str,
    cols: &Columns,
) -> Result<Vec<EventRow>, Error> {
    let shared: std::sync::Arc<str> = source.into();
    let mut out = Vec::new();
    match format {
        TextFormat::Jsonl => {
            let parse = |line: u64, text: &str| -> Result<EventRow, Error> {
                // Nesting scanned before parsing, the last of repeated keys kept (as for
                // profiles); property values at most 100 levels deep.
                let v = crate::document::parse_json(
                    text,
                    ErrorKind::InvalidProfile,
                    "event",
                    crate::document::DuplicateKeys::KeepLast,
                )
                .map_err(|e| located(source, line, &e))?;
                if let Some(props) = v.get("properties").and_then(serde_json::Value::as_object) {
                    for (k, p) in props {
                        crate::document::check_value_depth(p, &format!("event property `{k}`"))
                            .map_err(|e| located(source, line, &e))?;
                    }
                }
                let entity = match v.get(cols.entity_id.as_str()) {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(serde_json::Value::Number(n)) => n.to_string(),
                    _ => {
                        let msg = format!("event has no `{}`", cols.entity_id);
                        return Err(at_line(ErrorKind::InvalidProfile, source, line, msg));
                    }
                };
                let (name, at, properties) = crate::profile::parse_event(&v)
                    .map_err(|m| at_line(ErrorKind::InvalidProfile, source, line, m.message()))?;
                Ok(EventRow { entity, name: name.to_string(), at, properties, source: shared.clone(), line })
            };
            for_each_parsed_line(reader, source, MAX_RECORD_BYTES, &parse, |event, _| {
                out.push(event);
                Ok(ControlFlow::Continue(()))
            })?;
        }
        TextFormat::Csv => {
            let mut rdr = csv_reader(reader);
            let headers = rdr.headers().map_err(|e| csv_error(source, &e))?.clone();
            let col = |n: &str| headers.iter().position(|h| h == n);
            let (Some(ie), Some(iname), Some(iat)) = (col(&cols.entity_id), col(&cols.name), col(&cols.at)) else {
                let msg = format!(
                    "an events CSV needs the columns {}, {}, {} (found: {}); name yours with the column options",
                    cols.entity_id,
                    cols.name,
                    cols.at,
                    headers.iter().collect::<Vec<_>>().join(", ")
                );
                return Err(in_source(ErrorKind::InvalidProfile, source, msg));
            };
            for rec in rdr.records() {
                let rec = rec.map_err(|e| csv_error(source, &e))?;
                let line = csv_line(&rec);
                let at_text = rec.get(iat).unwrap_or("");
                let at = crate::time::parse_instant(at_text)
                    .ok_or_else(|| at_line(ErrorKind::InvalidProfile, source, line, bad_at(&cols.at, Some(at_text))))?;
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
                    source: shared.clone(),
                    line,
                });
            }
        }
    }
    Ok(out)
}

/// Profiles in input order with the line each came from; ids are unique.
#[derive(Debug, Default)]
pub struct ProfileTable {
    source: String,
    profiles: Vec<Profile>,
    index: HashMap<String, (usize, u64)>,
}

impl ProfileTable {
    /// An empty table of profiles read from `source`.
    pub fn new(source: &str) -> ProfileTable {
        ProfileTable { source: source.into(), ..ProfileTable::default() }
    }

    /// Adds a profile read at `line`; a second profile with the same id is the error
    /// `duplicate_profile_id` naming both lines (SPEC §19).
    pub fn push(&mut self, p: Profile, line: u64) -> Result<(), Error> {
        let source = &self.source;
        match self.index.entry(p.id().to_string()) {
            std::collections::hash_map::Entry::Occupied(first) => {
                let msg =
                    format!("profile id `{}` appears twice: {source}:{} and {source}:{line}", p.id(), first.get().1);
                Err(at_line(ErrorKind::DuplicateProfileId, source, line, msg))
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((self.profiles.len(), line));
                self.profiles.push(p);
                Ok(())
            }
        }
    }

    /// Attaches events to their profiles by entity id. Events of entities without a profile row
    /// are ignored, like a left join.
    pub fn attach_events(&mut self, events: Vec<EventRow>) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        for e in events {
            if let Some(&(i, _)) = self.index.get(&e.entity) {
                self.profiles[i]
                    .push_event(&e.name, e.at, e.properties)
                    .map_err(|err| located(&e.source, e.line, &err))?;
            }
        }
        for p in &mut self.profiles {
            p.finish();
        }
        Ok(())
    }

    /// The profiles, in input order.
    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The profiles, in input order.
    pub fn into_profiles(self) -> Vec<Profile> {
        self.profiles
    }
}

/// Calls `f(profile, line)` for each profile of a JSONL or CSV input (CSV: the `cols.id` column
/// and one column per attribute), in order, until `f` breaks. Reading stops there: looking for
/// one entity does not parse the rest of the file.
pub fn for_each_profile(
    reader: impl Read,
    format: TextFormat,
    source: &str,
    cols: &Columns,
    mut f: impl FnMut(Profile, u64) -> Result<ControlFlow<()>, Error>,
) -> Result<(), Error> {
    match format {
        TextFormat::Jsonl => for_each_parsed_line(
            reader,
            source,
            MAX_RECORD_BYTES,
            &|line, text| Profile::from_json_str(text).map_err(|e| located(source, line, &e)),
            f,
        ),
        TextFormat::Csv => {
            let mut rdr = csv_reader(reader);
            let headers = rdr.headers().map_err(|e| csv_error(source, &e))?.clone();
            let Some(iid) = headers.iter().position(|h| h == cols.id) else {
                let msg = format!(
                    "a profiles CSV needs an `{}` column (found: {}); name yours with the column options",
                    cols.id,
                    headers.iter().collect::<Vec<_>>().join(", ")
                );
                return Err(in_source(ErrorKind::InvalidProfile, source, msg));
            };
            for rec in rdr.records() {
                let rec = rec.map_err(|e| csv_error(source, &e))?;
                let mut p = Profile::new(rec.get(iid).unwrap_or(""));
                for (j, h) in headers.iter().enumerate() {
                    if j != iid {
                        if let Some(v) = rec.get(j).and_then(csv_value) {
                            p.set_attribute(h, v);
                        }
                    }
                }
                if f(p, csv_line(&rec))?.is_break() {
                    break;
                }
            }
            Ok(())
        }
    }
}

/// Reads every profile of a JSONL or CSV input into a table (ids unique).
pub fn read_profiles(
    reader: impl Read,
    format: TextFormat,
    source: &str,
    cols: &Columns,
) -> Result<ProfileTable, Error> {
    let mut table = ProfileTable::new(source);
    for_each_profile(reader, format, source, cols, |p, line| {
        table.push(p, line)?;
        Ok(ControlFlow::Continue(()))
    })?;
    Ok(table)
}

/// The message for an event time that is not an instant, the same for files and frames:
/// `text` is the cell's text, `None` for a null (an empty CSV cell is the text "").
pub(crate) fn bad_at(column: &str, text: Option<&str>) -> String {
    match text {
        Some(t) => format!("`{column}` {t:?} is not an RFC 3339 timestamp with an offset (like 2026-03-01T10:00:00Z)"),
        None => format!("`{column}` is null: every event needs its time (RFC 3339 with an offset)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &str, limit: usize) -> Result<Vec<(u64, String)>, Error> {
        let mut out = Vec::new();
        for_each_line(input.as_bytes(), "f", limit, |n, l| {
            out.push((n, l.to_string()));
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    #[test]
    fn lines_up_to_the_limit_are_read_and_longer_ones_refused() {
        assert_eq!(lines("abcd\n\nxy\r\nz", 4).unwrap(), [(1, "abcd".into()), (3, "xy".into()), (4, "z".into())]);
        assert_eq!(lines("abcd\r\n", 4).unwrap(), [(1, "abcd".into())]);
        assert_eq!(lines("abcd", 4).unwrap(), [(1, "abcd".into())]);
        let e = lines("ab\nabcde\nx\n", 4).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::LimitExceeded);
        assert!(e.to_string().starts_with("error[limit_exceeded] f:2: the line is longer than"), "{e}");
        assert_eq!(e.first().data.as_deref().unwrap().line, Some(2));
        assert!(lines("abcde", 4).unwrap_err().to_string().starts_with("error[limit_exceeded] f:1: "));
    }

    /// 60,000 event lines (≈ 5 MB: more than one parse block), with `bad` lines replaced.
    fn events_jsonl(bad: &[(u64, &str)]) -> String {
        (1..=60_000u64)
            .map(|n| match bad.iter().find(|(l, _)| *l == n) {
                Some((_, text)) => format!("{text}\n"),
                None => format!(
                    "{{\"entity_id\":\"u{}\",\"name\":\"purchase\",\"at\":\"2026-03-01T00:00:00Z\",\"properties\":{{\"n\":{n}}}}}\n",
                    n % 97
                ),
            })
            .collect()
    }

    fn read_jsonl_events(input: &str, limit: usize) -> Result<Vec<EventRow>, Error> {
        let mut out = Vec::new();
        for_each_parsed_line(
            input.as_bytes(),
            "e.jsonl",
            limit,
            &|line, text| {
                let v: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| at_line(ErrorKind::InvalidProfile, "e.jsonl", line, e))?;
                let (name, at, properties) = crate::profile::parse_event(&v)
                    .map_err(|m| at_line(ErrorKind::InvalidProfile, "e.jsonl", line, m.message()))?;
                let entity = v["entity_id"].as_str().unwrap_or_default().to_string();
                Ok(EventRow { entity, name: name.to_string(), at, properties, source: "e.jsonl".into(), line })
            },
            |e, _| {
                out.push(e);
                Ok(ControlFlow::Continue(()))
            },
        )?;
        Ok(out)
    }

    #[test]
    fn lines_parsed_on_every_core_keep_their_order_and_the_first_error() {
        let all = read_events(events_jsonl(&[]).as_bytes(), TextFormat::Jsonl, "e.jsonl", &Columns::default()).unwrap();
        assert_eq!(all.len(), 60_000);
        assert!(all
            .iter()
            .enumerate()
            .all(|(i, e)| e.line == i as u64 + 1 && e.entity == format!("u{}", (i + 1) % 97)));
        // A bad line late in the input, and a later unreadable one: the first in line order.
        let long = "x".repeat(200);
        let e = read_jsonl_events(&events_jsonl(&[(45_000, "{"), (50_000, &long)]), 150).unwrap_err();
        assert!(e.to_string().starts_with("error[invalid_profile] e.jsonl:45000:"), "{e}");
        let e = read_jsonl_events(&events_jsonl(&[(52_000, "{"), (50_000, &long)]), 150).unwrap_err();
        assert!(e.to_string().starts_with("error[limit_exceeded] e.jsonl:50000:"), "{e}");
        // Two bad lines in one block, parsed by different threads: the earlier one.
        let e = read_jsonl_events(&events_jsonl(&[(59_990, "{"), (31_000, "[")]), 150).unwrap_err();
        assert!(e.to_string().starts_with("error[invalid_profile] e.jsonl:31000:"), "{e}");
        // The sink's own error (a repeated profile id at line 3) comes before a later bad line.
        let mut profiles: String = (1..=60_000).map(|n| format!("{{\"id\":\"p{n}\",\"attributes\":{{}}}}\n")).collect();
        profiles = profiles.replacen("\"p3\"", "\"p1\"", 1) + "{\n";
        let e = read_profiles(profiles.as_bytes(), TextFormat::Jsonl, "p.jsonl", &Columns::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DuplicateProfileId, "{e}");
        // A sink that stops (finding one profile) stops before a later bad line.
        let mut seen = 0;
        for_each_profile(profiles.as_bytes(), TextFormat::Jsonl, "p.jsonl", &Columns::default(), |p, line| {
            seen += 1;
            Ok(if p.id() == "p40000" && line == 40_000 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) })
        })
        .unwrap();
        assert_eq!(seen, 40_000);
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

    #[test]
    fn columns_can_be_named_by_the_caller() {
        let cols = Columns { id: "user".into(), entity_id: "user_id".into(), name: "event".into(), at: "ts".into() };
        let events = read_events(
            "user_id,event,ts,amount\nu1,buy,2026-03-01T00:00:00Z,5\n".as_bytes(),
            TextFormat::Csv,
            "e.csv",
            &cols,
        )
        .unwrap();
        assert_eq!((events[0].entity.as_str(), events[0].name.as_str()), ("u1", "buy"));
        let mut t = read_profiles("user,age\nu1,30\n".as_bytes(), TextFormat::Csv, "p.csv", &cols).unwrap();
        t.attach_events(events).unwrap();
        assert_eq!(t.profiles()[0].events("buy").map(|g| g.events.len()), Some(1));
        // The default names are not found: the message lists the columns there are.
        let err =
            read_events("user_id,event,ts\n".as_bytes(), TextFormat::Csv, "e.csv", &Columns::default()).unwrap_err();
        assert!(err.first().message.contains("(found: user_id, event, ts)"), "{err}");
    }

    #[test]
    fn a_repeated_id_names_both_lines() {
        let err = read_profiles("id,a\nx,1\ny,2\nx,3\n".as_bytes(), TextFormat::Csv, "p.csv", &Columns::default())
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DuplicateProfileId);
        assert_eq!(
            err.to_string(),
            "error[duplicate_profile_id] p.csv:4: profile id `x` appears twice: p.csv:2 and p.csv:4"
        );
    }
}
