//! Reading member-id exports (SPEC §24): every reader feeds one [`IdCollector`], which applies
//! the rules once — report what is odd, change an id only when asked.

use std::collections::HashMap;
use std::path::Path;

use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::error::{DataLocation, Error, ErrorKind};

/// What the reader may change in ids (SPEC §24: nothing unless asked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdOptions {
    /// Strip leading and trailing white space from every id.
    pub trim: bool,
    /// Normalise every id to Unicode NFC.
    pub nfc: bool,
}

/// An id as a source holds it.
#[derive(Debug, Clone, Copy)]
pub enum RawId<'a> {
    /// A string id.
    Str(&'a str),
    /// An integer id (its decimal text is the id).
    Int(i64),
}

/// A place in a source: a 1-based line (text files) or a 0-based row (tables).
pub type Place = u64;

/// How many examples of each finding a report keeps.
const EXAMPLES: usize = 5;

/// One kind of finding: how often, and the first few places and ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finding {
    /// How many times it occurred.
    pub count: u64,
    /// The first few (place, id) pairs.
    pub examples: Vec<(Place, String)>,
}

impl Finding {
    fn add(&mut self, place: Place, id: &str) {
        self.count += 1;
        if self.examples.len() < EXAMPLES {
            self.examples.push((place, id.chars().take(200).collect()));
        }
    }
}

/// What the reader found in an export (SPEC §24). Places are lines for text files (1-based) and
/// rows for tables (0-based); `place_name` says which.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdReport {
    /// The source's name (a file path).
    pub source: String,
    /// `line` or `row`.
    pub place_name: &'static str,
    /// A UTF-8 byte-order mark at the start was removed.
    pub bom: bool,
    /// Blank lines, skipped.
    pub blank: Finding,
    /// Repeated ids (kept once): each example is the repeat's place; `first_seen` has the first.
    pub duplicates: Finding,
    /// The first place of each duplicated example id.
    pub first_seen: Vec<Place>,
    /// Integer ids (JSON numbers, integer columns).
    pub integers: Finding,
    /// String ids.
    pub strings: Finding,
    /// Ids with leading or trailing white space (trimmed if `trim`).
    pub whitespace: Finding,
    /// Ids not in Unicode NFC (normalised if `nfc`).
    pub not_nfc: Finding,
    /// Ids that `trim`/`nfc` changed.
    pub changed: Finding,
}

impl IdReport {
    /// True when the source mixes integer and string ids.
    pub fn mixed_types(&self) -> bool {
        self.integers.count > 0 && self.strings.count > 0
    }

    /// One line per finding, for people (empty when nothing was found).
    pub fn warnings(&self) -> Vec<String> {
        let p = self.place_name;
        let mut out = Vec::new();
        let ex = |f: &Finding| -> String {
            f.examples.iter().map(|(at, id)| format!("{p} {} {id:?}", at)).collect::<Vec<_>>().join(", ")
        };
        if self.bom {
            out.push(format!("{}: a UTF-8 byte-order mark at the start was removed", self.source));
        }
        if self.blank.count > 0 {
            let at: Vec<String> = self.blank.examples.iter().map(|(l, _)| l.to_string()).collect();
            out.push(format!("{}: {} blank {p}(s) skipped ({p} {})", self.source, self.blank.count, at.join(", ")));
        }
        if self.duplicates.count > 0 {
            let pairs: Vec<String> = self
                .duplicates
                .examples
                .iter()
                .zip(&self.first_seen)
                .map(|((at, id), first)| format!("{id:?} at {p}s {first} and {at}"))
                .collect();
            out.push(format!(
                "{}: {} duplicate id(s), each kept once: {}",
                self.source,
                self.duplicates.count,
                pairs.join("; ")
            ));
        }
        if self.mixed_types() {
            out.push(format!(
                "{}: {} integer and {} string ids (an integer is its decimal text, so 42 and \"42\" are one id): first integer at {p} {}, first string at {p} {}",
                self.source,
                self.integers.count,
                self.strings.count,
                self.integers.examples.first().map_or(String::new(), |e| e.0.to_string()),
                self.strings.examples.first().map_or(String::new(), |e| e.0.to_string()),
            ));
        }
        if self.whitespace.count > 0 {
            out.push(format!(
                "{}: {} id(s) with leading or trailing white space ({}): {}",
                self.source,
                self.whitespace.count,
                ex(&self.whitespace),
                if self.changed.count > 0 { "trimmed as asked" } else { "kept as they are; --trim strips it" }
            ));
        }
        if self.not_nfc.count > 0 {
            out.push(format!(
                "{}: {} id(s) not in Unicode NFC ({}): {}",
                self.source,
                self.not_nfc.count,
                ex(&self.not_nfc),
                if self.changed.count > 0 { "normalised as asked" } else { "kept as they are; --nfc normalises them" }
            ));
        }
        out
    }
}

