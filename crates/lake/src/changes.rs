//! Changes from a source database's log (the real-time channel): a batch of inserts,
//! updates and deletes merged into a keyed table in one Delta commit, which also records
//! the source position the batch ends at (Delta's application transaction). A table
//! thus says itself how far it has applied its source: a batch at or below that position
//! is never applied twice.

use deltalake::arrow::record_batch::RecordBatch;
use deltalake::datafusion::prelude::SessionContext;
use deltalake::kernel::transaction::CommitProperties;

use crate::ingest::quote;
use crate::source::{BadRow, Progress, Rows, TargetColumn};
use crate::{ColumnType, LakeError, Library, Result, arrow_schema};

/// The column that carries each change's kind through the merge (never stored).
const OP: &str = "_tongshu_change";

/// What a change does to its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// Insert, or replace the row with the same key.
    Upsert,
    Delete,
}

/// Changes to one table, in the source's order.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// The names of each row's cells (the table's columns, or some of them).
    pub columns: Vec<String>,
    /// Each change with its row's cells (`None` for null). A delete needs only the keys.
    pub rows: Vec<(ChangeKind, Vec<Option<String>>)>,
    /// The table was emptied (TRUNCATE) before these rows.
    pub truncated: bool,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && !self.truncated
    }
}

/// Where in its source a table is: an application id (the pipeline) and a position
/// (an LSN, or a binlog file and offset as one number) that only grows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    pub app: String,
    pub position: i64,
}

/// What applying a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The version committed; `None` when the batch was at or below the table's position.
    pub version: Option<u64>,
    pub upserted: u64,
    pub deleted: u64,
}

/// Rows of cells in memory, as the ingest's reader takes them.
struct ChangeRows {
    name: String,
    header: Vec<String>,
    rows: std::vec::IntoIter<Vec<String>>,
    row: u64,
}

impl Rows for ChangeRows {
    fn name(&self) -> &str {
        &self.name
    }
    fn header(&self) -> &[String] {
        &self.header
    }
    fn encoding(&self) -> String {
        "changes".into()
    }
    fn next_row(&mut self, cells: &mut Vec<String>) -> Option<std::result::Result<u64, BadRow>> {
        let r = self.rows.next()?;
        self.row += 1;
        *cells = r;
        Some(Ok(self.row))
    }
    fn decodes(&self) -> bool {
        false
    }
}

impl Library {
    /// The position table `name` has applied for `app`, from its latest version.
    pub async fn source_position(&self, name: &str, app: &str) -> Result<Option<i64>> {
        let table = self.table(name).await?;
        Ok(table.snapshot()?.transaction_version(table.log_store().as_ref(), app).await?)
    }

