//! Entity schemas: declared attribute, event and property types, used to type-check definitions
//! at compile time so schema drift is caught before anything runs (SPEC §18).

use std::collections::BTreeMap;

use crate::document::{self, DuplicateKeys};
use crate::error::{Error, ErrorKind};
use crate::ir::Ty;

/// Declared types of attributes and of each event's properties.
///
/// ```
/// let schema = segcore::Schema::from_json_str(r#"{"attributes": {"age": "int"},
///     "events": {"purchase": {"amount": "money"}}}"#).unwrap();
/// assert!(schema.attribute("age").is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    attributes: BTreeMap<String, Ty>,
    events: BTreeMap<String, BTreeMap<String, Ty>>,
}

impl Schema {
    /// The declared type of an attribute.
    pub fn attribute(&self, name: &str) -> Option<Ty> {
        self.attributes.get(name).copied()
    }
    /// The declared properties of an event, if the event is declared.
    pub fn event(&self, name: &str) -> Option<&BTreeMap<String, Ty>> {
        self.events.get(name)
    }
    /// Attribute names, sorted.
    pub fn attribute_names(&self) -> impl Iterator<Item = &str> {
        self.attributes.keys().map(String::as_str)
    }
    /// Event names, sorted.
    pub fn event_names(&self) -> impl Iterator<Item = &str> {
        self.events.keys().map(String::as_str)
    }

    /// The schema as `{"attributes": {name: type}, "events": {name: {property: type}}}`, keys
    /// sorted; [`Schema::from_json`] reads it back to an equal schema (`list<T>` is written `list`:
    /// element types are not checked).
    ///
    /// ```
    /// let s = segcore::Schema::from_json_str(r#"{"attributes": {"age": "int"}, "events": {"login": {}}}"#).unwrap();
    /// assert_eq!(s.to_json().to_string(), r#"{"attributes":{"age":"int"},"events":{"login":{}}}"#);
    /// assert_eq!(segcore::Schema::from_json(&s.to_json()).unwrap(), s);
    /// ```
    pub fn to_json(&self) -> serde_json::Value {
        let types = |m: &BTreeMap<String, Ty>| -> serde_json::Map<String, serde_json::Value> {
            m.iter().map(|(k, t)| (k.clone(), serde_json::Value::from(t.name()))).collect()
        };
        let events: serde_json::Map<String, serde_json::Value> =
            self.events.iter().map(|(e, props)| (e.clone(), serde_json::Value::Object(types(props)))).collect();
        serde_json::json!({ "attributes": types(&self.attributes), "events": events })
    }

    /// Parses a schema from JSON text.
    pub fn from_json_str(text: &str) -> Result<Schema, Error> {
        let v = document::parse_json(text, ErrorKind::InvalidSchema, "the schema", DuplicateKeys::Refuse)?;
        Schema::from_json(&v)
    }

    /// Parses a schema from YAML or JSON text (JSON is YAML).
    pub fn from_yaml_str(text: &str) -> Result<Schema, Error> {
        let v = document::parse_yaml(text, ErrorKind::InvalidSchema, "the schema", DuplicateKeys::Refuse)?;
        Schema::from_json(&v)
    }

    /// Builds a schema from `{"attributes": {name: type}, "events": {name: {prop: type}}}`.
    pub fn from_json(v: &serde_json::Value) -> Result<Schema, Error> {
        document::check_value_depth(v, "the schema")?;
        let obj = v.as_object().ok_or_else(|| bad("a schema must be an object with `attributes` and `events`"))?;
        let mut schema = Schema::default();
        for (key, val) in obj {
            match key.as_str() {
                "attributes" => {
                    let attrs = val.as_object().ok_or_else(|| bad("`attributes` must map names to types"))?;
                    for (name, t) in attrs {
                        schema.attributes.insert(name.clone(), parse_type(t, name)?);
                    }
                }
                "events" => {
                    let events =
                        val.as_object().ok_or_else(|| bad("`events` must map event names to property types"))?;
                    for (name, props) in events {
                        let mut map = BTreeMap::new();
                        match props {
                            serde_json::Value::Null => {}
                            serde_json::Value::Object(p) => {
                                for (pname, t) in p {
                                    map.insert(pname.clone(), parse_type(t, &format!("{name}.{pname}"))?);
                                }
                            }
                            _ => return Err(bad(&format!("event `{name}` must map property names to types"))),
                        }
                        schema.events.insert(name.clone(), map);
                    }
                }
                other => return Err(bad(&format!("unknown schema field `{other}` (expected `attributes`, `events`)"))),
            }
        }
        Ok(schema)
    }
}

/// Parses a schema type name.
pub fn parse_type_name(s: &str) -> Option<Ty> {
    let s = s.trim();
    if s.starts_with("list<") && s.ends_with('>') {
        return Some(Ty::List);
    }
    Some(match s {
        "bool" => Ty::Bool,
        "int" => Ty::Int,
        "float" => Ty::Float,
        "decimal" => Ty::Decimal,
        "number" => Ty::Number,
        "string" => Ty::Str,
        "timestamp" => Ty::Timestamp,
        "date" => Ty::Date,
        "duration" => Ty::Duration,
        "money" => Ty::Money,
        "semver" => Ty::Semver,
        "vector" | "list" => Ty::List,
        "object" => Ty::Object,
        "any" => Ty::Any,
        _ => return None,
    })
}

fn parse_type(v: &serde_json::Value, what: &str) -> Result<Ty, Error> {
    v.as_str().and_then(parse_type_name).ok_or_else(|| {
        bad(&format!(
            "`{what}` has unknown type {v}; types are bool int float decimal number string timestamp date duration money semver vector object list<T> any"
        ))
    })
}

fn bad(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidSchema, msg)
}