/// A set of ids read from a source, in first-seen order, with the reader's report.
#[derive(Debug, Clone, Default)]
pub struct IdSet {
    /// The distinct ids, in the order first seen.
    pub ids: Vec<String>,
    /// What the reader found.
    pub report: IdReport,
}

/// Builds an [`IdSet`] from ids pushed one at a time; the one place SPEC §24's rules live.
///
/// ```
/// use segcore::reconcile::{IdCollector, IdOptions, RawId};
/// let mut c = IdCollector::new("export.csv", "line", IdOptions::default());
/// c.push(2, RawId::Str("u1")).unwrap();
/// c.push(3, RawId::Int(42)).unwrap();
/// c.push(4, RawId::Str("u1")).unwrap();
/// let set = c.finish();
/// assert_eq!(set.ids, vec!["u1", "42"]);
/// assert_eq!(set.report.duplicates.count, 1);
/// assert!(set.report.mixed_types());
/// ```
#[derive(Debug)]
pub struct IdCollector {
    options: IdOptions,
    /// foldhash: ids are data, but a collision only costs time, never an answer.
    seen: HashMap<String, Place, foldhash::fast::FixedState>,
    set: IdSet,
}

impl IdCollector {
    /// A collector for a source named `source` whose places are `line`s or `row`s.
    pub fn new(source: &str, place_name: &'static str, options: IdOptions) -> IdCollector {
        let report = IdReport { source: source.to_string(), place_name, ..Default::default() };
        IdCollector { options, seen: HashMap::default(), set: IdSet { ids: Vec::new(), report } }
    }

    /// Records that a byte-order mark was removed.
    pub fn bom(&mut self) {
        self.set.report.bom = true;
    }

    /// Records a blank line.
    pub fn blank(&mut self, place: Place) {
        self.set.report.blank.add(place, "");
    }

    /// Adds one id found at `place`; an empty id is `invalid_ids`.
    pub fn push(&mut self, place: Place, raw: RawId<'_>) -> Result<(), Error> {
        use std::borrow::Cow;
        let original: Cow<'_, str> = match raw {
            RawId::Int(i) => {
                let text = i.to_string();
                self.set.report.integers.add(place, &text);
                Cow::Owned(text)
            }
            RawId::Str(s) => {
                self.set.report.strings.add(place, s);
                Cow::Borrowed(s)
            }
        };
        // Checks first; an id is copied only when it is kept (and changed only when asked).
        let mut id: Cow<'_, str> = original.clone();
        if id.trim().len() != id.len() {
            self.set.report.whitespace.add(place, &id);
            if self.options.trim {
                id = Cow::Owned(id.trim().to_string());
            }
        }
        let nfc = id.is_ascii()
            || match is_nfc_quick(id.chars()) {
                IsNormalized::Yes => true,
                _ => id.nfc().eq(id.chars()),
            };
        if !nfc {
            self.set.report.not_nfc.add(place, &id);
            if self.options.nfc {
                id = Cow::Owned(id.nfc().collect());
            }
        }
        if id != original {
            self.set.report.changed.add(place, &original);
        }
        if id.is_empty() {
            return Err(self.error(place, "an empty id".to_string()));
        }
        match self.seen.get(id.as_ref()) {
            Some(&first) => {
                self.set.report.duplicates.add(place, &id);
                if self.set.report.first_seen.len() < EXAMPLES {
                    self.set.report.first_seen.push(first);
                }
            }
            None => {
                let owned = id.into_owned();
                self.seen.insert(owned.clone(), place);
                self.set.ids.push(owned);
            }
        }
        Ok(())
    }

    /// An `invalid_ids` error at `place` of this source.
    pub fn error(&self, place: Place, why: String) -> Error {
        let r = &self.set.report;
        let loc = if r.place_name == "row" {
            DataLocation { source: Some(r.source.clone()), row: Some(place), ..Default::default() }
        } else {
            DataLocation { source: Some(r.source.clone()), line: Some(place), ..Default::default() }
        };
        Error::new(ErrorKind::InvalidIds, why).at_data(loc)
    }

    /// The set and its report.
    pub fn finish(self) -> IdSet {
        self.set
    }
}

/// The text formats of an id export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdFormat {
    /// One id per line.
    Text,
    /// CSV with a header row.
    Csv,
    /// JSON Lines: a string, an integer or an object per line.
    Jsonl,
}

