//! Parquet files: record batches in (only the columns a program reads, via the file's
//! projection, so unread columns are never decoded), the membership table out (Snappy), and the
//! demo's data. The batches go to the core's columnar engine (`segcore::columnar`).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Int32Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use segcore::batch::{MembershipRow, Memberships};
use segcore::ErrorKind;
use segcore::Outcome;

use crate::io::{error, CliResult};
use crate::output::OutputFile;

/// Rows per record batch read or written: large enough for the columnar kernels, small enough
/// that a batch's columns stay in cache-friendly sizes.
const BATCH_ROWS: usize = 65_536;

/// The record batches of a Parquet file, with only the top-level columns in `wanted` (all when
/// `None`).
pub fn read(path: &Path, wanted: Option<&BTreeSet<String>>) -> CliResult<Vec<RecordBatch>> {
    reader(path, wanted)?.collect::<Result<Vec<_>, _>>().map_err(|e| e.first().to_string())
}

/// The record batches of a Parquet file as they are decoded (one batch of [`BATCH_ROWS`] rows in
/// memory at a time), with only the top-level columns in `wanted` (all when `None`).
pub fn reader(
    path: &Path,
    wanted: Option<&BTreeSet<String>>,
) -> CliResult<impl Iterator<Item = Result<RecordBatch, segcore::Error>>> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let file = File::open(path).map_err(|e| crate::output::io_error(path, e))?;
    let builder =
        ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| error(ErrorKind::InvalidProfile, fail(&e)))?;
    let roots: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| wanted.is_none_or(|w| w.contains(f.name())))
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots);
    let reader = builder
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| error(ErrorKind::InvalidProfile, fail(&e)))?;
    let shown = path.display().to_string();
    Ok(reader.map(move |b| b.map_err(|e| segcore::Error::new(ErrorKind::InvalidProfile, format!("{shown}: {e}")))))
}

/// A profiles file's batches with only the columns a program reads (its attributes and the id).
pub fn read_profiles_for(
    path: &Path,
    read: &segcore::ReadSet,
    cols: &segcore::ingest::Columns,
) -> CliResult<Vec<RecordBatch>> {
    let mut wanted = read.attributes.clone();
    wanted.insert(cols.id.clone());
    self::read(path, Some(&wanted))
}

/// An events file's batches with only the columns a program reads (properties, entity, name, at).
pub fn read_events_for(
    path: &Path,
    read: &segcore::ReadSet,
    cols: &segcore::ingest::Columns,
) -> CliResult<Vec<RecordBatch>> {
    let mut wanted: BTreeSet<String> = read.event_properties.values().flatten().cloned().collect();
    wanted.extend([cols.entity_id.clone(), cols.name.clone(), cols.at.clone()]);
    self::read(path, Some(&wanted))
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

/// The membership table (`MembershipRow::COLUMNS`) as Parquet, chunk after chunk: `as_of` a
/// UTC timestamp, `member` a boolean, segment ids, versions, hashes and outcomes
/// dictionary-encoded.
pub struct MembershipSink<'w> {
    writer: ArrowWriter<&'w mut std::io::BufWriter<File>>,
    schema: Arc<Schema>,
    path: &'w Path,
}

impl<'w> MembershipSink<'w> {
    pub fn new(out: &'w mut std::io::BufWriter<File>, path: &'w Path) -> CliResult<MembershipSink<'w>> {
        let schema = membership_schema();
        let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(props))
            .map_err(|e| crate::output::io_error(path, format!("cannot write: {e}")))?;
        Ok(MembershipSink { writer, schema, path })
    }

    pub fn write(&mut self, run: &Memberships) -> CliResult<()> {
        let fail = |e: &dyn std::fmt::Display| crate::output::io_error(self.path, format!("cannot write: {e}"));
        // Segment ids, versions and hashes are dictionaries whose keys are the segment's index,
        // outcomes one of three: no string is hashed or copied per row.
        let segments = run.segments();
        let strings = |f: fn(&segcore::batch::SegmentRun) -> &str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(segments.iter().map(f)))
        };
        let (ids, versions, hashes) = (strings(|s| &s.id), strings(|s| &s.version), strings(|s| &s.definition_hash));
        let outcomes: ArrayRef = Arc::new(StringArray::from_iter_values(
            [Outcome::False, Outcome::True, Outcome::Unknown].map(Outcome::as_str),
        ));
        let code = |o: Outcome| match o {
            Outcome::False => 0,
            Outcome::True => 1,
            Outcome::Unknown => 2,
        };
        let dict = |keys: Vec<i32>, values: &ArrayRef| -> Result<ArrayRef, arrow_schema::ArrowError> {
            Ok(Arc::new(DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), Arc::clone(values))?))
        };
        let columns: Vec<&[Outcome]> = (0..segments.len()).map(|k| run.outcomes(k)).collect();
        let as_of = run.as_of();
        let mut cells = run.entity_ids().enumerate().flat_map(|(row, id)| {
            columns.iter().enumerate().filter(move |(k, _)| !run.failed(*k, row)).map(move |(k, c)| (id, k, c[row]))
        });
        loop {
            let mut e = StringBuilder::new();
            let (mut keys, mut codes, mut members) = (Vec::new(), Vec::new(), Vec::new());
            for (id, k, o) in cells.by_ref().take(BATCH_ROWS) {
                e.append_value(id);
                keys.push(k as i32);
                codes.push(code(o));
                members.push(o.is_member());
            }
            if keys.is_empty() {
                return Ok(());
            }
            let n = keys.len();
            let columns: Vec<ArrayRef> = vec![
                Arc::new(e.finish()),
                dict(keys.clone(), &ids).map_err(|e| fail(&e))?,
                dict(keys.clone(), &versions).map_err(|e| fail(&e))?,
                dict(keys, &hashes).map_err(|e| fail(&e))?,
                Arc::new(TimestampMicrosecondArray::from(vec![as_of; n]).with_timezone("UTC")),
                Arc::new(BooleanArray::from(members)),
                dict(codes, &outcomes).map_err(|e| fail(&e))?,
            ];
            let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| fail(&e))?;
            self.writer.write(&batch).map_err(|e| fail(&e))?;
        }
    }

    pub fn finish(self) -> CliResult<()> {
        self.writer.close().map_err(|e| crate::output::io_error(self.path, format!("cannot write: {e}")))?;
        Ok(())
    }
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
