//! Ingest: a file becomes one new version of a table, in one of four modes.
//!
//! The file is read on a blocking thread into Arrow batches that flow through a bounded
//! channel into a DataFusion streaming table; that table's plan is the input of a Delta
//! write (append, overwrite) or merge (upsert, delete by key). When the input is refused the
//! stream ends in an error, the Delta operation fails and nothing is committed.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use deltalake::arrow::datatypes::SchemaRef;
use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafusion::catalog::streaming::StreamingTable;
use deltalake::datafusion::error::DataFusionError;
use deltalake::datafusion::execution::TaskContext;
use deltalake::datafusion::physical_plan::SendableRecordBatchStream;
use deltalake::datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use deltalake::datafusion::physical_plan::streaming::PartitionStream;
use deltalake::datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::protocol::SaveMode;
use serde::Serialize;

use crate::source::{ReadReport, SourceOptions};
use crate::{LakeError, Library, Result, arrow_schema};

/// How an ingest changes the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Add the rows.
    Append,
    /// Replace all rows with the file's.
    Overwrite,
    /// Update rows whose keys match, insert the others (Delta MERGE).
    Upsert,
    /// Delete the rows whose keys appear in the file.
    Delete,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "append" => Some(Mode::Append),
            "overwrite" => Some(Mode::Overwrite),
            "upsert" => Some(Mode::Upsert),
            "delete" => Some(Mode::Delete),
            _ => None,
        }
    }
}

/// What happens to rows that do not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadRowPolicy {
    /// Refuse the whole ingest (the default): nothing is written.
    Reject,
    /// Leave the bad rows out, write the rest, and report the bad ones.
    Quarantine,
}

/// One ingest.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub table: String,
    pub file: PathBuf,
    pub source: SourceOptions,
    pub mode: Mode,
    /// Key columns for upsert and delete.
    pub keys: Vec<String>,
    pub on_bad_rows: BadRowPolicy,
    /// Create the table from the file's columns (types inferred from the whole file).
    pub create: bool,
    /// Longest text allowed per column, from the catalog items.
    pub max_lengths: std::collections::HashMap<String, u32>,
    /// Who ingests (kept in the Delta commit).
    pub user: String,
    /// Rows and bytes read so far, for progress bars.
    pub progress: Arc<crate::source::Progress>,
    /// Rows from a database instead of `file` (which then only names the input in reports).
    pub rows: Option<RowStream>,
    /// The background job running this ingest, kept in the commit: a node that takes over
    /// the job of a stopped one sees whether it committed (and does not do it twice).
    pub job: Option<i64>,
    /// The source position the rows are at (a real-time channel's snapshot), recorded in
    /// the commit as the application transaction of `app`.
    pub position: Option<crate::SourcePosition>,
}

impl IngestRequest {
    /// An append of `file` into the existing `table` by `user` that refuses bad rows;
    /// change the other fields as needed (`IngestRequest { create: true, ..IngestRequest::new(…) }`).
    pub fn new(table: impl Into<String>, file: impl Into<PathBuf>, user: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            file: file.into(),
            source: SourceOptions::default(),
            mode: Mode::Append,
            keys: vec![],
            on_bad_rows: BadRowPolicy::Reject,
            create: false,
            max_lengths: Default::default(),
            user: user.into(),
            progress: Arc::default(),
            rows: None,
            job: None,
            position: None,
        }
    }
}

/// Rows from somewhere other than a file (a database pull), taken once by the ingest.
#[derive(Clone)]
pub struct RowStream {
    rows: Arc<Mutex<Option<Box<dyn crate::source::Rows>>>>,
    /// The columns with the types the source declares (a new table is made of them).
    pub columns: Vec<crate::TargetColumn>,
}

impl RowStream {
    pub fn new(rows: Box<dyn crate::source::Rows>, columns: Vec<crate::TargetColumn>) -> Self {
        Self { rows: Arc::new(Mutex::new(Some(rows))), columns }
    }

    fn take(&self) -> Result<Box<dyn crate::source::Rows>> {
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .ok_or_else(|| LakeError::Internal("the row stream was already read".into()))
    }
}

impl std::fmt::Debug for RowStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream").field("columns", &self.columns.len()).finish()
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    pub table: String,
    pub mode: Mode,
    /// The version the ingest committed.
    pub version: u64,
    pub created: bool,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_updated: u64,
    pub rows_deleted: u64,
    pub bad_rows: u64,
    pub bad_row_samples: Vec<crate::BadRow>,
    pub notes: Vec<String>,
    pub encoding: String,
    pub bytes: u64,
    pub seconds: f64,
}

/// Batches from the reading thread, offered to DataFusion as one partition.
struct ChannelPartition {
    schema: SchemaRef,
    rx: Mutex<Option<tokio::sync::mpsc::Receiver<Result<RecordBatch, DataFusionError>>>>,
}

impl std::fmt::Debug for ChannelPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChannelPartition")
    }
}

