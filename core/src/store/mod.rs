//! The membership log (SPEC §23): a folder holding the transitions a [`Stream`] emits, its
//! snapshot and its dead letters, crash-safe, so a restart resumes where the last commit left
//! off and produces the same bytes an uninterrupted run would.
//!
//! [`StreamStore`] is the one stream driver every route uses: the CLI feeds it lines from a file
//! or stdin, the Kafka route messages; it parses records, applies them, appends what the stream
//! emits, and commits (log fsynced, then the snapshot replaced atomically).
//!
//! ```
//! use segcore::store::{membership_at, StoreConfig, StreamStore};
//! use segcore::{parse_as_of, Definition, FxRates, Registry};
//!
//! let dir = std::env::temp_dir().join(format!("segcore-doc-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let reg = Registry::from_definitions(vec![Definition::new("buyer", "1.0.0", "exists(purchase)")], None).unwrap();
//! let (mut store, resume) = StreamStore::open(&dir, reg, FxRates::new(), StoreConfig::default()).unwrap();
//! assert_eq!(resume.consumed, 0);
//! store.push_line(br#"{"id": "u1", "name": "purchase", "at": "2026-03-01T10:00:00Z"}"#).unwrap();
//! store.push_line(br#"{"watermark": "2026-03-02T00:00:00Z"}"#).unwrap();
//! store.commit().unwrap();
//! let m = membership_at(&dir, parse_as_of("2026-03-01T12:00:00Z").unwrap()).unwrap();
//! assert_eq!(m.segments, [("buyer".to_string(), vec!["u1".to_string()])]);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod drift;
#[cfg(feature = "kafka")]
pub mod kafka;
mod log;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use drift::drift_from_log;
pub use log::{membership_at, read_log, Damage, LogContents, LogRecord, LogWriter, Membership, LOG_FILE, MAGIC};

use crate::context::FxRates;
use crate::error::{Error, ErrorKind};
use crate::profile::parse_event;
use crate::registry::Registry;
use crate::stream::{Push, Stream, StreamConfig, StreamStats};
use crate::time;
use log::io;

/// The snapshot's file name.
pub const STATE_FILE: &str = "state.json";
/// The dead-letter file's name.
pub const DEAD_LETTER_FILE: &str = "dead-letter.jsonl";

/// How a [`StreamStore`] runs its stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// Lateness and max future (SPEC §23).
    pub stream: StreamConfig,
    /// The stream's start; `None`: the first event's `at` minus the lateness (a new log only).
    pub start: Option<i64>,
    /// Derive the watermark from the data: after each event, W = max(W, greatest `at` − delay).
    /// `None`: only `{"watermark": …}` records move it.
    pub watermark_delay: Option<i64>,
    /// When definitions differ from the log's, the instant the new ones take effect (`None`:
    /// 1 µs after the watermark).
    pub effective: Option<i64>,
}

/// What opening a log folder found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resume {
    /// Input records the log has consumed already: skip them.
    pub consumed: u64,
    /// Whether a snapshot was restored.
    pub restored: bool,
    /// A damaged tail that was cut off.
    pub damage: Option<Damage>,
    /// Bytes of uncommitted records cut off (a crash between appending and committing).
    pub cut: u64,
    /// Whether the definitions given differ from the log's, so a new set takes effect.
    pub new_definitions: bool,
}

/// A stream writing to a membership-log folder. See the module documentation.
pub struct StreamStore {
    dir: PathBuf,
    log: LogWriter,
    dead: File,
    dead_len: u64,
    registry: Option<Registry>,
    fx: FxRates,
    stream: Option<Stream>,
    config: StoreConfig,
    consumed: u64,
    max_at: i64,
    dead_letters: u64,
    malformed: u64,
    /// Input consumed and log length at the last commit: a commit with nothing new writes
    /// nothing, so a restart after the final commit leaves the log as it was.
    last_commit: (u64, u64),
    /// Where the source is, saved with each commit (a Kafka route's offsets).
    source: serde_json::Value,
    /// Also receives every record appended to the log (a Kafka route's producer).
    sink: Option<Sink>,
}

/// A receiver of the records a stream emits, besides the log.
pub type Sink = Box<dyn FnMut(&crate::stream::Record) -> Result<(), Error> + Send>;

