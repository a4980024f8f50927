//! Sharing and exchange records: the working-day calendar, consumer apps, share requests,
//! grants with their history, masking rules and nonces of signed calls (the evidence log
//! they append to is in `evidence`).
//! Who may do what is decided by the exchange crate; here every decision and its evidence
//! record commit in one transaction, and evidence records are only ever appended.

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tongshu_core::evidence::EvidenceFields;
use tongshu_core::sharing::{GrantStatus, RequestStatus, ScopeCondition};

use crate::evidence::append;
use crate::{MetaStore, Result, StoreError, conflict_on_unique, parse_ts, ts};

/// A consumer department's app that calls data interfaces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppRecord {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub app_key: String,
    /// SM4-sealed; never serialized.
    #[serde(skip)]
    pub secret_sealed: String,
    pub per_minute: Option<i64>,
    pub per_day: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<time::OffsetDateTime>,
}

/// A share request to file.
#[derive(Debug, Clone)]
pub struct NewShareRequest {
    pub entry_id: i64,
    pub provider_org_id: i64,
    pub consumer_org_id: i64,
    pub user_id: i64,
    pub app_id: Option<i64>,
    pub purpose: String,
    pub legal_basis: Option<String>,
    pub items: Vec<String>,
    /// The rows asked for; empty: all.
    pub row_filter: Vec<ScopeCondition>,
    pub valid_from: time::OffsetDateTime,
    pub valid_to: time::OffsetDateTime,
    pub consuming_system: Option<String>,
    /// `YYYY-MM-DD`.
    pub due_on: String,
}

/// A stored share request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShareRequest {
    pub id: i64,
    pub entry_id: i64,
    pub entry_name: String,
    pub provider_org_id: i64,
    pub consumer_org_id: i64,
    pub consumer_org_name: String,
    pub user_id: i64,
    pub app_id: Option<i64>,
    pub purpose: String,
    pub legal_basis: Option<String>,
    pub items: Vec<String>,
    pub row_filter: Vec<ScopeCondition>,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_to: time::OffsetDateTime,
    pub consuming_system: Option<String>,
    pub status: RequestStatus,
    pub due_on: String,
    pub answer: Option<String>,
    pub answered_by: Option<i64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<time::OffsetDateTime>,
    pub on_time: Option<bool>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub reminded_at: Option<time::OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub escalated_at: Option<time::OffsetDateTime>,
    pub grant_id: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub provider_org_id: Option<i64>,
    pub consumer_org_id: Option<i64>,
    pub status: Option<RequestStatus>,
    /// Pending requests due before this day (`YYYY-MM-DD`).
    pub due_before: Option<String>,
}

/// A grant to make.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub request_id: Option<i64>,
    pub entry_id: i64,
    pub consumer_org_id: i64,
    pub app_id: Option<i64>,
    pub items: Vec<String>,
    pub clear_items: Vec<String>,
    /// The rows granted; empty: all.
    pub row_filter: Vec<ScopeCondition>,
    /// The items a verification must give; `None`: every masked item.
    pub verify_items: Option<Vec<String>>,
    pub valid_from: time::OffsetDateTime,
    pub valid_to: time::OffsetDateTime,
}

/// A stored grant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantRecord {
    pub id: i64,
    pub request_id: Option<i64>,
    pub entry_id: i64,
    pub consumer_org_id: i64,
    pub app_id: Option<i64>,
    pub items: Vec<String>,
    pub clear_items: Vec<String>,
    /// The rows granted; empty: all.
    pub row_filter: Vec<ScopeCondition>,
    /// The items a verification must give; `None`: every masked item.
    pub verify_items: Option<Vec<String>>,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_to: time::OffsetDateTime,
    pub status: GrantStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: time::OffsetDateTime,
}

/// One change of a grant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrantChange {
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub user_id: Option<i64>,
    pub action: String,
    pub detail: String,
}

fn ts_opt(r: &AnyRow, col: &str) -> Result<Option<time::OffsetDateTime>> {
    r.try_get::<Option<String>, _>(col)?.as_deref().map(parse_ts).transpose()
}

