//! Pipelines of the real-time channel: which source tables feed which library tables, and
//! what each pipeline's runner last reported. One runner at a time holds a pipeline's
//! lease, whichever node it is on.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::{MetaStore, Result, StoreError, conflict_on_unique, parse_ts, ts};

/// One source table a pipeline carries into a library table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTable {
    /// `schema.table` in the source.
    pub source: String,
    /// The library table.
    pub target: String,
    /// Key columns named by the operator; empty: the source's primary key.
    #[serde(default)]
    pub keys: Vec<String>,
}

/// What a pipeline's runner reports of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelTableStatus {
    pub target: String,
    pub position: Option<i64>,
    pub snapshot_rows: u64,
    /// Sessions that copied the snapshot (0 in reports older than this field).
    #[serde(default)]
    pub snapshot_sessions: usize,
    pub changes: u64,
}

/// A pipeline as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PipelineRecord {
    pub id: i64,
    pub name: String,
    pub source_id: i64,
    pub tables: Vec<ChannelTable>,
    pub batch_ms: i64,
    pub batch_changes: i64,
    /// Why the pipeline is held (by an operator, or by a schema change); `None`: it may run.
    pub paused: Option<String>,
    /// The next run accepts the source's pending schema change instead of pausing again.
    pub accept_schema: bool,
    /// The next run copies every table again from a new snapshot (cleared once it streams).
    pub resnapshot: bool,
    /// A PostgreSQL source's publication and replication slot named by the operator
    /// (`None`: the pipeline's own, `tongshu_<name>`).
    pub publication: Option<String>,
    pub slot_name: Option<String>,
    pub state: String,
    pub message: String,
    pub table_status: Vec<ChannelTableStatus>,
    pub confirmed: Option<i64>,
    pub lag_ms: Option<i64>,
    /// Bytes of the source's log the pipeline holds or has still to read.
    pub log_bytes: Option<i64>,
    pub node: Option<String>,
    pub lease_until: Option<i64>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What a runner reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineReport {
    pub state: String,
    pub message: String,
    pub tables: Vec<ChannelTableStatus>,
    pub confirmed: Option<i64>,
    pub lag_ms: Option<i64>,
    pub log_bytes: Option<i64>,
}

/// One measurement of a running pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSample {
    /// Unix seconds.
    pub at: i64,
    pub lag_ms: Option<i64>,
    /// Changes applied since its runner started.
    pub changes: i64,
    pub log_bytes: Option<i64>,
}

const COLUMNS: &str = "id, name, source_id, tables, batch_ms, batch_changes, paused, accept_schema, resnapshot, publication, slot_name, state, message, table_status, \
                       confirmed, lag_ms, log_bytes, node, lease_until, created_by, created_at, updated_at";

fn decode<T: serde::de::DeserializeOwned>(name: &str, what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("pipeline {name:?}: {what}: {e}")))
}

fn from_row(r: &AnyRow) -> Result<PipelineRecord> {
    let name: String = r.try_get("name")?;
    let tables: String = r.try_get("tables")?;
    let status: String = r.try_get("table_status")?;
    Ok(PipelineRecord {
        id: r.try_get("id")?,
        tables: decode(&name, "tables", &tables)?,
        table_status: decode(&name, "table status", &status)?,
        source_id: r.try_get("source_id")?,
        batch_ms: r.try_get("batch_ms")?,
        batch_changes: r.try_get("batch_changes")?,
        paused: r.try_get("paused")?,
        accept_schema: r.try_get::<i64, _>("accept_schema")? != 0,
        resnapshot: r.try_get::<i64, _>("resnapshot")? != 0,
        publication: r.try_get("publication")?,
        slot_name: r.try_get("slot_name")?,
        state: r.try_get("state")?,
        message: r.try_get("message")?,
        confirmed: r.try_get("confirmed")?,
        lag_ms: r.try_get("lag_ms")?,
        log_bytes: r.try_get("log_bytes")?,
        node: r.try_get("node")?,
        lease_until: r.try_get("lease_until")?,
        created_by: r.try_get("created_by")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&r.try_get::<String, _>("updated_at")?)?,
        name,
    })
}

fn json<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A pipeline to record ([`MetaStore::insert_pipeline`]).
#[derive(Debug, Clone, Copy)]
pub struct NewPipelineRecord<'a> {
    pub name: &'a str,
    pub source_id: i64,
    pub tables: &'a [ChannelTable],
    pub batch_ms: i64,
    pub batch_changes: i64,
    pub created_by: &'a str,
    pub publication: Option<&'a str>,
    pub slot_name: Option<&'a str>,
    /// Recorded held, with this reason.
    pub paused: Option<&'a str>,
}

impl MetaStore {
    /// Records a pipeline with the pipeline's own publication and slot.
    pub async fn add_pipeline(
        &self,
        name: &str,
        source_id: i64,
        tables: &[ChannelTable],
        batch_ms: i64,
        batch_changes: i64,
        created_by: &str,
    ) -> Result<PipelineRecord> {
        self.insert_pipeline(&NewPipelineRecord {
            name,
            source_id,
            tables,
            batch_ms,
            batch_changes,
            created_by,
            publication: None,
            slot_name: None,
            paused: None,
        })
        .await
    }

