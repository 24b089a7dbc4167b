//! Data: the value model and its text forms, profiles, documents, the tape, and ingestion of
//! tables (text and Arrow).

pub(crate) mod casefold;
mod casefold_table;
pub(crate) mod document;
#[cfg(feature = "ingest")]
pub mod ingest;
#[cfg(feature = "arrow")]
pub mod ingest_arrow;
pub(crate) mod iso4217;
pub(crate) mod profile;
pub(crate) mod projection;
pub(crate) mod semver;
pub mod tape;
pub(crate) mod time;
pub(crate) mod value;

/// Unicode version of `fold()` (simple case folding).
pub const CASEFOLD_UNICODE_VERSION: &str = casefold_table::UNICODE_VERSION;