/// Column `col` of a record of `what` (e.g. `grant 12`), stored as JSON: text that does not
/// decode is an error (logged), never a default; a default scope or list would read as "no
/// restriction" somewhere (fail closed).
fn json_of<T: serde::de::DeserializeOwned>(r: &AnyRow, col: &str, what: &str) -> Result<T> {
    let text: String = r.try_get(col)?;
    serde_json::from_str(&text).map_err(|e| corrupt(what, col, e))
}

/// A nullable JSON column: `None` for NULL, else as [`json_of`].
fn json_opt<T: serde::de::DeserializeOwned>(r: &AnyRow, col: &str, what: &str) -> Result<Option<T>> {
    match r.try_get::<Option<String>, _>(col)? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| corrupt(what, col, e)),
    }
}

/// A status column that must be one of the known names.
fn status_of<T>(r: &AnyRow, what: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    let text: String = r.try_get("status")?;
    parse(&text).ok_or_else(|| corrupt(what, "status", format!("unknown status {text:?}")))
}

fn corrupt(what: &str, col: &str, e: impl std::fmt::Display) -> StoreError {
    tracing::error!(record = what, column = col, error = %e, "undecodable stored value");
    StoreError::Corrupt(format!("{what}, {col}: {e}"))
}

/// A list or scope as stored: JSON text. A value that does not serialize is an error,
/// never a stand-in (an empty list would read as "no restriction").
fn json_text<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("a list to store: {e}")))
}

/// A scope as stored: NULL when it is empty (all rows).
fn scope_text(scope: &[ScopeCondition]) -> Result<Option<String>> {
    if scope.is_empty() { Ok(None) } else { json_text(&scope).map(Some) }
}

fn app_from(r: &AnyRow) -> Result<AppRecord> {
    Ok(AppRecord {
        id: r.try_get("id")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        app_key: r.try_get("app_key")?,
        secret_sealed: r.try_get("secret_sealed")?,
        per_minute: r.try_get("per_minute")?,
        per_day: r.try_get("per_day")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        revoked_at: ts_opt(r, "revoked_at")?,
    })
}

fn request_from(r: &AnyRow) -> Result<ShareRequest> {
    let id: i64 = r.try_get("id")?;
    let what = format!("share request {id}");
    Ok(ShareRequest {
        id,
        entry_id: r.try_get("entry_id")?,
        entry_name: r.try_get("entry_name")?,
        provider_org_id: r.try_get("provider_org_id")?,
        consumer_org_id: r.try_get("consumer_org_id")?,
        consumer_org_name: r.try_get("consumer_org_name")?,
        user_id: r.try_get("user_id")?,
        app_id: r.try_get("app_id")?,
        purpose: r.try_get("purpose")?,
        legal_basis: r.try_get("legal_basis")?,
        items: json_of(r, "items", &what)?,
        row_filter: json_opt(r, "row_filter", &what)?.unwrap_or_default(),
        valid_from: parse_ts(&r.try_get::<String, _>("valid_from")?)?,
        valid_to: parse_ts(&r.try_get::<String, _>("valid_to")?)?,
        consuming_system: r.try_get("consuming_system")?,
        status: status_of(r, &what, RequestStatus::parse)?,
        due_on: r.try_get("due_on")?,
        answer: r.try_get("answer")?,
        answered_by: r.try_get("answered_by")?,
        answered_at: ts_opt(r, "answered_at")?,
        on_time: r.try_get::<Option<i64>, _>("on_time")?.map(|v| v != 0),
        reminded_at: ts_opt(r, "reminded_at")?,
        escalated_at: ts_opt(r, "escalated_at")?,
        grant_id: r.try_get("grant_id")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
    })
}

fn grant_from(r: &AnyRow) -> Result<GrantRecord> {
    let id: i64 = r.try_get("id")?;
    let what = format!("grant {id}");
    Ok(GrantRecord {
        id,
        request_id: r.try_get("request_id")?,
        entry_id: r.try_get("entry_id")?,
        consumer_org_id: r.try_get("consumer_org_id")?,
        app_id: r.try_get("app_id")?,
        items: json_of(r, "items", &what)?,
        clear_items: json_of(r, "clear_items", &what)?,
        // NULL is no scope; text that does not decode is an error, never "every row".
        row_filter: json_opt(r, "row_filter", &what)?.unwrap_or_default(),
        verify_items: json_opt(r, "verify_items", &what)?,
        valid_from: parse_ts(&r.try_get::<String, _>("valid_from")?)?,
        valid_to: parse_ts(&r.try_get::<String, _>("valid_to")?)?,
        status: status_of(r, &what, GrantStatus::parse)?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&r.try_get::<String, _>("updated_at")?)?,
    })
}

