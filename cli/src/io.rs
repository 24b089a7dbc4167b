//! Opening the CLI's input files: whole documents (FX, schema, one profile) bounded by
//! `segcore::limits::MAX_RECORD_BYTES`, and tables of profiles and events read by the core's
//! `segcore::ingest` (JSONL or CSV, bounded per record).

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::Path;

use segcore::ingest::{Columns, EventRow, TextFormat};
use segcore::limits::MAX_RECORD_BYTES;
use segcore::{ErrorKind, Profile};

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
    /// Apache Parquet: read into Arrow record batches for the columnar engine.
    Parquet,
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
            Some("parquet") | Some("pq") => Ok(Format::Parquet),
            other => Err(format!(
                "{}: cannot tell the format ({}); use a .jsonl, .csv or .parquet file or pass --format",
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

/// A core error about input data, as the CLI prints it: `error[kind] file:line: message`.
pub fn data_error(e: segcore::Error) -> String {
    e.first().to_string()
}

fn text_format(format: Format) -> TextFormat {
    match format {
        // Parquet never reaches the text readers (eval reads it as Arrow); as JSONL it would be
        // refused on its first byte.
        Format::Jsonl | Format::Parquet => TextFormat::Jsonl,
        Format::Csv => TextFormat::Csv,
    }
}

/// Reads an events file (JSONL or CSV, in long form) with the core's reader.
pub fn read_events(path: &Path, format: Format, cols: &Columns) -> CliResult<Vec<EventRow>> {
    segcore::ingest::read_events(open(path)?, text_format(format), &path.display().to_string(), cols)
        .map_err(data_error)
}

/// Reads a profiles file (JSONL or CSV) with the core's reader and attaches `events` by entity id.
/// Two rows with the same id are the error `duplicate_profile_id` naming both lines (SPEC §19).
pub fn read_profiles(path: &Path, format: Format, events: Vec<EventRow>, cols: &Columns) -> CliResult<Vec<Profile>> {
    let mut table = segcore::ingest::read_profiles(open(path)?, text_format(format), &path.display().to_string(), cols)
        .map_err(data_error)?;
    table.attach_events(events).map_err(data_error)?;
    Ok(table.into_profiles())
}

/// The first profile with id `id` in a profiles file: reading stops there.
pub fn find_profile(path: &Path, format: Format, id: &str, cols: &Columns) -> CliResult<Option<Profile>> {
    let mut found = None;
    segcore::ingest::for_each_profile(open(path)?, text_format(format), &path.display().to_string(), cols, |p, _| {
        if p.id() == id {
            found = Some(p);
            return Ok(ControlFlow::Break(()));
        }
        Ok(ControlFlow::Continue(()))
    })
    .map_err(data_error)?;
    Ok(found)
}
