//! # segcore
//!
//! One canonical definition of an audience segment, evaluated by one deterministic core in every
//! runtime: same definition + same data + same `as_of` ⇒ the same membership, bit for bit.
//!
//! The pipeline is `text → parser → ast → compile (types, schema) → ir → eval`, with `printer`
//! (canonical text) and `canonical` (canonical JSON and hash) beside it. See `ARCHITECTURE.md`
//! and the language in `SPEC.md`.
//!
//! ```
//! use segcore::{Definition, EvalContext, FxRates, Outcome, Profile, Segment};
//!
//! let def = Definition::from_yaml_str(r#"
//! id: high_value
//! version: 1.0.0
//! currency: USD
//! rule: sum(purchase.amount within 90d) > 500 USD
//! "#).unwrap();
//! let seg = Segment::compile(def, None).unwrap();
//! let profile = Profile::from_json_str(r#"{"id": "u1", "events": [
//!   {"name": "purchase", "at": "2026-03-01T10:00:00Z",
//!    "properties": {"amount": {"amount": "450", "currency": "EUR"}}}]}"#).unwrap();
//! let cx = EvalContext::parse("2026-03-15T00:00:00Z").unwrap()
//!     .with_fx(FxRates::from_json_str(r#"{"EUR/USD": "1.08"}"#).unwrap());
//! assert_eq!(seg.evaluate(&profile, &cx).unwrap(), Outcome::False); // 486 USD
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![allow(missing_docs)] // Enum variants and plain data fields document themselves.

pub mod ast;
pub mod batch;
pub mod bind;
pub mod canonical;
pub mod casefold;
mod casefold_table;
pub mod compile;
pub mod context;
pub mod definition;
pub mod document;
pub mod error;
pub mod eval;
pub mod explain;
#[cfg(feature = "ingest")]
pub mod ingest;
#[cfg(feature = "arrow")]
pub mod ingest_arrow;
pub mod ir;
pub mod lexer;
pub mod limits;
pub mod ops;
pub mod parser;
pub mod printer;
pub mod profile;
pub mod program;
pub mod projection;
pub mod registry;
pub mod schema;
pub mod segment;
pub mod semver;
#[cfg(feature = "sql")]
pub mod sql;
pub mod tape;
pub mod time;
pub mod value;

pub use bind::Bound;
pub use compile::ReadSet;
pub use context::{as_of_from_millis, parse_as_of, EvalContext, FxRates};
pub use definition::{Definition, Source, Status};
pub use error::{DataLocation, Diagnostic, Error, ErrorClass, ErrorKind, Location, Phase, Severity, Span};
pub use explain::{Explanation, TraceNode, UnknownInput};
pub use profile::{Event, Profile};
pub use program::{Outcome, Program};
pub use registry::Registry;
pub use schema::Schema;
pub use segment::Segment;
pub use value::{Currency, Money, Value};

/// Version of the segment language this build implements (SPEC.md).
pub const LANGUAGE_VERSION: &str = "0.1";
/// Unicode version of `fold()` (simple case folding).
pub const CASEFOLD_UNICODE_VERSION: &str = casefold_table::UNICODE_VERSION;
