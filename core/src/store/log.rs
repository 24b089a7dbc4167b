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
const ENTITY: u8 = 5;
/// No record is this long; a length past it is damage, not a record to allocate for.
const MAX_RECORD: u32 = 1 << 24;

/// Replay's maps: keys are ids and entity ids from our own log, so a fast fixed hash.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

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
    /// An entry of the entity dictionary (transitions name entities by index).
    Entity,
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

fn encode_transition(b: &mut Vec<u8>, tag: u8, t: &Transition, entity: u32) {
    b.push(tag);
    b.extend_from_slice(&t.definition.index.to_le_bytes());
    b.push((t.kind == TransitionKind::Entered) as u8);
    b.extend_from_slice(&t.at.to_le_bytes());
    b.extend_from_slice(&t.id);
    if tag == TRANSITION {
        b.push(cause_code(t.cause.kind));
    }
    b.extend_from_slice(&entity.to_le_bytes());
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

/// A stream record's payload; transitions name their entity by its dictionary index.
fn encode(r: &Record, entity: u32, b: &mut Vec<u8>) {
    match r {
        Record::Definition(d) => {
            b.push(DEFINITION);
            b.extend_from_slice(&d.index.to_le_bytes());
            put_str(b, &d.segment);
            put_str(b, &d.version);
            put_str(b, &d.hash);
            b.extend_from_slice(&d.effective_from.to_le_bytes());
        }
        Record::Emit(t) => encode_transition(b, TRANSITION, t, entity),
        Record::Retract(t) => encode_transition(b, RETRACT, t, entity),
    }
}

fn encode_entity(index: u32, id: &str, b: &mut Vec<u8>) {
    b.push(ENTITY);
    b.extend_from_slice(&index.to_le_bytes());
    put_str(b, id);
}

fn encode_commit(watermark: i64, consumed: u64, b: &mut Vec<u8>) {
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
struct Lean {
    def: u32,
    entered: bool,
    at: i64,
    id: [u8; 16],
    entity: u32,
}

fn lean(c: &mut Cursor<'_>, tag: u8) -> Option<Lean> {
    let def = c.u32()?;
    let entered = c.u8()? == 1;
    let at = c.i64()?;
    let id: [u8; 16] = c.take(16)?.try_into().ok()?;
    if tag == TRANSITION {
        c.u8()?;
    }
    let entity = c.u32()?;
    Some(Lean { def, entered, at, id, entity })
}

/// A record, with the dictionaries of definitions and entities read so far (grown here).
fn decode(payload: &[u8], defs: &mut Vec<Arc<DefinitionInfo>>, entities: &mut Vec<Arc<str>>) -> Option<LogRecord> {
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
        ENTITY => {
            if c.u32()? as usize != entities.len() {
                return None;
            }
            entities.push(c.str()?.into());
            LogRecord::Entity
        }
        TRANSITION | RETRACT => {
            let l = lean(&mut Cursor { b: payload, at: 1 }, tag)?;
            let def = Arc::clone(defs.get(l.def as usize)?);
            let mut cause = Cause { kind: CauseKind::Event, segment: None, event: None };
            if tag == TRANSITION {
                c.at = 1 + 4 + 1 + 8 + 16;
                cause.kind = cause_kind(c.u8()?)?;
                c.u32()?;
                let seg = c.str()?;
                let name = c.str()?;
                let at = c.i64()?;
                cause.segment = (!seg.is_empty()).then(|| seg.to_string());
                cause.event = (!name.is_empty()).then(|| (name.to_string(), at));
            }
            let kind = if l.entered { TransitionKind::Entered } else { TransitionKind::Exited };
            let entity = Arc::clone(entities.get(l.entity as usize)?);
            let t = Transition { id: l.id, entity, definition: def, at: l.at, kind, cause };
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

/// Walks the framed records of the log file at `path`, reading it in chunks (a log can be
/// larger than memory): `f(offset, payload)` for each good record until it returns false. The
/// result is where the walk stopped early, if it did: damage (a truncated or oversized record, a
/// checksum mismatch when `verify`, a payload `f` refused). A file that is not a log is `io`.
fn walk_file(path: &Path, verify: bool, mut f: impl FnMut(usize, &[u8]) -> bool) -> Result<Option<Damage>, Error> {
    let mut file = File::open(path).map_err(|e| io(path, "cannot read the log", e))?;
    let size = file.metadata().map_err(|e| io(path, "cannot read the log", e))?.len() as usize;
    let mut r = Chunks { buf: vec![0; 8 << 20], start: 0, filled: 0, base: 0 };
    if !r.fill(&mut file, path, MAGIC.len())? || &r.buf[..MAGIC.len()] != MAGIC {
        return Err(Error::new(ErrorKind::Io, format!("{}: not a segcore membership log", path.display())));
    }
    r.start = MAGIC.len();
    let damage = |at: usize, problem: &str| {
        Ok(Some(Damage { offset: at as u64, bytes: size.saturating_sub(at) as u64, problem: problem.to_string() }))
    };
    loop {
        if !r.fill(&mut file, path, 8)? {
            return if r.filled == r.start { Ok(None) } else { damage(r.base + r.start, "a truncated record header") };
        }
        let head = &r.buf[r.start..r.start + 8];
        let len = u32::from_le_bytes(head[..4].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(head[4..].try_into().unwrap_or_default());
        if len > MAX_RECORD {
            return damage(r.base + r.start, "a record length past any record's");
        }
        if !r.fill(&mut file, path, 8 + len as usize)? {
            return damage(r.base + r.start, "a truncated record");
        }
        let at = r.base + r.start;
        let payload = &r.buf[r.start + 8..r.start + 8 + len as usize];
        if verify && crc32c::crc32c(payload) != crc {
            return damage(at, "a checksum mismatch");
        }
        if !f(at, payload) {
            return damage(at, "a record that does not decode");
        }
        r.start += 8 + len as usize;
    }
}

/// A reusable read buffer: `buf[start..filled]` are unread bytes, `base` the file offset of
/// `buf[0]`.
struct Chunks {
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    base: usize,
}

impl Chunks {
    /// Makes `need` unread bytes available; false at the end of the file before that.
    fn fill(&mut self, file: &mut File, path: &Path, need: usize) -> Result<bool, Error> {
        if self.filled - self.start >= need {
            return Ok(true);
        }
        self.buf.copy_within(self.start..self.filled, 0);
        self.base += self.start;
        self.filled -= self.start;
        self.start = 0;
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        while self.filled < need {
            let n = file.read(&mut self.buf[self.filled..]).map_err(|e| io(path, "cannot read the log", e))?;
            if n == 0 {
                return Ok(false);
            }
            self.filled += n;
        }
        Ok(true)
    }
}

/// Reads a log folder's records through the last commit, reporting a damaged tail.
pub fn read_log(dir: &Path) -> Result<LogContents, Error> {
    let path = dir.join(LOG_FILE);
    let mut out = LogContents::default();
    let mut defs = Vec::new();
    let mut entities = Vec::new();
    let mut pending = Vec::new();
    out.committed_len = MAGIC.len() as u64;
    out.damage = walk_file(&path, true, |offset, payload| match decode(payload, &mut defs, &mut entities) {
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
    })?;
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
    // Pass 1: definitions, the last commit, and where each retracted id was last retracted.
    let mut segments: Vec<Box<str>> = Vec::new();
    let mut entities: Vec<Box<str>> = Vec::new();
    let mut retracted: FastMap<[u8; 16], usize> = FastMap::default();
    let mut commit: Option<(usize, i64)> = None;
    let damage = walk_file(&path, true, |offset, p| {
        let mut c = Cursor { b: p, at: 1 };
        match p.first() {
            Some(&ENTITY) => match (c.u32(), c.str()) {
                (Some(i), Some(id)) if i as usize == entities.len() => entities.push(id.into()),
                _ => return false,
            },
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
    })?;
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
    // Segment ids by definition index (several versions of one segment share an id).
    let mut names: Vec<Box<str>> = Vec::new();
    let def_segment: Vec<usize> = segments
        .iter()
        .map(|s| {
            names.iter().position(|n| n == s).unwrap_or_else(|| {
                names.push(s.clone());
                names.len() - 1
            })
        })
        .collect();
    // Pass 2 (checked already): per (segment, entity), the live transition with the greatest
    // `at` ≤ the instant, in a table indexed by the log's entity dictionary.
    let mut latest: Vec<Vec<(i64, bool)>> = vec![vec![(i64::MIN, false); entities.len()]; names.len()];
    walk_file(&path, false, |offset, p| {
        if offset > end {
            return false;
        }
        if p.first() == Some(&TRANSITION) {
            let Some(l) = lean(&mut Cursor { b: p, at: 1 }, TRANSITION) else { return false };
            if l.at > at || retracted.get(&l.id).is_some_and(|&r| r > offset) {
                return true;
            }
            let Some(&seg) = def_segment.get(l.def as usize) else { return false };
            let Some(slot) = latest[seg].get_mut(l.entity as usize) else { return false };
            if l.at >= slot.0 {
                *slot = (l.at, l.entered);
            }
        }
        true
    })?;
    let mut segments: Vec<(String, Vec<String>)> = names
        .iter()
        .zip(&latest)
        .map(|(n, row)| {
            let mut m: Vec<String> =
                row.iter().enumerate().filter(|(_, x)| x.1).map(|(e, _)| entities[e].to_string()).collect();
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
    /// The entity dictionary so far: each id gets an index the first time a record names it.
    entities: FastMap<Arc<str>, u32>,
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
        let mut entities = FastMap::default();
        let len = if size == 0 {
            file.write_all(MAGIC).map_err(|e| io(&path, "cannot write the log", e))?;
            file.sync_all().map_err(|e| io(&path, "cannot sync the log", e))?;
            MAGIC.len() as u64
        } else {
            let mut good = MAGIC.len() as u64;
            let mut names: Vec<(usize, Arc<str>)> = Vec::new();
            damage = walk_file(&path, true, |offset, p| {
                good = (offset + 8 + p.len()) as u64;
                if p.first() == Some(&ENTITY) {
                    let mut c = Cursor { b: p, at: 5 };
                    match c.str() {
                        Some(id) => names.push((offset, id.into())),
                        None => return false,
                    }
                }
                true
            })?;
            let cut = keep.unwrap_or(good) as usize;
            entities =
                names.into_iter().filter(|(o, _)| *o < cut).enumerate().map(|(i, (_, id))| (id, i as u32)).collect();
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
        Ok((LogWriter { path, file, buf: Vec::with_capacity(1 << 16), scratch: Vec::new(), len, entities }, damage))
    }

    /// Bytes written so far (file and buffer), the header included.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    /// Appends one record (buffered; durable at the next [`LogWriter::commit`]).
    pub fn append(&mut self, r: &Record) -> Result<(), Error> {
        let entity = match r {
            Record::Emit(t) | Record::Retract(t) => match self.entities.get(&t.entity) {
                Some(&i) => i,
                None => {
                    let i = self.entities.len() as u32;
                    self.entities.insert(Arc::clone(&t.entity), i);
                    self.scratch.clear();
                    encode_entity(i, &t.entity, &mut self.scratch);
                    self.put()?;
                    i
                }
            },
            Record::Definition(_) => 0,
        };
        self.scratch.clear();
        encode(r, entity, &mut self.scratch);
        self.put()
    }

    /// Frames the scratch payload into the buffer.
    fn put(&mut self) -> Result<(), Error> {
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
        self.put()?;
        self.flush()?;
        self.file.sync_data().map_err(|e| io(&self.path, "cannot sync the log", e))?;
        Ok(self.len)
    }
}
