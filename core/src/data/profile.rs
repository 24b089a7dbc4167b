//! Profiles: an entity id, attributes and events, indexed for evaluation (events grouped by
//! name and sorted by time, so windowed counts are binary searches).

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, ErrorKind};
use crate::limits;
use crate::value::Value;

/// An event's properties.
pub type Properties = BTreeMap<Box<str>, Value>;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// One event: its time and properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Microseconds since the epoch (UTC).
    pub at: i64,
    /// Property values by name, as read from data (SPEC §4).
    pub properties: BTreeMap<Box<str>, Value>,
}

/// The events of one name, sorted by `at` (ties keep input order).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventGroup {
    /// `at` of each event, ascending; parallel to `events`.
    pub ats: Vec<i64>,
    /// The events, parallel to `ats`.
    pub events: Vec<Event>,
}

impl EventGroup {
    /// Index range of events with `start <= at` and `at <= end` (or `< end`).
    #[inline]
    pub fn range(&self, start: i64, end: i64, end_inclusive: bool) -> std::ops::Range<usize> {
        range_of(&self.ats, start, end, end_inclusive)
    }
}

/// Index range of the ascending instants `ats` with `start <= at` and `at <= end` (or `< end`):
/// two binary searches (the interpreter's event groups and the columnar engine's runs).
#[inline]
pub(crate) fn range_of(ats: &[i64], start: i64, end: i64, end_inclusive: bool) -> std::ops::Range<usize> {
    let lo = ats.partition_point(|&t| t < start);
    let hi = if end_inclusive { ats.partition_point(|&t| t <= end) } else { ats.partition_point(|&t| t < end) };
    lo..hi.max(lo)
}

/// An entity ready for evaluation.
///
/// ```
/// use segcore::Profile;
/// let p = Profile::from_json_str(r#"{"id": "u1", "attributes": {"age": 30},
///     "events": [{"name": "purchase", "at": "2026-03-01T10:00:00Z", "properties": {"amount": 12}}]}"#).unwrap();
/// assert_eq!(p.id(), "u1");
/// assert_eq!(p.event_count(), 1);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// The id, as a string value (so evaluation can borrow it): one allocation per profile.
    id_value: Value,
    attributes: FastMap<Box<str>, Value>,
    events: FastMap<Box<str>, EventGroup>,
    event_count: usize,
}

impl Profile {
    /// An empty profile with this id.
    pub fn new(id: impl Into<Box<str>>) -> Profile {
        Profile { id_value: Value::Str(id.into()), ..Profile::default() }
    }

    /// The entity id.
    pub fn id(&self) -> &str {
        match &self.id_value {
            Value::Str(s) => s,
            _ => "",
        }
    }

    /// The entity id as a string value.
    #[inline]
    pub fn id_value(&self) -> &Value {
        &self.id_value
    }

    /// Sets an attribute.
    pub fn set_attribute(&mut self, name: impl Into<Box<str>>, value: Value) {
        self.attributes.insert(name.into(), value);
    }

    /// An attribute by top-level name.
    #[inline]
    pub fn attribute(&self, name: &str) -> Option<&Value> {
        self.attributes.get(name)
    }