    /// Records a pipeline; its name must be new, and no other pipeline may feed its tables.
    pub async fn insert_pipeline(&self, n: &NewPipelineRecord<'_>) -> Result<PipelineRecord> {
        let NewPipelineRecord { name, source_id, tables, batch_ms, batch_changes, created_by, .. } = *n;
        for other in self.list_pipelines().await? {
            if let Some(t) = other.tables.iter().find(|t| tables.iter().any(|n| n.target == t.target)) {
                return Err(StoreError::Conflict(format!(
                    "library table {:?} is already fed by pipeline {:?}",
                    t.target, other.name
                )));
            }
        }
        let now = ts(OffsetDateTime::now_utc());
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO channel_pipelines (name, source_id, tables, batch_ms, batch_changes, state, message, table_status,
                 created_by, created_at, updated_at, publication, slot_name, paused)
             VALUES ($1, $2, $3, $4, $5, 'new', '', '[]', $6, $7, $7, $8, $9, $10) RETURNING {COLUMNS}"
        )))
        .bind(name)
        .bind(source_id)
        .bind(json(&tables)?)
        .bind(batch_ms)
        .bind(batch_changes)
        .bind(created_by)
        .bind(now)
        .bind(n.publication)
        .bind(n.slot_name)
        .bind(n.paused)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("a pipeline named {name:?} already exists")))?;
        from_row(&row)
    }

    pub async fn get_pipeline(&self, name: &str) -> Result<PipelineRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM channel_pipelines WHERE name = $1")))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("pipeline {name:?}")))?;
        from_row(&row)
    }

    pub async fn list_pipelines(&self) -> Result<Vec<PipelineRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM channel_pipelines ORDER BY name")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Holds the pipeline (`Some(why)`) or lets it run again (`None`); `accept`: the next
    /// run accepts the source's pending schema change.
    pub async fn set_pipeline_paused(&self, name: &str, why: Option<&str>, accept: bool) -> Result<()> {
        let n = sqlx::query(
            "UPDATE channel_pipelines SET paused = $2, accept_schema = $4, updated_at = $3 WHERE name = $1",
        )
        .bind(name)
        .bind(why)
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(i64::from(accept))
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("pipeline {name:?}")));
        }
        Ok(())
    }

    /// Asks for (or, once done, clears) a new snapshot of every table of pipeline `name`.
    pub async fn set_pipeline_resnapshot(&self, name: &str, on: bool) -> Result<()> {
        let n = sqlx::query("UPDATE channel_pipelines SET resnapshot = $2, updated_at = $3 WHERE name = $1")
            .bind(name)
            .bind(i64::from(on))
            .bind(ts(OffsetDateTime::now_utc()))
            .execute(&self.pool)
            .await?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("pipeline {name:?}")));
        }
        Ok(())
    }

    /// Takes (or renews) the lease of pipeline `name` for `node` until `until` (Unix
    /// seconds): only when no other node holds an unexpired one. `false`: another holds it.
    /// A node that takes the lease over shows as starting at once: what the node before it
    /// last reported is not its state.
    pub async fn lease_pipeline(&self, name: &str, node: &str, now: i64, until: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE channel_pipelines SET node = $2, lease_until = $4,
                 state = CASE WHEN node = $2 THEN state ELSE 'starting' END,
                 message = CASE WHEN node = $2 THEN message ELSE '' END
             WHERE name = $1 AND (node IS NULL OR node = $2 OR lease_until IS NULL OR lease_until < $3)",
        )
        .bind(name)
        .bind(node)
        .bind(now)
        .bind(until)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Gives up `node`'s lease of pipeline `name` (a clean stop).
    pub async fn release_pipeline(&self, name: &str, node: &str) -> Result<()> {
        sqlx::query("UPDATE channel_pipelines SET node = NULL, lease_until = NULL WHERE name = $1 AND node = $2")
            .bind(name)
            .bind(node)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records what the runner on `node` reports; nothing when it no longer holds the lease.
    pub async fn report_pipeline(&self, name: &str, node: &str, r: &PipelineReport) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE channel_pipelines SET state = $3, message = $4, table_status = $5, confirmed = $6, lag_ms = $7,
                 updated_at = $8, log_bytes = COALESCE($9, log_bytes)
             WHERE name = $1 AND node = $2",
        )
        .bind(name)
        .bind(node)
        .bind(&r.state)
        .bind(&r.message)
        .bind(json(&r.tables)?)
        .bind(r.confirmed)
        .bind(r.lag_ms)
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(r.log_bytes)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records a measurement of pipeline `name` and forgets those over a day old.
    pub async fn add_channel_sample(&self, name: &str, s: &ChannelSample) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO channel_samples (pipeline, at, lag_ms, changes, log_bytes) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (pipeline, at) DO UPDATE SET lag_ms = excluded.lag_ms, changes = excluded.changes,
                 log_bytes = excluded.log_bytes",
        )
        .bind(name)
        .bind(s.at)
        .bind(s.lag_ms)
        .bind(s.changes)
        .bind(s.log_bytes)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM channel_samples WHERE pipeline = $1 AND at < $2")
            .bind(name)
            .bind(s.at - 86_400)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The measurements of pipeline `name` since `since` (Unix seconds), oldest first.
    pub async fn channel_samples(&self, name: &str, since: i64) -> Result<Vec<ChannelSample>> {
        let rows = sqlx::query(
            "SELECT at, lag_ms, changes, log_bytes FROM channel_samples WHERE pipeline = $1 AND at >= $2 ORDER BY at",
        )
        .bind(name)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ChannelSample {
                    at: r.try_get("at")?,
                    lag_ms: r.try_get("lag_ms")?,
                    changes: r.try_get("changes")?,
                    log_bytes: r.try_get("log_bytes")?,
                })
            })
            .collect()
    }

    /// Removes pipeline `name` (its library tables stay).
    pub async fn remove_pipeline(&self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM channel_samples WHERE pipeline = $1").bind(name).execute(&self.pool).await?;
        let n = sqlx::query("DELETE FROM channel_pipelines WHERE name = $1").bind(name).execute(&self.pool).await?;
        if n.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("pipeline {name:?}")));
        }
        Ok(())
    }
}
