//! Streams (SPEC §23): events arriving over time in, exact membership transitions out.
//!
//! Per entity the stream keeps its profile (the events a definition in force can still read),
//! the instant it started to exist, the transitions it emitted within the allowed lateness, and a
//! *timer*: an instant before which nothing about the entity can change. The timer is a
//! next-change instant (§22) or, after an event arrives with a later `at`, that `at`; there are
//! no periodic sweeps. When the watermark passes a timer, the entity's transitions up to the
//! watermark are computed from its timeline (§22) and emitted; a late event recomputes them from
//! its `at` and emits retractions for those no longer true. Everything is a function of the
//! accepted events and the definitions in force, so the same input gives the same records.
//!
//! ```
//! use segcore::stream::{Push, Record, Stream, StreamConfig};
//! use segcore::{parse_as_of, Definition, FxRates, Registry};
//!
//! let reg = Registry::from_definitions(
//!     vec![Definition::new("active", "1.0.0", "exists(visit within 7d)")], None).unwrap();
//! let start = parse_as_of("2026-03-01T00:00:00Z").unwrap();
//! let mut s = Stream::new(reg, start, FxRates::new(), StreamConfig::default()).unwrap();
//! let at = parse_as_of("2026-03-02T10:00:00Z").unwrap();
//! assert_eq!(s.push_event("u1", "visit", at, Default::default()).unwrap(), Push::OnTime);
//! s.advance(parse_as_of("2026-03-20T00:00:00Z").unwrap()).unwrap();
//! let kinds: Vec<String> = s.take_records().iter().filter_map(|r| match r {
//!     Record::Emit(t) => Some(format!("{} {}", t.kind.as_str(), segcore::binding::format_timestamp(t.at))),
//!     _ => None,
//! }).collect();
//! assert_eq!(kinds, ["entered 2026-03-02T10:00:00Z", "exited 2026-03-09T10:00:00.000001Z"]);
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::ast::Window;
use crate::context::FxRates;
use crate::definition::Definition;
use crate::error::{Error, ErrorKind};
use crate::ir::{Kind, Node, Visitor};
use crate::profile::{Profile, Properties};
use crate::registry::Registry;
use crate::schema::Schema;
use crate::temporal::{Cause, CauseKind, MAX_SPAN};
use crate::time;
use crate::value::Value;

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

/// How a stream treats late and far-future events (SPEC §23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// Allowed lateness L in µs: an event with `W − L ≤ at ≤ W` is applied exactly, with
    /// corrections; an earlier one is rejected as `too_late`. Default 1 hour.
    pub lateness: i64,
    /// An event with `at > W + max_future` is rejected as `future`. Default 7 days.
    pub max_future: i64,
}

impl Default for StreamConfig {
    fn default() -> StreamConfig {
        StreamConfig { lateness: HOUR, max_future: 7 * DAY }
    }
}

/// One definition as the stream's records name it: a segment's version in force from an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionInfo {
    /// Its index in the stream's list of definitions (records refer to it).
    pub index: u32,
    /// The segment id.
    pub segment: String,
    /// The definition's version.
    pub version: String,
    /// The definition hash (SPEC §17).
    pub hash: String,
    /// The instant the set of definitions it belongs to took effect (µs; `i64::MIN` for the first).
    pub effective_from: i64,
}

/// `entered` or `exited`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TransitionKind {
    /// Membership starts at `at`.
    Entered,
    /// Membership ends at `at`.
    Exited,
}

impl TransitionKind {
    /// `"entered"` or `"exited"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransitionKind::Entered => "entered",
            TransitionKind::Exited => "exited",
        }
    }
}

/// A membership transition (SPEC §23).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// `transition_id`: SHA-256 of entity, segment, definition hash, `at` and kind, 16 bytes.
    pub id: [u8; 16],
    /// The entity id.
    pub entity: Arc<str>,
    /// The definition in force at `at` (for an exit caused by a segment's removal, the old one).
    pub definition: Arc<DefinitionInfo>,
    /// The instant (µs since the epoch).
    pub at: i64,
    /// Entered or exited.
    pub kind: TransitionKind,
    /// Why.
    pub cause: Cause,
}

impl Transition {
    /// Builds a transition, computing its id.
    pub fn new(
        entity: Arc<str>,
        definition: Arc<DefinitionInfo>,
        at: i64,
        kind: TransitionKind,
        cause: Cause,
    ) -> Transition {
        let id = transition_id(&entity, &definition.segment, &definition.hash, at, kind);
        Transition { id, entity, definition, at, kind, cause }
    }

    /// The id as 32 lowercase hex digits.
    pub fn id_hex(&self) -> String {
        hex(&self.id)
    }

    /// The transition as JSON: `{transition_id, entity_id, segment_id, version, definition_hash,
    /// at, kind, cause}` (cause `{kind, segment?, event?: {name, at}}`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut cause = serde_json::Map::new();
        cause.insert("kind".into(), self.cause.kind.as_str().into());
        if let Some(s) = &self.cause.segment {
            cause.insert("segment".into(), s.as_str().into());
        }
        if let Some((name, at)) = &self.cause.event {
            cause.insert("event".into(), serde_json::json!({"name": name, "at": time::format_timestamp(*at)}));
        }
        serde_json::json!({
            "transition_id": self.id_hex(),
            "entity_id": &*self.entity,
            "segment_id": self.definition.segment,
            "version": self.definition.version,
            "definition_hash": self.definition.hash,
            "at": time::format_timestamp(self.at),
            "kind": self.kind.as_str(),
            "cause": cause,
        })
    }
}