impl PartitionStream for ChannelPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let rx = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        let stream = futures::stream::unfold(rx, |rx| async move {
            match rx {
                None => Some((Err(DataFusionError::Execution("the input was already read".into())), None)),
                Some(mut rx) => rx.recv().await.map(|item| (item, Some(rx))),
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Library {
    /// Runs one ingest: either the new version is there in full, or the table is unchanged
    /// (and a table the ingest was to create is not there at all).
    pub async fn ingest(&self, req: IngestRequest) -> Result<IngestReport> {
        let creating = req.create && !self.exists(&req.table).await.unwrap_or(true);
        let table = req.table.clone();
        let mut result = self.ingest_inner(req.clone(), true).await;
        if let Err(LakeError::GuessWrong(why)) = &result {
            // Types from the first rows did not fit a later one: nothing was committed, so
            // start again with types from the whole file.
            let note = format!("column types were chosen from the whole file after the first rows misled: {why}");
            let _ = self.drop_table(&table).await;
            req.progress.rows.store(0, std::sync::atomic::Ordering::Relaxed);
            req.progress.bytes.store(0, std::sync::atomic::Ordering::Relaxed);
            result = self.ingest_inner(req, false).await.map(|mut r| {
                r.notes.push(note);
                r
            });
        }
        if result.is_err() && creating {
            let _ = self.drop_table(&table).await;
        }
        result
    }

    /// One attempt at an ingest; a new table's column types are guessed from the first rows
    /// when `guess` is set (the read then stops with [`LakeError::GuessWrong`] if a later
    /// value does not fit), else chosen from the whole file.
    async fn ingest_inner(&self, req: IngestRequest, guess: bool) -> Result<IngestReport> {
        let started = std::time::Instant::now();
        crate::check_name(&req.table)?;
        if req.rows.is_none() && !req.file.is_file() {
            return Err(LakeError::Input(format!("{}: no such file", req.file.display())));
        }
        let exists = self.exists(&req.table).await?;
        let mut notes = Vec::new();
        let mut guessed_types = None;
        let (table, created) = match (exists, req.create) {
            (true, true) => return Err(LakeError::TableExists(req.table.clone())),
            (false, false) => return Err(LakeError::NoSuchTable(req.table.clone())),
            (true, false) => (self.table(&req.table).await?, false),
            (false, true) if req.rows.is_some() => {
                let cols = req.rows.as_ref().map(|r| r.columns.clone()).unwrap_or_default();
                let comment = format!("created from {}", req.file.display());
                (self.create_table(&req.table, &cols, &comment).await?, true)
            }
            (false, true) => {
                let (file, opts) = (req.file.clone(), req.source.clone());
                let limit = guess.then_some(crate::source::GUESS_ROWS);
                let guessed = tokio::task::spawn_blocking(move || {
                    crate::source::infer(crate::source::open(&file, &opts, Arc::default())?.as_mut(), limit)
                })
                .await
                .map_err(|e| LakeError::Internal(e.to_string()))??;
                notes.extend(guessed.notes.iter().cloned());
                let comment =
                    format!("created from {}", req.file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
                let table = self.create_table(&req.table, &guessed.columns, &comment).await?;
                guessed_types = Some(guessed);
                (table, true)
            }
        };
        let mut targets = Library::columns_of(&table)?;
        for t in &mut targets {
            t.max_len = req.max_lengths.get(&t.name).copied();
        }
        if matches!(req.mode, Mode::Upsert | Mode::Delete) {
            if req.keys.is_empty() {
                return Err(LakeError::Input(format!("{:?} needs key columns (--key)", req.mode)));
            }
            if let Some(k) = req.keys.iter().find(|k| !targets.iter().any(|t| &t.name == *k)) {
                return Err(LakeError::Input(format!("key column {k:?} is not a column of table {:?}", req.table)));
            }
        }
        let schema = arrow_schema(&targets);

        // The reading thread: batches into the channel, the report into `outcome`.
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch, DataFusionError>>(4);
        let outcome: Arc<Mutex<Option<Result<ReadReport>>>> = Arc::default();
        let reader = {
            let stream = req.rows.clone();
            let guessed_types = guessed_types.clone();
            let (file, csv, policy, targets, schema, outcome, progress) = (
                req.file.clone(),
                req.source.clone(),
                req.on_bad_rows,
                targets.clone(),
                schema.clone(),
                outcome.clone(),
                req.progress.clone(),
            );
            tokio::task::spawn_blocking(move || {
                let opened = match &stream {
                    Some(s) => s.take(),
                    None => crate::source::open(&file, &csv, progress.clone()),
                };
                let result = opened.and_then(|mut rows| {
                    crate::source::read(rows.as_mut(), &progress, &targets, schema, guessed_types.as_ref(), |batch| {
                        tx.blocking_send(Ok(batch)).map_err(|_| LakeError::Internal("the writer stopped".into()))
                    })
                });
                let failure = match &result {
                    Err(e) => Some(e.to_string()),
                    Ok(r) if r.bad_rows > 0 && policy == BadRowPolicy::Reject => Some("bad rows".to_owned()),
                    // Quarantine with nothing left: no empty version (and no emptied table).
                    Ok(r) if r.bad_rows > 0 && r.rows_taken == 0 => Some("every row is bad".to_owned()),
                    Ok(_) => None,
                };
                if let Some(msg) = failure {
                    // Ending the stream in an error makes the Delta operation fail: no commit.
                    let _ = tx.blocking_send(Err(DataFusionError::Execution(format!("ingest refused: {msg}"))));
                }
                *outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
            })
        };

        let partition = Arc::new(ChannelPartition { schema: schema.clone(), rx: Mutex::new(Some(rx)) });
        let source =
            StreamingTable::try_new(schema.clone(), vec![partition]).map_err(|e| LakeError::Internal(e.to_string()))?;
        let ctx = SessionContext::new();
        let df = ctx.read_table(Arc::new(source)).map_err(|e| LakeError::Internal(e.to_string()))?;
        let props = CommitProperties::default().with_metadata([
            ("tongshu.user".to_owned(), serde_json::Value::from(req.user.clone())),
            ("tongshu.source".to_owned(), serde_json::Value::from(req.file.display().to_string())),
            ("tongshu.mode".to_owned(), serde_json::to_value(req.mode).unwrap_or_default()),
            ("tongshu.job".to_owned(), serde_json::to_value(req.job).unwrap_or_default()),
        ]);
        let props = match &req.position {
            Some(p) => props.with_application_transaction(deltalake::kernel::Transaction::new(&p.app, p.position)),
            None => props,
        };

        let before_rows = if req.mode == Mode::Overwrite { Some(self.info(&req.table).await?.rows) } else { None };
        let applied: Result<(deltalake::DeltaTable, u64, u64, u64), deltalake::DeltaTableError> = match req.mode {
            Mode::Append | Mode::Overwrite => {
                let save = if req.mode == Mode::Append { SaveMode::Append } else { SaveMode::Overwrite };
                table
                    .write(Vec::<RecordBatch>::new())
                    .with_input_plan(df.into_unoptimized_plan())
                    .with_save_mode(save)
                    .with_writer_properties(crate::writer_properties())
                    .with_commit_properties(props)
                    .await
                    .map(|t| (t, 0, 0, before_rows.unwrap_or(0)))
            }
            Mode::Upsert | Mode::Delete => {
                let on = req
                    .keys
                    .iter()
                    .map(|k| format!("target.{q} = source.{q}", q = quote(k)))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                // Streaming mode reads the source once (no pass over it to prune target files first).
                let builder = table
                    .merge(df, on.as_str())
                    .with_streaming(true)
                    .with_source_alias("source")
                    .with_target_alias("target")
                    .with_writer_properties(crate::writer_properties())
                    .with_commit_properties(props);
                let builder = if req.mode == Mode::Upsert {
                    let cols: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
                    let c2 = cols.clone();
                    builder
                        .when_matched_update(|u| {
                            cols.iter().fold(u, |u, c| u.update(quote(c), format!("source.{}", quote(c))))
                        })
                        .and_then(|b| {
                            b.when_not_matched_insert(|i| {
                                c2.iter().fold(i, |i, c| i.set(quote(c), format!("source.{}", quote(c))))
                            })
                        })
                } else {
                    builder.when_matched_delete(|d| d)
                };
                match builder {
                    Err(e) => Err(e),
                    Ok(b) => b.await.map(|(t, m)| {
                        (
                            t,
                            m.num_target_rows_inserted as u64,
                            m.num_target_rows_updated as u64,
                            m.num_target_rows_deleted as u64,
                        )
                    }),
                }
            }
        };
        let _ = reader.await;
        let read = outcome.lock().unwrap_or_else(|e| e.into_inner()).take();
        let read = match read {
            Some(Ok(r)) => r,
            Some(Err(e)) => return Err(e),
            None => return Err(LakeError::Internal("the reader ended without a report".into())),
        };
        if read.bad_rows > 0 && (req.on_bad_rows == BadRowPolicy::Reject || read.rows_taken == 0) {
            return Err(LakeError::Rejected(Box::new(read)));
        }
        let (table, inserted, updated, deleted) =
            applied.map_err(|e| LakeError::Input(format!("ingest into {:?} failed: {e}", req.table)))?;
        let written = match req.mode {
            Mode::Append | Mode::Overwrite => read.rows_taken,
            Mode::Upsert => inserted,
            Mode::Delete => 0,
        };
        if req.mode != Mode::Delete {
            notes.extend(read.missing.iter().map(|c| format!("column {c:?} is not in the file; it is left empty")));
        }
        notes.extend(read.notes);
        Ok(IngestReport {
            table: req.table,
            mode: req.mode,
            version: table.version().unwrap_or(0),
            created,
            rows_read: read.rows_read,
            rows_written: written,
            rows_updated: updated,
            rows_deleted: deleted,
            bad_rows: read.bad_rows,
            bad_row_samples: read.bad_row_samples,
            notes,
            encoding: read.encoding,
            bytes: read.bytes,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
