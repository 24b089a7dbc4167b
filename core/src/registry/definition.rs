//! Segment definitions as documents (SPEC §1): loading from YAML or JSON and validating every
//! field, reporting all problems at once.

use std::path::Path;

use crate::document::{self, DuplicateKeys};
use crate::error::{Diagnostic, Error, ErrorKind};
use crate::limits;
use crate::semver::Version;

/// Lifecycle status. It documents intent; it does not change evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    /// Work in progress; evaluated like any other.
    Draft,
    /// In use: the default when the field is absent.
    #[default]
    Active,
    /// Being retired; still evaluated like any other.
    Deprecated,
}

impl Status {
    /// The status as spelled in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Active => "active",
            Status::Deprecated => "deprecated",
        }
    }
}

/// The fields of a definition, in canonical order (SPEC §1, §17).
pub(crate) const FIELDS: [&str; 12] = [
    "id",
    "version",
    "name",
    "description",
    "owner",
    "status",
    "effective_from",
    "effective_until",
    "timezone",
    "currency",
    "tags",
    "rule",
];

/// A segment definition, validated but not yet compiled.
///
/// ```
/// let def = segcore::Definition::from_yaml_str("
/// id: adults
/// version: 1.0.0
/// rule: age >= 18
/// ").unwrap();
/// assert_eq!(def.timezone, "UTC");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    /// Stable identifier: `[a-z][a-z0-9_]*`, at most 64 bytes, unique in a registry.
    pub id: String,
    /// Strict SemVer 2.0.0 (SPEC §15), as written.
    pub version: String,
    /// Human name; `""` when absent.
    pub name: String,
    /// Free text; `""` when absent.
    pub description: String,
    /// Team or person responsible; `""` when absent.
    pub owner: String,
    /// Lifecycle; does not change evaluation.
    pub status: Status,
    /// Microseconds since the epoch.
    pub effective_from: Option<i64>,
    /// Microseconds since the epoch.
    pub effective_until: Option<i64>,
    /// IANA zone for calendar functions, windows and local literals (SPEC §9); default `UTC`.
    pub timezone: String,
    /// Base currency (ISO 4217 code) money is converted to (SPEC §10); default `USD`.
    pub currency: String,
    /// Free labels, as given (the canonical form sorts and de-duplicates them).
    pub tags: Vec<String>,
    /// The rule in the segment language (SPEC §3), as written.
    pub rule: String,
    /// Where the definition came from, for error messages; not part of the canonical form.
    pub source: Option<Source>,
}

/// The file a definition was loaded from and where its rule text starts in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file path, as given when loading.
    pub path: String,
    /// 1-based line of the rule's first character in the file.
    pub rule_line: u32,
    /// 1-based column of the rule's first character on that line.
    pub rule_column: u32,
    /// Indentation of continuation lines (block scalars), 0-based.
    pub indent: u32,
}

impl Source {
    /// Maps a location in the rule text to one in the file.
    pub fn map(&self, loc: crate::error::Location) -> crate::error::Location {
        if loc.line == 1 {
            crate::error::Location { line: self.rule_line, column: self.rule_column + loc.column - 1 }
        } else {
            crate::error::Location { line: self.rule_line + loc.line - 1, column: self.indent + loc.column }
        }
    }
}

/// Finds where the `rule` value starts in a YAML or JSON definition file.
fn find_rule(text: &str, json: bool) -> Option<(u32, u32, u32)> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let after = if json {
            let Some(at) = line.find("\"rule\"") else {
                continue;
            };
            let rest = &line[at + 6..];
            let Some(colon) = rest.find(':') else {
                continue;
            };
            &rest[colon + 1..]
        } else if let Some(rest) = line.strip_prefix("rule:") {
            rest
        } else {
            continue;
        };
        let value = after.trim_start();
        let value_col = (line.len() - value.len() + 1) as u32;
        if !json && (value.starts_with('|') || value.starts_with('>')) {
            let next = lines.get(i + 1)?;
            let indent = (next.len() - next.trim_start().len()) as u32;
            return Some((i as u32 + 2, indent + 1, indent));
        }
        let quoted = u32::from(value.starts_with('"') || value.starts_with('\''));
        return Some((i as u32 + 1, value_col + quoted, 0));
    }
    None
}

impl Definition {
    /// The id `compile(rule)` gives a bare rule in every binding (it is part of the definition
    /// hash, so the default is decided here, once).
    pub const RULE_ID: &'static str = "rule";
    /// The version `compile(rule)` gives a bare rule in every binding.
    pub const RULE_VERSION: &'static str = "1.0.0";

