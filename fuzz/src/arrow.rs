//! The `arrow` target: the bytes choose a profiles table and an events table as Arrow record
//! batches — column names from the fixture registry's read set (so they are read) and a few
//! others, column types among what frames hold (integers, floats incl. NaN/∞, strings, booleans,
//! timestamps with and without a zone, dates, decimals, lists, money structs, epoch numbers for
//! `at`), nulls anywhere, repeated ids, one or two batches — then `segcore::ingest_arrow` reads
//! them and the batch driver evaluates the fixture registry. Whatever reads must evaluate to each
//! profile's one-profile answer; whatever is refused must be a well-formed error.

use std::sync::Arc;

use arbitrary::{Result as AResult, Unstructured};
use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
    StructBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema};
use segcore::batch::{evaluate, BatchOptions};
use segcore::ingest::Columns;
use segcore::Phase;

use crate::fixtures;

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Ids `u0`, `u1`, … by row (now and then a repeat or a null): the id and entity columns.
    Id,
    /// Integer ids 0, 1, … by row.
    IntId,
    /// Event names the registry reads.
    EventName,
    /// A zoned timestamp, rarely null: the events' `at`.
    At,
    Int,
    Float,
    Str,
    Bool,
    TsUtc,
    TsNaive,
    Date,
    Decimal,
    FloatList,
    Money,
}

const KINDS: [Kind; 10] = [
    Kind::Int,
    Kind::Float,
    Kind::Str,
    Kind::Bool,
    Kind::TsUtc,
    Kind::TsNaive,
    Kind::Date,
    Kind::Decimal,
    Kind::FloatList,
    Kind::Money,
];

/// A short string: mostly names and spellings segcore reads (`"US"`, `"12.5 EUR"`, an instant),
/// sometimes arbitrary.
fn text(u: &mut Unstructured) -> AResult<String> {
    const SOME: &[&str] = &[
        "US",
        "GB",
        "A",
        "pro",
        "2026-03-01T00:00:00Z",
        "2026-03-08",
        "19.99 EUR",
        "5 USD",
        "1.2.3",
        "",
        "purchase",
        "login",
        "u1",
        "u2",
        "0",
        "-1",
        "1e309",
    ];
    if u.ratio(3, 4)? {
        Ok(u.choose(SOME)?.to_string())
    } else {
        let s: String = u.arbitrary()?;
        Ok(s.chars().take(24).collect())
    }
}