const REQUEST_SELECT: &str = "SELECT r.*, e.name AS entry_name, o.name AS consumer_org_name
    FROM share_requests r JOIN catalog_entries e ON e.id = r.entry_id JOIN organizations o ON o.id = r.consumer_org_id";

async fn record_change(
    tx: &mut Transaction<'_, Any>,
    grant_id: i64,
    user_id: Option<i64>,
    action: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO grant_history (grant_id, at, user_id, action, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(grant_id)
        .bind(ts(tongshu_core::now()))
        .bind(user_id)
        .bind(action)
        .bind(detail)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_grant(tx: &mut Transaction<'_, Any>, g: &NewGrant, by: Option<i64>) -> Result<i64> {
    let now = ts(tongshu_core::now());
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO grants (request_id, entry_id, consumer_org_id, app_id, items, clear_items, row_filter,
             valid_from, valid_to, status, created_at, updated_at, verify_items)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $10, $11) RETURNING id",
    )
    .bind(g.request_id)
    .bind(g.entry_id)
    .bind(g.consumer_org_id)
    .bind(g.app_id)
    .bind(json_text(&g.items)?)
    .bind(json_text(&g.clear_items)?)
    .bind(scope_text(&g.row_filter)?)
    .bind(ts(g.valid_from))
    .bind(ts(g.valid_to))
    .bind(&now)
    .bind(g.verify_items.as_ref().map(json_text).transpose()?)
    .fetch_one(&mut **tx)
    .await?;
    let detail = serde_json::json!({"items": g.items, "clear_items": g.clear_items, "row_filter": g.row_filter,
        "verify_items": g.verify_items,
        "valid_from": ts(g.valid_from), "valid_to": ts(g.valid_to)});
    record_change(tx, id, by, "granted", &detail.to_string()).await?;
    Ok(id)
}

impl MetaStore {
    /// The calendar's exceptions: `(YYYY-MM-DD, holiday|workday, name)`, by day.
    pub async fn calendar_days(&self) -> Result<Vec<(String, String, String)>> {
        Ok(sqlx::query_as("SELECT day, kind, name FROM calendar_days ORDER BY day").fetch_all(&self.pool).await?)
    }

