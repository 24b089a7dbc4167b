//! The membership log's file (SPEC §23): `transitions.log`, checksummed records appended and
//! fsynced at commits, read back up to the last good commit.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, ErrorKind};
use crate::stream::{DefinitionInfo, Record, Transition, TransitionKind};
use crate::temporal::{Cause, CauseKind};
use crate::time;

/// The file's first 8 bytes.
pub const MAGIC: &[u8; 8] = b"SEGLOG1\n";
/// The log file's name in its folder.
pub const LOG_FILE: &str = "transitions.log";

const DEFINITION: u8 = 1;
const TRANSITION: u8 = 2;
const RETRACT: u8 = 3;
const COMMIT: u8 = 4;
/// No record is this long; a length past it is damage, not a record to allocate for.
const MAX_RECORD: u32 = 1 << 24;

pub(crate) fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {what}: {e}", path.display()))
}

/// One record read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRecord {
    /// A definition the later records refer to by index.
    Definition(Arc<DefinitionInfo>),
    /// A transition.
    Emit(Transition),
    /// A retraction of an earlier transition.
    Retract(Transition),
    /// A commit: the watermark and the number of input records consumed.
    Commit {
        /// The stream's watermark at the commit.
        watermark: i64,
        /// Input records consumed through the commit.
        consumed: u64,
    },
}

/// Where a log's damaged tail starts (SPEC §23: read up to the last good record, say so).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Byte offset of the first bad record.
    pub offset: u64,
    /// Bytes from there to the end of the file.
    pub bytes: u64,
    /// What is wrong there.
    pub problem: String,
}

/// The records of a log up to its last commit.
#[derive(Debug, Clone, Default)]
pub struct LogContents {
    /// Records through the last commit record, in log order.
    pub records: Vec<LogRecord>,
    /// The watermark and consumed count of the last commit (`None`: nothing committed).
    pub commit: Option<(i64, u64)>,
    /// The file length through the last commit record.
    pub committed_len: u64,
    /// Good records after the last commit (a crash between appending and committing).
    pub uncommitted: usize,
    /// A damaged tail, if any.
    pub damage: Option<Damage>,
}

// --- encoding ----------------------------------------------------------------------------------

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend_from_slice(&(s.len() as u32).to_le_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn cause_code(k: CauseKind) -> u8 {
    match k {
        CauseKind::Effective => 0,
        CauseKind::Reference => 1,
        CauseKind::Event => 2,
        CauseKind::Window => 3,
        CauseKind::Calendar => 4,
        CauseKind::Definition => 5,
    }
}

fn encode_transition(b: &mut Vec<u8>, tag: u8, t: &Transition) {
    b.push(tag);
    b.extend_from_slice(&t.definition.index.to_le_bytes());
    b.push((t.kind == TransitionKind::Entered) as u8);
    b.extend_from_slice(&t.at.to_le_bytes());
    b.extend_from_slice(&t.id);
    if tag == TRANSITION {
        b.push(cause_code(t.cause.kind));
    }
    put_str(b, &t.entity);
    if tag == TRANSITION {
        put_str(b, t.cause.segment.as_deref().unwrap_or(""));
        let (name, at) = t.cause.event.as_ref().map_or(("", 0), |(n, at)| (n.as_str(), *at));
        put_str(b, name);
        b.extend_from_slice(&at.to_le_bytes());
    }
}

/// Appends one record (length, CRC-32C, payload) to `out`.
pub(crate) fn frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// A stream record's payload.
pub(crate) fn encode(r: &Record, b: &mut Vec<u8>) {
    match r {
        Record::Definition(d) => {
            b.push(DEFINITION);
            b.extend_from_slice(&d.index.to_le_bytes());
            put_str(b, &d.segment);
            put_str(b, &d.version);
            put_str(b, &d.hash);
            b.extend_from_slice(&d.effective_from.to_le_bytes());
        }
        Record::Emit(t) => encode_transition(b, TRANSITION, t),
        Record::Retract(t) => encode_transition(b, RETRACT, t),
    }
}

pub(crate) fn encode_commit(watermark: i64, consumed: u64, b: &mut Vec<u8>) {
    b.push(COMMIT);
    b.extend_from_slice(&watermark.to_le_bytes());
    b.extend_from_slice(&consumed.to_le_bytes());
}

// --- decoding ----------------------------------------------------------------------------------

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|s| u32::from_le_bytes(s.try_into().unwrap_or_default()))
    }
    fn i64(&mut self) -> Option<i64> {
        self.take(8).map(|s| i64::from_le_bytes(s.try_into().unwrap_or_default()))
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
}

