//! Department databases the library pulls from, the saved pulls, and background jobs.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::{MetaStore, Result, StoreError, conflict_on_unique, parse_ts, ts};

/// A department database. The password is kept sealed (see the sources crate).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSourceRecord {
    pub id: i64,
    pub name: String,
    pub org_id: i64,
    pub kind: String,
    pub host: String,
    pub port: i64,
    pub database: String,
    pub username: String,
    #[serde(skip)]
    pub password_sealed: String,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The zone of the source's times without one, as an offset (`+08:00`).
    pub time_zone: String,
}

/// A saved pull: a SELECT against a source whose rows feed a library table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullRecord {
    pub id: i64,
    pub name: String,
    pub source_id: i64,
    pub table: String,
    pub query: String,
    pub mode: String,
    pub keys: Vec<String>,
    pub incremental_column: Option<String>,
    pub high_water: Option<String>,
    pub every_minutes: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_run_at: Option<OffsetDateTime>,
    pub last_status: Option<String>,
    pub last_message: Option<String>,
    pub created_by: String,
}

/// What a new pull is made of.
#[derive(Debug, Clone)]
pub struct NewPull {
    pub name: String,
    pub source_id: i64,
    pub table: String,
    pub query: String,
    pub mode: String,
    pub keys: Vec<String>,
    pub incremental_column: Option<String>,
    pub every_minutes: Option<i64>,
    pub created_by: String,
}

/// A background job's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRecord {
    pub id: i64,
    pub kind: String,
    pub table: String,
    pub status: String,
    pub created_by: String,
    pub org_id: i64,
    pub request: serde_json::Value,
    pub rows_done: i64,
    pub bytes_done: i64,
    pub bytes_total: Option<i64>,
    pub report: Option<serde_json::Value>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// The node holding the job (while it waits or runs).
    pub node: Option<String>,
    /// How many nodes have taken it up (1, more after a node stopped).
    pub attempts: i64,
}

const SOURCE_COLUMNS: &str =
    "id, name, org_id, kind, host, port, database_name, username, password_sealed, created_by, created_at, time_zone";
const PULL_COLUMNS: &str = "id, name, source_id, table_name, query, mode, keys, incremental_column, high_water, \
     every_minutes, last_run_at, last_status, last_message, created_by";
const JOB_COLUMNS: &str = "id, kind, table_name, status, created_by, org_id, request, rows_done, bytes_done, \
     bytes_total, report, error, created_at, started_at, finished_at, node, attempts";

fn opt_ts(r: &AnyRow, col: &str) -> Result<Option<OffsetDateTime>> {
    r.try_get::<Option<String>, _>(col)?.as_deref().map(parse_ts).transpose()
}

fn json(s: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn source_from(r: &AnyRow) -> Result<DataSourceRecord> {
    Ok(DataSourceRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        org_id: r.try_get("org_id")?,
        kind: r.try_get("kind")?,
        host: r.try_get("host")?,
        port: r.try_get("port")?,
        database: r.try_get("database_name")?,
        username: r.try_get("username")?,
        password_sealed: r.try_get("password_sealed")?,
        created_by: r.try_get("created_by")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        time_zone: r.try_get("time_zone")?,
    })
}

fn pull_from(r: &AnyRow) -> Result<PullRecord> {
    let keys: String = r.try_get("keys")?;
    Ok(PullRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        source_id: r.try_get("source_id")?,
        table: r.try_get("table_name")?,
        query: r.try_get("query")?,
        mode: r.try_get("mode")?,
        keys: serde_json::from_str(&keys).map_err(|e| StoreError::Corrupt(format!("pull keys: {e}")))?,
        incremental_column: r.try_get("incremental_column")?,
        high_water: r.try_get("high_water")?,
        every_minutes: r.try_get("every_minutes")?,
        last_run_at: opt_ts(r, "last_run_at")?,
        last_status: r.try_get("last_status")?,
        last_message: r.try_get("last_message")?,
        created_by: r.try_get("created_by")?,
    })
}

