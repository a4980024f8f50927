//! The inventory of the city's information systems (issue 16): systems, the probes of
//! their URLs, their zombie verdicts, the platform's own evidence of their activity, and
//! rectification tickets. An import records every system or none; kinds, statuses and
//! verdicts that do not decode are errors.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use tongshu_core::projects::zombie::{Finding, Severity};
use tongshu_core::projects::{SystemKind, SystemStatus};

use crate::{MetaStore, Result, StoreError, ts};

fn now() -> String {
    ts(tongshu_core::now())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// A system as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemRecord {
    pub id: i64,
    pub name: String,
    pub kind: SystemKind,
    pub org_id: i64,
    pub project_id: Option<i64>,
    pub vendor: String,
    pub cost_per_year: Option<i64>,
    pub urls: Vec<String>,
    pub hosting: String,
    pub security_level: Option<i64>,
    pub status: SystemStatus,
    pub entries: Vec<i64>,
    pub apps: Vec<i64>,
    pub users: String,
    pub function: String,
    pub last_post_on: Option<String>,
    pub oldest_unanswered_on: Option<String>,
    pub duplicate_of: Option<i64>,
    pub verdict: Option<Severity>,
    pub findings: Vec<Finding>,
    pub checked_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn system_of(r: &AnyRow) -> Result<SystemRecord> {
    let name: String = r.try_get("name")?;
    let what = format!("system {name:?}");
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let verdict: Option<String> = r.try_get("verdict")?;
    let json = |col: &str| -> Result<String> { Ok(r.try_get::<String, _>(col)?) };
    Ok(SystemRecord {
        id: r.try_get("id")?,
        kind: SystemKind::parse(&kind).ok_or_else(|| corrupt(&what, format!("kind {kind:?}")))?,
        org_id: r.try_get("org_id")?,
        project_id: r.try_get("project_id")?,
        vendor: r.try_get("vendor")?,
        cost_per_year: r.try_get("cost_per_year")?,
        urls: serde_json::from_str(&json("urls")?).map_err(|e| corrupt(&what, e))?,
        hosting: r.try_get("hosting")?,
        security_level: r.try_get("security_level")?,
        status: SystemStatus::parse(&status).ok_or_else(|| corrupt(&what, format!("status {status:?}")))?,
        entries: serde_json::from_str(&json("entries")?).map_err(|e| corrupt(&what, e))?,
        apps: serde_json::from_str(&json("apps")?).map_err(|e| corrupt(&what, e))?,
        users: r.try_get("users")?,
        function: r.try_get("function")?,
        last_post_on: r.try_get("last_post_on")?,
        oldest_unanswered_on: r.try_get("oldest_unanswered_on")?,
        duplicate_of: r.try_get("duplicate_of")?,
        verdict: verdict
            .map(|v| Severity::parse(&v).ok_or_else(|| corrupt(&what, format!("verdict {v:?}"))))
            .transpose()?,
        findings: serde_json::from_str(&json("findings")?).map_err(|e| corrupt(&what, e))?,
        checked_at: r.try_get("checked_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        name,
    })
}

/// A system to record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewSystem {
    pub name: String,
    pub kind: Option<SystemKind>,
    pub org_id: i64,
    pub project_id: Option<i64>,
    pub vendor: String,
    pub cost_per_year: Option<i64>,
    pub urls: Vec<String>,
    pub hosting: String,
    pub security_level: Option<i64>,
    pub status: Option<SystemStatus>,
    pub entries: Vec<i64>,
    pub apps: Vec<i64>,
    pub users: String,
    pub function: String,
    pub last_post_on: Option<String>,
    pub oldest_unanswered_on: Option<String>,
}

/// One probe of a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ProbeRecord {
    pub system_id: i64,
    pub url: String,
    /// Unix seconds.
    pub at: i64,
    pub ok: i64,
    pub status: Option<i64>,
    pub ms: i64,
    pub page_hash: Option<String>,
}