    /// Sets (or with `kind = None` removes) one day's exception.
    pub async fn set_calendar_day(&self, day: &str, kind: Option<&str>, name: &str) -> Result<()> {
        match kind {
            Some(kind) => {
                sqlx::query(
                    "INSERT INTO calendar_days (day, kind, name) VALUES ($1, $2, $3)
                     ON CONFLICT (day) DO UPDATE SET kind = excluded.kind, name = excluded.name",
                )
                .bind(day)
                .bind(kind)
                .bind(name)
                .execute(&self.pool)
                .await?;
            }
            None => {
                sqlx::query("DELETE FROM calendar_days WHERE day = $1").bind(day).execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    /// The masking rules in the order they are tried: `(id, name, patterns, mask, min_grading)`.
    pub async fn mask_rules(&self) -> Result<Vec<(i64, String, String, String, String)>> {
        Ok(sqlx::query_as("SELECT id, name, patterns, mask, min_grading FROM mask_rules ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Adds a masking rule (tried after the existing ones).
    pub async fn add_mask_rule(&self, name: &str, patterns: &str, mask: &str, min_grading: &str) -> Result<i64> {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO mask_rules (name, patterns, mask, min_grading) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name)
        .bind(patterns)
        .bind(mask)
        .bind(min_grading)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn create_exchange_app(
        &self,
        org_id: i64,
        name: &str,
        app_key: &str,
        secret_sealed: &str,
        created_by: i64,
    ) -> Result<AppRecord> {
        let r = sqlx::query(
            "INSERT INTO exchange_apps (org_id, name, app_key, secret_sealed, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(org_id)
        .bind(name)
        .bind(app_key)
        .bind(secret_sealed)
        .bind(created_by)
        .bind(ts(tongshu_core::now()))
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("app key {app_key} exists")))?;
        app_from(&r)
    }

    pub async fn exchange_app_by_key(&self, app_key: &str) -> Result<Option<AppRecord>> {
        let r = sqlx::query("SELECT * FROM exchange_apps WHERE app_key = $1")
            .bind(app_key)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref().map(app_from).transpose()
    }

    pub async fn exchange_app(&self, id: i64) -> Result<AppRecord> {
        let r = sqlx::query("SELECT * FROM exchange_apps WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("app {id}")))?;
        app_from(&r)
    }

    pub async fn exchange_apps_of(&self, org_id: i64) -> Result<Vec<AppRecord>> {
        let rows = sqlx::query("SELECT * FROM exchange_apps WHERE org_id = $1 ORDER BY id")
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(app_from).collect()
    }

    /// Sets an app's quotas (`None`: the platform default).
    pub async fn set_app_quota(&self, id: i64, per_minute: Option<i64>, per_day: Option<i64>) -> Result<()> {
        let r = sqlx::query("UPDATE exchange_apps SET per_minute = $1, per_day = $2 WHERE id = $3")
            .bind(per_minute)
            .bind(per_day)
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("app {id}")));
        }
        Ok(())
    }

    pub async fn revoke_exchange_app(&self, id: i64) -> Result<()> {
        sqlx::query("UPDATE exchange_apps SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(ts(tongshu_core::now()))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets nonces older than `before` (their timestamps are refused as stale anyway).
    pub async fn prune_nonces(&self, before: time::OffsetDateTime) -> Result<u64> {
        let r = sqlx::query("DELETE FROM exchange_nonces WHERE at < $1").bind(ts(before)).execute(&self.pool).await?;
        Ok(r.rows_affected())
    }

    /// Files a request and its evidence record together.
    pub async fn insert_share_request(&self, req: &NewShareRequest, evidence: EvidenceFields) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO share_requests (entry_id, provider_org_id, consumer_org_id, user_id, app_id, purpose,
                 legal_basis, items, row_filter, valid_from, valid_to, consuming_system, status, due_on, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13, $14) RETURNING id",
        )
        .bind(req.entry_id)
        .bind(req.provider_org_id)
        .bind(req.consumer_org_id)
        .bind(req.user_id)
        .bind(req.app_id)
        .bind(&req.purpose)
        .bind(&req.legal_basis)
        .bind(json_text(&req.items)?)
        .bind(scope_text(&req.row_filter)?)
        .bind(ts(req.valid_from))
        .bind(ts(req.valid_to))
        .bind(&req.consuming_system)
        .bind(&req.due_on)
        .bind(ts(tongshu_core::now()))
        .fetch_one(&mut *tx)
        .await?;
        let evidence = EvidenceFields { subject: format!("request:{id}"), ..evidence };
        append(&mut tx, &evidence).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn share_request(&self, id: i64) -> Result<ShareRequest> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!("{REQUEST_SELECT} WHERE r.id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("share request {id}")))?;
        request_from(&r)
    }

    pub async fn share_requests(&self, f: &RequestFilter) -> Result<Vec<ShareRequest>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{REQUEST_SELECT} WHERE ($1 IS NULL OR r.provider_org_id = $1) AND ($2 IS NULL OR r.consumer_org_id = $2)
               AND ($3 IS NULL OR r.status = $3) AND ($4 IS NULL OR (r.status = 'pending' AND r.due_on < $4))
             ORDER BY r.id DESC LIMIT 500"
        )))
        .bind(f.provider_org_id)
        .bind(f.consumer_org_id)
        .bind(f.status.map(RequestStatus::as_str))
        .bind(f.due_before.as_deref())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(request_from).collect()
    }