fn cause_kind(c: u8) -> Option<CauseKind> {
    Some(match c {
        0 => CauseKind::Effective,
        1 => CauseKind::Reference,
        2 => CauseKind::Event,
        3 => CauseKind::Window,
        4 => CauseKind::Calendar,
        5 => CauseKind::Definition,
        _ => return None,
    })
}

/// A transition or retraction, reading only what membership needs (no cause).
struct Lean<'a> {
    def: u32,
    entered: bool,
    at: i64,
    id: [u8; 16],
    entity: &'a str,
}

fn lean<'a>(c: &mut Cursor<'a>, tag: u8) -> Option<Lean<'a>> {
    let def = c.u32()?;
    let entered = c.u8()? == 1;
    let at = c.i64()?;
    let id: [u8; 16] = c.take(16)?.try_into().ok()?;
    if tag == TRANSITION {
        c.u8()?;
    }
    let entity = c.str()?;
    Some(Lean { def, entered, at, id, entity })
}

fn decode(payload: &[u8], defs: &mut Vec<Arc<DefinitionInfo>>) -> Option<LogRecord> {
    let mut c = Cursor { b: payload, at: 0 };
    let tag = c.u8()?;
    let rec = match tag {
        DEFINITION => {
            let index = c.u32()?;
            let info = Arc::new(DefinitionInfo {
                index,
                segment: c.str()?.to_string(),
                version: c.str()?.to_string(),
                hash: c.str()?.to_string(),
                effective_from: c.i64()?,
            });
            if index as usize != defs.len() {
                return None;
            }
            defs.push(Arc::clone(&info));
            LogRecord::Definition(info)
        }
        TRANSITION | RETRACT => {
            let l = lean(&mut Cursor { b: payload, at: 1 }, tag)?;
            let def = Arc::clone(defs.get(l.def as usize)?);
            let mut cause = Cause { kind: CauseKind::Event, segment: None, event: None };
            if tag == TRANSITION {
                c.at = 1 + 4 + 1 + 8 + 16;
                cause.kind = cause_kind(c.u8()?)?;
                c.str()?;
                let seg = c.str()?;
                let name = c.str()?;
                let at = c.i64()?;
                cause.segment = (!seg.is_empty()).then(|| seg.to_string());
                cause.event = (!name.is_empty()).then(|| (name.to_string(), at));
            }
            let kind = if l.entered { TransitionKind::Entered } else { TransitionKind::Exited };
            let t = Transition { id: l.id, entity: l.entity.into(), definition: def, at: l.at, kind, cause };
            if tag == TRANSITION {
                LogRecord::Emit(t)
            } else {
                LogRecord::Retract(t)
            }
        }
        COMMIT => LogRecord::Commit { watermark: c.i64()?, consumed: c.i64()? as u64 },
        _ => return None,
    };
    Some(rec)
}

/// Walks the framed records of `bytes` (after the header): `f(offset, payload)` for each good
/// one; the damage where the walk stopped, if anywhere before the end.
fn walk<'b>(bytes: &'b [u8], mut f: impl FnMut(usize, &'b [u8]) -> bool) -> Option<Damage> {
    let mut at = MAGIC.len();
    let damage = |at: usize, problem: &str| {
        Some(Damage { offset: at as u64, bytes: (bytes.len() - at) as u64, problem: problem.to_string() })
    };
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + 8) else { return damage(at, "a truncated record header") };
        let len = u32::from_le_bytes(head[..4].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap_or_default());
        if len > MAX_RECORD {
            return damage(at, "a record length past any record's");
        }
        let Some(payload) = bytes.get(at + 8..at + 8 + len as usize) else {
            return damage(at, "a truncated record");
        };
        if crc32c::crc32c(payload) != crc {
            return damage(at, "a checksum mismatch");
        }
        if !f(at, payload) {
            return damage(at, "a record that does not decode");
        }
        at += 8 + len as usize;
    }
    None
}

fn read_all(path: &Path) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(|e| io(path, "cannot read the log", e))?;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Error::new(ErrorKind::Io, format!("{}: not a segcore membership log", path.display())));
    }
    Ok(bytes)
}