impl StreamStore {
    /// Opens `dir` (created if missing): a fresh log, or the last commit of an existing one — its
    /// snapshot restored, the log and dead letters cut back to that commit.
    pub fn open(
        dir: &Path,
        registry: Registry,
        fx: FxRates,
        config: StoreConfig,
    ) -> Result<(StreamStore, Resume), Error> {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, "cannot create the log folder", e))?;
        let state_path = dir.join(STATE_FILE);
        let state: Option<serde_json::Value> = match std::fs::read_to_string(&state_path) {
            Ok(text) => Some(serde_json::from_str(&text).map_err(|e| {
                Error::new(ErrorKind::Io, format!("{}: not a stream snapshot: {e}", state_path.display()))
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&state_path, "cannot read the snapshot", e)),
        };
        let num = |v: &serde_json::Value, k: &str| -> Result<u64, Error> {
            v[k].as_u64()
                .ok_or_else(|| Error::new(ErrorKind::Io, format!("{}: `{k}` is missing", state_path.display())))
        };
        let keep = state.as_ref().map(|s| num(s, "log_len")).transpose()?;
        let size_before = std::fs::metadata(dir.join(LOG_FILE)).map(|m| m.len()).unwrap_or(0);
        if state.is_none() && size_before > 0 {
            // No snapshot: nothing was committed from the stream's view — a crash before the
            // first `state.json` (possibly after the first commit record reached the log). Those
            // records are produced again from the start, so they are discarded, not kept and
            // appended to (a restart must write the uninterrupted run's bytes).
            let path = dir.join(LOG_FILE);
            let file = OpenOptions::new().write(true).open(&path).map_err(|e| io(&path, "cannot open the log", e))?;
            file.set_len(0).map_err(|e| io(&path, "cannot cut the log back", e))?;
            file.sync_all().map_err(|e| io(&path, "cannot sync the log", e))?;
        }
        let (log, damage) = LogWriter::open(dir, keep)?;
        let dead_path = dir.join(DEAD_LETTER_FILE);
        let dead = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&dead_path)
            .map_err(|e| io(&dead_path, "cannot open the dead-letter file", e))?;
        let dead_len = match &state {
            Some(s) => num(s, "dead_letter_len")?,
            None => 0,
        };
        dead.set_len(dead_len).map_err(|e| io(&dead_path, "cannot cut the dead-letter file back", e))?;
        let mut resume = Resume { damage, ..Resume::default() };
        let mut store = StreamStore {
            dir: dir.to_path_buf(),
            log,
            dead,
            dead_len,
            registry: None,
            fx: fx.clone(),
            stream: None,
            config,
            consumed: 0,
            max_at: i64::MIN,
            dead_letters: 0,
            malformed: 0,
            last_commit: (0, 0),
            source: serde_json::Value::Null,
            sink: None,
        };
        match state {
            Some(s) => {
                let mut stream = Stream::restore(&s["stream"], registry.schema(), fx)?;
                resume.restored = true;
                resume.consumed = num(&s, "consumed")?;
                resume.cut = size_before.saturating_sub(keep.unwrap_or(size_before));
                store.consumed = resume.consumed;
                store.last_commit = (resume.consumed, keep.unwrap_or(0));
                store.max_at = s["max_at"].as_str().and_then(|t| t.parse().ok()).unwrap_or(i64::MIN);
                store.dead_letters = num(&s, "dead_letters").unwrap_or(0);
                store.malformed = num(&s, "malformed").unwrap_or(0);
                store.source = s["source"].clone();
                let ours: Vec<&str> = registry.segments().iter().map(|x| x.definition_hash()).collect();
                if stream.current_hashes() != ours {
                    let at = config.effective.unwrap_or(stream.watermark() + 1);
                    stream.set_definitions(registry, at)?;
                    resume.new_definitions = true;
                }
                store.stream = Some(stream);
                store.drain()?;
            }
            None => {
                resume.cut = size_before;
                match config.start {
                    Some(start) => store.begin(registry, start)?,
                    None => store.registry = Some(registry),
                }
            }
        }
        Ok((store, resume))
    }

    fn begin(&mut self, registry: Registry, start: i64) -> Result<(), Error> {
        self.stream = Some(Stream::new(registry, start, self.fx.clone(), self.config.stream)?);
        self.drain()
    }

    /// Adds an initial profile (SPEC §23) to a new log whose stream has started (`start` given)
    /// and seen no event yet.
    pub fn add_profile(&mut self, profile: crate::Profile) -> Result<(), Error> {
        match self.stream.as_mut() {
            Some(s) => s.add_profile(profile),
            None => Err(Error::new(ErrorKind::InvalidContext, "initial profiles need the stream's start")),
        }
    }

    /// Sends every record appended from now on to `sink` as well.
    pub fn set_sink(&mut self, sink: Sink) {
        self.sink = Some(sink);
    }

    /// The source position saved with the last commit (`null` if none).
    pub fn source(&self) -> &serde_json::Value {
        &self.source
    }

    /// The source position to save with the next commit.
    pub fn set_source(&mut self, position: serde_json::Value) {
        self.source = position;
    }

    /// Applies one message (a Kafka record's value): an empty one is malformed, not skipped.
    pub fn push_message(&mut self, payload: &[u8]) -> Result<(), Error> {
        if payload.iter().all(u8::is_ascii_whitespace) {
            let position = self.consumed;
            self.consumed += 1;
            return self.dead_letter(position, "malformed", "an empty message", "");
        }
        self.push_line(payload)
    }

    /// The stream (once it has started).
    pub fn stream(&self) -> Option<&Stream> {
        self.stream.as_ref()
    }

    /// Input records consumed so far (the next record's position).
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Records written to the dead-letter file (rejected or malformed).
    pub fn dead_letters(&self) -> u64 {
        self.dead_letters
    }

    /// Malformed input records.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// The stream's counters (zero before it starts).
    pub fn stats(&self) -> StreamStats {
        self.stream.as_ref().map(|s| s.stats().clone()).unwrap_or_default()
    }

    /// Applies one input record: an event `{"id", "name", "at", "properties"}` or
    /// `{"watermark": T}`. A record that cannot be applied goes to the dead-letter file with its
    /// reason; only evaluation and I/O errors are errors.
    pub fn push_line(&mut self, line: &[u8]) -> Result<(), Error> {
        let position = self.consumed;
        self.consumed += 1;
        let text = String::from_utf8_lossy(line);
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(());
        }
        let v: serde_json::Value = match serde_json::from_str(trimmed) {
            Ok(v) => v,
            Err(e) => return self.dead_letter(position, "malformed", &format!("not JSON: {e}"), trimmed),
        };
        if let Some(w) = v.get("watermark") {
            let Some(t) = w.as_str().and_then(time::parse_instant) else {
                return self.dead_letter(position, "malformed", "`watermark` must be an RFC 3339 instant", trimmed);
            };
            if self.stream.is_none() {
                return self.dead_letter(position, "malformed", "a watermark before the stream's start", trimmed);
            }
            return self.advance(t);
        }
        let id = match v.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) if n.is_i64() => n.to_string(),
            _ => return self.dead_letter(position, "malformed", "an event needs a string `id`", trimmed),
        };
        let (name, at, props) = match parse_event(&v) {
            Ok(x) => x,
            Err(p) => {
                return self.dead_letter(position, "malformed", &p.message(), trimmed);
            }
        };
        if self.stream.is_none() {
            let registry = self.registry.take().expect("a store without a stream holds its registry");
            self.begin(registry, at.saturating_sub(self.config.stream.lateness))?;
        }
        let stream = self.stream.as_mut().expect("started above");
        match stream.push_event(&id, name, at, props)? {
            Push::Rejected { reason, message } => {
                self.drain()?;
                return self.dead_letter(position, reason, &message, trimmed);
            }
            Push::OnTime | Push::Late => {}
        }
        self.max_at = self.max_at.max(at);
        if let Some(delay) = self.config.watermark_delay {
            let w = self.max_at.saturating_sub(delay);
            if w > stream.watermark() {
                return self.advance(w);
            }
        }
        self.drain()
    }

    fn advance(&mut self, t: i64) -> Result<(), Error> {
        let stream = self.stream.as_mut().expect("checked by the caller");
        stream.advance(t)?;
        self.drain()
    }

    fn drain(&mut self) -> Result<(), Error> {
        if let Some(s) = self.stream.as_mut() {
            for r in s.take_records() {
                self.log.append(&r)?;
                if let Some(sink) = self.sink.as_mut() {
                    sink(&r)?;
                }
            }
        }
        Ok(())
    }

    fn dead_letter(&mut self, position: u64, reason: &str, message: &str, record: &str) -> Result<(), Error> {
        if reason == "malformed" {
            self.malformed += 1;
        }
        self.dead_letters += 1;
        let mut line =
            serde_json::json!({"position": position, "reason": reason, "message": message, "record": record})
                .to_string();
        line.push('\n');
        let path = self.dir.join(DEAD_LETTER_FILE);
        self.dead.write_all(line.as_bytes()).map_err(|e| io(&path, "cannot write the dead-letter file", e))?;
        self.dead_len += line.len() as u64;
        Ok(())
    }

    /// The file route (SPEC §23): applies every JSON line of `reader` — lines a resumed log
    /// consumed already are skipped — committing every `commit_every` input records and at the
    /// end; `progress` after each commit. A line longer than [`crate::limits::MAX_RECORD_BYTES`]
    /// is `limit_exceeded` naming `source` and the line (SPEC §19); everything before it is
    /// committed first.
    pub fn consume_lines(
        &mut self,
        reader: impl std::io::Read,
        source: &str,
        commit_every: u64,
        progress: &mut dyn FnMut(&StreamStore),
    ) -> Result<(), Error> {
        let skip = self.consumed;
        let read = crate::ingest::for_each_raw_line(reader, source, crate::limits::MAX_RECORD_BYTES, |line, bytes| {
            if line <= skip {
                return Ok(std::ops::ControlFlow::Continue(()));
            }
            // Positions are line numbers: a blank line is a record that changes nothing.
            self.consumed = line - 1;
            self.push_line(bytes).map_err(|e| {
                let d = e.first();
                Error::new(d.kind, format!("{source}:{line}: {}", d.message))
            })?;
            if self.consumed >= self.last_commit.0.saturating_add(commit_every.max(1)) {
                self.commit()?;
                progress(self);
            }
            Ok(std::ops::ControlFlow::Continue(()))
        });
        self.commit()?;
        progress(self);
        read
    }

    /// Makes everything so far durable: the log's commit record and fsync, the dead letters'
    /// fsync, then the snapshot written beside `state.json`, fsynced and renamed over it.
    pub fn commit(&mut self) -> Result<(), Error> {
        self.drain()?;
        let Some(stream) = self.stream.as_ref() else { return Ok(()) };
        if self.last_commit == (self.consumed, self.log.bytes()) {
            return Ok(());
        }
        let log_len = self.log.commit(stream.watermark(), self.consumed)?;
        self.last_commit = (self.consumed, log_len);
        let dead_path = self.dir.join(DEAD_LETTER_FILE);
        self.dead.sync_data().map_err(|e| io(&dead_path, "cannot sync the dead-letter file", e))?;
        let head = serde_json::json!({
            "format": 1,
            "consumed": self.consumed,
            "log_len": log_len,
            "dead_letter_len": self.dead_len,
            "dead_letters": self.dead_letters,
            "malformed": self.malformed,
            "max_at": self.max_at.to_string(),
            "source": self.source,
        })
        .to_string();
        // The stream's part is written entity by entity into the same text.
        let mut state = Vec::with_capacity(head.len() + (1 << 16));
        state.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
        state.extend_from_slice(b",\"stream\":");
        stream.write_snapshot(&mut state)?;
        state.push(b'}');
        let tmp = self.dir.join("state.json.tmp");
        let path = self.dir.join(STATE_FILE);
        let mut f = File::create(&tmp).map_err(|e| io(&tmp, "cannot write the snapshot", e))?;
        f.write_all(&state).map_err(|e| io(&tmp, "cannot write the snapshot", e))?;
        f.sync_all().map_err(|e| io(&tmp, "cannot sync the snapshot", e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, "cannot replace the snapshot", e))?;
        if let Ok(d) = File::open(&self.dir) {
            // The rename is durable once the folder is synced (not possible on every platform).
            let _ = d.sync_all();
        }
        Ok(())
    }
}