/// A rectification ticket.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct TicketRecord {
    pub id: i64,
    pub system_id: i64,
    pub severity: String,
    pub findings: String,
    /// open | fixed | merged | stopped
    pub status: String,
    pub due_on: String,
    pub outcome: String,
    pub merged_into: Option<i64>,
    pub opened_at: String,
    pub closed_by: Option<String>,
    pub closed_at: Option<String>,
}

const SYSTEM: &str = "id, name, kind, org_id, project_id, vendor, cost_per_year, urls, hosting, security_level, status, \
                      entries, apps, users, function, last_post_on, oldest_unanswered_on, duplicate_of, verdict, findings, \
                      checked_at, created_at, updated_at";

impl MetaStore {
    /// Records systems in one transaction: all of them, or (on any conflict) none; the
    /// error names the system that conflicts.
    pub async fn insert_systems(&self, systems: &[NewSystem]) -> Result<Vec<SystemRecord>> {
        let mut tx = self.pool.begin().await?;
        let at = now();
        let mut out = Vec::new();
        for s in systems {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO info_systems (name, kind, org_id, project_id, vendor, cost_per_year, urls, hosting, security_level,
                     status, entries, apps, users, function, last_post_on, oldest_unanswered_on, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING {SYSTEM}"
            )))
            .bind(&s.name)
            .bind(s.kind.unwrap_or(SystemKind::Other).as_str())
            .bind(s.org_id)
            .bind(s.project_id)
            .bind(&s.vendor)
            .bind(s.cost_per_year)
            .bind(list_json(&s.urls)?)
            .bind(&s.hosting)
            .bind(s.security_level)
            .bind(s.status.unwrap_or(SystemStatus::InUse).as_str())
            .bind(list_json(&s.entries)?)
            .bind(list_json(&s.apps)?)
            .bind(&s.users)
            .bind(&s.function)
            .bind(&s.last_post_on)
            .bind(&s.oldest_unanswered_on)
            .bind(&at)
            .fetch_one(&mut *tx)
            .await
            .map_err(crate::conflict_on_unique(|| format!("system {:?} is already in the inventory of its department", s.name)))?;
            out.push(system_of(&row)?);
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn get_system(&self, id: i64) -> Result<SystemRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {SYSTEM} FROM info_systems WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("system {id}")))?;
        system_of(&row)
    }

    /// Every system (of `org_id` when given), by department and name.
    pub async fn list_systems(&self, org_id: Option<i64>) -> Result<Vec<SystemRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SYSTEM} FROM info_systems WHERE ($1 IS NULL OR org_id = $1) ORDER BY org_id, name"
        )))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(system_of).collect()
    }

    pub async fn set_system_status(&self, id: i64, status: SystemStatus) -> Result<()> {
        sqlx::query("UPDATE info_systems SET status = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(status.as_str())
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Entered facts of a system: the last post of a new-media account, the oldest
    /// unanswered message, another system it duplicates.
    pub async fn set_system_facts(
        &self,
        id: i64,
        last_post_on: Option<&str>,
        oldest_unanswered_on: Option<&str>,
        duplicate_of: Option<i64>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE info_systems SET last_post_on = $2, oldest_unanswered_on = $3, duplicate_of = $4, updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(last_post_on)
        .bind(oldest_unanswered_on)
        .bind(duplicate_of)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_verdict(&self, id: i64, verdict: Severity, findings: &[Finding]) -> Result<()> {
        sqlx::query("UPDATE info_systems SET verdict = $2, findings = $3, checked_at = $4 WHERE id = $1")
            .bind(id)
            .bind(verdict.as_str())
            .bind(serde_json::to_string(findings).map_err(|e| corrupt("findings", e))?)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn add_probe(&self, p: &ProbeRecord) -> Result<()> {
        sqlx::query(
            "INSERT INTO system_probes (system_id, url, at, ok, status, ms, page_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (system_id, url, at) DO NOTHING",
        )
        .bind(p.system_id)
        .bind(&p.url)
        .bind(p.at)
        .bind(p.ok)
        .bind(p.status)
        .bind(p.ms)
        .bind(&p.page_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The probes of a system since `since` (Unix seconds), oldest first.
    pub async fn probes_since(&self, system_id: i64, since: i64) -> Result<Vec<ProbeRecord>> {
        Ok(sqlx::query_as("SELECT * FROM system_probes WHERE system_id = $1 AND at >= $2 ORDER BY at, url")
            .bind(system_id)
            .bind(since)
            .fetch_all(&self.pool)
            .await?)
    }

    /// When the platform last saw a system at work: an answered interface call by one of
    /// its apps or on one of its entries' tables, a feed into those tables, an update of
    /// its catalog entries (RFC 3339 times compare as text).
    pub async fn system_activity(&self, entries: &[i64], apps: &[i64]) -> Result<Option<String>> {
        // Integers only: the lists are formatted, never pasted text.
        let list = |v: &[i64]| {
            if v.is_empty() { "NULL".to_owned() } else { v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ") }
        };
        let (entries, apps) = (list(entries), list(apps));
        let sql = format!(
            "SELECT MAX(t) FROM (
                 SELECT MAX(at) AS t FROM evidence WHERE kind = 'call' AND status < 400
                     AND (app_id IN ({apps}) OR subject IN (SELECT 'table:' || name FROM library_tables WHERE entry_id IN ({entries})))
                 UNION ALL SELECT MAX(updated_at) FROM library_tables WHERE entry_id IN ({entries})
                 UNION ALL SELECT MAX(updated_at) FROM catalog_entries WHERE id IN ({entries})
             ) AS activity"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool).await?;
        Ok(row.try_get::<Option<String>, _>(0)?)
    }

    /// Opens a ticket for a system unless it has an open one; the open ticket either way.
    pub async fn open_ticket(
        &self,
        system_id: i64,
        severity: Severity,
        findings: &[Finding],
        due_on: &str,
    ) -> Result<(TicketRecord, bool)> {
        let mut tx = self.pool.begin().await?;
        let open: Option<TicketRecord> =
            sqlx::query_as("SELECT * FROM system_tickets WHERE system_id = $1 AND status = 'open'")
                .bind(system_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(t) = open {
            return Ok((t, false));
        }
        let t: TicketRecord = sqlx::query_as(
            "INSERT INTO system_tickets (system_id, severity, findings, status, due_on, opened_at)
             VALUES ($1, $2, $3, 'open', $4, $5) RETURNING *",
        )
        .bind(system_id)
        .bind(severity.as_str())
        .bind(serde_json::to_string(findings).map_err(|e| corrupt("findings", e))?)
        .bind(due_on)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE info_systems SET status = 'rectifying', updated_at = $2 WHERE id = $1 AND status = 'in_use'",
        )
        .bind(system_id)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((t, true))
    }

    pub async fn get_ticket(&self, id: i64) -> Result<TicketRecord> {
        sqlx::query_as("SELECT * FROM system_tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("ticket {id}")))
    }

    pub async fn list_tickets(&self) -> Result<Vec<TicketRecord>> {
        Ok(sqlx::query_as("SELECT * FROM system_tickets ORDER BY id DESC").fetch_all(&self.pool).await?)
    }

    /// Closes an open ticket with its outcome, and sets the system's status to match
    /// (fixed → in use, merged or stopped → stopped), together; only if still open.
    pub async fn close_ticket(
        &self,
        id: i64,
        outcome: &str,
        note: &str,
        merged_into: Option<i64>,
        actor: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let at = now();
        let done = sqlx::query(
            "UPDATE system_tickets SET status = $2, outcome = $3, merged_into = $4, closed_by = $5, closed_at = $6
             WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .bind(outcome)
        .bind(note)
        .bind(merged_into)
        .bind(actor)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("ticket {id} is not open")));
        }
        let status = if outcome == "fixed" { "in_use" } else { "stopped" };
        sqlx::query(
            "UPDATE info_systems SET status = $2, updated_at = $3 WHERE id = (SELECT system_id FROM system_tickets WHERE id = $1)",
        )
        .bind(id)
        .bind(status)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A list stored as JSON text.
fn list_json<T: Serialize>(v: &[T]) -> Result<String> {
    serde_json::to_string(v).map_err(|e| corrupt("list", e))
}
