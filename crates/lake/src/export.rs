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
}

impl ExportFormat {
    pub fn parse(s: &str, bom: bool) -> Option<Self> {
        match s {
            "csv" => Some(ExportFormat::Csv { bom }),
            "json" => Some(ExportFormat::Json),
            "ndjson" | "jsonl" => Some(ExportFormat::Ndjson),
            "parquet" => Some(ExportFormat::Parquet),
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
        let ctx = self.session(versions).await?;
        let df = Library::read_only(&ctx, sql).await?;
        let schema = std::sync::Arc::new(df.schema().as_arrow().clone());
        let mut stream = df.execute_stream().await?;
        let mut rows = 0u64;
        enum Sink<W: Write> {
            Csv(deltalake::arrow::csv::Writer<W>),
            Json(ArrayWriter<W>),
            Ndjson(LineDelimitedWriter<W>),
            Parquet(ArrowWriter<W>),
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
            ExportFormat::Parquet => Sink::Parquet(ArrowWriter::try_new(out, schema, None).map_err(io)?),
        };
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            match &mut sink {
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
        }
        Ok(rows)
    }
}