    /// Applies `changes` to table `name` by its `keys`, in one commit that records `at`;
    /// nothing when the table's position for `at.app` is already `at.position` or beyond.
    /// Without `at` (part of a long source transaction) nothing is checked or recorded.
    /// Of several changes to one key the last one counts. A truncate first empties the
    /// table in a commit of its own (without the position, so a replay after a crash
    /// between the two does both again, to the same effect).
    pub async fn apply_changes(
        &self,
        name: &str,
        keys: &[String],
        changes: Changes,
        at: Option<&SourcePosition>,
        user: &str,
    ) -> Result<Applied> {
        if keys.is_empty() {
            return Err(LakeError::Input(format!("changes to {name:?} need key columns")));
        }
        let mut table = self.table(name).await?;
        if let Some(at) = at {
            let done = table.snapshot()?.transaction_version(table.log_store().as_ref(), &at.app).await?;
            if done.is_some_and(|d| d >= at.position) {
                return Ok(Applied::default());
            }
        }
        let columns = Library::columns_of(&table)?;
        let find = |c: &str| {
            columns.iter().position(|t| t.name == c).ok_or_else(|| {
                LakeError::Input(format!("{c:?} is not a column of table {name:?} (it has {:?})", names(&columns)))
            })
        };
        let slots: Vec<usize> = changes.columns.iter().map(|c| find(c)).collect::<Result<_>>()?;
        let key_at: Vec<usize> = keys
            .iter()
            .filter(|_| !changes.rows.is_empty())
            .map(|k| {
                changes.columns.iter().position(|c| c == k).ok_or_else(|| {
                    LakeError::Input(format!("the changes to {name:?} do not carry the key column {k:?}"))
                })
            })
            .collect::<Result<_>>()?;
        let props = |last: bool| {
            let p = CommitProperties::default().with_metadata([
                ("tongshu.user".to_owned(), serde_json::Value::from(user)),
                ("tongshu.mode".to_owned(), serde_json::Value::from("changes")),
                (
                    "tongshu.source_position".to_owned(),
                    serde_json::to_value(at.map(|a| a.position)).unwrap_or_default(),
                ),
            ]);
            match at {
                Some(at) if last => {
                    p.with_application_transaction(deltalake::kernel::Transaction::new(&at.app, at.position))
                }
                _ => p,
            }
        };
        let mut applied = Applied::default();
        if changes.truncated {
            let (t, m) = table.delete().with_commit_properties(props(changes.rows.is_empty())).await?;
            applied.deleted += m.num_deleted_rows.unwrap_or(0) as u64;
            applied.version = t.version();
            table = t;
            if changes.rows.is_empty() {
                return Ok(applied);
            }
        }

        // The last change of each key, in the order the keys last changed.
        let mut last: std::collections::HashMap<Vec<Option<String>>, usize> = std::collections::HashMap::new();
        for (i, (_, cells)) in changes.rows.iter().enumerate() {
            if cells.len() != changes.columns.len() {
                return Err(LakeError::Internal(format!(
                    "a change to {name:?} has {} cells for {} columns",
                    cells.len(),
                    changes.columns.len()
                )));
            }
            let key: Vec<Option<String>> = key_at.iter().map(|&k| cells[k].clone()).collect();
            if key.iter().any(Option::is_none) {
                return Err(LakeError::Input(format!("a change to {name:?} has no value for a key column {keys:?}")));
            }
            last.insert(key, i);
        }
        let mut keep: Vec<usize> = last.into_values().collect();
        keep.sort_unstable();

        // Every row carries all columns: a delete's other cells are empty, an upsert's
        // missing columns too (the source sends whole rows).
        let mut targets: Vec<TargetColumn> = columns.clone();
        targets.push(TargetColumn { name: OP.into(), ty: ColumnType::Integer, max_len: None });
        let header: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
        let mut rows = Vec::with_capacity(keep.len());
        let mut rows_in = changes.rows;
        for i in keep {
            let (kind, cells) = std::mem::replace(&mut rows_in[i], (ChangeKind::Delete, Vec::new()));
            let mut out = vec![String::new(); targets.len()];
            for (cell, &slot) in cells.into_iter().zip(&slots) {
                out[slot] = cell.unwrap_or_default();
            }
            out[columns.len()] = if kind == ChangeKind::Delete { "1" } else { "0" }.into();
            match kind {
                ChangeKind::Upsert => applied.upserted += 1,
                ChangeKind::Delete => applied.deleted += 1,
            }
            rows.push(out);
        }
        let schema = arrow_schema(&targets);
        let batches: Vec<RecordBatch> = {
            let (schema, targets) = (schema.clone(), targets.clone());
            let label = format!("changes to {name}");
            tokio::task::spawn_blocking(move || -> Result<Vec<RecordBatch>> {
                let mut input = ChangeRows { name: label, header, rows: rows.into_iter(), row: 1 };
                let mut out = Vec::new();
                let report = crate::source::read(&mut input, &Progress::default(), &targets, schema, None, |b| {
                    out.push(b);
                    Ok(())
                })?;
                if let Some(bad) = report.bad_row_samples.first() {
                    return Err(LakeError::Input(format!("a change does not fit the table: {bad}")));
                }
                Ok(out)
            })
            .await
            .map_err(|e| LakeError::Internal(e.to_string()))??
        };
        let ctx = SessionContext::new();
        let source = ctx.read_batches(batches)?;
        let on =
            keys.iter().map(|k| format!("target.{q} = source.{q}", q = quote(k))).collect::<Vec<_>>().join(" AND ");
        // Only the columns the changes carry: a column the source no longer has keeps its
        // values in updated rows.
        let cols: Vec<String> = changes.columns.clone();
        let deleted = format!("source.{} = 1", quote(OP));
        let upserted = format!("source.{} = 0", quote(OP));
        let c2 = cols.clone();
        let (t, _) = table
            .merge(source, on.as_str())
            .with_source_alias("source")
            .with_target_alias("target")
            .with_writer_properties(crate::writer_properties())
            .with_commit_properties(props(true))
            .when_matched_delete(|d| d.predicate(deleted.as_str()))?
            .when_matched_update(|u| {
                cols.iter()
                    .fold(u.predicate(upserted.as_str()), |u, c| u.update(quote(c), format!("source.{}", quote(c))))
            })?
            .when_not_matched_insert(|i| {
                c2.iter().fold(i.predicate(upserted.as_str()), |i, c| i.set(quote(c), format!("source.{}", quote(c))))
            })?
            .await
            .map_err(|e| LakeError::Input(format!("applying changes to {name:?} failed: {e}")))?;
        applied.version = t.version();
        Ok(applied)
    }

    /// Adds `added` columns (nullable) to table `name`, keeping its rows: a source's new
    /// column. The commit records no position.
    pub async fn add_columns(&self, name: &str, added: &[TargetColumn], user: &str) -> Result<u64> {
        let table = self.table(name).await?;
        let have = Library::columns_of(&table)?;
        if let Some(c) = added.iter().find(|c| have.iter().any(|h| h.name == c.name)) {
            return Err(LakeError::Input(format!("table {name:?} already has a column {:?}", c.name)));
        }
        let props =
            CommitProperties::default().with_metadata([("tongshu.user".to_owned(), serde_json::Value::from(user))]);
        let t = table
            .add_columns()
            .with_fields(added.iter().map(crate::delta_field).collect::<Vec<_>>())
            .with_commit_properties(props)
            .await?;
        Ok(t.version().unwrap_or(0))
    }
}

fn names(columns: &[TargetColumn]) -> Vec<&str> {
    columns.iter().map(|c| c.name.as_str()).collect()
}