impl Transition {
    /// The transition as a record of a log or topic: [`Transition::to_json`] with `op`, `emit`
    /// or `retract` (`retracted`) — the one shape the CLI, the Kafka route and bindings print.
    pub fn record_json(&self, retracted: bool) -> serde_json::Value {
        let mut v = self.to_json();
        v["op"] = if retracted { "retract" } else { "emit" }.into();
        v
    }
}

/// SPEC §23's `transition_id`.
///
/// ```
/// use segcore::stream::{transition_id, TransitionKind};
/// let id = transition_id("u1", "active", "ab", 0, TransitionKind::Entered);
/// assert_eq!(id.len(), 16);
/// ```
pub fn transition_id(entity: &str, segment: &str, hash: &str, at: i64, kind: TransitionKind) -> [u8; 16] {
    let mut h = Sha256::new();
    for part in [entity.as_bytes(), segment.as_bytes(), hash.as_bytes(), at.to_string().as_bytes()] {
        h.update(part);
        h.update([0u8]);
    }
    h.update(kind.as_str().as_bytes());
    let digest = h.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What a stream produces, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A definition the following records refer to by index (once per set taking effect).
    Definition(Arc<DefinitionInfo>),
    /// A transition.
    Emit(Transition),
    /// A transition emitted before that is no longer true (a late event changed the past).
    Retract(Transition),
}

/// What became of one pushed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Push {
    /// `at` is after the watermark: it takes effect when the watermark reaches it.
    OnTime,
    /// Late within the allowed lateness: applied, with corrections.
    Late,
    /// Not applied (SPEC §23): `too_late` or `future`, with a message. Dead-letter it.
    Rejected {
        /// `too_late` or `future`.
        reason: &'static str,
        /// What was wrong, with the instants involved.
        message: String,
    },
}

/// Counters a stream reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Events applied (on time or late).
    pub events: u64,
    /// Of those, late events applied with corrections.
    pub late: u64,
    /// Events rejected as too late.
    pub too_late: u64,
    /// Events rejected as too far in the future.
    pub future: u64,
    /// Watermarks that did not advance.
    pub stale_watermarks: u64,
    /// Transitions emitted.
    pub emitted: u64,
    /// Transitions retracted.
    pub retracted: u64,
}

/// One set of definitions and the instant it takes effect.
struct Epoch {
    start: i64,
    registry: Registry,
    /// Parallel to the program's segments.
    defs: Vec<Arc<DefinitionInfo>>,
    /// Parallel to the program's segments: each one's index in the stream's segment table.
    slots: Vec<u32>,
    /// Per event name, the segments (table indexes) whose evaluation reads it, references included.
    readers: HashMap<Box<str>, Vec<u32>>,
}

impl Epoch {
    /// The program position of table segment `g`, if this set has it.
    fn local(&self, g: u32) -> Option<usize> {
        self.slots.iter().position(|&x| x == g)
    }
}

struct Entity {
    id: Arc<str>,
    profile: Profile,
    /// The instant it started to exist (SPEC §23).
    exists_from: i64,
    /// Came with the initial profiles.
    initial: bool,
    /// Per table segment: transitions are emitted through this instant (`i64::MIN`: none yet).
    done: Vec<i64>,
    /// Per table segment: nothing changes before this instant (`i64::MAX`: nothing scheduled).
    timer: Vec<i64>,
    /// Emitted transitions that a late event could still retract.
    history: Vec<Transition>,
    /// The earliest event's name and `at` (ties: least name), kept or not: the cause of the
    /// entity's first transitions.
    first: Option<(Box<str>, i64)>,
}

/// The stateful evaluator (SPEC §23). See the module documentation.
pub struct Stream {
    config: StreamConfig,
    fx: FxRates,
    epochs: Vec<Epoch>,
    defs: Vec<Arc<DefinitionInfo>>,
    /// Every segment id any set of definitions had, in order of first appearance: timers and
    /// progress are kept per entity and per entry.
    table: Vec<String>,
    start: i64,
    watermark: i64,
    entities: Vec<Entity>,
    index: HashMap<Arc<str>, u32>,
    /// (instant, entity, table segment).
    timers: BTreeSet<(i64, u32, u32)>,
    /// Per event name, how far back a definition in force reads (`None`: every event).
    retention: BTreeMap<String, Option<i64>>,
    out: Vec<Record>,
    stats: StreamStats,
}

impl Stream {
    /// A stream of `registry`'s segments whose watermark starts at `start`.
    ///
    /// A definition whose time dependence cannot be placed (`next_change_unsupported`, §22) is
    /// refused here, before any event.
    pub fn new(registry: Registry, start: i64, fx: FxRates, config: StreamConfig) -> Result<Stream, Error> {
        if config.lateness < 0 || config.max_future < 0 {
            return Err(Error::new(ErrorKind::InvalidContext, "lateness and max future must not be negative"));
        }
        let mut s = Stream {
            config,
            fx,
            epochs: Vec::new(),
            defs: Vec::new(),
            table: Vec::new(),
            start,
            watermark: start,
            entities: Vec::new(),
            index: HashMap::new(),
            timers: BTreeSet::new(),
            retention: BTreeMap::new(),
            out: Vec::new(),
            stats: StreamStats::default(),
        };
        s.add_registry(registry, start, i64::MIN)?;
        Ok(s)
    }

