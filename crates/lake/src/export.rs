//! Export: a table or a query's rows, streamed batch by batch to a file or a pipe.

use std::io::Write;

use deltalake::arrow::csv::WriterBuilder as CsvWriterBuilder;
use deltalake::arrow::json::{ArrayWriter, LineDelimitedWriter};
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::parquet::arrow::ArrowWriter;
use futures::StreamExt;

use crate::{LakeError, Library, Result};

/// The formats rows can be exported in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// With `bom`, a UTF-8 byte order mark first, so that Excel shows Chinese correctly.
    Csv {
        bom: bool,
    },
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    Parquet,
    /// An Excel workbook with one sheet (at most [`XLSX_MAX_ROWS`] rows).
    Xlsx,
}

/// Data rows an XLSX sheet holds (Excel's limit, less the header row).
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

impl ExportFormat {
    pub fn parse(s: &str, bom: bool) -> Option<Self> {
        match s {
            "csv" => Some(ExportFormat::Csv { bom }),
            "json" => Some(ExportFormat::Json),
            "ndjson" | "jsonl" => Some(ExportFormat::Ndjson),
            "parquet" => Some(ExportFormat::Parquet),
            "xlsx" => Some(ExportFormat::Xlsx),
            _ => None,
        }
    }
}

fn io(e: impl std::fmt::Display) -> LakeError {
    LakeError::Input(format!("writing the export: {e}"))
}

impl Library {
    /// Writes the rows of one read-only query to `out`, batch by batch. Returns the rows and
    /// `out`. Batches are read on the runtime; encoding and writing run on a blocking thread.
    pub async fn export<W: Write + Send + 'static>(
        &self,
        sql: &str,
        versions: &[(String, u64)],
        format: ExportFormat,
        out: W,
    ) -> Result<(u64, W)> {
        let ctx = self.session(sql, versions).await?;
        let df = Library::read_only(&ctx, sql).await?;
        write_frame(df, format, out).await
    }

    /// Writes every row of table `name` (at `version`, else the current one) to `out`: the
    /// table is read through its provider, so no SQL text is made from its name.
    pub async fn export_table<W: Write + Send + 'static>(
        &self,
        name: &str,
        version: Option<u64>,
        format: ExportFormat,
        out: W,
    ) -> Result<(u64, W)> {
        crate::check_name(name)?;
        let mut t = self.table(name).await?;
        if let Some(v) = version {
            t.load_version(v).await.map_err(|e| LakeError::Input(format!("table {name:?} has no version {v}: {e}")))?;
        }
        let ctx = deltalake::datafusion::prelude::SessionContext::new();
        t.update_datafusion_session(&ctx.state())?;
        let provider = t.table_provider().await?;
        let df = ctx.read_table(provider).map_err(|e| LakeError::Internal(e.to_string()))?;
        write_frame(df, format, out).await
    }
}

/// Streams `df` into an encoder running on a blocking thread (so CSV, JSON, Parquet and
/// XLSX encoding and the file writes never hold a runtime worker); at most a few batches
/// wait between the two, so memory stays bounded.
async fn write_frame<W: Write + Send + 'static>(
    df: deltalake::datafusion::prelude::DataFrame,
    format: ExportFormat,
    out: W,
) -> Result<(u64, W)> {
    let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
    let mut stream = df.execute_stream().await?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<RecordBatch>(4);
    let encoder = tokio::task::spawn_blocking(move || encode(schema, format, out, || rx.blocking_recv()));
    let mut read_error = None;
    while let Some(batch) = stream.next().await {
        match batch {
            // The encoder stopped (an error it reports below): stop reading.
            Ok(b) => {
                if tx.send(b).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                read_error = Some(LakeError::from(e));
                break;
            }
        }
    }
    drop(tx);
    let encoded = encoder.await.map_err(|e| LakeError::Internal(format!("the export encoder failed: {e}")))?;
    match read_error {
        Some(e) => Err(e),
        None => encoded,
    }
}

