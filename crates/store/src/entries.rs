//! Catalog entries and their history. Every change of an entry and its history record are
//! written in one transaction, so history is never missing a step.

use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tongshu_core::catalog::{CatalogEntry, EntryStatus, FieldChange, HistoryRecord, ResourceCode, ValidEntry, diff};

use crate::{MetaStore, Result, StoreError, parse_ts, ts};

/// Which entries to list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct EntryFilter {
    pub statuses: Vec<EntryStatus>,
    pub org_id: Option<i64>,
    /// The provider by its slug (`gaj`), as the CLI and CKAN name organizations.
    pub org_slug: Option<String>,
    pub district_code: Option<String>,
    /// Classification prefix: `3`, `3 01` or `3 01 001`.
    pub classification: Option<String>,
    pub sharing_type: Option<String>,
    pub open_type: Option<String>,
    pub format: Option<String>,
    /// Only entries the public may see (open unconditionally or conditionally).
    pub public_only: bool,
    /// Substring of the name or code.
    pub text: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// One page of entries and how many match in all.
#[derive(Debug, Clone)]
pub struct EntryPage {
    pub entries: Vec<CatalogEntry>,
    pub total: i64,
}

/// A dimension along which listed entries are counted for browsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Organization,
    District,
    Class,
}

const COLUMNS: &str = "e.id, e.code, e.status, e.org_id, o.name AS org_name, o.credit_code AS org_credit_code,
    e.district_code, e.body, e.review_comment, e.created_by, e.created_at, e.updated_at, e.listed_at";
const FROM: &str = "FROM catalog_entries e JOIN organizations o ON o.id = e.org_id";

fn entry_from_row(r: &AnyRow) -> Result<CatalogEntry> {
    let code: String = r.try_get("code")?;
    let status: String = r.try_get("status")?;
    let body: String = r.try_get("body")?;
    let id: i64 = r.try_get("id")?;
    Ok(CatalogEntry {
        id,
        code: ResourceCode::parse(&code).map_err(|e| StoreError::Corrupt(format!("code {code:?}: {e}")))?,
        status: EntryStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("status {status:?}")))?,
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("org_name")?,
        org_credit_code: r.try_get("org_credit_code")?,
        district_code: r.try_get("district_code")?,
        body: serde_json::from_str(&body).map_err(|e| StoreError::Corrupt(format!("entry {id} body: {e}")))?,
        review_comment: r.try_get("review_comment")?,
        created_by: r.try_get("created_by")?,
        created_at: parse_ts(&r.try_get::<String, _>("created_at")?)?,
        updated_at: parse_ts(&r.try_get::<String, _>("updated_at")?)?,
        listed_at: r.try_get::<Option<String>, _>("listed_at")?.as_deref().map(parse_ts).transpose()?,
    })
}

/// A history step to record with a change.
struct Step<'a> {
    entry_id: i64,
    user_id: i64,
    action: &'a str,
    from: Option<EntryStatus>,
    to: EntryStatus,
    comment: Option<&'a str>,
    changes: Vec<FieldChange>,
}