fn job_from(r: &AnyRow) -> Result<JobRecord> {
    Ok(JobRecord {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        table: r.try_get("table_name")?,
        status: r.try_get("status")?,
        created_by: r.try_get("created_by")?,
        org_id: r.try_get("org_id")?,
        request: json(&r.try_get::<String, _>("request")?, "job request")?,
        rows_done: r.try_get("rows_done")?,
        bytes_done: r.try_get("bytes_done")?,
        bytes_total: r.try_get("bytes_total")?,
        report: r.try_get::<Option<String>, _>("report")?.as_deref().map(|s| json(s, "job report")).transpose()?,
        error: r.try_get("error")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        started_at: opt_ts(r, "started_at")?,
        finished_at: opt_ts(r, "finished_at")?,
        node: r.try_get("node")?,
        attempts: r.try_get("attempts")?,
    })
}

impl MetaStore {
    /// Records a data source; its name must be new.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_source(
        &self,
        name: &str,
        org_id: i64,
        kind: &str,
        host: &str,
        port: i64,
        database: &str,
        username: &str,
        password_sealed: &str,
        created_by: &str,
        time_zone: &str,
    ) -> Result<DataSourceRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO data_sources (name, org_id, kind, host, port, database_name, username, password_sealed, created_by,
                 created_at, time_zone)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {SOURCE_COLUMNS}"
        )))
        .bind(name)
        .bind(org_id)
        .bind(kind)
        .bind(host)
        .bind(port)
        .bind(database)
        .bind(username)
        .bind(password_sealed)
        .bind(created_by)
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(time_zone)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("a data source named {name:?} already exists")))?;
        source_from(&row)
    }

    pub async fn get_source(&self, name: &str) -> Result<DataSourceRecord> {
        let row =
            sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SOURCE_COLUMNS} FROM data_sources WHERE name = $1")))
                .bind(name)
                .fetch_optional(&self.pool)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("data source {name:?}")))?;
        source_from(&row)
    }

    pub async fn get_source_by_id(&self, id: i64) -> Result<DataSourceRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SOURCE_COLUMNS} FROM data_sources WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("data source {id}")))?;
        source_from(&row)
    }

    /// Every data source, by name; only `org_id`'s when given.
    pub async fn list_sources(&self, org_id: Option<i64>) -> Result<Vec<DataSourceRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SOURCE_COLUMNS} FROM data_sources WHERE ($1 IS NULL OR org_id = $1) ORDER BY name"
        )))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(source_from).collect()
    }

    /// Saves a pull; its name must be new.
    pub async fn add_pull(&self, p: &NewPull) -> Result<PullRecord> {
        let keys = serde_json::to_string(&p.keys).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO pulls (name, source_id, table_name, query, mode, keys, incremental_column, every_minutes, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {PULL_COLUMNS}"
        )))
        .bind(&p.name)
        .bind(p.source_id)
        .bind(&p.table)
        .bind(&p.query)
        .bind(&p.mode)
        .bind(keys)
        .bind(&p.incremental_column)
        .bind(p.every_minutes)
        .bind(&p.created_by)
        .bind(ts(OffsetDateTime::now_utc()))
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("a pull named {:?} already exists", p.name)))?;
        pull_from(&row)
    }

    pub async fn get_pull(&self, name: &str) -> Result<PullRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PULL_COLUMNS} FROM pulls WHERE name = $1")))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("pull {name:?}")))?;
        pull_from(&row)
    }

    pub async fn list_pulls(&self) -> Result<Vec<PullRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PULL_COLUMNS} FROM pulls ORDER BY name")))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(pull_from).collect()
    }

    /// Records a pull's run. The high-water mark moves only when `high_water` is given
    /// (after a successful commit).
    pub async fn record_pull_run(&self, id: i64, status: &str, message: &str, high_water: Option<&str>) -> Result<()> {
        sqlx::query(
            "UPDATE pulls SET last_run_at = $2, last_status = $3, last_message = $4,
               high_water = COALESCE($5, high_water) WHERE id = $1",
        )
        .bind(id)
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(status)
        .bind(message)
        .bind(high_water)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Files a queued job held by `node` until `lease_until` (Unix seconds).
    #[allow(clippy::too_many_arguments)]
    pub async fn add_job(
        &self,
        kind: &str,
        table: &str,
        created_by: &str,
        org_id: i64,
        request: &serde_json::Value,
        bytes_total: Option<i64>,
        node: &str,
        lease_until: i64,
    ) -> Result<JobRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO jobs (kind, table_name, status, created_by, org_id, request, rows_done, bytes_done, bytes_total,
                 created_at, node, lease_until)
             VALUES ($1, $2, 'queued', $3, $4, $5, 0, 0, $6, $7, $8, $9) RETURNING {JOB_COLUMNS}"
        )))
        .bind(kind)
        .bind(table)
        .bind(created_by)
        .bind(org_id)
        .bind(request.to_string())
        .bind(bytes_total)
        .bind(ts(OffsetDateTime::now_utc()))
        .bind(node)
        .bind(lease_until)
        .fetch_one(&self.pool)
        .await?;
        job_from(&row)
    }

    pub async fn get_job(&self, id: i64) -> Result<JobRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
        job_from(&row)
    }

    /// The newest jobs, only `created_by`'s when given.
    pub async fn list_jobs(&self, created_by: Option<&str>, limit: i64) -> Result<Vec<JobRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR created_by = $1) ORDER BY id DESC LIMIT $2"
        )))
        .bind(created_by)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_from).collect()
    }

    pub async fn job_started(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE jobs SET status = 'running', started_at = $2 WHERE id = $1")
            .bind(id)
            .bind(ts(OffsetDateTime::now_utc()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn job_progress(&self, id: i64, rows: i64, bytes: i64) -> Result<()> {
        sqlx::query("UPDATE jobs SET rows_done = $2, bytes_done = $3 WHERE id = $1 AND status = 'running'")
            .bind(id)
            .bind(rows)
            .bind(bytes)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Renews the lease of every job `node` holds (waiting or running) to `until`.
    pub async fn renew_job_leases(&self, node: &str, until: i64) -> Result<u64> {
        let r = sqlx::query(
            "UPDATE jobs SET lease_until = $2 WHERE node = $1 AND status IN ('queued', 'running') AND lease_until < $2",
        )
        .bind(node)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    /// Takes over the jobs whose lease ran out before `now` (their node stopped): each is
    /// held by `node` until `until` afterwards, its attempt counted. Each job goes to one
    /// node only (the update re-checks the lease under the row's lock).
    pub async fn claim_expired_jobs(&self, node: &str, now: i64, until: i64) -> Result<Vec<JobRecord>> {
        let ids: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM jobs WHERE status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < $1)
             ORDER BY id LIMIT 100",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut taken = Vec::new();
        for (id,) in ids {
            let r = sqlx::query(
                "UPDATE jobs SET node = $2, lease_until = $3, attempts = attempts + 1
                 WHERE id = $1 AND status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until < $4)",
            )
            .bind(id)
            .bind(node)
            .bind(until)
            .bind(now)
            .execute(&self.pool)
            .await?;
            if r.rows_affected() == 1 {
                taken.push(self.get_job(id).await?);
            }
        }
        Ok(taken)
    }

    /// Claims a scheduled slot (`pull:name:due time`): true for the one node whose claim is
    /// first, false for every other.
    pub async fn claim_slot(&self, slot: &str, node: &str) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO schedule_claims (slot, node, claimed_at) VALUES ($1, $2, $3) ON CONFLICT (slot) DO NOTHING",
        )
        .bind(slot)
        .bind(node)
        .bind(ts(OffsetDateTime::now_utc()))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Ends a job: `report` on success, `error` (and maybe a report of bad rows) on failure.
    pub async fn job_finished(
        &self,
        id: i64,
        ok: bool,
        rows: i64,
        bytes: i64,
        report: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET status = $2, rows_done = $3, bytes_done = $4, report = $5, error = $6, finished_at = $7
             WHERE id = $1",
        )
        .bind(id)
        .bind(if ok { "succeeded" } else { "failed" })
        .bind(rows)
        .bind(bytes)
        .bind(report.map(|r| r.to_string()))
        .bind(error)
        .bind(ts(OffsetDateTime::now_utc()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
