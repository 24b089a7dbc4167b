//! Reconciliation (SPEC §24): compare the member sets of two systems without exchanging them —
//! a [`Fingerprint`] says whether they are equal, a [`Sketch`] which ids differ — and read the
//! id exports other systems produce ([`read_ids`], [`IdCollector`]) without altering an id
//! silently.
//!
//! ```
//! use segcore::reconcile::{Key, Sketch, SymbolIndex};
//! let key = Key::default();
//! let crm = ["u1", "u2", "u3", "u5"];
//! let warehouse = ["u1", "u2", "u4", "u5"];
//! if key.fingerprint(&crm) != key.fingerprint(&warehouse) {
//!     // The warehouse sends its sketch (kilobytes); the CRM decodes against its own.
//!     let theirs = Sketch::new(&key, &warehouse, 32).unwrap();
//!     let ours = Sketch::new(&key, &crm, 32).unwrap();
//!     let diff = ours.decode(&theirs).unwrap();
//!     let index = SymbolIndex::new(&key, &crm);
//!     let only_crm: Vec<&str> = diff.only_a.iter().flat_map(|s| index.resolve(*s)).map(|&i| crm[i as usize]).collect();
//!     assert_eq!(only_crm, ["u3"]);
//!     assert_eq!(diff.only_b.len(), 1); // u4: the warehouse resolves its own symbol
//! }
//! ```

mod audit;
mod causes;
pub(crate) mod drift;
mod fingerprint;
mod identity;
#[cfg(feature = "ingest")]
mod ids;
mod sketch;

pub use audit::{audit, Audit, AuditField};
pub use causes::{difference_ids, reconcile, Cause, Difference, ProfileIndex, Reconciliation, Setting, SideInput};
pub use drift::{drift, drift_steps, drift_with_progress, DriftCause, DriftOptions, DriftRow};
pub(crate) use fingerprint::hex;
pub use fingerprint::{Fingerprint, Key};
pub use identity::{read_identity, IdentityMap, IdentityOptions, IdentityReport};
#[cfg(feature = "ingest")]
pub use ids::{read_ids, Finding, IdCollector, IdFormat, IdOptions, IdReport, IdSet, Place, RawId};
pub use sketch::{resolve_symbols, symbol_hex, Sketch, SketchDiff, SymbolIndex, MAX_SYMBOLS};