    /// `registry`'s definitions from epoch `epoch` on: with versions side by side (SPEC §1), the
    /// set in force at `at`, then each later handover as a definition change at its instant (§23).
    fn add_registry(&mut self, registry: Registry, at: i64, epoch: i64) -> Result<(), Error> {
        if !registry.program().has_versions() {
            return self.add_epoch(registry, epoch);
        }
        let later: Vec<i64> = registry.program().version_changes().filter(|&t| t > at).collect();
        self.add_epoch(registry.in_force_at(at), epoch)?;
        for t in later {
            self.add_epoch(registry.in_force_at(t), t)?;
        }
        Ok(())
    }

    fn add_epoch(&mut self, registry: Registry, start: i64) -> Result<(), Error> {
        let probe = Profile::new("");
        let from = self.watermark.max(i64::MIN + 1);
        for (k, _) in registry.segments().iter().enumerate() {
            registry.program().timeline_with(k, &probe, from, from.saturating_add(1), &self.fx)?;
            // An unplaceable time dependence shows on the first search, whatever the data.
            registry.program().next_change_with(k, &probe, from, &self.fx, DAY)?;
        }
        let mut defs = Vec::new();
        let mut slots = Vec::new();
        for seg in registry.segments() {
            let info = Arc::new(DefinitionInfo {
                index: self.defs.len() as u32,
                segment: seg.id().to_string(),
                version: seg.version().to_string(),
                hash: seg.definition_hash().to_string(),
                effective_from: start,
            });
            self.defs.push(Arc::clone(&info));
            self.out.push(Record::Definition(Arc::clone(&info)));
            defs.push(info);
            let g = match self.table.iter().position(|t| t == seg.id()) {
                Some(g) => g,
                None => {
                    self.table.push(seg.id().to_string());
                    self.table.len() - 1
                }
            };
            slots.push(g as u32);
        }
        let mut readers: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let program = registry.program();
        for (k, &g) in slots.iter().enumerate() {
            let mut names = BTreeSet::new();
            for &j in program.closure_ref(k) {
                names.extend(program.segments()[j].read_set().events.iter().cloned());
            }
            for n in names {
                readers.entry(n.into()).or_default().push(g);
            }
        }
        for seg in registry.segments() {
            for (name, back) in retention(seg.ir()) {
                let e = self.retention.entry(name).or_insert(Some(0));
                *e = match (*e, back) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
        }
        let n = self.table.len();
        for e in &mut self.entities {
            e.done.resize(n, i64::MIN);
            e.timer.resize(n, i64::MAX);
        }
        self.epochs.push(Epoch { start, registry, defs, slots, readers });
        Ok(())
    }

    fn new_entity(&self, id: Arc<str>, profile: Profile, exists_from: i64, initial: bool) -> Entity {
        let n = self.table.len();
        Entity {
            id,
            profile,
            exists_from,
            initial,
            done: vec![i64::MIN; n],
            timer: vec![i64::MAX; n],
            history: Vec::new(),
            first: None,
        }
    }

    /// Adds an initial profile (attributes, and events if any) before any event or watermark: it
    /// exists from the stream's start (or its earliest event, if earlier).
    pub fn add_profile(&mut self, mut profile: Profile) -> Result<(), Error> {
        if self.watermark != self.start || self.stats.events > 0 {
            return Err(Error::new(
                ErrorKind::InvalidContext,
                "initial profiles are added before the first event and the first watermark",
            ));
        }
        if self.index.contains_key(profile.id()) {
            return Err(Error::new(
                ErrorKind::DuplicateProfileId,
                format!("two initial profiles have the id `{}`", profile.id()),
            ));
        }
        profile.finish();
        let first = profile.earliest_event().map(|(n, at)| (Box::from(n), at));
        let exists_from = first.as_ref().map_or(self.start, |(_, a)| (*a).min(self.start));
        let id: Arc<str> = profile.id().into();
        let i = self.entities.len() as u32;
        let mut e = self.new_entity(Arc::clone(&id), profile, exists_from, true);
        e.first = first;
        self.entities.push(e);
        self.index.insert(id, i);
        for g in 0..self.table.len() as u32 {
            self.set_timer(i, g, exists_from);
        }
        Ok(())
    }

    /// The watermark: transitions at instants up to it have been emitted.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// The instant the stream started.
    pub fn start(&self) -> i64 {
        self.start
    }

    /// The counters.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// Number of entities.
    pub fn entity_count(&self) -> usize {
        self.entities.len()
    }

    /// Events kept in memory, over all entities.
    pub fn retained_events(&self) -> usize {
        self.entities.iter().map(|e| e.profile.event_count()).sum()
    }

    /// Every definition so far, by index.
    pub fn definitions(&self) -> &[Arc<DefinitionInfo>] {
        &self.defs
    }

    /// The definition hashes of the set in force last (sorted by segment id).
    pub fn current_hashes(&self) -> Vec<&str> {
        self.epochs.last().map_or_else(Vec::new, |e| e.defs.iter().map(|d| d.hash.as_str()).collect())
    }

    /// The records produced since the last call.
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.out)
    }

    /// Applies one event of entity `entity` (SPEC §23). A late one within the allowed lateness
    /// emits its corrections now; a rejected one changes nothing and is reported in the result.
    pub fn push_event(&mut self, entity: &str, name: &str, at: i64, properties: Properties) -> Result<Push, Error> {
        let w = self.watermark;
        if at < w.saturating_sub(self.config.lateness) {
            self.stats.too_late += 1;
            return Ok(Push::Rejected {
                reason: "too_late",
                message: format!(
                    "event at {} is before the watermark {} minus the allowed lateness",
                    time::format_timestamp(at),
                    time::format_timestamp(w)
                ),
            });
        }
        if at > w.saturating_add(self.config.max_future) {
            self.stats.future += 1;
            return Ok(Push::Rejected {
                reason: "future",
                message: format!(
                    "event at {} is more than the max future after the watermark {}",
                    time::format_timestamp(at),
                    time::format_timestamp(w)
                ),
            });
        }
        let i = match self.index.get(entity) {
            Some(&i) => i,
            None => {
                let id: Arc<str> = entity.into();
                let i = self.entities.len() as u32;
                let e = self.new_entity(Arc::clone(&id), Profile::new(entity), i64::MAX, false);
                self.entities.push(e);
                self.index.insert(id, i);
                i
            }
        };
        let keep = self.retention.get(name).is_some_and(|r| r.is_none_or(|d| at >= self.cutoff(d)));
        let e = &mut self.entities[i as usize];
        if keep {
            e.profile.insert_event(name, at, properties)?;
        }
        let earlier = at < e.exists_from;
        e.exists_from = e.exists_from.min(at);
        if e.first.as_ref().is_none_or(|(n, t)| (at, name) < (*t, &**n)) {
            e.first = Some((name.into(), at));
        }
        self.stats.events += 1;
        if at > w {
            // Only the segments that read the event can change at `at` (all of them, when the
            // entity starts to exist there).
            if earlier {
                for g in 0..self.table.len() as u32 {
                    let t = self.entities[i as usize].timer[g as usize].min(at);
                    self.set_timer(i, g, t);
                }
            } else {
                let x = self.epoch_index(at);
                let n = self.epochs[x].readers.get(name).map_or(0, Vec::len);
                for k in 0..n {
                    let g = self.epochs[x].readers[name][k];
                    let t = self.entities[i as usize].timer[g as usize].min(at);
                    self.set_timer(i, g, t);
                }
            }
            return Ok(Push::OnTime);
        }
        self.stats.late += 1;
        self.correct(i, at)?;
        Ok(Push::Late)
    }

    /// Moves the watermark to `watermark` and emits every transition up to it. A watermark that
    /// does not advance is counted and ignored (`Ok(false)`).
    pub fn advance(&mut self, watermark: i64) -> Result<bool, Error> {
        if watermark <= self.watermark {
            self.stats.stale_watermarks += 1;
            return Ok(false);
        }
        // A set of definitions taking effect on the way: everybody is looked at there.
        let switches: Vec<i64> =
            self.epochs.iter().map(|e| e.start).filter(|&s| s > self.watermark && s <= watermark).collect();
        for s in switches {
            for i in 0..self.entities.len() as u32 {
                if self.entities[i as usize].exists_from < s {
                    for g in 0..self.table.len() as u32 {
                        let t = self.entities[i as usize].timer[g as usize].min(s);
                        self.set_timer(i, g, t);
                    }
                }
            }
        }
        let mut batch = Vec::new();
        let mut touched = Vec::new();
        while let Some(&(t, i, g)) = self.timers.first() {
            if t > watermark {
                break;
            }
            self.timers.pop_first();
            self.entities[i as usize].timer[g as usize] = i64::MAX;
            let (found, next) = self.catch_up(i, g, watermark)?;
            let e = &mut self.entities[i as usize];
            e.done[g as usize] = watermark;
            e.history.extend(found.iter().cloned());
            batch.extend(found);
            self.set_timer(i, g, next);
            touched.push(i);
        }
        self.watermark = watermark;
        touched.sort_unstable();
        touched.dedup();
        for i in touched {
            self.prune(i);
        }
        batch.sort_by(|a, b| (a.at, &*a.entity, &a.definition.segment).cmp(&(b.at, &*b.entity, &b.definition.segment)));
        self.stats.emitted += batch.len() as u64;
        self.out.extend(batch.into_iter().map(Record::Emit));
        Ok(true)
    }

    /// A new set of definitions takes effect at `effective` (after the watermark): SPEC §23's
    /// `definition` transitions are emitted when the watermark reaches it.
    pub fn set_definitions(&mut self, registry: Registry, effective: i64) -> Result<(), Error> {
        let last = self.epochs.last().map_or(i64::MIN, |e| e.start);
        if effective <= self.watermark || effective <= last {
            return Err(Error::new(
                ErrorKind::InvalidContext,
                format!(
                    "new definitions take effect after the watermark {} and after the last set; got {}",
                    time::format_timestamp(self.watermark),
                    time::format_timestamp(effective)
                ),
            ));
        }
        self.add_registry(registry, effective, effective)
    }

    fn cutoff(&self, back: i64) -> i64 {
        retain_from(self.watermark.saturating_sub(self.config.lateness), back)
    }

    fn set_timer(&mut self, i: u32, g: u32, t: i64) {
        let old = std::mem::replace(&mut self.entities[i as usize].timer[g as usize], t);
        if old != i64::MAX {
            self.timers.remove(&(old, i, g));
        }
        if t != i64::MAX {
            self.timers.insert((t, i, g));
        }
    }

    /// Segment `g`'s transitions of entity `i` after what was emitted, through `w`, and the
    /// instant before which it cannot change again.
    fn catch_up(&self, i: u32, g: u32, w: i64) -> Result<(Vec<Transition>, i64), Error> {
        let e = &self.entities[i as usize];
        let lo = e.done[g as usize].saturating_add(1).max(e.exists_from);
        if lo > w {
            return Ok((Vec::new(), self.next_timer(i, g, w)?));
        }
        // One walk from the last emitted instant, when no set of definitions starts in between
        // and the entity existed before it: changes up to `w`, and where to look next.
        let x = self.epoch_index(lo - 1);
        let same = self.epoch_index(w.saturating_add(1)) == x && lo > e.exists_from;
        if let (true, Some(k)) = (same, self.epochs[x].local(g)) {
            let epoch = &self.epochs[x];
            let (changes, next) = epoch
                .registry
                .program()
                .changes_until(k, &e.profile, lo - 1, w, &self.fx)
                .map_err(|er| named(er, e, &self.table[g as usize]))?;
            let def = &epoch.defs[k];
            let found = changes
                .into_iter()
                .filter_map(|c| {
                    let kind = match c.transition()? {
                        "entered" => TransitionKind::Entered,
                        _ => TransitionKind::Exited,
                    };
                    Some(Transition::new(Arc::clone(&e.id), Arc::clone(def), c.at, kind, c.cause))
                })
                .collect();
            let later = self.epochs.get(x + 1).map_or(i64::MAX, |n| n.start);
            return Ok((found, next.unwrap_or(i64::MAX).min(later)));
        }
        Ok((self.transitions_in(i, g, lo, w)?, self.next_timer(i, g, w)?))
    }

    /// An instant after `w` before which segment `g` of entity `i` cannot change: the first
    /// instant the §22 analysis would look at (not necessarily a change; the timer looks again
    /// there), so a wake-up costs one evaluation, never a search to the horizon.
    fn next_timer(&self, i: u32, g: u32, w: i64) -> Result<i64, Error> {
        let e = &self.entities[i as usize];
        if e.exists_from > w {
            return Ok(e.exists_from);
        }
        let x = self.epoch_index(w.saturating_add(1));
        let mut next = self.epochs.get(x + 1).map_or(i64::MAX, |n| n.start);
        if let Some(k) = self.epochs[x].local(g) {
            let (_, candidate) = self.epochs[x]
                .registry
                .program()
                .changes_until(k, &e.profile, w, w, &self.fx)
                .map_err(|er| named(er, e, &self.table[g as usize]))?;
            next = next.min(candidate.unwrap_or(i64::MAX));
        }
        Ok(next)
    }

    fn prune(&mut self, i: u32) {
        let keep_from = self.watermark.saturating_sub(self.config.lateness);
        // Borrowed apart: this runs for every entity a watermark step touches.
        let Stream { retention, entities, .. } = self;
        let e = &mut entities[i as usize];
        e.history.retain(|t| t.at >= keep_from);
        for (name, back) in retention.iter() {
            if let Some(d) = back {
                e.profile.drop_events_before(name, retain_from(keep_from, *d));
            }
        }
    }

    fn epoch_index(&self, t: i64) -> usize {
        self.epochs.partition_point(|e| e.start <= t).saturating_sub(1)
    }

    /// A late event at `at` arrived for entity `i`: recompute `[at, W]`, retract what is no
    /// longer true, emit what is new.
    fn correct(&mut self, i: u32, at: i64) -> Result<(), Error> {
        let w = self.watermark;
        let lo = at.max(self.entities[i as usize].exists_from);
        let mut fresh = Vec::new();
        let mut timers = Vec::new();
        for g in 0..self.table.len() as u32 {
            fresh.extend(self.transitions_in(i, g, lo, w)?);
            timers.push(self.next_timer(i, g, w)?);
        }
        let e = &mut self.entities[i as usize];
        let (old, kept): (Vec<Transition>, Vec<Transition>) = e.history.drain(..).partition(|t| t.at >= lo);
        e.history = kept;
        let old_ids: BTreeSet<[u8; 16]> = old.iter().map(|t| t.id).collect();
        let new_ids: BTreeSet<[u8; 16]> = fresh.iter().map(|t| t.id).collect();
        let mut retract: Vec<Transition> = old.into_iter().filter(|t| !new_ids.contains(&t.id)).collect();
        let mut emit: Vec<Transition> = fresh.iter().filter(|t| !old_ids.contains(&t.id)).cloned().collect();
        e.history.extend(fresh);
        e.done.iter_mut().for_each(|d| *d = w);
        let key = |t: &Transition| (t.at, t.definition.segment.clone());
        retract.sort_by_key(key);
        emit.sort_by_key(key);
        self.stats.retracted += retract.len() as u64;
        self.stats.emitted += emit.len() as u64;
        self.out.extend(retract.into_iter().map(Record::Retract));
        self.out.extend(emit.into_iter().map(Record::Emit));
        for (g, t) in timers.into_iter().enumerate() {
            self.set_timer(i, g as u32, t);
        }
        self.prune(i);
        Ok(())
    }

    /// Entity `i`'s transitions of table segment `g` at instants in `[lo, hi]` (SPEC §23), in
    /// time order.
    fn transitions_in(&self, i: u32, g: u32, lo: i64, hi: i64) -> Result<Vec<Transition>, Error> {
        let e = &self.entities[i as usize];
        let id = &self.table[g as usize];
        let mut out = Vec::new();
        let lo = lo.max(e.exists_from);
        for (x, epoch) in self.epochs.iter().enumerate() {
            let end = self.epochs.get(x + 1).map_or(i64::MAX, |n| n.start - 1);
            let (x0, x1) = (lo.max(epoch.start), hi.min(end));
            if x0 > x1 {
                continue;
            }
            let prev = x.checked_sub(1).map(|p| &self.epochs[p]);
            let begins = x0 == e.exists_from;
            let switches = prev.is_some() && x0 == epoch.start;
            let Some(k) = epoch.local(g) else {
                // The new set removed the segment: its members exit where it takes effect.
                if let (Some(p), true, false) = (prev, switches, begins) {
                    if let Some(pk) = p.local(g) {
                        if self.member_before(Some(p), id, e, x0)? {
                            out.push(Transition::new(
                                Arc::clone(&e.id),
                                Arc::clone(&p.defs[pk]),
                                x0,
                                TransitionKind::Exited,
                                Cause { kind: CauseKind::Definition, segment: None, event: None },
                            ));
                        }
                    }
                }
                continue;
            };
            let program = epoch.registry.program();
            let def = &epoch.defs[k];
            let mut push = |at: i64, member: bool, cause: Cause| {
                let kind = if member { TransitionKind::Entered } else { TransitionKind::Exited };
                out.push(Transition::new(Arc::clone(&e.id), Arc::clone(def), at, kind, cause));
            };
            for (a, b) in spans(x0, x1) {
                if a == x0 && (begins || switches) {
                    let before = if begins { false } else { self.member_before(prev, id, e, a)? };
                    let tl = program.timeline_with(k, &e.profile, a, b + 1, &self.fx).map_err(|er| named(er, e, id))?;
                    if tl.outcome.is_member() != before {
                        push(a, tl.outcome.is_member(), self.start_cause(e, begins));
                    }
                    for c in tl.changes.into_iter().filter(|c| c.transition().is_some()) {
                        push(c.at, c.outcome.is_member(), c.cause);
                    }
                } else {
                    let tl =
                        program.timeline_with(k, &e.profile, a - 1, b + 1, &self.fx).map_err(|er| named(er, e, id))?;
                    for c in tl.changes.into_iter().filter(|c| c.transition().is_some()) {
                        push(c.at, c.outcome.is_member(), c.cause);
                    }
                }
            }
        }
        Ok(out)
    }

    /// Whether `e` is a member of segment `id` under `epoch` at `t − 1 µs` (not, if the segment
    /// is not in it or the entity did not exist then).
    fn member_before(&self, epoch: Option<&Epoch>, id: &str, e: &Entity, t: i64) -> Result<bool, Error> {
        let Some(epoch) = epoch else { return Ok(false) };
        if t - 1 < e.exists_from {
            return Ok(false);
        }
        let Some(k) = epoch.registry.program().position(id) else { return Ok(false) };
        let tl =
            epoch.registry.program().timeline_with(k, &e.profile, t - 1, t, &self.fx).map_err(|er| named(er, e, id))?;
        Ok(tl.outcome.is_member())
    }

    fn start_cause(&self, e: &Entity, begins: bool) -> Cause {
        if begins && !(e.initial && e.exists_from == self.start) {
            let event = e.first.as_ref().filter(|(_, at)| *at == e.exists_from).map(|(n, at)| (n.to_string(), *at));
            return Cause { kind: CauseKind::Event, segment: None, event };
        }
        Cause { kind: CauseKind::Definition, segment: None, event: None }
    }
}

