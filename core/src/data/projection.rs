//! What a binding must read of a profile to evaluate a compiled segment or registry, in slot order.
//!
//! The JavaScript bindings (Node and WASM) pick, from a plain profile object, exactly these values
//! and hand them over by position, so no attribute name crosses the boundary per call. The values
//! are then bound with [`crate::Bound::with_attributes`]. Deciding nothing about membership, this
//! module only describes the shape of that projection.

use crate::compile::ReadSet;
use crate::ir::Layout;

/// Attribute names in layout slot order, and per event slot its name and the properties read of
/// it (sorted).
///
/// ```
/// use segcore::{binding::Projection, Definition, Segment};
/// let def = Definition::new("a", "1.0.0", r#"age >= 18 and count(purchase where total > 5) >= 1"#);
/// let seg = Segment::compile(def, None).unwrap();
/// let p = Projection::new(seg.layout(), seg.read_set());
/// assert_eq!(p.attributes, ["age"]);
/// assert_eq!(p.events, [("purchase".to_string(), vec!["total".to_string()])]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// Attribute names; position `i` is layout slot `i`, the order values are passed in.
    pub attributes: Vec<String>,
    /// Per event slot: the event name and the property names read of it, sorted.
    pub events: Vec<(String, Vec<String>)>,
}

impl Projection {
    /// The projection of `layout`, with event properties taken from `read`.
    pub fn new(layout: &Layout, read: &ReadSet) -> Projection {
        Projection {
            attributes: layout.attributes.iter().map(|a| a.to_string()).collect(),
            events: layout
                .events
                .iter()
                .map(|e| {
                    let props = read.event_properties.get(&**e).into_iter().flatten().cloned().collect();
                    (e.to_string(), props)
                })
                .collect(),
        }
    }

    /// `{ "attributes": [names], "events": [[name, [props]]] }`, as the JavaScript projectors
    /// read it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "attributes": self.attributes,
            "events": self.events.iter().map(|(n, p)| serde_json::json!([n, p])).collect::<Vec<_>>(),
        })
    }
}