    /// The definition of a bare rule, as every binding's `compile(rule, …)` builds it: the
    /// metadata given, [`Definition::RULE_ID`], [`Definition::RULE_VERSION`], UTC and USD for
    /// the rest. Same rule and options, same definition hash, in every runtime.
    ///
    /// ```
    /// use segcore::Definition;
    /// let d = Definition::for_rule("age >= 18", None, None, Some("Europe/Paris"), None);
    /// assert_eq!((d.id.as_str(), d.version.as_str()), ("rule", "1.0.0"));
    /// assert_eq!((d.timezone.as_str(), d.currency.as_str()), ("Europe/Paris", "USD"));
    /// ```
    pub fn for_rule(
        rule: impl Into<String>,
        id: Option<&str>,
        version: Option<&str>,
        timezone: Option<&str>,
        currency: Option<&str>,
    ) -> Definition {
        let mut def = Definition::new(id.unwrap_or(Self::RULE_ID), version.unwrap_or(Self::RULE_VERSION), rule);
        if let Some(tz) = timezone {
            def.timezone = tz.to_string();
        }
        if let Some(c) = currency {
            def.currency = c.to_string();
        }
        def
    }

    /// A definition with defaults for everything but id, version and rule.
    pub fn new(id: impl Into<String>, version: impl Into<String>, rule: impl Into<String>) -> Definition {
        Definition {
            id: id.into(),
            version: version.into(),
            name: String::new(),
            description: String::new(),
            owner: String::new(),
            status: Status::Active,
            effective_from: None,
            effective_until: None,
            timezone: "UTC".into(),
            currency: "USD".into(),
            tags: Vec::new(),
            rule: rule.into(),
            source: None,
        }
    }

    /// Parses a YAML document (JSON is accepted too, being YAML).
    pub fn from_yaml_str(text: &str) -> Result<Definition, Error> {
        if text.len() > limits::MAX_DEFINITION_FILE_BYTES {
            return Err(Error::new(ErrorKind::LimitExceeded, "definition file is larger than 1 MiB"));
        }
        let v = document::parse_yaml(text, ErrorKind::InvalidDefinition, "definition", DuplicateKeys::Refuse)?;
        Definition::from_json(&v)
    }

    /// Parses a JSON document.
    pub fn from_json_str(text: &str) -> Result<Definition, Error> {
        if text.len() > limits::MAX_DEFINITION_FILE_BYTES {
            return Err(Error::new(ErrorKind::LimitExceeded, "definition file is larger than 1 MiB"));
        }
        let v = document::parse_json(text, ErrorKind::InvalidDefinition, "definition", DuplicateKeys::Refuse)?;
        Definition::from_json(&v)
    }

    /// Loads a `.yaml`, `.yml` or `.json` file; errors name the file. Only regular files (or
    /// symlinks to them) are read, and at most the 1 MiB limit of them: a FIFO or a device named
    /// `*.yaml` is refused instead of blocking or reading without end.
    pub fn from_file(path: &Path) -> Result<Definition, Error> {
        let name = path.display().to_string();
        let text = read_definition_file(path, &name).map_err(|e| e.with_file(&name))?;
        let json = path.extension().and_then(|e| e.to_str()) == Some("json");
        let r = if json { Definition::from_json_str(&text) } else { Definition::from_yaml_str(&text) };
        let mut def = r.map_err(|e| e.with_file(&name))?;
        let (rule_line, rule_column, indent) = find_rule(&text, json).unwrap_or((1, 1, 0));
        def.source = Some(Source { path: name, rule_line, rule_column, indent });
        Ok(def)
    }