/// Reads a log folder's records through the last commit, reporting a damaged tail.
pub fn read_log(dir: &Path) -> Result<LogContents, Error> {
    let path = dir.join(LOG_FILE);
    let bytes = read_all(&path)?;
    let mut out = LogContents::default();
    let mut defs = Vec::new();
    let mut pending = Vec::new();
    out.committed_len = MAGIC.len() as u64;
    out.damage = walk(&bytes, |offset, payload| match decode(payload, &mut defs) {
        Some(LogRecord::Commit { watermark, consumed }) => {
            out.records.append(&mut pending);
            out.records.push(LogRecord::Commit { watermark, consumed });
            out.commit = Some((watermark, consumed));
            out.committed_len = (offset + 8 + payload.len()) as u64;
            true
        }
        Some(r) => {
            pending.push(r);
            true
        }
        None => false,
    });
    out.uncommitted = pending.len();
    Ok(out)
}

/// Membership at an instant, from a log (SPEC §23).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The instant asked about.
    pub at: i64,
    /// The last committed watermark.
    pub watermark: i64,
    /// Per segment id (sorted), its members' entity ids (sorted by code point).
    pub segments: Vec<(String, Vec<String>)>,
    /// A damaged tail the reading stopped at.
    pub damage: Option<Damage>,
}

/// Membership at `at` from the log in `dir`: the live transitions (emitted, not retracted later)
/// through the last commit; per entity and segment the latest at or before `at` decides. `at`
/// after the committed watermark is `invalid_context` (events up to it may still arrive).
///
/// One pass collects retractions, a second applies transitions, reading only what membership
/// needs — the log's bytes are borrowed, not copied per record.
pub fn membership_at(dir: &Path, at: i64) -> Result<Membership, Error> {
    let path = dir.join(LOG_FILE);
    let bytes = read_all(&path)?;
    // Pass 1: definitions, the last commit, and where each retracted id was last retracted.
    let mut segments: Vec<Box<str>> = Vec::new();
    let mut retracted: HashMap<[u8; 16], usize> = HashMap::new();
    let mut commit: Option<(usize, i64)> = None;
    let damage = walk(&bytes, |offset, p| {
        let mut c = Cursor { b: p, at: 1 };
        match p.first() {
            Some(&DEFINITION) => {
                c.u32();
                match c.str() {
                    Some(s) => segments.push(s.into()),
                    None => return false,
                }
            }
            Some(&RETRACT) => match lean(&mut c, RETRACT) {
                Some(l) => {
                    retracted.insert(l.id, offset);
                }
                None => return false,
            },
            Some(&COMMIT) => match c.i64() {
                Some(w) => commit = Some((offset, w)),
                None => return false,
            },
            Some(&TRANSITION) => {}
            _ => return false,
        }
        true
    });
    let Some((end, watermark)) = commit else {
        return Err(Error::new(ErrorKind::InvalidContext, format!("{}: nothing committed yet", path.display())));
    };
    if at > watermark {
        return Err(Error::new(
            ErrorKind::InvalidContext,
            format!(
                "membership at {} is not known yet: the log is committed through {}",
                time::format_timestamp(at),
                time::format_timestamp(watermark)
            ),
        ));
    }
    // Pass 2: per (segment, entity), the live transition with the greatest `at` ≤ the instant.
    let mut latest: HashMap<(u32, &str), (i64, bool)> = HashMap::new();
    let mut def_segment: Vec<u32> = Vec::new();
    let mut names: Vec<Box<str>> = Vec::new();
    walk(&bytes, |offset, p| {
        if offset > end {
            return false;
        }
        match p.first() {
            Some(&DEFINITION) => {
                let s = &segments[def_segment.len()];
                let k = names.iter().position(|n| n == s).unwrap_or_else(|| {
                    names.push(s.clone());
                    names.len() - 1
                });
                def_segment.push(k as u32);
            }
            Some(&TRANSITION) => {
                let Some(l) = lean(&mut Cursor { b: p, at: 1 }, TRANSITION) else { return false };
                if l.at > at || retracted.get(&l.id).is_some_and(|&r| r > offset) {
                    return true;
                }
                let Some(&seg) = def_segment.get(l.def as usize) else { return false };
                let e = latest.entry((seg, l.entity)).or_insert((i64::MIN, false));
                if l.at >= e.0 {
                    *e = (l.at, l.entered);
                }
            }
            _ => {}
        }
        true
    });
    let mut per: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    for ((seg, entity), (_, entered)) in latest {
        if entered {
            per[seg as usize].push(entity.to_string());
        }
    }
    let mut segments: Vec<(String, Vec<String>)> = names
        .into_iter()
        .zip(per)
        .map(|(n, mut m)| {
            m.sort_unstable();
            (n.to_string(), m)
        })
        .collect();
    segments.sort();
    Ok(Membership { at, watermark, segments, damage })
}