impl IdFormat {
    /// The format a file name implies: `.csv`, `.jsonl`/`.ndjson`, otherwise one id per line.
    pub fn of_path(path: &Path) -> IdFormat {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => IdFormat::Csv,
            Some("jsonl" | "ndjson" | "json") => IdFormat::Jsonl,
            _ => IdFormat::Text,
        }
    }
}

/// Reads an id export from text (SPEC §24). `column` names the CSV column or JSON field (default:
/// `id`, or a CSV file's only column).
///
/// ```
/// use segcore::reconcile::{read_ids, IdFormat, IdOptions};
/// let text = "\u{feff}id,name\nu1,Ann\n\nu2,Bo\nu1,Ann\n";
/// let set = read_ids("export.csv", text.as_bytes(), IdFormat::Csv, None, IdOptions::default()).unwrap();
/// assert_eq!(set.ids, vec!["u1", "u2"]);
/// assert!(set.report.bom);
/// assert_eq!(set.report.blank.count, 1);
/// assert_eq!(set.report.duplicates.examples[0], (5, "u1".to_string()));
/// ```
pub fn read_ids(
    source: &str,
    bytes: &[u8],
    format: IdFormat,
    column: Option<&str>,
    options: IdOptions,
) -> Result<IdSet, Error> {
    let mut c = IdCollector::new(source, "line", options);
    let mut bytes = bytes;
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        c.bom();
        bytes = rest;
    }
    let mut col_index: Option<usize> = None;
    // The final newline ends the last line; it does not start an empty one.
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let lines = if bytes.is_empty() { None } else { Some(body.split(|&b| b == b'\n')) };
    for (i, raw_line) in lines.into_iter().flatten().enumerate() {
        let place = i as u64 + 1;
        let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
        let line = std::str::from_utf8(raw_line)
            .map_err(|e| c.error(place, format!("the line is not UTF-8 (byte {})", e.valid_up_to() + 1)))?;
        if line.trim().is_empty() {
            c.blank(place);
            continue;
        }
        match format {
            IdFormat::Text => c.push(place, RawId::Str(line))?,
            IdFormat::Csv => {
                let fields = csv_fields(line).map_err(|why| c.error(place, why))?;
                match col_index {
                    None => {
                        let want = column.unwrap_or("id");
                        col_index = Some(match fields.iter().position(|f| f == want) {
                            Some(p) => p,
                            None if column.is_none() && fields.len() == 1 => 0,
                            None => {
                                return Err(c.error(
                                    place,
                                    format!("the header has no column {want:?} (columns: {})", fields.join(", ")),
                                ))
                            }
                        });
                    }
                    Some(p) => {
                        let Some(v) = fields.get(p) else {
                            return Err(
                                c.error(place, format!("the row has {} field(s), no column {}", fields.len(), p + 1))
                            );
                        };
                        c.push(place, RawId::Str(v))?;
                    }
                }
            }
            IdFormat::Jsonl => {
                let v: serde_json::Value =
                    serde_json::from_str(line).map_err(|e| c.error(place, format!("not JSON: {e}")))?;
                let field = column.unwrap_or("id");
                let v = match &v {
                    serde_json::Value::Object(o) => {
                        o.get(field).ok_or_else(|| c.error(place, format!("the object has no field {field:?}")))?
                    }
                    other => other,
                };
                match v {
                    serde_json::Value::String(s) => c.push(place, RawId::Str(s))?,
                    serde_json::Value::Number(n) if n.as_i64().is_some() => {
                        c.push(place, RawId::Int(n.as_i64().expect("checked")))?
                    }
                    other => {
                        let what = match other {
                            serde_json::Value::Null => "null",
                            serde_json::Value::Number(_) => "a number that is not a 64-bit integer",
                            serde_json::Value::Bool(_) => "a boolean",
                            serde_json::Value::Array(_) => "an array",
                            _ => "an object",
                        };
                        return Err(c.error(place, format!("the id is {what}, not a string or an integer")));
                    }
                }
            }
        }
    }
    if format == IdFormat::Csv && col_index.is_none() {
        return Err(c.error(1, "the CSV file has no header row".into()));
    }
    Ok(c.finish())
}

/// One CSV line's fields (RFC 4180 quoting; a quoted field cannot span lines in an id export).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(ch) = chars.next() {
        match (quoted, ch) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cur.push(c),
            (false, '"') if cur.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            (false, ',') => {
                out.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            (false, c) => cur.push(c),
        }
    }
    if quoted {
        return Err("an unclosed quote (a quoted id cannot span lines)".into());
    }
    out.push(cur);
    Ok(out)
}
