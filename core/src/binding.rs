//! What a binding (Python, Node, WASM, the CLI) needs besides the main types: the translations
//! between the core's values and documents and a host's, in one place. Nothing here decides
//! semantics; a binding that needs something not listed should add it here rather than reach
//! into the core's internals (cedar-policy's `ffi` module plays the same role).
//!
//! ```
//! use segcore::binding::{format_timestamp, print_rule};
//! assert_eq!(format_timestamp(0), "1970-01-01T00:00:00Z");
//! let ast = segcore::Segment::parse_rule("age>=18   and plan=\"pro\"").unwrap();
//! assert_eq!(print_rule(&ast), "age >= 18 and plan = \"pro\"");
//! ```

pub use crate::canonical::{rule_json, sha256_hex, write_str};
pub use crate::casefold::fold;
pub use crate::document::{check_value_depth, parse_json, parse_yaml, DuplicateKeys};
pub use crate::error::diagnostics_json;
pub use crate::explain::html_escape;
pub use crate::ir::Layout;
pub use crate::ops::bucket;
pub use crate::printer::print as print_rule;
pub use crate::profile::{event_error, parse_event, parse_event_time, EventGroup, Properties};
pub use crate::projection::Projection;
pub use crate::semver::Version;
pub use crate::time::{format_timestamp, parse_instant, resolve_local, resolve_local_json, to_timestamp, Resolution};
pub use crate::value::{float_value, parse_decimal, parse_money_text};
