//! The resource library's tables as the platform knows them (the tables themselves live in
//! Delta Lake; see the lake crate).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{MetaStore, Result, StoreError, parse_ts, ts};

/// Figures of one column after the last change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnStats {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub nulls: u64,
    /// Approximate number of distinct values (HyperLogLog).
    pub distinct: u64,
    /// The table's rows when `distinct` was last counted over all of them (appends in
    /// between merge their own counts in).
    #[serde(default)]
    pub distinct_rows: u64,
}

/// A library table's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableRecord {
    pub name: String,
    pub entry_id: Option<i64>,
    pub uri: String,
    pub version: i64,
    pub rows: i64,
    pub bytes: i64,
    pub files: i64,
    pub columns: Vec<ColumnStats>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
    /// Whether the public may read earlier versions (off: only the current one).
    pub public_history: bool,
}

const COLUMNS: &str =
    "name, entry_id, uri, version, row_count, byte_count, file_count, columns, updated_at, public_history";

fn from_row(r: &AnyRow) -> Result<TableRecord> {
    let columns: String = r.try_get("columns")?;
    Ok(TableRecord {
        name: r.try_get("name")?,
        entry_id: r.try_get("entry_id")?,
        uri: r.try_get("uri")?,
        version: r.try_get("version")?,
        rows: r.try_get("row_count")?,
        bytes: r.try_get("byte_count")?,
        files: r.try_get("file_count")?,
        public_history: r.try_get::<i64, _>("public_history")? != 0,
        columns: serde_json::from_str(&columns).map_err(|e| StoreError::Corrupt(format!("table columns: {e}")))?,
        updated_at: parse_ts(&r.try_get::<String, _>("updated_at")?)?,
    })
}

impl MetaStore {
    /// Records a table's current figures, creating its record on first use. The link to a
    /// catalog entry is kept unless `entry_id` names one.
    pub async fn put_table(&self, t: &TableRecord) -> Result<()> {
        let columns = serde_json::to_string(&t.columns).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO library_tables (name, entry_id, uri, version, row_count, byte_count, file_count, columns, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
             ON CONFLICT (name) DO UPDATE SET entry_id = COALESCE(excluded.entry_id, library_tables.entry_id),
               uri = excluded.uri, version = excluded.version, row_count = excluded.row_count,
               byte_count = excluded.byte_count, file_count = excluded.file_count, columns = excluded.columns,
               updated_at = excluded.updated_at",
        )
        .bind(&t.name)
        .bind(t.entry_id)
        .bind(&t.uri)
        .bind(t.version)
        .bind(t.rows)
        .bind(t.bytes)
        .bind(t.files)
        .bind(columns)
        .bind(ts(t.updated_at))
        .execute(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => {
                StoreError::NotFound(format!("catalog entry {:?}", t.entry_id))
            }
            _ => StoreError::Db(e),
        })?;
        Ok(())
    }

    pub async fn get_table(&self, name: &str) -> Result<Option<TableRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM library_tables WHERE name = $1")))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn list_tables(&self) -> Result<Vec<TableRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM library_tables ORDER BY name")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The tables whose catalog entries belong to `org_id`.
    pub async fn tables_of_org(&self, org_id: i64) -> Result<Vec<TableRecord>> {
        let columns = COLUMNS.split(", ").map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {columns} FROM library_tables t JOIN catalog_entries e ON e.id = t.entry_id
             WHERE e.org_id = $1 ORDER BY t.name"
        )))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn tables_of_entry(&self, entry_id: i64) -> Result<Vec<TableRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM library_tables WHERE entry_id = $1 ORDER BY name"
        )))
        .bind(entry_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Lets the public read earlier versions of a table, or not.
    pub async fn set_public_history(&self, name: &str, on: bool) -> Result<()> {
        let r = sqlx::query("UPDATE library_tables SET public_history = $1 WHERE name = $2")
            .bind(i64::from(on))
            .bind(name)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("table {name}")));
        }
        Ok(())
    }
}