/// Encodes the batches `next` hands over until it returns `None`.
fn encode<W: Write + Send>(
    schema: deltalake::arrow::datatypes::SchemaRef,
    format: ExportFormat,
    out: W,
    mut next: impl FnMut() -> Option<RecordBatch>,
) -> Result<(u64, W)> {
    let mut rows = 0u64;
    enum Sink<W: Write> {
        Csv(deltalake::arrow::csv::Writer<W>),
        Json(ArrayWriter<W>),
        Ndjson(LineDelimitedWriter<W>),
        Parquet(ArrowWriter<W>),
        Xlsx(Box<rust_xlsxwriter::Workbook>, W),
    }
    let mut sink = match format {
        ExportFormat::Csv { bom } => {
            let mut out = out;
            if bom {
                out.write_all(b"\xEF\xBB\xBF").map_err(io)?;
            }
            Sink::Csv(CsvWriterBuilder::new().with_header(true).build(out))
        }
        ExportFormat::Json => Sink::Json(ArrayWriter::new(out)),
        ExportFormat::Ndjson => Sink::Ndjson(LineDelimitedWriter::new(out)),
        ExportFormat::Parquet => Sink::Parquet(ArrowWriter::try_new(out, schema.clone(), None).map_err(io)?),
        ExportFormat::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet_with_constant_memory().map_err(io)?;
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (c, f) in schema.fields().iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, f.name(), &bold).map_err(io)?;
            }
            Sink::Xlsx(Box::new(book), out)
        }
    };
    while let Some(batch) = next() {
        let first_row = rows;
        rows += batch.num_rows() as u64;
        match &mut sink {
            Sink::Xlsx(book, _) => {
                if rows > XLSX_MAX_ROWS {
                    return Err(LakeError::Input(format!(
                        "an XLSX sheet holds at most {XLSX_MAX_ROWS} rows; export CSV or Parquet instead"
                    )));
                }
                let sheet = book.worksheet_from_index(0).map_err(io)?;
                write_xlsx_rows(sheet, &batch, first_row + 1)?;
            }
            Sink::Csv(w) => w.write(&batch).map_err(io)?,
            Sink::Json(w) => w.write(&batch).map_err(io)?,
            Sink::Ndjson(w) => w.write(&batch).map_err(io)?,
            Sink::Parquet(w) => w.write(&batch).map_err(io)?,
        }
    }
    let mut out = match sink {
        Sink::Csv(w) => w.into_inner(),
        Sink::Json(mut w) => {
            w.finish().map_err(io)?;
            w.into_inner()
        }
        Sink::Ndjson(mut w) => {
            w.finish().map_err(io)?;
            w.into_inner()
        }
        Sink::Parquet(w) => w.into_inner().map_err(io)?,
        Sink::Xlsx(mut book, mut out) => {
            out.write_all(&book.save_to_buffer().map_err(io)?).map_err(io)?;
            out
        }
    };
    out.flush().map_err(io)?;
    Ok((rows, out))
}

/// Writes a batch from sheet row `first` on: numbers as numbers, everything else as text.
fn write_xlsx_rows(
    sheet: &mut rust_xlsxwriter::Worksheet,
    batch: &deltalake::arrow::record_batch::RecordBatch,
    first: u64,
) -> Result<()> {
    use deltalake::arrow::array::{Array, AsArray};
    use deltalake::arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
    use deltalake::arrow::util::display::{ArrayFormatter, FormatOptions};
    let opts = FormatOptions::default();
    let texts = batch
        .columns()
        .iter()
        .map(|col| ArrayFormatter::try_new(col.as_ref(), &opts).map_err(io))
        .collect::<Result<Vec<_>>>()?;
    // Row by row: a constant-memory sheet flushes each row as the next one starts.
    for r in 0..batch.num_rows() {
        let row = (first + r as u64) as u32;
        for (c, col) in batch.columns().iter().enumerate() {
            if col.is_null(r) {
                continue;
            }
            let c16 = c as u16;
            match col.data_type() {
                DataType::Int64 => sheet.write_number(row, c16, col.as_primitive::<Int64Type>().value(r) as f64),
                DataType::Int32 => sheet.write_number(row, c16, col.as_primitive::<Int32Type>().value(r) as f64),
                DataType::Float64 => sheet.write_number(row, c16, col.as_primitive::<Float64Type>().value(r)),
                DataType::Boolean => sheet.write_boolean(row, c16, col.as_boolean().value(r)),
                _ => sheet.write_string(row, c16, texts[c].value(r).to_string()),
            }
            .map_err(io)?;
        }
    }
    Ok(())
}
