//! Binding a profile to a slot layout: the attributes and event groups a program reads, looked
//! up once by name, so every segment reads them by index.

use std::sync::Arc;

use crate::ir::Layout;
use crate::profile::{EventGroup, Profile};
use crate::value::Value;

/// A profile's values at a layout's slots (see [`Bound`]).
#[derive(Debug, Clone, Default)]
pub struct Slots<'p> {
    pub attributes: Vec<&'p Value>,
    pub events: Vec<Option<&'p EventGroup>>,
}

/// A profile bound to a layout: the values a segment (or registry) reads, looked up once.
#[derive(Debug, Clone)]
pub struct Bound<'p> {
    profile: &'p Profile,
    pub(crate) layout: Arc<Layout>,
    pub(crate) slots: Slots<'p>,
}

impl<'p> Bound<'p> {
    pub(crate) fn new(layout: &Arc<Layout>, profile: &'p Profile) -> Bound<'p> {
        static NULL: Value = Value::Null;
        let attributes = layout.attributes.iter().map(|n| profile.attribute(n).unwrap_or(&NULL)).collect();
        let events = layout.events.iter().map(|n| profile.events(n)).collect();
        Bound { profile, layout: Arc::clone(layout), slots: Slots { attributes, events } }
    }
    /// Binds a profile whose attribute values the caller already holds, in the order of
    /// `layout.attributes` (a binding that read them positionally from its runtime, say); event
    /// groups come from `profile`, whose own attributes are not read. `None` when the number of
    /// values is not the layout's.
    ///
    /// ```
    /// use segcore::{Bound, Definition, EvalContext, Profile, Segment, Value};
    /// let seg = Segment::compile(Definition::new("a", "1.0.0", "age >= 18"), None).unwrap();
    /// let p = Profile::new("u1");
    /// let age = Value::Int(30);
    /// let bound = Bound::with_attributes(seg.layout(), &p, vec![&age]).unwrap();
    /// let cx = EvalContext::parse("2026-03-15T12:00:00Z").unwrap();
    /// assert!(seg.evaluate_bound(&bound, &cx).unwrap().is_member());
    /// ```
    pub fn with_attributes(
        layout: &Arc<Layout>,
        profile: &'p Profile,
        attributes: Vec<&'p Value>,
    ) -> Option<Bound<'p>> {
        if attributes.len() != layout.attributes.len() {
            return None;
        }
        let events = layout.events.iter().map(|n| profile.events(n)).collect();
        Some(Bound { profile, layout: Arc::clone(layout), slots: Slots { attributes, events } })
    }
    /// The underlying profile.
    pub fn profile(&self) -> &'p Profile {
        self.profile
    }
}
