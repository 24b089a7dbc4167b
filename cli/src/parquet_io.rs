//! Parquet files: record batches in (only the columns a program reads, via the file's
//! projection, so unread columns are never decoded), the membership table out (Snappy), and the
//! demo's data. The batches go to the core's columnar engine (`segcore::columnar`).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, StringBuilder, StringDictionaryBuilder, TimestampMicrosecondBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use segcore::batch::{MembershipRow, Memberships};
use segcore::ErrorKind;

use crate::io::{error, CliResult};
use crate::output::OutputFile;

/// Rows per record batch read or written: large enough for the columnar kernels, small enough
/// that a batch's columns stay in cache-friendly sizes.
const BATCH_ROWS: usize = 65_536;

/// The record batches of a Parquet file, with only the top-level columns in `wanted` (all when
/// `None`).
pub fn read(path: &Path, wanted: Option<&BTreeSet<String>>) -> CliResult<Vec<RecordBatch>> {
    let fail = |e: &dyn std::fmt::Display| error(ErrorKind::InvalidProfile, format!("{}: {e}", path.display()));
    let file = File::open(path).map_err(|e| crate::output::io_error(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| fail(&e))?;
    let roots: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| wanted.is_none_or(|w| w.contains(f.name())))
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder.with_projection(mask).with_batch_size(BATCH_ROWS).build().map_err(|e| fail(&e))?;
    reader.collect::<Result<Vec<_>, _>>().map_err(|e| fail(&e))
}

/// Writes record batches as a Parquet file (Snappy), atomically.
pub fn write(path: &Path, schema: Arc<Schema>, batches: impl IntoIterator<Item = RecordBatch>) -> CliResult<()> {
    let mut out = OutputFile::create(path)?;
    let fail = |e: &dyn std::fmt::Display| crate::output::io_error(path, format!("cannot write: {e}"));
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut w = ArrowWriter::try_new(&mut out.writer, schema, Some(props)).map_err(|e| fail(&e))?;
    for b in batches {
        w.write(&b).map_err(|e| fail(&e))?;
    }
    w.close().map_err(|e| fail(&e))?;
    out.commit()
}

/// The membership table (`MembershipRow::COLUMNS`) as Parquet: `as_of` a UTC timestamp,
/// `member` a boolean, segment ids, versions, hashes and outcomes dictionary-encoded.
pub fn write_memberships(path: &Path, run: &Memberships) -> CliResult<()> {
    let schema = membership_schema();
    let batch_schema = Arc::clone(&schema);
    let mut rows = run.rows().peekable();
    let batches = std::iter::from_fn(move || {
        rows.peek()?;
        let mut e = StringBuilder::new();
        let (mut s, mut v, mut h, mut o) = (
            StringDictionaryBuilder::<Int32Type>::new(),
            StringDictionaryBuilder::<Int32Type>::new(),
            StringDictionaryBuilder::<Int32Type>::new(),
            StringDictionaryBuilder::<Int32Type>::new(),
        );
        let mut t = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        let mut m = BooleanBuilder::new();
        for r in rows.by_ref().take(BATCH_ROWS) {
            e.append_value(r.entity_id);
            s.append_value(r.segment_id);
            v.append_value(r.version);
            h.append_value(r.definition_hash);
            t.append_value(r.as_of);
            m.append_value(r.member);
            o.append_value(r.outcome.as_str());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(e.finish()),
            Arc::new(s.finish()),
            Arc::new(v.finish()),
            Arc::new(h.finish()),
            Arc::new(t.finish()),
            Arc::new(m.finish()),
            Arc::new(o.finish()),
        ];
        RecordBatch::try_new(Arc::clone(&batch_schema), columns).ok()
    });
    write(path, schema, batches)
}

fn membership_schema() -> Arc<Schema> {
    let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let [entity, segment, version, hash, as_of, member, outcome] = MembershipRow::COLUMNS;
    Arc::new(Schema::new(vec![
        Field::new(entity, DataType::Utf8, false),
        Field::new(segment, dict(), false),
        Field::new(version, dict(), false),
        Field::new(hash, dict(), false),
        Field::new(as_of, DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())), false),
        Field::new(member, DataType::Boolean, false),
        Field::new(outcome, dict(), false),
    ]))
}
