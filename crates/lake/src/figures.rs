//! Column figures (null counts, distinct estimates, longest texts) of a table, or of the
//! rows one commit added to it.

use std::time::Duration;

use deltalake::datafusion::prelude::SessionContext;
use deltalake::delta_datafusion::FileSelection;

use crate::{LakeError, Library, QueryLimits, Result, TargetColumn};

/// Figures of one column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ColumnFigures {
    pub name: String,
    pub ty: crate::ColumnType,
    pub nulls: u64,
    pub distinct: u64,
    /// The longest text value, in characters (text columns).
    pub max_len: Option<u64>,
}

/// The figures of the rows one commit added.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedFigures {
    pub rows: u64,
    pub columns: Vec<ColumnFigures>,
}

/// One SELECT computing every column's figures over `from`.
fn figures_sql(cols: &[TargetColumn], from: &str, lengths: bool) -> String {
    let q = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
    let mut parts = vec!["COUNT(*) AS total_rows".to_owned()];
    for (i, c) in cols.iter().enumerate() {
        parts.push(format!("COUNT(*) - COUNT({}) AS n{i}", q(&c.name)));
        parts.push(match c.ty {
            crate::ColumnType::Number => {
                format!("APPROX_DISTINCT(CAST(ROUND({} * 1000000) AS BIGINT)) AS d{i}", q(&c.name))
            }
            crate::ColumnType::Boolean => format!("COUNT(DISTINCT {}) AS d{i}", q(&c.name)),
            _ => format!("APPROX_DISTINCT({}) AS d{i}", q(&c.name)),
        });
        parts.push(if lengths && c.ty == crate::ColumnType::Text {
            format!("MAX(CHARACTER_LENGTH({})) AS l{i}", q(&c.name))
        } else {
            format!("CAST(NULL AS BIGINT) AS l{i}")
        });
    }
    format!("SELECT {} FROM {from}", parts.join(", "))
}

/// Reads the one row of [`figures_sql`] back.
fn read_figures(
    batches: &[deltalake::arrow::record_batch::RecordBatch],
    cols: Vec<TargetColumn>,
) -> Result<AddedFigures> {
    let batch = batches.iter().find(|b| b.num_rows() > 0).ok_or_else(|| LakeError::Internal("no figures".into()))?;
    let num = |i: usize| -> Option<u64> {
        let a = batch.column(i);
        if a.is_null(0) {
            return None;
        }
        let s = deltalake::arrow::util::display::array_value_to_string(a, 0).ok()?;
        s.parse::<u64>().ok()
    };
    Ok(AddedFigures {
        rows: num(0).unwrap_or(0),
        columns: cols
            .into_iter()
            .enumerate()
            .map(|(i, c)| ColumnFigures {
                name: c.name,
                ty: c.ty,
                nulls: num(1 + i * 3).unwrap_or(0),
                distinct: num(2 + i * 3).unwrap_or(0),
                max_len: num(3 + i * 3),
            })
            .collect(),
    })
}

impl Library {
    /// Null counts, approximate distinct counts and (with `lengths`) the longest texts of
    /// every column, in one scan of the whole table. Values are counted in their own types
    /// (no text casts): numbers to the micro-unit, booleans exactly.
    pub async fn column_figures(&self, name: &str, lengths: bool) -> Result<Vec<ColumnFigures>> {
        let t = self.table(name).await?;
        let cols = Library::columns_of(&t)?;
        let limits = QueryLimits { max_rows: 1, timeout: Duration::from_secs(600) };
        let r = self.sql(&figures_sql(&cols, name, lengths), &[], limits).await?;
        Ok(read_figures(&r.batches, cols)?.columns)
    }

    /// The figures of only the rows that commit `version` added, when that commit only
    /// added files (an append); `None` for any other commit. Costs a scan of the new rows,
    /// not of the table.
    pub async fn added_figures(&self, name: &str, version: u64) -> Result<Option<AddedFigures>> {
        let mut t = self.table(name).await?;
        if t.version() != Some(version) {
            t.load_version(version).await?;
        }
        let Some(commit) = t.log_store().read_commit_entry(version).await? else {
            return Ok(None);
        };
        let mut paths = Vec::new();
        for line in commit.split(|b| *b == b'\n').filter(|l| !l.iter().all(u8::is_ascii_whitespace)) {
            let action: serde_json::Value =
                serde_json::from_slice(line).map_err(|e| LakeError::Internal(format!("commit {version}: {e}")))?;
            if action.get("remove").is_some() || action.get("metaData").is_some() {
                return Ok(None);
            }
            if let Some(path) = action.pointer("/add/path").and_then(|p| p.as_str()) {
                paths.push(path.to_owned());
            }
        }
        let cols = Library::columns_of(&t)?;
        if paths.is_empty() {
            let columns = cols
                .into_iter()
                .map(|c| ColumnFigures { name: c.name, ty: c.ty, nulls: 0, distinct: 0, max_len: None })
                .collect();
            return Ok(Some(AddedFigures { rows: 0, columns }));
        }
        let ctx = SessionContext::new();
        t.update_datafusion_session(&ctx.state())?;
        let provider = t.table_provider().with_file_selection(FileSelection::from_file_paths(paths)).await?;
        ctx.register_table("added", provider).map_err(|e| LakeError::Internal(e.to_string()))?;
        let batches = ctx.sql(&figures_sql(&cols, "added", false)).await?.collect().await?;
        Ok(Some(read_figures(&batches, cols)?))
    }
}