    /// Attribute names, sorted.
    pub fn attribute_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.attributes.keys().map(|k| &**k).collect();
        names.sort_unstable();
        names
    }

    /// Adds an event. Call [`Profile::finish`] after the last one (the loaders do).
    pub fn push_event(&mut self, name: &str, at: i64, properties: BTreeMap<Box<str>, Value>) -> Result<(), Error> {
        if self.event_count >= limits::MAX_EVENTS_PER_PROFILE {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!("profile `{}` has more than {} events", self.id(), limits::MAX_EVENTS_PER_PROFILE),
            ));
        }
        // Look up before inserting: the name is allocated once per group, not once per event.
        let group = match self.events.get_mut(name) {
            Some(g) => g,
            None => self.events.entry(name.into()).or_default(),
        };
        group.ats.push(at);
        group.events.push(Event { at, properties });
        self.event_count += 1;
        Ok(())
    }

    /// Adds an event in time order, after the events with the same `at` (a stream's arrival
    /// order), keeping the profile ready for evaluation without [`Profile::finish`].
    pub(crate) fn insert_event(&mut self, name: &str, at: i64, properties: Properties) -> Result<(), Error> {
        self.push_event(name, at, properties)?;
        let group = self.events.get_mut(name).expect("the group was just pushed to");
        let n = group.ats.len();
        let pos = group.ats[..n - 1].partition_point(|&t| t <= at);
        if pos < n - 1 {
            group.ats[pos..].rotate_right(1);
            group.events[pos..].rotate_right(1);
        }
        Ok(())
    }

    /// Forgets the events named `name` with `at` before `before`; returns how many.
    pub(crate) fn drop_events_before(&mut self, name: &str, before: i64) -> usize {
        let Some(group) = self.events.get_mut(name) else { return 0 };
        let k = group.ats.partition_point(|&t| t < before);
        if k > 0 {
            group.ats.drain(..k);
            group.events.drain(..k);
            self.event_count -= k;
        }
        k
    }

    /// Event groups by name, sorted by name.
    pub(crate) fn event_groups(&self) -> Vec<(&str, &EventGroup)> {
        let mut groups: Vec<(&str, &EventGroup)> = self.events.iter().map(|(k, g)| (&**k, g)).collect();
        groups.sort_unstable_by_key(|(k, _)| *k);
        groups
    }

    /// The earliest event's name and `at` (ties: the least name by code point).
    pub(crate) fn earliest_event(&self) -> Option<(&str, i64)> {
        self.event_groups()
            .into_iter()
            .filter_map(|(k, g)| g.ats.first().map(|&at| (at, k)))
            .min()
            .map(|(at, k)| (k, at))
    }

    /// Sorts every event group by time (stable: ties keep insertion order).
    pub fn finish(&mut self) {
        for group in self.events.values_mut() {
            if group.ats.windows(2).all(|w| w[0] <= w[1]) {
                continue;
            }
            let mut pairs: Vec<(i64, Event)> = group.ats.drain(..).zip(group.events.drain(..)).collect();
            pairs.sort_by_key(|(at, _)| *at);
            for (at, e) in pairs {
                group.ats.push(at);
                group.events.push(e);
            }
        }
    }

    /// The events named `name`.
    #[inline]
    pub fn events(&self, name: &str) -> Option<&EventGroup> {
        self.events.get(name)
    }

    /// Number of events of every name.
    pub fn event_count(&self) -> usize {
        self.event_count
    }

    /// Parses `{"id", "attributes", "events": [{"name", "at", "properties"}]}`.
    pub fn from_json_str(text: &str) -> Result<Profile, Error> {
        let v = crate::document::parse_json(
            text,
            ErrorKind::InvalidProfile,
            "profile",
            crate::document::DuplicateKeys::KeepLast,
        )?;
        Profile::from_json(&v)
    }

    /// Builds a profile from JSON data (SPEC §4, §11).
    pub fn from_json(v: &serde_json::Value) -> Result<Profile, Error> {
        let obj = v
            .as_object()
            .ok_or_else(|| invalid("a profile must be a JSON object with `id`, `attributes`, `events`"))?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "id" | "attributes" | "events") {
                return Err(invalid(&format!("unknown profile field `{key}` (expected `id`, `attributes`, `events`)")));
            }
        }
        let id = match obj.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
            None => return Err(invalid("profile has no `id`")),
            Some(_) => return Err(invalid("profile `id` must be a string or an integer")),
        };
        let mut p = Profile::new(id);
        match obj.get("attributes") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Object(attrs)) => {
                for (k, v) in attrs {
                    crate::document::check_value_depth(v, &format!("profile `{}`: attribute `{k}`", p.id()))?;
                    p.attributes.insert(k.as_str().into(), Value::from_json(v));
                }
            }
            Some(_) => return Err(invalid(&format!("profile `{}`: `attributes` must be an object", p.id()))),
        }
        match obj.get("events") {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::Array(events)) => {
                for (i, e) in events.iter().enumerate() {
                    // An event object holds its property values two levels down.
                    if crate::document::value_depth(e) > crate::limits::MAX_VALUE_DEPTH + 2 {
                        return Err(Error::new(
                            ErrorKind::LimitExceeded,
                            format!(
                                "profile `{}`, event {i}: a property value is nested more than {} levels deep",
                                p.id(),
                                crate::limits::MAX_VALUE_DEPTH
                            ),
                        ));
                    }
                    let (name, at, props) = parse_event(e).map_err(|m| m.at(p.id(), i))?;
                    p.push_event(name, at, props)?;
                }
            }
            Some(_) => return Err(invalid(&format!("profile `{}`: `events` must be a list", p.id()))),
        }
        p.finish();
        Ok(p)
    }
}

