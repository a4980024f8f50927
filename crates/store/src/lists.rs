//! The three lists of the sharing work (demand, responsibility, negative) and objections to
//! shared data. Who may change what is decided by the exchange crate; status changes here
//! are conditional on the status they come from, so two answers cannot both win.

use serde::Serialize;

use crate::{MetaStore, Result, StoreError, conflict_on_unique, ts};

/// A department's need on the demand list.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Demand {
    pub id: i64,
    pub org_id: i64,
    pub user_id: i64,
    pub title: String,
    pub description: String,
    /// open | assigned | matched | explained
    pub status: String,
    pub provider_org_id: Option<i64>,
    pub entry_id: Option<i64>,
    pub answer: Option<String>,
    pub request_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

/// A duty on the responsibility list.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Responsibility {
    pub id: i64,
    pub org_id: i64,
    pub title: String,
    pub description: String,
    pub due_on: String,
    pub entry_id: Option<i64>,
    pub created_by: i64,
    pub created_at: String,
}

/// An objection to a shared table's data.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Objection {
    pub id: i64,
    pub table_name: String,
    pub entry_id: i64,
    pub provider_org_id: i64,
    pub org_id: i64,
    pub user_id: i64,
    pub record: String,
    pub item: Option<String>,
    pub expected: Option<String>,
    pub evidence: String,
    /// open | corrected | rejected
    pub status: String,
    pub due_on: String,
    pub answer: Option<String>,
    pub answered_by: Option<i64>,
    pub answered_at: Option<String>,
    pub fixed_version: Option<i64>,
    pub on_time: Option<i64>,
    pub created_at: String,
}

/// An objection to file.
#[derive(Debug, Clone)]
pub struct NewObjection {
    pub table_name: String,
    pub entry_id: i64,
    pub provider_org_id: i64,
    pub org_id: i64,
    pub user_id: i64,
    pub record: String,
    pub item: Option<String>,
    pub expected: Option<String>,
    pub evidence: String,
    pub due_on: String,
}

fn now() -> String {
    ts(tongshu_core::now())
}

