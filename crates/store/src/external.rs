//! External tables: a source database's tables that SQL over the library reads in place.

use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

use crate::{MetaStore, Result, StoreError, conflict_on_unique, parse_ts, ts};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExternalTableRecord {
    pub name: String,
    pub source_id: i64,
    pub source_table: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<ExternalTableRecord> {
    Ok(ExternalTableRecord {
        name: r.try_get("name")?,
        source_id: r.try_get("source_id")?,
        source_table: r.try_get("source_table")?,
        created_by: r.try_get("created_by")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
    })
}

impl MetaStore {
    pub async fn add_external_table(
        &self,
        name: &str,
        source_id: i64,
        source_table: &str,
        created_by: &str,
    ) -> Result<ExternalTableRecord> {
        let now = OffsetDateTime::now_utc();
        sqlx::query(
            "INSERT INTO external_tables (name, source_id, source_table, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(name)
        .bind(source_id)
        .bind(source_table)
        .bind(created_by)
        .bind(ts(now))
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("external table {name:?} exists")))?;
        self.get_external_table(name).await?.ok_or_else(|| StoreError::NotFound(format!("external table {name:?}")))
    }

    pub async fn get_external_table(&self, name: &str) -> Result<Option<ExternalTableRecord>> {
        let row = sqlx::query(
            "SELECT name, source_id, source_table, created_by, created_at FROM external_tables WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn list_external_tables(&self) -> Result<Vec<ExternalTableRecord>> {
        let rows = sqlx::query(
            "SELECT name, source_id, source_table, created_by, created_at FROM external_tables ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn remove_external_table(&self, name: &str) -> Result<()> {
        let n = sqlx::query("DELETE FROM external_tables WHERE name = $1").bind(name).execute(&self.pool).await?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("external table {name:?}")));
        }
        Ok(())
    }
}