fn column(u: &mut Unstructured, kind: Kind, first_row: usize, rows: usize) -> AResult<(DataType, ArrayRef)> {
    macro_rules! fill {
        ($builder:expr, $value:expr) => {{
            let mut b = $builder;
            for _ in 0..rows {
                if u.ratio(1, 6)? {
                    b.append_null();
                } else {
                    b.append_value($value);
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    let mut row = first_row;
    let mut next_row = || {
        row += 1;
        row - 1
    };
    let base = 1_772_928_000_000_000i64; // 2026-03-08T00:00:00Z
    Ok(match kind {
        Kind::Id | Kind::IntId | Kind::EventName | Kind::At => {
            // Rare nulls and repeats: most tables must read, so evaluation gets fuzzed too.
            let pick = |u: &mut Unstructured, i: usize| -> AResult<Option<usize>> {
                Ok(if u.ratio(1, 300)? {
                    None
                } else if u.ratio(1, 200)? {
                    Some(i / 2)
                } else {
                    Some(i)
                })
            };
            match kind {
                Kind::Id => {
                    let mut b = StringBuilder::new();
                    for _ in 0..rows {
                        let i = next_row();
                        match pick(u, i)? {
                            Some(k) => b.append_value(format!("u{k}")),
                            None => b.append_null(),
                        }
                    }
                    (DataType::Utf8, Arc::new(b.finish()) as ArrayRef)
                }
                Kind::IntId => {
                    let mut b = Int64Builder::new();
                    for _ in 0..rows {
                        let i = next_row();
                        b.append_option(pick(u, i)?.map(|k| k as i64));
                    }
                    (DataType::Int64, Arc::new(b.finish()) as ArrayRef)
                }
                Kind::EventName => {
                    let names: Vec<String> = fixtures::registry().read_set().events.iter().cloned().collect();
                    let mut b = StringBuilder::new();
                    for _ in 0..rows {
                        if u.ratio(1, 40)? {
                            b.append_null();
                        } else {
                            b.append_value(u.choose(&names)?);
                        }
                    }
                    (DataType::Utf8, Arc::new(b.finish()) as ArrayRef)
                }
                _ => {
                    let zone: Option<Arc<str>> = Some("UTC".into());
                    let mut b = TimestampMicrosecondBuilder::new().with_timezone_opt(zone.clone());
                    for _ in 0..rows {
                        if u.ratio(1, 500)? {
                            b.append_null();
                        } else {
                            b.append_value(
                                base + u.int_in_range(-400i64..=10)? * 86_400_000_000
                                    + u.int_in_range(0..=86_399)? * 1_000_000,
                            );
                        }
                    }
                    (DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, zone), Arc::new(b.finish()) as ArrayRef)
                }
            }
        }
        Kind::Int => (DataType::Int64, fill!(Int64Builder::new(), u.int_in_range(-5..=400)?)),
        Kind::Float => {
            let v = |u: &mut Unstructured| -> AResult<f64> {
                Ok(if u.ratio(1, 8)? {
                    *u.choose(&[f64::NAN, f64::INFINITY, -0.0, 1e300])?
                } else {
                    u.int_in_range(-50..=500)? as f64 / 4.0
                })
            };
            (DataType::Float64, fill!(Float64Builder::new(), v(u)?))
        }
        Kind::Str => (DataType::Utf8, fill!(StringBuilder::new(), text(u)?)),
        Kind::Bool => (DataType::Boolean, fill!(BooleanBuilder::new(), u.arbitrary::<bool>()?)),
        Kind::TsUtc | Kind::TsNaive => {
            let zone: Option<Arc<str>> = matches!(kind, Kind::TsUtc).then(|| "UTC".into());
            let v = |u: &mut Unstructured| -> AResult<i64> {
                Ok(if u.ratio(1, 10)? { u.arbitrary()? } else { base + u.int_in_range(-400i64..=10)? * 86_400_000_000 })
            };
            let b = TimestampMicrosecondBuilder::new().with_timezone_opt(zone.clone());
            let arr = fill!(b, v(u)?);
            (DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, zone), arr)
        }
        Kind::Date => {
            let v = |u: &mut Unstructured| -> AResult<i32> {
                Ok(if u.ratio(1, 10)? { u.arbitrary()? } else { 20_520 + u.int_in_range(-400..=10)? })
            };
            (DataType::Date32, fill!(Date32Builder::new(), v(u)?))
        }
        Kind::Decimal => {
            let scale = u.int_in_range(0..=18)?;
            let v = |u: &mut Unstructured| -> AResult<i128> {
                Ok(if u.ratio(1, 10)? {
                    u.arbitrary::<i128>()? % 10i128.pow(38)
                } else {
                    u.int_in_range(-100_000..=100_000)?
                })
            };
            let b = Decimal128Builder::new().with_precision_and_scale(38, scale as i8).expect("valid precision");
            (DataType::Decimal128(38, scale as i8), fill!(b, v(u)?))
        }
        Kind::FloatList => {
            let mut b = ListBuilder::new(Float64Builder::new());
            for _ in 0..rows {
                if u.ratio(1, 6)? {
                    b.append_null();
                    continue;
                }
                for _ in 0..u.int_in_range(0..=3)? {
                    b.values().append_value(u.int_in_range(-4..=4)? as f64 / 2.0);
                }
                b.append(true);
            }
            let arr: ArrayRef = Arc::new(b.finish());
            (arr.data_type().clone(), arr)
        }
        Kind::Money => {
            let fields = Fields::from(vec![
                Field::new("amount", DataType::Utf8, true),
                Field::new("currency", DataType::Utf8, true),
            ]);
            let mut b = StructBuilder::from_fields(fields.clone(), rows);
            for _ in 0..rows {
                let null = u.ratio(1, 6)?;
                let amount = format!("{}.{}", u.int_in_range(0..=900)?, u.int_in_range(0..=99)?);
                let currency = u.choose(&["USD", "EUR", "GBP", "JPY", "XYZ", "usd"])?.to_string();
                let sb = b.field_builder::<StringBuilder>(0).expect("amount");
                if null {
                    sb.append_null()
                } else {
                    sb.append_value(amount)
                }
                let cb = b.field_builder::<StringBuilder>(1).expect("currency");
                if null {
                    cb.append_null()
                } else {
                    cb.append_value(currency)
                }
                b.append(!null);
            }
            (DataType::Struct(fields), Arc::new(b.finish()) as ArrayRef)
        }
    })
}

/// A table of `columns` (name, kind), split into one or two record batches.
fn table(u: &mut Unstructured, columns: &[(String, Kind)], rows: usize) -> AResult<Option<Vec<RecordBatch>>> {
    let split = if rows > 1 && u.arbitrary::<bool>()? { u.int_in_range(1..=rows - 1)? } else { rows };
    let mut batches = Vec::new();
    for (from, to) in [(0, split), (split, rows)] {
        if to <= from && from > 0 {
            continue;
        }
        let mut fields = Vec::new();
        let mut arrays = Vec::new();
        for (name, kind) in columns {
            let (ty, arr) = column(u, *kind, from, to - from)?;
            fields.push(Field::new(name, ty, true));
            arrays.push(arr);
        }
        // Duplicate column names are Arrow's business, not ours.
        match RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays) {
            Ok(b) => batches.push(b),
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(batches))
}

/// A column type; naive timestamps (always refused) only now and then.
fn kind(u: &mut Unstructured) -> AResult<Kind> {
    let k = *u.choose(&KINDS)?;
    Ok(if matches!(k, Kind::TsNaive) && !u.ratio(1, 8)? { Kind::TsUtc } else { k })
}

fn build(data: &[u8]) -> AResult<Option<(Vec<RecordBatch>, Vec<RecordBatch>)>> {
    let mut u = Unstructured::new(data);
    let reg = fixtures::registry();
    let read = reg.read_set();
    let attributes: Vec<String> = read.attributes.iter().cloned().chain(["other".to_string()]).collect();
    let rows = u.int_in_range(0..=24)?;
    // Profiles: the id column first (strings, or integers), then some attribute columns.
    let id_kind = if u.ratio(1, 4)? { Kind::IntId } else { Kind::Id };
    let mut pcols = vec![("id".to_string(), id_kind)];
    for _ in 0..u.int_in_range(0..=5)? {
        pcols.push((u.choose(&attributes)?.clone(), kind(&mut u)?));
    }
    let Some(profiles) = table(&mut u, &pcols, rows)? else { return Ok(None) };
    // Events in long form: entity id, name, at, then property columns some segment reads.
    let props: Vec<String> = read.event_properties.values().flatten().cloned().chain(["other".to_string()]).collect();
    // Names the registry reads (else no event would reach a segment) and mostly valid times.
    let at_kind = *u.choose(&[
        Kind::At,
        Kind::At,
        Kind::At,
        Kind::At,
        Kind::TsUtc,
        Kind::Str,
        Kind::TsNaive,
        Kind::Int,
        Kind::Float,
    ])?;
    let name_kind = if u.ratio(1, 8)? { Kind::Str } else { Kind::EventName };
    let mut ecols =
        vec![("entity_id".to_string(), id_kind), ("name".to_string(), name_kind), ("at".to_string(), at_kind)];
    for _ in 0..u.int_in_range(0..=3)? {
        ecols.push((u.choose(&props)?.clone(), kind(&mut u)?));
    }
    let erows = u.int_in_range(0..=48)?;
    let Some(events) = table(&mut u, &ecols, erows)? else { return Ok(None) };
    Ok(Some((profiles, events)))
}

pub fn arrow(data: &[u8]) {
    crate::start(data);
    let Ok(Some((profiles, events))) = build(data) else { return };
    let reg = fixtures::registry();
    let cx = fixtures::context();
    let read = reg.read_set();
    columnar_matches_row_path(&profiles, &events);
    match segcore::ingest_arrow::profiles_from_batches(&profiles, Some(&events), &Columns::default(), &read) {
        Ok(ps) => match evaluate(reg.program(), &ps, cx, &BatchOptions { threads: 1, ..Default::default() }) {
            Ok(m) => {
                let mut rows = m.rows();
                for p in &ps {
                    for (id, outcome) in reg.evaluate(p, cx).expect("the batch evaluated this profile") {
                        let row = rows.next().expect("a row per profile and segment");
                        assert_eq!((row.entity_id, row.segment_id, row.outcome), (p.id(), id, outcome));
                    }
                }
                assert!(rows.next().is_none(), "more rows than profiles × segments");
            }
            Err(e) => {
                crate::check_error(&e, Phase::Evaluate);
                let at = e.first().data.as_deref().expect("a batch error is placed in the data");
                let row = at.row.expect("a batch error names its row") as usize;
                assert!(reg.evaluate(&ps[row], cx).is_err(), "row {row} evaluates alone but not in the batch");
            }
        },
        Err(e) => {
            crate::check_error(&e, Phase::Evaluate);
            let at = e.first().data.as_deref().expect("an ingestion error is placed in the data");
            assert!(matches!(at.source.as_deref(), Some("profiles" | "events")), "{at:?}");
        }
    }
}

/// The columnar engine over the same record batches gives the row path's membership table cell
/// by cell (outcome, failure, error kind), or its error word for word.
fn columnar_matches_row_path(profiles: &[arrow_array::RecordBatch], events: &[arrow_array::RecordBatch]) {
    let reg = fixtures::registry();
    let cx = fixtures::context();
    let cols = Columns::default();
    for keep_going in [false, true] {
        let opts = BatchOptions { threads: 1, keep_going, ..Default::default() };
        let rows = segcore::ingest_arrow::profiles_from_batches(profiles, Some(events), &cols, &reg.read_set())
            .and_then(|ps| evaluate(reg.program(), &ps, cx, &opts));
        let columnar = segcore::columnar::evaluate(reg.program(), profiles, Some(events), &cols, cx, &opts);
        match (rows, columnar) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.len(), b.len());
                for k in 0..reg.program().len() {
                    assert_eq!(a.outcomes(k), b.outcomes(k), "segment {k}");
                    for row in 0..a.len() {
                        assert_eq!(a.failed(k, row), b.failed(k, row), "segment {k}, row {row}");
                    }
                }
                let kinds = |m: &segcore::batch::Memberships| {
                    m.errors().iter().map(|e| (e.row, e.segment, e.error.kind())).collect::<Vec<_>>()
                };
                assert_eq!(kinds(&a), kinds(&b));
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("row path {:?}, columnar {:?}", a.err(), b.err()),
        }
        chunks_match_the_whole_table(profiles, events, &opts);
    }
}

/// The columnar engine in chunks of 1–4 profiles gives the whole table's cells and errors (rows
/// numbered in the whole table); without keep_going the same error — word for word when it is an
/// evaluation error, of the same kind when the table has unreadable values (a chunk names the
/// first of its own).
fn chunks_match_the_whole_table(
    profiles: &[arrow_array::RecordBatch],
    events: &[arrow_array::RecordBatch],
    opts: &BatchOptions,
) {
    let reg = fixtures::registry();
    let cx = fixtures::context();
    let cols = Columns::default();
    let whole = segcore::columnar::evaluate(reg.program(), profiles, Some(events), &cols, cx, opts);
    let n: usize = profiles.iter().map(|b| b.num_rows()).sum();
    let ids: Vec<arrow_array::RecordBatch> = profiles
        .iter()
        .map(|b| match b.schema().index_of("id") {
            Ok(i) => b.project(&[i]).expect("a column of the batch"),
            Err(_) => b.project(&[]).expect("no column"),
        })
        .collect();
    let mut stream = profiles.iter().cloned().map(Ok);
    let mut cells: Vec<Vec<(segcore::Outcome, bool)>> = vec![Vec::new(); reg.program().len()];
    let chunk = 1 + n % 4;
    let chunked = segcore::columnar::evaluate_chunked(
        reg.program(),
        &ids,
        &mut stream,
        Some(events),
        &cols,
        cx,
        opts,
        chunk,
        &mut |first, m| {
            assert_eq!(first, cells[0].len(), "chunks in order");
            for (k, column) in cells.iter_mut().enumerate() {
                column.extend((0..m.len()).map(|row| (m.outcomes(k)[row], m.failed(k, row))));
            }
            Ok(())
        },
    );
    match (whole, chunked) {
        (Ok(w), Ok(c)) => {
            assert_eq!(c.profiles, w.len());
            for (k, column) in cells.iter().enumerate() {
                let want: Vec<_> = (0..w.len()).map(|row| (w.outcomes(k)[row], w.failed(k, row))).collect();
                assert_eq!(column, &want, "segment {k} in chunks of {chunk}");
            }
            let want: Vec<_> = w.errors().iter().map(|e| (e.row, e.segment, e.error.to_string())).collect();
            let got: Vec<_> = c.errors.iter().map(|(_, e)| (e.row, e.segment, e.error.to_string())).collect();
            assert_eq!(got, want, "chunks of {chunk}");
            assert_eq!(c.unmatched_events, w.unmatched_events());
        }
        (Err(a), Err(b)) => {
            let cell = a.first().data.as_deref().is_some_and(|d| d.segment.is_some());
            if cell {
                assert_eq!(a.to_string(), b.to_string(), "chunks of {chunk}");
            } else {
                assert_eq!(a.kind(), b.kind(), "chunks of {chunk}: {a} / {b}");
            }
        }
        (a, b) => panic!("whole {:?}, chunks of {chunk} {:?}", a.err(), b.err()),
    }
}

#[cfg(test)]
mod tests {
    /// The harness reaches both ends on plain pseudo-random bytes: tables that read and evaluate,
    /// and tables that are refused (a harness that returns early on most inputs fuzzes nothing).
    #[test]
    fn random_inputs_reach_evaluation_and_refusal() {
        let (mut read, mut refused, mut evaluated_rows, mut events) = (0, 0, 0, 0);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..400 {
            let bytes: Vec<u8> = (0..400)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            let Ok(Some((p, e))) = super::build(&bytes) else { continue };
            let reg = crate::fixtures::registry();
            match segcore::ingest_arrow::profiles_from_batches(&p, Some(&e), &Default::default(), &reg.read_set()) {
                Ok(ps) => {
                    read += 1;
                    evaluated_rows += ps.len();
                    events += ps.iter().map(segcore::Profile::event_count).sum::<usize>();
                }
                Err(e) => {
                    refused += 1;
                    if std::env::var("SHOW").is_ok() {
                        eprintln!("{}", e.first());
                    }
                }
            }
            super::arrow(&bytes);
        }
        assert!(
            // Events must reach the profiles too (their names are ones the registry reads).
            read > 20 && refused > 20 && evaluated_rows > 100 && events > 100,
            "read {read}, refused {refused}, rows {evaluated_rows}, events {events}"
        );
    }
}
