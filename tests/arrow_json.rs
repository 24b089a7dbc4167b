//! Profiles written as JSON (the conformance suite's form) as Arrow tables, for the columnar
//! engine's differential tests: a profiles table (`id` + one column per attribute) and an events
//! table in long form (`entity_id`, `name`, `at` as RFC 3339 text, one column per property).
//! A column's Arrow type is inferred from its values; values no Arrow type holds exactly (ints
//! and floats in one column, lists of mixed items, objects with different keys) make
//! [`tables`] fall back to one record batch per row, and to `None` when even a single row has
//! no exact Arrow form.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::builder::BooleanBuilder;
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, ListArray, NullArray, RecordBatch, StringArray, StructArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::{DataType, Field, Fields, Schema};

use serde_json::Value as J;

/// An Arrow array holding exactly `values` (JSON null is a null slot), if one exists.
pub fn array(values: &[&J]) -> Option<ArrayRef> {
    let present: Vec<&J> = values.iter().copied().filter(|v| !v.is_null()).collect();
    let nulls = || NullBuffer::from(values.iter().map(|v| !v.is_null()).collect::<Vec<bool>>());
    if present.is_empty() {
        return Some(Arc::new(NullArray::new(values.len())));
    }
    if present.iter().all(|v| v.is_boolean()) {
        let mut b = BooleanBuilder::new();
        values.iter().for_each(|v| b.append_option(v.as_bool()));
        return Some(Arc::new(b.finish()));
    }
    if present.iter().all(|v| v.as_i64().is_some()) {
        return Some(Arc::new(Int64Array::from(values.iter().map(|v| v.as_i64()).collect::<Vec<_>>())));
    }
    if present.iter().all(|v| v.is_number() && v.as_i64().is_none() && v.as_f64().is_some()) {
        return Some(Arc::new(Float64Array::from(values.iter().map(|v| v.as_f64()).collect::<Vec<_>>())));
    }
    if present.iter().all(|v| v.is_string()) {
        return Some(Arc::new(StringArray::from(values.iter().map(|v| v.as_str()).collect::<Vec<_>>())));
    }
    if present.iter().all(|v| v.is_array()) {
        let items: Vec<&J> = present.iter().flat_map(|v| v.as_array().into_iter().flatten()).collect();
        // A JSON null item is a value of the list: kept as a null slot.
        let child = array(&items)?;
        let lengths = values.iter().map(|v| v.as_array().map_or(0, Vec::len));
        let field = Arc::new(Field::new("item", child.data_type().clone(), true));
        return ListArray::try_new(field, OffsetBuffer::from_lengths(lengths), child, Some(nulls()))
            .ok()
            .map(|a| Arc::new(a) as ArrayRef);
    }
    if present.iter().all(|v| v.is_object()) {
        // Every object must have the same keys: a struct has every field in every row.
        let keys: BTreeSet<&String> = present[0].as_object()?.keys().collect();
        if present.iter().any(|v| v.as_object().is_none_or(|o| o.keys().collect::<BTreeSet<_>>() != keys))
            || keys.is_empty()
        {
            return None;
        }
        let mut fields = Vec::new();
        let mut columns = Vec::new();
        for k in keys {
            let col: Vec<&J> = values.iter().map(|v| v.get(k.as_str()).unwrap_or(&J::Null)).collect();
            let a = array(&col)?;
            fields.push(Field::new(k.as_str(), a.data_type().clone(), true));
            columns.push(a);
        }
        return StructArray::try_new(Fields::from(fields), columns, Some(nulls()))
            .ok()
            .map(|a| Arc::new(a) as ArrayRef);
    }
    None
}

fn batch(columns: Vec<(String, Vec<&J>)>) -> Option<RecordBatch> {
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for (name, values) in columns {
        let a = array(&values)?;
        fields.push(Field::new(name, a.data_type().clone(), true));
        arrays.push(a);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).ok()
}

/// The profiles' and the events' record batches of JSON profiles; one batch per row where no
/// single batch holds every row exactly; `None` if some row has no exact Arrow form (or an
/// event has no RFC 3339 text `at`, which the JSON reader would refuse anyway).
pub fn tables(profiles: &[&J]) -> Option<(Vec<RecordBatch>, Vec<RecordBatch>)> {
    let null = J::Null;
    let ids: Vec<&J> = profiles.iter().map(|p| p.get("id").unwrap_or(&null)).collect();
    if ids.iter().any(|id| !id.is_string()) {
        return None;
    }
    let attr_names: BTreeSet<&String> =
        profiles.iter().filter_map(|p| p.get("attributes")?.as_object()).flat_map(|m| m.keys()).collect();
    if attr_names.contains(&"id".to_string()) {
        return None;
    }
    let profile_batch = |rows: &[&J]| {
        let mut cols = vec![("id".to_string(), rows.iter().map(|p| p.get("id").unwrap_or(&null)).collect())];
        for a in &attr_names {
            cols.push((
                a.to_string(),
                rows.iter().map(|p| p.get("attributes").and_then(|m| m.get(a.as_str())).unwrap_or(&null)).collect(),
            ));
        }
        batch(cols)
    };
    let profile_batches = match profile_batch(profiles) {
        Some(b) => vec![b],
        None => profiles.iter().map(|p| profile_batch(std::slice::from_ref(p))).collect::<Option<Vec<_>>>()?,
    };
    // Events: (entity id, event object) in profile order, then event order.
    let events: Vec<(&J, &J)> = profiles
        .iter()
        .flat_map(|p| {
            p.get("events")
                .and_then(J::as_array)
                .into_iter()
                .flatten()
                .map(move |e| (p.get("id").unwrap_or(&J::Null), e))
        })
        .collect();
    if events.iter().any(|(_, e)| !e.get("at").is_some_and(J::is_string) || !e.get("name").is_some_and(J::is_string)) {
        return None;
    }
    let prop_names: BTreeSet<&String> =
        events.iter().filter_map(|(_, e)| e.get("properties")?.as_object()).flat_map(|m| m.keys()).collect();
    if ["entity_id", "name", "at"].iter().any(|c| prop_names.contains(&c.to_string())) {
        return None;
    }
    let event_batch = |rows: &[(&J, &J)]| {
        let mut cols = vec![
            ("entity_id".to_string(), rows.iter().map(|(id, _)| *id).collect::<Vec<&J>>()),
            ("name".to_string(), rows.iter().map(|(_, e)| e.get("name").unwrap_or(&null)).collect()),
            ("at".to_string(), rows.iter().map(|(_, e)| e.get("at").unwrap_or(&null)).collect()),
        ];
        for p in &prop_names {
            cols.push((
                p.to_string(),
                rows.iter()
                    .map(|(_, e)| e.get("properties").and_then(|m| m.get(p.as_str())).unwrap_or(&null))
                    .collect(),
            ));
        }
        batch(cols)
    };
    let event_batches = if events.is_empty() {
        // No events: the three columns, typed, with no rows.
        let fields: Vec<Field> =
            ["entity_id", "name", "at"].iter().map(|n| Field::new(*n, DataType::Utf8, true)).collect();
        let empty = || Arc::new(StringArray::from(Vec::<&str>::new())) as ArrayRef;
        vec![RecordBatch::try_new(Arc::new(Schema::new(fields)), vec![empty(), empty(), empty()]).ok()?]
    } else {
        match event_batch(&events) {
            Some(b) => vec![b],
            None => events.iter().map(|e| event_batch(std::slice::from_ref(e))).collect::<Option<Vec<_>>>()?,
        }
    };
    Some((profile_batches, event_batches))
}