async fn record(tx: &mut Transaction<'_, Any>, s: Step<'_>) -> Result<()> {
    let changes = serde_json::to_string(&s.changes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO entry_history (entry_id, at, user_id, action, from_status, to_status, comment, changes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(s.entry_id)
    .bind(ts(tongshu_core::now()))
    .bind(s.user_id)
    .bind(s.action)
    .bind(s.from.map(|f| f.as_str()))
    .bind(s.to.as_str())
    .bind(s.comment)
    .bind(changes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn name_taken(tx: &mut Transaction<'_, Any>, org_id: i64, name: &str, except: i64) -> Result<()> {
    let hit: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM catalog_entries WHERE org_id = $1 AND name = $2 AND id <> $3")
            .bind(org_id)
            .bind(name)
            .bind(except)
            .fetch_optional(&mut **tx)
            .await?;
    match hit {
        Some(_) => Err(StoreError::Conflict(format!("this organization already has an entry named {name:?}"))),
        None => Ok(()),
    }
}

/// The sequence number for a new code in `class_code`: `wanted` if free, else the next one.
async fn allocate(tx: &mut Transaction<'_, Any>, class_code: &str, wanted: Option<u32>) -> Result<i64> {
    if let Some(seq) = wanted {
        let hit: Option<(i64,)> = sqlx::query_as("SELECT id FROM catalog_entries WHERE class_code = $1 AND seq = $2")
            .bind(class_code)
            .bind(i64::from(seq))
            .fetch_optional(&mut **tx)
            .await?;
        if hit.is_some() {
            let code = format!("{class_code}/{seq:06}");
            return Err(StoreError::Conflict(format!("resource code {code:?} is already taken")));
        }
        return Ok(i64::from(seq));
    }
    let (next,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) + 1 FROM catalog_entries WHERE class_code = $1")
        .bind(class_code)
        .fetch_one(&mut **tx)
        .await?;
    Ok(next)
}

/// Binds the columns copied out of the body for filtering, in their fixed order: name,
/// class, format, sharing type, open type, update cycle, grading.
fn bind_searchable<'q, Q: Bindable<'q>>(q: Q, body: &'q ValidEntry) -> Q {
    q.bind_str(&body.name)
        .bind_str(&body.classification.class)
        .bind_str(body.format.as_str())
        .bind_str(body.sharing.kind.as_str())
        .bind_str(body.open.kind.as_str())
        .bind_str(body.update_cycle.as_str())
        .bind_str(body.grading.as_str())
}

/// `query` and `query_as` both take binds; this lets one helper serve both.
trait Bindable<'q> {
    fn bind_str(self, v: &'q str) -> Self;
}

impl<'q> Bindable<'q> for sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
    fn bind_str(self, v: &'q str) -> Self {
        self.bind(v)
    }
}

impl<'q, O> Bindable<'q> for sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments> {
    fn bind_str(self, v: &'q str) -> Self {
        self.bind(v)
    }
}

fn body_json(body: &ValidEntry) -> Result<String> {
    serde_json::to_string(body).map_err(|e| StoreError::Corrupt(e.to_string()))
}

impl MetaStore {
    /// Stores a new draft entry of `org_id`, giving it the next resource code in its
    /// classification (or `sequence` when the caller brings an existing code).
    pub async fn insert_entry(
        &self,
        org_id: i64,
        district_code: &str,
        user_id: i64,
        body: &ValidEntry,
        sequence: Option<u32>,
    ) -> Result<CatalogEntry> {
        let class_code = body.classification.code();
        // Concurrent writers on PostgreSQL may pick the same next number; the unique index
        // refuses the second, which then tries again.
        for _attempt in 0..5 {
            let mut tx = self.pool.begin().await?;
            name_taken(&mut tx, org_id, &body.name, -1).await?;
            let seq = allocate(&mut tx, &class_code, sequence).await?;
            let code = format!("{class_code}/{seq:06}");
            let now = ts(tongshu_core::now());
            let insert = sqlx::query_as(
                "INSERT INTO catalog_entries (code, class_code, seq, org_id, status, name, class, format, sharing_type,
                   open_type, update_cycle, grading, district_code, body, created_by, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
            )
            .bind(&code)
            .bind(&class_code)
            .bind(seq)
            .bind(org_id)
            .bind(EntryStatus::Draft.as_str());
            let inserted: std::result::Result<(i64,), sqlx::Error> = bind_searchable(insert, body)
                .bind(district_code)
                .bind(body_json(body)?)
                .bind(user_id)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await;
            let id = match inserted {
                Ok((id,)) => id,
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() && sequence.is_none() => {
                    continue;
                }
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    return Err(StoreError::Conflict(format!("resource code {code:?} is already taken")));
                }
                Err(e) => return Err(e.into()),
            };
            let step = Step {
                entry_id: id,
                user_id,
                action: "create",
                from: None,
                to: EntryStatus::Draft,
                comment: None,
                changes: diff(None, body),
            };
            record(&mut tx, step).await?;
            tx.commit().await?;
            return self.get_entry(id).await;
        }
        Err(StoreError::Conflict("could not allocate a resource code, try again".into()))
    }

    /// Replaces the content of an entry that is in status `expected`, moving it to `to`.
    /// A changed classification gives the entry a new code. Fails with a conflict when the
    /// entry left `expected` meanwhile.
    pub async fn update_entry(
        &self,
        id: i64,
        user_id: i64,
        expected: EntryStatus,
        to: EntryStatus,
        body: &ValidEntry,
    ) -> Result<CatalogEntry> {
        let before = self.get_entry(id).await?;
        let mut tx = self.pool.begin().await?;
        name_taken(&mut tx, before.org_id, &body.name, id).await?;
        let class_code = body.classification.code();
        let (code, seq) = if class_code == before.body.classification.code() {
            (before.code.to_string(), None)
        } else {
            let seq = allocate(&mut tx, &class_code, None).await?;
            (format!("{class_code}/{seq:06}"), Some(seq))
        };
        let now = ts(tongshu_core::now());
        let update = sqlx::query(
            "UPDATE catalog_entries SET code = $1, class_code = $2, seq = COALESCE($3, seq), status = $4, name = $5,
               class = $6, format = $7, sharing_type = $8, open_type = $9, update_cycle = $10, grading = $11,
               body = $12, updated_at = $13
             WHERE id = $14 AND status = $15",
        )
        .bind(&code)
        .bind(&class_code)
        .bind(seq)
        .bind(to.as_str());
        let r = bind_searchable(update, body)
            .bind(body_json(body)?)
            .bind(&now)
            .bind(id)
            .bind(expected.as_str())
            .execute(&mut *tx)
            .await
            .map_err(crate::conflict_on_unique(|| format!("resource code {code:?} is already taken")))?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("entry {id} is no longer {}", expected.label())));
        }
        let mut changes = diff(Some(&before.body), body);
        if code != before.code.as_str() {
            changes.push(FieldChange {
                field: "code".into(),
                before: before.code.to_string().into(),
                after: code.clone().into(),
            });
        }
        let step = Step { entry_id: id, user_id, action: "edit", from: Some(expected), to, comment: None, changes };
        record(&mut tx, step).await?;
        tx.commit().await?;
        self.get_entry(id).await
    }

    /// Moves an entry from `from` to `to` (submit, approve, return, delist), recording
    /// `action` and `comment`. Fails with a conflict when the entry is not in `from`.
    pub async fn transition_entry(
        &self,
        id: i64,
        user_id: i64,
        action: &str,
        from: EntryStatus,
        to: EntryStatus,
        comment: Option<&str>,
    ) -> Result<CatalogEntry> {
        let now = tongshu_core::now();
        let mut tx = self.pool.begin().await?;
        let (listed_at, publish_date) =
            if to == EntryStatus::Listed { (Some(ts(now)), Some(now.date())) } else { (None, None) };
        let r = sqlx::query(
            "UPDATE catalog_entries SET status = $1, review_comment = $2, updated_at = $3,
               listed_at = COALESCE($4, listed_at)
             WHERE id = $5 AND status = $6",
        )
        .bind(to.as_str())
        .bind(comment)
        .bind(ts(now))
        .bind(listed_at)
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            let exists: Option<(String,)> = sqlx::query_as("SELECT status FROM catalog_entries WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            return Err(match exists {
                None => StoreError::NotFound(format!("catalog entry {id}")),
                Some(_) => StoreError::Conflict(format!("entry {id} is not {}", from.label())),
            });
        }
        let mut changes = Vec::new();
        // The publish date (发布日期) is the day of first listing unless the author set one.
        if let Some(day) = publish_date {
            let row =
                sqlx::query("SELECT body FROM catalog_entries WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
            let mut body: ValidEntry = serde_json::from_str(&row.try_get::<String, _>("body")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if body.publish_date.is_none() {
                let before = body.clone();
                body.publish_date = Some(day);
                changes = diff(Some(&before), &body);
                sqlx::query("UPDATE catalog_entries SET body = $1 WHERE id = $2")
                    .bind(body_json(&body)?)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        record(&mut tx, Step { entry_id: id, user_id, action, from: Some(from), to, comment, changes }).await?;
        tx.commit().await?;
        self.get_entry(id).await
    }

    pub async fn get_entry(&self, id: i64) -> Result<CatalogEntry> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} {FROM} WHERE e.id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("catalog entry {id}")))?;
        entry_from_row(&row)
    }

    pub async fn get_entry_by_code(&self, code: &ResourceCode) -> Result<CatalogEntry> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} {FROM} WHERE e.code = $1")))
            .bind(code.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("catalog entry {code}")))?;
        entry_from_row(&row)
    }

    /// A page of entries matching `f`, newest change first, and the total count.
    pub async fn list_entries(&self, f: &EntryFilter) -> Result<EntryPage> {
        let mut clauses: Vec<String> = Vec::new();
        let mut args: Vec<String> = Vec::new();
        let mut arg = |v: String| {
            args.push(v);
            format!("${}", args.len())
        };
        if !f.statuses.is_empty() {
            let ps: Vec<String> = f.statuses.iter().map(|s| arg(s.as_str().to_owned())).collect();
            clauses.push(format!("e.status IN ({})", ps.join(", ")));
        }
        if let Some(org) = f.org_id {
            clauses.push(format!("CAST(e.org_id AS TEXT) = {}", arg(org.to_string())));
        }
        if let Some(slug) = &f.org_slug {
            clauses.push(format!("e.org_id = (SELECT id FROM organizations WHERE slug = {})", arg(slug.clone())));
        }
        if let Some(d) = &f.district_code {
            clauses.push(format!("e.district_code = {}", arg(d.clone())));
        }
        if let Some(c) = &f.classification {
            clauses.push(format!("e.class_code LIKE {}", arg(format!("{}%", escape_like(c.trim())))));
        }
        if let Some(s) = &f.sharing_type {
            clauses.push(format!("e.sharing_type = {}", arg(s.clone())));
        }
        if let Some(s) = &f.open_type {
            clauses.push(format!("e.open_type = {}", arg(s.clone())));
        }
        if f.public_only {
            clauses.push("e.open_type <> 'not_open'".to_owned());
        }
        if let Some(s) = &f.format {
            clauses.push(format!("e.format = {}", arg(s.clone())));
        }
        if let Some(t) = f.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let p = arg(format!("%{}%", escape_like(t)));
            clauses.push(format!("(e.name LIKE {p} ESCAPE '\\' OR e.code LIKE {p} ESCAPE '\\')"));
        }
        let filter = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };

        let count_sql = format!("SELECT COUNT(*) {FROM} {filter}");
        let mut count = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(count_sql.clone()));
        for a in &args {
            count = count.bind(a);
        }
        let (total,) = count.fetch_one(&self.pool).await?;

        let list_sql = format!(
            "SELECT {COLUMNS} {FROM} {filter} ORDER BY e.updated_at DESC, e.id DESC LIMIT {} OFFSET {}",
            f.limit.clamp(1, 1000),
            f.offset.max(0)
        );
        let mut list = sqlx::query(sqlx::AssertSqlSafe(list_sql.clone()));
        for a in &args {
            list = list.bind(a);
        }
        let rows = list.fetch_all(&self.pool).await?;
        let entries = rows.iter().map(entry_from_row).collect::<Result<_>>()?;
        Ok(EntryPage { entries, total })
    }

    /// How many entries in `status` there are per organization, district or class.
    /// Keys are the organization id, the district code or the class digit. With
    /// `public_only`, only entries the public may see are counted.
    pub async fn entry_counts(
        &self,
        dim: Dimension,
        status: EntryStatus,
        public_only: bool,
    ) -> Result<Vec<(String, i64)>> {
        let key = match dim {
            Dimension::Organization => "CAST(org_id AS TEXT)",
            Dimension::District => "district_code",
            Dimension::Class => "class",
        };
        let rows: Vec<(String, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {key} AS k, COUNT(*) AS n FROM catalog_entries WHERE status = $1 {} GROUP BY {key} ORDER BY n DESC, k",
            if public_only { "AND open_type <> 'not_open'" } else { "" }
        )))
        .bind(status.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// The history of an entry, oldest step first.
    pub async fn entry_history(&self, id: i64) -> Result<Vec<HistoryRecord>> {
        let rows = sqlx::query(
            "SELECT h.id, h.entry_id, h.at, h.user_id, u.username, h.action, h.from_status, h.to_status, h.comment, h.changes
             FROM entry_history h JOIN users u ON u.id = h.user_id WHERE h.entry_id = $1 ORDER BY h.id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let status = |c: &str| -> Result<Option<EntryStatus>> {
                    r.try_get::<Option<String>, _>(c)?
                        .map(|s| EntryStatus::parse(&s).ok_or_else(|| StoreError::Corrupt(format!("status {s:?}"))))
                        .transpose()
                };
                let changes: String = r.try_get("changes")?;
                Ok(HistoryRecord {
                    id: r.try_get("id")?,
                    entry_id: r.try_get("entry_id")?,
                    at: parse_ts(&r.try_get::<String, _>("at")?)?,
                    user_id: r.try_get("user_id")?,
                    username: r.try_get("username")?,
                    action: r.try_get("action")?,
                    from_status: status("from_status")?,
                    to_status: status("to_status")?
                        .ok_or_else(|| StoreError::Corrupt("history without status".into()))?,
                    comment: r.try_get("comment")?,
                    changes: serde_json::from_str(&changes).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