    /// Answers a pending request: refused (`grant = None`) or granted with `grant`, the grant
    /// and both evidence records in one transaction. A request that is no longer pending is a
    /// conflict, so two officers cannot both answer it.
    pub async fn answer_share_request(
        &self,
        id: i64,
        by: i64,
        answer: &str,
        on_time: bool,
        grant: Option<&NewGrant>,
        evidence: EvidenceFields,
    ) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let grant_id = match grant {
            Some(g) => Some(insert_grant(&mut tx, g, Some(by)).await?),
            None => None,
        };
        let r = sqlx::query(
            "UPDATE share_requests SET status = $1, answer = $2, answered_by = $3, answered_at = $4, on_time = $5,
                 grant_id = $6 WHERE id = $7 AND status = 'pending'",
        )
        .bind(if grant.is_some() { "granted" } else { "refused" })
        .bind(answer)
        .bind(by)
        .bind(ts(tongshu_core::now()))
        .bind(i64::from(on_time))
        .bind(grant_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("share request {id} is not pending")));
        }
        append(&mut tx, &evidence).await?;
        tx.commit().await?;
        Ok(grant_id)
    }

    /// Notes that the provider was reminded of, or the platform told about, a due request.
    pub async fn mark_request(&self, id: i64, escalated: bool) -> Result<()> {
        let col = if escalated { "escalated_at" } else { "reminded_at" };
        sqlx::query(sqlx::AssertSqlSafe(format!("UPDATE share_requests SET {col} = $1 WHERE id = $2")))
            .bind(ts(tongshu_core::now()))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes a grant without a request (unconditional sharing, or an administrator's grant).
    pub async fn create_grant(&self, g: &NewGrant, by: Option<i64>, evidence: EvidenceFields) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let id = insert_grant(&mut tx, g, by).await?;
        append(&mut tx, &EvidenceFields { subject: format!("grant:{id}"), ..evidence }).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn grant(&self, id: i64) -> Result<GrantRecord> {
        let r = sqlx::query("SELECT * FROM grants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("grant {id}")))?;
        grant_from(&r)
    }

    /// Active grants of `consumer_org_id` on `entry_id` (any validity window).
    pub async fn grants_for(&self, consumer_org_id: i64, entry_id: i64) -> Result<Vec<GrantRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM grants WHERE consumer_org_id = $1 AND entry_id = $2 AND status = 'active' ORDER BY id",
        )
        .bind(consumer_org_id)
        .bind(entry_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(grant_from).collect()
    }

    /// Grants held by a consumer organization, or given on a provider's entries.
    pub async fn grants_list(
        &self,
        consumer_org_id: Option<i64>,
        provider_org_id: Option<i64>,
    ) -> Result<Vec<GrantRecord>> {
        let rows = sqlx::query(
            "SELECT g.* FROM grants g JOIN catalog_entries e ON e.id = g.entry_id
             WHERE ($1 IS NULL OR g.consumer_org_id = $1) AND ($2 IS NULL OR e.org_id = $2) ORDER BY g.id DESC LIMIT 500",
        )
        .bind(consumer_org_id)
        .bind(provider_org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(grant_from).collect()
    }

    /// Changes a grant (revoke, renew, narrow): the new values, a history record and the
    /// evidence record commit together. A revoked grant stays revoked.
    pub async fn change_grant(
        &self,
        id: i64,
        by: i64,
        action: &str,
        new: &GrantRecord,
        evidence: EvidenceFields,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE grants SET items = $1, clear_items = $2, row_filter = $3, valid_from = $4, valid_to = $5,
                 status = $6, updated_at = $7, verify_items = $9 WHERE id = $8 AND status = 'active'",
        )
        .bind(json_text(&new.items)?)
        .bind(json_text(&new.clear_items)?)
        .bind(scope_text(&new.row_filter)?)
        .bind(ts(new.valid_from))
        .bind(ts(new.valid_to))
        .bind(new.status.as_str())
        .bind(ts(tongshu_core::now()))
        .bind(id)
        .bind(new.verify_items.as_ref().map(json_text).transpose()?)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("grant {id} is revoked")));
        }
        let detail = serde_json::json!({"items": new.items, "clear_items": new.clear_items, "row_filter": new.row_filter,
            "valid_from": ts(new.valid_from), "valid_to": ts(new.valid_to), "status": new.status});
        record_change(&mut tx, id, Some(by), action, &detail.to_string()).await?;
        append(&mut tx, &evidence).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn grant_history(&self, id: i64) -> Result<Vec<GrantChange>> {
        let rows = sqlx::query("SELECT at, user_id, action, detail FROM grant_history WHERE grant_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(GrantChange {
                    at: parse_ts(&r.try_get::<String, _>("at")?)?,
                    user_id: r.try_get("user_id")?,
                    action: r.try_get("action")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