    /// Validates a definition given as a JSON object.
    pub fn from_json(v: &serde_json::Value) -> Result<Definition, Error> {
        document::check_value_depth(v, "the definition")?;
        let obj = v.as_object().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidDefinition,
                "a definition must be an object with at least `id`, `version` and `rule`",
            )
        })?;
        let mut diags = Vec::new();
        let mut d = Definition::new("", "", "");
        let bad = |diags: &mut Vec<Diagnostic>, kind, msg: String| diags.push(Diagnostic::new(kind, msg));
        let string = |diags: &mut Vec<Diagnostic>, key: &str, v: &serde_json::Value| -> Option<String> {
            match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) if key == "version" => {
                    diags.push(Diagnostic::new(
                        ErrorKind::InvalidSemver,
                        format!("`version` {n} must be a string: quote it, e.g. version: \"1.0.0\""),
                    ));
                    None
                }
                other => {
                    diags.push(Diagnostic::new(
                        ErrorKind::InvalidDefinition,
                        format!("`{key}` must be a string, got {other}"),
                    ));
                    None
                }
            }
        };
        for (key, val) in obj {
            match key.as_str() {
                "id" => {
                    if let Some(s) = string(&mut diags, key, val) {
                        if !valid_id(&s) {
                            bad(
                                &mut diags,
                                ErrorKind::InvalidDefinition,
                                format!("id {s:?} must match [a-z][a-z0-9_]* and be at most 64 bytes"),
                            );
                        }
                        d.id = s;
                    }
                }
                "version" => {
                    if let Some(s) = string(&mut diags, key, val) {
                        if Version::parse(&s).is_none() {
                            bad(
                                &mut diags,
                                ErrorKind::InvalidSemver,
                                format!("version {s:?} is not a strict SemVer 2.0.0 version (MAJOR.MINOR.PATCH)"),
                            );
                        }
                        d.version = s;
                    }
                }
                "name" => d.name = string(&mut diags, key, val).unwrap_or_default(),
                "description" => d.description = string(&mut diags, key, val).unwrap_or_default(),
                "owner" => d.owner = string(&mut diags, key, val).unwrap_or_default(),
                "rule" => d.rule = string(&mut diags, key, val).unwrap_or_default(),
                "status" => {
                    if let Some(s) = string(&mut diags, key, val) {
                        d.status = match s.as_str() {
                            "draft" => Status::Draft,
                            "active" => Status::Active,
                            "deprecated" => Status::Deprecated,
                            _ => {
                                bad(
                                    &mut diags,
                                    ErrorKind::InvalidDefinition,
                                    format!("status {s:?} must be draft, active or deprecated"),
                                );
                                Status::Active
                            }
                        }
                    }
                }
                "effective_from" | "effective_until" => {
                    if val.is_null() {
                        continue;
                    }
                    if let Some(s) = string(&mut diags, key, val) {
                        match crate::time::parse_instant(&s) {
                            Some(t) if key == "effective_from" => d.effective_from = Some(t),
                            Some(t) => d.effective_until = Some(t),
                            None => bad(
                                &mut diags,
                                ErrorKind::InvalidTimestamp,
                                format!("`{key}` {s:?} must be an RFC 3339 timestamp with an offset"),
                            ),
                        }
                    }
                }
                "timezone" => {
                    if let Some(s) = string(&mut diags, key, val) {
                        if crate::time::zone(&s).is_none() {
                            bad(
                                &mut diags,
                                ErrorKind::InvalidTimezone,
                                format!("timezone {s:?} is not an IANA time zone name (e.g. America/New_York)"),
                            );
                        }
                        d.timezone = s;
                    }
                }
                "currency" => {
                    if let Some(s) = string(&mut diags, key, val) {
                        if crate::value::Currency::parse(&s).is_none() {
                            bad(
                                &mut diags,
                                ErrorKind::InvalidCurrency,
                                format!("currency {s:?} must be an ISO 4217 code of three uppercase letters"),
                            );
                        }
                        d.currency = s;
                    }
                }
                "tags" => match val {
                    serde_json::Value::Array(items) => {
                        for t in items {
                            match t.as_str() {
                                Some(s) => d.tags.push(s.to_string()),
                                None => {
                                    bad(&mut diags, ErrorKind::InvalidDefinition, format!("tag {t} must be a string"))
                                }
                            }
                        }
                    }
                    serde_json::Value::Null => {}
                    other => bad(
                        &mut diags,
                        ErrorKind::InvalidDefinition,
                        format!("`tags` must be a list of strings, got {other}"),
                    ),
                },
                other => {
                    let known = FIELDS;
                    bad(
                        &mut diags,
                        ErrorKind::UnknownDefinitionField,
                        format!("unknown field `{other}`; definitions have: {}", known.join(", ")),
                    );
                }
            }
        }
        for key in ["id", "version", "rule"] {
            if !obj.contains_key(key) {
                bad(&mut diags, ErrorKind::InvalidDefinition, format!("missing required field `{key}`"));
            }
        }
        if let (Some(from), Some(until)) = (d.effective_from, d.effective_until) {
            if from >= until {
                bad(
                    &mut diags,
                    ErrorKind::InvalidDefinition,
                    "`effective_from` must be before `effective_until`".into(),
                );
            }
        }
        if !diags.is_empty() {
            let origin = if d.id.is_empty() { None } else { Some(d.id.clone()) };
            let mut err = Error::from_diagnostics(diags);
            if let Some(o) = origin {
                err = err.with_origin(&o);
            }
            return Err(err);
        }
        Ok(d)
    }
}

fn valid_id(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// Reads a definition file: a regular file of at most [`limits::MAX_DEFINITION_FILE_BYTES`].
fn read_definition_file(path: &Path, name: &str) -> Result<String, Error> {
    use std::io::Read;
    let io = |e: std::io::Error| Error::new(ErrorKind::Io, format!("cannot read {name}: {e}"));
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::Io,
            format!(
                "cannot read {name}: not a regular file (a definition must be a file, not a device, FIFO or folder)"
            ),
        ));
    }
    let mut bytes = Vec::new();
    let limit = limits::MAX_DEFINITION_FILE_BYTES as u64;
    std::fs::File::open(path).map_err(io)?.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(Error::new(ErrorKind::LimitExceeded, format!("{name} is larger than 1 MiB")));
    }
    String::from_utf8(bytes).map_err(|e| Error::new(ErrorKind::Io, format!("cannot read {name}: not UTF-8 text ({e})")))
}
