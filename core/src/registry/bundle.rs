//! Bundles (SPEC §27): a registry in one JSON file with a content hash, loaded whole or not at all.

use sha2::{Digest, Sha256};

use crate::definition::Definition;
use crate::error::{Error, ErrorKind};
use crate::registry::Registry;
use crate::schema::Schema;

/// The format tag of this version of the bundle.
pub const BUNDLE_FORMAT: &str = "segcore-bundle/1";

fn invalid(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::BundleInvalid, why)
}

fn hash_of<'a>(defs: impl Iterator<Item = (&'a str, &'a str)>, schema: Option<&Schema>) -> String {
    let mut h = Sha256::new();
    h.update(BUNDLE_FORMAT.as_bytes());
    h.update(b"\n");
    for (id, hash) in defs {
        h.update(id.as_bytes());
        h.update(b" ");
        h.update(hash.as_bytes());
        h.update(b"\n");
    }
    let schema = schema.map_or_else(|| "null".to_string(), |s| s.to_json().to_string());
    h.update(schema.as_bytes());
    crate::reconcile::hex(&h.finalize())
}

impl Registry {
    /// The bundle hash of this registry (SPEC §27): its definitions' hashes and its schema.
    pub fn bundle_hash(&self) -> String {
        hash_of(self.versions().into_iter().map(|s| (s.id(), s.definition_hash())), self.schema())
    }

    /// This registry as a bundle (SPEC §27), created at `created` (µs; the caller's clock: the
    /// core reads none).
    ///
    /// ```
    /// use segcore::{Definition, Registry};
    /// let reg = Registry::from_definitions(vec![Definition::new("adults", "1.0.0", "age >= 18")], None).unwrap();
    /// let text = reg.to_bundle(0);
    /// let back = Registry::from_bundle(&text).unwrap();
    /// assert_eq!(back.bundle_hash(), reg.bundle_hash());
    /// assert_eq!(back.get("adults").unwrap().definition_hash(), reg.get("adults").unwrap().definition_hash());
    /// ```
    pub fn to_bundle(&self, created: i64) -> String {
        let ts = |t: Option<i64>| t.map(crate::time::format_timestamp);
        // Every version (SPEC §1), by id then time: the order of the hash's lines.
        let defs: Vec<serde_json::Value> = self
            .versions()
            .into_iter()
            .map(|s| {
                let d = s.definition();
                let mut tags = d.tags.clone();
                tags.sort();
                tags.dedup();
                serde_json::json!({
                    "id": d.id, "version": d.version, "name": d.name, "description": d.description,
                    "owner": d.owner, "status": d.status.as_str(), "effective_from": ts(d.effective_from),
                    "effective_until": ts(d.effective_until), "timezone": d.timezone, "currency": d.currency,
                    "tags": tags, "rule": crate::printer::print(s.ast()),
                })
            })
            .collect();
        let sorted = defs;
        // `format` first (a reader can tell a bundle from its first line), then the rest.
        let field = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default().replace('\n', "\n  ");
        format!(
            "{{\n  \"format\": {},\n  \"hash\": {},\n  \"created\": {},\n  \"schema\": {},\n  \"definitions\": {}\n}}\n",
            field(&serde_json::json!(BUNDLE_FORMAT)),
            field(&serde_json::json!(self.bundle_hash())),
            field(&serde_json::json!(crate::time::format_timestamp(created))),
            field(&self.schema().map_or(serde_json::Value::Null, Schema::to_json)),
            field(&serde_json::Value::Array(sorted)),
        )
    }

    /// Loads a bundle (SPEC §27): every definition compiled against the bundle's schema and the
    /// hash checked; `bundle_invalid` (naming the reason) otherwise — never a partial registry.
    pub fn from_bundle(text: &str) -> Result<Registry, Error> {
        let v = crate::document::parse_json(
            text,
            ErrorKind::BundleInvalid,
            "the bundle",
            crate::document::DuplicateKeys::Refuse,
        )
        .map_err(|e| invalid(format!("not a bundle: {}", e.first().message)))?;
        let field = |k: &str| v.get(k).ok_or_else(|| invalid(format!("the bundle has no `{k}`")));
        match field("format")?.as_str() {
            Some(BUNDLE_FORMAT) => {}
            Some(other) => return Err(invalid(format!("format {other:?}: this segcore reads {BUNDLE_FORMAT}"))),
            None => return Err(invalid("`format` is not a string")),
        }
        let stated = field("hash")?.as_str().ok_or_else(|| invalid("`hash` is not a string"))?.to_string();
        let schema = match field("schema")? {
            serde_json::Value::Null => None,
            s => Some(Schema::from_json(s).map_err(|e| invalid(format!("its schema: {}", e.first().message)))?),
        };
        let defs = field("definitions")?.as_array().ok_or_else(|| invalid("`definitions` is not a list"))?;
        let defs = defs
            .iter()
            .map(Definition::from_json)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(format!("a definition does not read: {e}")))?;
        let reg = Registry::from_definitions(defs, schema.as_ref())
            .map_err(|e| invalid(format!("its definitions do not compile:\n{e}")))?;
        let actual = reg.bundle_hash();
        if actual != stated {
            return Err(invalid(format!(
                "its hash is {stated} but its contents hash to {actual}: the file was changed or cut"
            )));
        }
        Ok(reg)
    }
}
