//! Export: a table or a query's rows, streamed batch by batch to a file or a pipe.

use std::io::Write;

use deltalake::arrow::csv::WriterBuilder as CsvWriterBuilder;
use deltalake::arrow::json::{ArrayWriter, LineDelimitedWriter};
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
    /// Writes the rows of one read-only query to `out`, batch by batch. Returns the rows.
    pub async fn export<W: Write + Send>(
        &self,
        sql: &str,
        versions: &[(String, u64)],
        format: ExportFormat,
        out: W,
    ) -> Result<u64> {
        let ctx = self.session(sql, versions).await?;
        let df = Library::read_only(&ctx, sql).await?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let mut stream = df.execute_stream().await?;
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
        while let Some(batch) = stream.next().await {
            let batch = batch?;
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
        match sink {
            Sink::Csv(w) => {
                w.into_inner().flush().map_err(io)?;
            }
            Sink::Json(mut w) => {
                w.finish().map_err(io)?;
                w.into_inner().flush().map_err(io)?;
            }
            Sink::Ndjson(mut w) => {
                w.finish().map_err(io)?;
                w.into_inner().flush().map_err(io)?;
            }
            Sink::Parquet(w) => {
                w.close().map_err(io)?;
            }
            Sink::Xlsx(mut book, mut out) => {
                out.write_all(&book.save_to_buffer().map_err(io)?).map_err(io)?;
                out.flush().map_err(io)?;
            }
        }
        Ok(rows)
    }
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