/// The earliest `at` an event read at most `back` before `as_of` must have to be kept, when no
/// evaluation will happen before `keep_from` (SPEC §23's retention, with its day of margin).
fn retain_from(keep_from: i64, back: i64) -> i64 {
    keep_from.saturating_sub(back).saturating_sub(DAY)
}

/// `[x0, x1]` cut into pieces a timeline can span (SPEC §22's span limit).
fn spans(x0: i64, x1: i64) -> Vec<(i64, i64)> {
    let step = MAX_SPAN - 2 * DAY;
    let mut out = Vec::new();
    let mut a = x0;
    loop {
        let b = x1.min(a.saturating_add(step));
        out.push((a, b));
        if b >= x1 {
            return out;
        }
        a = b + 1;
    }
}

fn named(e: Error, entity: &Entity, segment: &str) -> Error {
    let d = e.first();
    Error::new(d.kind, format!("entity `{}`, segment `{segment}`: {}", entity.id, d.message))
}

/// Per event name a rule aggregates, how far back from `as_of` it reads (`None`: without bound).
fn retention(root: &Node) -> BTreeMap<String, Option<i64>> {
    struct Reach(BTreeMap<String, Option<i64>>);
    impl Visitor for Reach {
        fn visit(&mut self, n: &Node) {
            if let Kind::Agg(agg) | Kind::EventGet { agg, .. } = &n.kind {
                let back = match &agg.within {
                    None => None,
                    Some(Window::Last(k, u)) => k.checked_mul(time::unit_micros(*u)),
                    // The longest local length of each calendar window, plus a day for DST and
                    // zone offsets.
                    Some(Window::Today) => Some(2 * DAY),
                    Some(Window::Yesterday) => Some(3 * DAY),
                    Some(Window::ThisWeek) => Some(8 * DAY),
                    Some(Window::LastWeek) => Some(15 * DAY),
                    Some(Window::ThisMonth) => Some(32 * DAY),
                    Some(Window::LastMonth) => Some(63 * DAY),
                };
                let e = self.0.entry(agg.event.to_string()).or_insert(Some(0));
                *e = match (*e, back) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            crate::ir::walk(self, n);
        }
    }
    let mut r = Reach(BTreeMap::new());
    r.visit(root);
    r.0
}

// ---------------------------------------------------------------------------------------------
// Snapshots

impl Stream {
    /// The stream's state as JSON (SPEC §23's `state.json`, without the log's own fields): its
    /// definitions, watermark, counters and every entity's retained events. [`Stream::restore`]
    /// rebuilds an equal stream from it.
    pub fn snapshot(&self) -> Result<serde_json::Value, Error> {
        let mut text = Vec::new();
        self.write_snapshot(&mut text)?;
        serde_json::from_slice(&text).map_err(|e| Error::new(ErrorKind::Internal, format!("stream snapshot: {e}")))
    }

    /// [`Stream::snapshot`] as JSON text appended to `out`, written entity by entity (a commit
    /// writes it for every entity: no tree of the whole state is built).
    pub fn write_snapshot(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let json = |out: &mut Vec<u8>, v: &dyn erased::Json| v.put(out);
        let epochs: Vec<serde_json::Value> = self
            .epochs
            .iter()
            .map(|e| {
                let defs: Vec<serde_json::Value> =
                    e.registry.segments().iter().map(|s| definition_json(s.definition())).collect();
                let hashes: Vec<&str> = e.registry.segments().iter().map(|s| s.definition_hash()).collect();
                serde_json::json!({"start": e.start.to_string(), "definitions": defs, "hashes": hashes})
            })
            .collect();
        let s = &self.stats;
        let head = serde_json::json!({
            "format": 1,
            "start": self.start.to_string(),
            "watermark": self.watermark.to_string(),
            "lateness": self.config.lateness.to_string(),
            "max_future": self.config.max_future.to_string(),
            "epochs": epochs,
            "stats": [s.events, s.late, s.too_late, s.future, s.stale_watermarks, s.emitted, s.retracted],
        })
        .to_string();
        // The head object without its closing brace, then the entities.
        out.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
        out.extend_from_slice(b",\"entities\":[");
        for (k, e) in self.entities.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":");
            json(out, &&*e.id);
            out.extend_from_slice(b",\"exists_from\":");
            json(out, &e.exists_from.to_string());
            out.extend_from_slice(if e.initial { b",\"initial\":true" } else { b",\"initial\":false" });
            out.extend_from_slice(b",\"first\":");
            match &e.first {
                Some((n, at)) => json(out, &serde_json::json!([&**n, at.to_string()])),
                None => out.extend_from_slice(b"null"),
            }
            out.extend_from_slice(b",\"attributes\":{");
            for (j, name) in e.profile.attribute_names().into_iter().enumerate() {
                if let Some(v) = e.profile.attribute(name) {
                    if j > 0 {
                        out.push(b',');
                    }
                    json(out, &name);
                    out.push(b':');
                    json(out, &snapshot_value(v)?);
                }
            }
            out.extend_from_slice(b"},\"events\":[");
            let mut first = true;
            for (name, group) in e.profile.event_groups() {
                for ev in &group.events {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.push(b'[');
                    json(out, &name);
                    out.extend_from_slice(b",\"");
                    out.extend_from_slice(ev.at.to_string().as_bytes());
                    out.extend_from_slice(b"\",{");
                    for (j, (key, v)) in ev.properties.iter().enumerate() {
                        if j > 0 {
                            out.push(b',');
                        }
                        json(out, &&**key);
                        out.push(b':');
                        json(out, &snapshot_value(v)?);
                    }
                    out.extend_from_slice(b"}]");
                }
            }
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(b"]}");
        Ok(())
    }

    /// Rebuilds a stream from [`Stream::snapshot`]'s JSON, compiling its definitions against
    /// `schema` (the one the stream ran with). It emits nothing: what it had emitted before the
    /// snapshot is recomputed as its history.
    pub fn restore(snapshot: &serde_json::Value, schema: Option<&Schema>, fx: FxRates) -> Result<Stream, Error> {
        let bad = |what: &str| Error::new(ErrorKind::InvalidContext, format!("stream snapshot: {what}"));
        let int = |v: &serde_json::Value, what: &str| -> Result<i64, Error> {
            v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| bad(what))
        };
        if snapshot.get("format").and_then(|f| f.as_u64()) != Some(1) {
            return Err(bad("unknown format"));
        }
        let start = int(&snapshot["start"], "start")?;
        let config = StreamConfig {
            lateness: int(&snapshot["lateness"], "lateness")?,
            max_future: int(&snapshot["max_future"], "max_future")?,
        };
        let epochs = snapshot["epochs"].as_array().ok_or_else(|| bad("epochs"))?;
        let mut stream: Option<Stream> = None;
        for ep in epochs {
            let defs = ep["definitions"]
                .as_array()
                .ok_or_else(|| bad("definitions"))?
                .iter()
                .map(Definition::from_json)
                .collect::<Result<Vec<_>, _>>()?;
            let registry = Registry::from_definitions(defs, schema)?;
            let hashes: Vec<&str> = ep["hashes"].as_array().into_iter().flatten().filter_map(|h| h.as_str()).collect();
            let now: Vec<&str> = registry.segments().iter().map(|s| s.definition_hash()).collect();
            if hashes != now {
                return Err(bad("its definitions compile to other hashes in this build"));
            }
            let from = int(&ep["start"], "epoch start")?;
            match &mut stream {
                None => stream = Some(Stream::new(registry, start, fx.clone(), config)?),
                Some(s) => s.add_epoch(registry, from)?,
            }
        }
        let mut s = stream.ok_or_else(|| bad("no definitions"))?;
        let watermark = int(&snapshot["watermark"], "watermark")?;
        s.watermark = watermark;
        for (i, e) in snapshot["entities"].as_array().ok_or_else(|| bad("entities"))?.iter().enumerate() {
            let id = e["id"].as_str().ok_or_else(|| bad("entity id"))?;
            let mut profile = Profile::new(id);
            if let Some(attrs) = e["attributes"].as_object() {
                for (k, v) in attrs {
                    profile.set_attribute(k.as_str(), Value::from_json(v));
                }
            }
            for ev in e["events"].as_array().ok_or_else(|| bad("events"))? {
                let name = ev[0].as_str().ok_or_else(|| bad("event name"))?;
                let at = int(&ev[1], "event at")?;
                let props = ev[2]
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| (k.as_str().into(), Value::from_json(v))).collect())
                    .unwrap_or_default();
                profile.push_event(name, at, props)?;
            }
            profile.finish();
            let ident: Arc<str> = id.into();
            let mut ent = s.new_entity(Arc::clone(&ident), profile, int(&e["exists_from"], "exists_from")?, false);
            ent.initial = e["initial"].as_bool().unwrap_or(false);
            ent.first = match (e["first"][0].as_str(), e["first"][1].as_str().and_then(|t| t.parse().ok())) {
                (Some(n), Some(at)) => Some((n.into(), at)),
                _ => None,
            };
            ent.done.iter_mut().for_each(|d| *d = watermark);
            s.entities.push(ent);
            s.index.insert(ident, i as u32);
        }
        for i in 0..s.entities.len() as u32 {
            let e = &s.entities[i as usize];
            let lo = watermark.saturating_sub(s.config.lateness).max(e.exists_from);
            let mut history = Vec::new();
            for g in 0..s.table.len() as u32 {
                if lo <= watermark {
                    history.extend(s.transitions_in(i, g, lo, watermark)?);
                }
                let t = s.next_timer(i, g, watermark)?;
                s.set_timer(i, g, t);
            }
            s.entities[i as usize].history = history;
            s.prune(i);
        }
        let st: Vec<u64> =
            snapshot["stats"].as_array().map(|a| a.iter().filter_map(|v| v.as_u64()).collect()).unwrap_or_default();
        if let [events, late, too_late, future, stale, emitted, retracted] = st[..] {
            s.stats = StreamStats { events, late, too_late, future, stale_watermarks: stale, emitted, retracted };
        }
        s.out.clear();
        Ok(s)
    }
}