/// The appending side of a log: records framed and buffered, fsynced at commits. A
/// [`crate::store::StreamStore`] owns one; other producers of transitions (a consumer
/// materialising a topic into a folder, a benchmark) can write one directly.
pub struct LogWriter {
    path: PathBuf,
    file: File,
    buf: Vec<u8>,
    scratch: Vec<u8>,
    /// Bytes in the file plus the buffer.
    len: u64,
}

impl LogWriter {
    /// Opens (or creates) the log, cut back to `keep` bytes when given (the last snapshot's
    /// commit), else to the end of its last good record.
    /// A new, empty log in `dir` (created if missing); an existing log there is refused.
    pub fn create(dir: &Path) -> Result<LogWriter, Error> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, "cannot create the log folder", e))?;
        if std::fs::metadata(dir.join(LOG_FILE)).is_ok_and(|m| m.len() > 0) {
            return Err(Error::new(ErrorKind::Io, format!("{}: a log is there already", dir.join(LOG_FILE).display())));
        }
        Ok(LogWriter::open(dir, None)?.0)
    }

    pub(crate) fn open(dir: &Path, keep: Option<u64>) -> Result<(LogWriter, Option<Damage>), Error> {
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, "cannot open the log", e))?;
        let size = file.metadata().map_err(|e| io(&path, "cannot read the log", e))?.len();
        let mut damage = None;
        let len = if size == 0 {
            file.write_all(MAGIC).map_err(|e| io(&path, "cannot write the log", e))?;
            file.sync_all().map_err(|e| io(&path, "cannot sync the log", e))?;
            MAGIC.len() as u64
        } else {
            let bytes = read_all(&path)?;
            let mut good = MAGIC.len() as u64;
            damage = walk(&bytes, |offset, p| {
                good = (offset + 8 + p.len()) as u64;
                true
            });
            match keep {
                Some(k) if k > good => {
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!(
                            "{}: the snapshot was taken at byte {k} but the log's good records end at byte {good}; \
                             the log lost committed records (start a new log folder)",
                            path.display()
                        ),
                    ))
                }
                Some(k) => k,
                None => good,
            }
        };
        if len < size {
            file.set_len(len).map_err(|e| io(&path, "cannot cut the log back", e))?;
            file.sync_all().map_err(|e| io(&path, "cannot sync the log", e))?;
        }
        file.seek(SeekFrom::Start(len)).map_err(|e| io(&path, "cannot seek in the log", e))?;
        Ok((LogWriter { path, file, buf: Vec::with_capacity(1 << 16), scratch: Vec::new(), len }, damage))
    }

    /// Bytes written so far (file and buffer), the header included.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    /// Appends one record (buffered; durable at the next [`LogWriter::commit`]).
    pub fn append(&mut self, r: &Record) -> Result<(), Error> {
        self.scratch.clear();
        encode(r, &mut self.scratch);
        let before = self.buf.len();
        frame(&mut self.buf, &self.scratch);
        self.len += (self.buf.len() - before) as u64;
        if self.buf.len() >= 1 << 20 {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.file.write_all(&self.buf).map_err(|e| io(&self.path, "cannot write the log", e))?;
        self.buf.clear();
        Ok(())
    }

    /// Appends a commit record and makes everything durable; returns the log's length.
    pub fn commit(&mut self, watermark: i64, consumed: u64) -> Result<u64, Error> {
        self.scratch.clear();
        encode_commit(watermark, consumed, &mut self.scratch);
        let before = self.buf.len();
        frame(&mut self.buf, &self.scratch);
        self.len += (self.buf.len() - before) as u64;
        self.flush()?;
        self.file.sync_data().map_err(|e| io(&self.path, "cannot sync the log", e))?;
        Ok(self.len)
    }
}
