//! Upkeep: compacting small files (optionally Z-ordered by key columns) and removing files
//! that no version within the retention period needs.

use deltalake::operations::optimize::OptimizeType;
use serde::Serialize;

use crate::{LakeError, Library, Result};

/// What a compaction did.
#[derive(Debug, Clone, Serialize)]
pub struct CompactReport {
    pub version: u64,
    pub files_added: u64,
    pub files_removed: u64,
}

impl Library {
    /// Rewrites small files into larger ones; with `zorder` columns, also clusters rows by
    /// them so that filters on those columns skip more files. One new version; the rows are
    /// the same.
    pub async fn compact(&self, name: &str, zorder: &[String]) -> Result<CompactReport> {
        let t = self.table(name).await?;
        let columns = Library::columns_of(&t)?;
        if let Some(c) = zorder.iter().find(|c| !columns.iter().any(|t| &t.name == *c)) {
            return Err(LakeError::Input(format!("Z-order column {c:?} is not a column of table {name:?}")));
        }
        let kind = if zorder.is_empty() { OptimizeType::Compact } else { OptimizeType::ZOrder(zorder.to_vec()) };
        let (t, metrics) = t.optimize().with_type(kind).with_writer_properties(crate::writer_properties()).await?;
        Ok(CompactReport {
            version: t.version().unwrap_or(0),
            files_added: metrics.num_files_added,
            files_removed: metrics.num_files_removed,
        })
    }

    /// Deletes data files that no version younger than `retention_hours` uses. Versions older
    /// than that can no longer be read (time travel ends there). Returns the deleted files.
    pub async fn vacuum(&self, name: &str, retention_hours: u64, dry_run: bool) -> Result<Vec<String>> {
        let t = self.table(name).await?;
        let hours = i64::try_from(retention_hours).map_err(|_| LakeError::Input("retention is too long".into()))?;
        let (_, metrics) = t
            .vacuum()
            .with_retention_period(chrono::Duration::hours(hours))
            .with_enforce_retention_duration(false)
            .with_dry_run(dry_run)
            .await?;
        Ok(metrics.files_deleted)
    }
}