/// A definition as [`Definition::from_json`] reads it back (the rule as written).
fn definition_json(d: &Definition) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: &str| {
        if !v.is_empty() {
            m.insert(k.into(), v.into());
        }
    };
    put("id", &d.id);
    put("version", &d.version);
    put("name", &d.name);
    put("description", &d.description);
    put("owner", &d.owner);
    put("status", d.status.as_str());
    put("timezone", &d.timezone);
    put("currency", &d.currency);
    put("rule", &d.rule);
    for (k, t) in [("effective_from", d.effective_from), ("effective_until", d.effective_until)] {
        if let Some(t) = t {
            m.insert(k.into(), time::format_timestamp(t).into());
        }
    }
    if !d.tags.is_empty() {
        m.insert("tags".into(), d.tags.clone().into());
    }
    serde_json::Value::Object(m)
}

/// A data value as the JSON [`Value::from_json`] reads back to the same value.
fn snapshot_value(v: &Value) -> Result<serde_json::Value, Error> {
    use serde_json::Value as J;
    Ok(match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) if f.is_finite() => serde_json::Number::from_f64(*f).map(J::Number).ok_or_else(|| unsnap(v))?,
        Value::Str(s) => J::String(s.to_string()),
        Value::Money(m) => serde_json::json!({"amount": m.amount.to_string(), "currency": m.currency.as_str()}),
        Value::List(items) => J::Array(items.iter().map(snapshot_value).collect::<Result<_, _>>()?),
        Value::Object(map) => {
            J::Object(map.iter().map(|(k, v)| Ok((k.to_string(), snapshot_value(v)?))).collect::<Result<_, Error>>()?)
        }
        _ => return Err(unsnap(v)),
    })
}

fn unsnap(v: &Value) -> Error {
    Error::new(
        ErrorKind::InvalidContext,
        format!("a stream snapshot holds JSON data values; a {} cannot be written", v.type_name()),
    )
}

/// Writing one serialisable value as JSON text (serde_json cannot fail on these types).
mod erased {
    pub(super) trait Json {
        fn put(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize + ?Sized> Json for T {
        fn put(&self, out: &mut Vec<u8>) {
            let _ = serde_json::to_writer(&mut *out, self);
        }
    }
}