impl MetaStore {
    pub async fn insert_demand(&self, org_id: i64, user_id: i64, title: &str, description: &str) -> Result<Demand> {
        Ok(sqlx::query_as(
            "INSERT INTO demands (org_id, user_id, title, description, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'open', $5, $5) RETURNING *",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(title)
        .bind(description)
        .bind(now())
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn demand(&self, id: i64) -> Result<Demand> {
        sqlx::query_as("SELECT * FROM demands WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("demand {id}")))
    }

    /// Every demand, newest first.
    pub async fn demands(&self) -> Result<Vec<Demand>> {
        Ok(sqlx::query_as("SELECT * FROM demands ORDER BY id DESC LIMIT 1000").fetch_all(&self.pool).await?)
    }

    /// Moves a demand from one of `from` to `to`, setting the given fields.
    #[allow(clippy::too_many_arguments)]
    pub async fn update_demand(
        &self,
        id: i64,
        from: &[&str],
        to: &str,
        provider_org_id: Option<i64>,
        entry_id: Option<i64>,
        answer: Option<&str>,
        request_id: Option<i64>,
    ) -> Result<Demand> {
        let allowed = from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE demands SET status = $1, provider_org_id = COALESCE($2, provider_org_id),
                 entry_id = COALESCE($3, entry_id), answer = COALESCE($4, answer),
                 request_id = COALESCE($5, request_id), updated_at = $6
             WHERE id = $7 AND status IN ({allowed})"
        )))
        .bind(to)
        .bind(provider_org_id)
        .bind(entry_id)
        .bind(answer)
        .bind(request_id)
        .bind(now())
        .bind(id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("demand {id} is not {}", from.join(" or "))));
        }
        self.demand(id).await
    }

    pub async fn insert_responsibility(
        &self,
        org_id: i64,
        title: &str,
        description: &str,
        due_on: &str,
        entry_id: Option<i64>,
        created_by: i64,
    ) -> Result<Responsibility> {
        Ok(sqlx::query_as(
            "INSERT INTO responsibilities (org_id, title, description, due_on, entry_id, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(org_id)
        .bind(title)
        .bind(description)
        .bind(due_on)
        .bind(entry_id)
        .bind(created_by)
        .bind(now())
        .fetch_one(&self.pool)
        .await?)
    }

    /// Links a duty to the entry that fulfils it.
    pub async fn set_responsibility_entry(&self, id: i64, entry_id: i64) -> Result<()> {
        let r = sqlx::query("UPDATE responsibilities SET entry_id = $1 WHERE id = $2")
            .bind(entry_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("responsibility {id}")));
        }
        Ok(())
    }

    pub async fn responsibilities(&self) -> Result<Vec<Responsibility>> {
        Ok(sqlx::query_as("SELECT * FROM responsibilities ORDER BY due_on, id").fetch_all(&self.pool).await?)
    }

    pub async fn put_negative(&self, entry_id: i64, legal_basis: &str, by: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO negative_list (entry_id, legal_basis, created_by, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(entry_id)
        .bind(legal_basis)
        .bind(by)
        .bind(now())
        .execute(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("entry {entry_id} is on the negative list already")))?;
        Ok(())
    }

    pub async fn remove_negative(&self, entry_id: i64) -> Result<bool> {
        let r = sqlx::query("DELETE FROM negative_list WHERE entry_id = $1").bind(entry_id).execute(&self.pool).await?;
        Ok(r.rows_affected() == 1)
    }

    /// The negative list: `(entry id, legal basis)`.
    pub async fn negative_list(&self) -> Result<Vec<(i64, String)>> {
        Ok(sqlx::query_as("SELECT entry_id, legal_basis FROM negative_list ORDER BY entry_id")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn negative_basis(&self, entry_id: i64) -> Result<Option<String>> {
        let r: Option<(String,)> = sqlx::query_as("SELECT legal_basis FROM negative_list WHERE entry_id = $1")
            .bind(entry_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|(b,)| b))
    }

    pub async fn insert_objection(&self, o: &NewObjection) -> Result<Objection> {
        Ok(sqlx::query_as(
            "INSERT INTO objections (table_name, entry_id, provider_org_id, org_id, user_id, record, item, expected,
                 evidence, status, due_on, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11) RETURNING *",
        )
        .bind(&o.table_name)
        .bind(o.entry_id)
        .bind(o.provider_org_id)
        .bind(o.org_id)
        .bind(o.user_id)
        .bind(&o.record)
        .bind(&o.item)
        .bind(&o.expected)
        .bind(&o.evidence)
        .bind(&o.due_on)
        .bind(now())
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn objection(&self, id: i64) -> Result<Objection> {
        sqlx::query_as("SELECT * FROM objections WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("objection {id}")))
    }

    /// Objections raised by or addressed to `org_id` (all with `None`), newest first.
    pub async fn objections(&self, org_id: Option<i64>) -> Result<Vec<Objection>> {
        Ok(sqlx::query_as(
            "SELECT * FROM objections WHERE ($1 IS NULL OR org_id = $1 OR provider_org_id = $1) ORDER BY id DESC LIMIT 1000",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Open objections against a table.
    pub async fn open_objections(&self, table: &str) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM objections WHERE table_name = $1 AND status = 'open'")
            .bind(table)
            .fetch_one(&self.pool)
            .await?;
        Ok(n)
    }

    /// Answers an open objection: corrected (with the fixing version) or rejected.
    pub async fn answer_objection(
        &self,
        id: i64,
        status: &str,
        answer: &str,
        by: i64,
        fixed_version: Option<i64>,
        on_time: bool,
    ) -> Result<Objection> {
        let r = sqlx::query(
            "UPDATE objections SET status = $1, answer = $2, answered_by = $3, answered_at = $4, fixed_version = $5,
                 on_time = $6 WHERE id = $7 AND status = 'open'",
        )
        .bind(status)
        .bind(answer)
        .bind(by)
        .bind(now())
        .bind(fixed_version)
        .bind(i64::from(on_time))
        .bind(id)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("objection {id} is answered already")));
        }
        self.objection(id).await
    }
}

/// A custom interface: a read-only SQL view over library tables.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct CustomView {
    pub name: String,
    pub entry_id: i64,
    pub sql: String,
    pub description: String,
    pub created_by: i64,
    pub created_at: String,
}

impl MetaStore {
    pub async fn insert_view(
        &self,
        name: &str,
        entry_id: i64,
        sql: &str,
        description: &str,
        by: i64,
    ) -> Result<CustomView> {
        sqlx::query_as(
            "INSERT INTO custom_views (name, entry_id, sql, description, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
        )
        .bind(name)
        .bind(entry_id)
        .bind(sql)
        .bind(description)
        .bind(by)
        .bind(now())
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("interface {name} exists")))
    }

    pub async fn view(&self, name: &str) -> Result<Option<CustomView>> {
        Ok(sqlx::query_as("SELECT * FROM custom_views WHERE name = $1").bind(name).fetch_optional(&self.pool).await?)
    }

    pub async fn views(&self) -> Result<Vec<CustomView>> {
        Ok(sqlx::query_as("SELECT * FROM custom_views ORDER BY name").fetch_all(&self.pool).await?)
    }
}