/// What is wrong with one event, before it is known whose event it is: every route that reads
/// events (this parser, the tape, the bindings' own conversions) names the problem with this type,
/// then places it with [`EventProblem::at`], so the messages are the same everywhere.
///
/// ```
/// use segcore::binding::EventProblem;
/// let e = EventProblem::NoAt.at("u1", 3);
/// assert_eq!(e.first().kind, segcore::ErrorKind::InvalidProfile);
/// assert_eq!(e.first().message, "profile `u1`, event 3: event has no string `at`");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventProblem {
    /// The event is not an object.
    NotAnObject,
    /// No string `name`.
    NoName,
    /// No `at`, or one that is neither text nor a timestamp value.
    NoAt,
    /// An `at` text that is not RFC 3339 with an offset (the text).
    BadAt(String),
    /// `properties` that is not an object.
    BadProperties,
}

impl EventProblem {
    /// The problem's message, without the profile and event it was found in.
    pub fn message(&self) -> String {
        match self {
            EventProblem::NotAnObject => "an event must be an object with `name`, `at`, `properties`".into(),
            EventProblem::NoName => "event has no string `name`".into(),
            EventProblem::NoAt => "event has no string `at`".into(),
            EventProblem::BadAt(text) => format!("event `at` {text:?} is not an RFC 3339 timestamp with an offset"),
            EventProblem::BadProperties => "event `properties` must be an object".into(),
        }
    }

    /// The problem as the `invalid_profile` error of event `index` (its position in the
    /// profile's list) of profile `id`.
    pub fn at(&self, id: &str, index: usize) -> Error {
        invalid(&format!("profile `{id}`, event {index}: {}", self.message()))
    }
}

/// Parses one event object into (name, at, properties).
pub fn parse_event(e: &serde_json::Value) -> Result<(&str, i64, Properties), EventProblem> {
    let obj = e.as_object().ok_or(EventProblem::NotAnObject)?;
    let name = obj.get("name").and_then(|n| n.as_str()).ok_or(EventProblem::NoName)?;
    let at_text = obj.get("at").and_then(|n| n.as_str()).ok_or(EventProblem::NoAt)?;
    let at = parse_event_time(at_text)?;
    let mut props = BTreeMap::new();
    match obj.get("properties") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(m)) => {
            for (k, v) in m {
                props.insert(k.as_str().into(), Value::from_json(v));
            }
        }
        Some(_) => return Err(EventProblem::BadProperties),
    }
    Ok((name, at, props))
}

/// Parses an event's `at`: RFC 3339 with an offset.
pub fn parse_event_time(text: &str) -> Result<i64, EventProblem> {
    crate::time::parse_instant(text).ok_or_else(|| EventProblem::BadAt(text.to_string()))
}

fn invalid(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidProfile, msg)
}
