//! The Parquet export (`-o FILE.parquet`): one row per statement execution and per
//! event, for a warehouse (DuckDB, Spark, Trino, BigQuery read the file directly).
//! The schema is documented in docs/parquet.md; rows are in time order and cut into
//! row groups of [`ROW_GROUP`] rows, so each group covers one stretch of time (its
//! min/max statistics let a reader skip the others).

use crate::aggregate::rows::{self, Row};
use crate::aggregate::table::QueryTable;
#[cfg(feature = "parquet")]
use crate::normalize::fingerprint_hex;
#[cfg(feature = "parquet")]
use arrow_array::TimestampMillisecondArray;
#[cfg(feature = "parquet")]
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
#[cfg(feature = "parquet")]
use arrow_schema::{DataType, Field, Schema, TimeUnit};
#[cfg(feature = "parquet")]
use parquet::arrow::ArrowWriter;
#[cfg(feature = "parquet")]
use parquet::basic::Compression;
#[cfg(feature = "parquet")]
use parquet::file::properties::WriterProperties;
use rustc_hash::FxHashMap;
#[cfg(feature = "parquet")]
use std::sync::Arc;

/// Rows per row group.
pub const ROW_GROUP: usize = 65_536;

/// The rows of a run, in time order, and the normalized text of their fingerprints.
#[derive(Debug, Default)]
pub struct Export {
    rows: Vec<Row>,
    #[cfg_attr(not(feature = "parquet"), allow(dead_code))]
    texts: FxHashMap<u64, String>,
}

impl Export {
    /// Sorts `rows` and looks up their fingerprints' text (a fingerprint folded into
    /// "other" by --max-fingerprints has none: its `query` is null).
    pub fn new(mut rows: Vec<Row>, queries: &QueryTable) -> Export {
        rows::sort(&mut rows);
        let mut texts = FxHashMap::default();
        for fp in rows.iter().filter_map(|r| r.fingerprint) {
            if let Some(q) = queries.get(&fp) {
                texts.entry(fp).or_insert_with(|| q.text.clone());
            }
        }
        Export { rows, texts }
    }

    /// The rows, in order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }
}

#[cfg(feature = "parquet")]
/// The export's schema (docs/parquet.md).
pub fn schema() -> Schema {
    let s = |name: &str| Field::new(name, DataType::Utf8, true);
    let i = |name: &str| Field::new(name, DataType::Int64, true);
    Schema::new(vec![
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("kind", DataType::Utf8, false),
        Field::new("duration_ms", DataType::Float64, true),
        s("fingerprint"),
        s("query"),
        i("query_id"),
        s("database"),
        s("user"),
        s("application"),
        s("host"),
        s("session"),
        i("pid"),
        s("sqlstate"),
        s("lock_mode"),
        s("lock_object"),
        s("lock_relation"),
        i("temp_bytes"),
        i("input"),
        i("offset"),
    ])
}

#[cfg(feature = "parquet")]
/// Writes the export of `report` to `out`, one row group per [`ROW_GROUP`] rows.
pub fn write(report: &super::Report, out: std::fs::File) -> anyhow::Result<()> {
    let empty = Export::default();
    let export = report.export.as_deref().unwrap_or(&empty);
    let schema = Arc::new(schema());
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    let mut w = ArrowWriter::try_new(out, schema.clone(), Some(props))?;
    for rows in export.rows.chunks(ROW_GROUP) {
        w.write(&batch(export, rows, &schema)?)?;
    }
    w.close()?;
    Ok(())
}

#[cfg(feature = "parquet")]
fn batch(e: &Export, rows: &[Row], schema: &Arc<Schema>) -> anyhow::Result<RecordBatch> {
    let text = |f: fn(&Row) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| Some(f(r)).filter(|s| !s.is_empty())),
        ))
    };
    let int = |f: fn(&Row) -> Option<i64>| -> ArrayRef {
        Arc::new(Int64Array::from_iter(rows.iter().map(f)))
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMillisecondArray::from_iter(rows.iter().map(|r| r.ts)).with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.kind))),
        Arc::new(Float64Array::from_iter(
            rows.iter()
                .map(|r| r.duration_us.map(|us| us as f64 / 1000.0)),
        )),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.fingerprint.map(fingerprint_hex)),
        )),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| {
            r.fingerprint
                .and_then(|fp| e.texts.get(&fp).map(String::as_str))
        }))),
        int(|r| r.query_id),
        text(|r| &r.database),
        text(|r| &r.user),
        text(|r| &r.application),
        text(|r| &r.host),
        text(|r| &r.session),
        int(|r| r.pid.map(i64::from)),
        text(|r| &r.sqlstate),
        text(|r| &r.lock_mode),
        text(|r| &r.lock_object),
        text(|r| &r.lock_relation),
        int(|r| r.temp_bytes.and_then(|b| i64::try_from(b).ok())),
        int(|r| Some(i64::from(r.order.0))),
        int(|r| i64::try_from(r.order.1).ok()),
    ];
    Ok(RecordBatch::try_new(schema.clone(), cols)?)
}
