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

// The folders are the architecture (ARCHITECTURE.md): syntax → check → ir → exec / sql, with
// ops (value semantics), data and registry beside them. Internal modules are re-exported under
// their short names for the crate's own paths; what users and bindings need is re-exported below.
mod check;
mod context;
mod data;
mod error;
mod exec;
pub mod import;
pub mod ir;
pub mod limits;
pub(crate) mod ops;
mod parallel;
pub mod reconcile;
mod registry;
#[cfg(feature = "sql")]
pub mod sql;
#[cfg(feature = "log")]
pub mod store;
mod syntax;

pub(crate) use check::{compile, schema};
pub(crate) use data::{casefold, document, profile, projection, semver, time, value};
pub(crate) use exec::{bind, eval, explain};
pub(crate) use registry::{canonical, definition, program, segment};
pub(crate) use syntax::{lexer, parser, printer};

pub mod binding;
#[cfg(feature = "ingest")]
pub use data::ingest;
#[cfg(feature = "arrow")]
pub use data::ingest_arrow;
pub use data::tape;
pub use exec::batch;
#[cfg(feature = "arrow")]
pub use exec::columnar;
pub use exec::stream;
pub use exec::temporal;
pub use registry::{deps, diff, BUNDLE_FORMAT};
pub use syntax::ast;

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
pub use data::CASEFOLD_UNICODE_VERSION;
