//! Organizations.

use sqlx::Row;
use sqlx::any::AnyRow;
use tongshu_core::org::{OrgKind, Organization};

use crate::{MetaStore, Result, StoreError, conflict_on_unique, ts};

const COLUMNS: &str = "id, parent_id, kind, name, slug, district_code, credit_code";

fn from_row(r: &AnyRow) -> Result<Organization> {
    let kind: String = r.try_get("kind")?;
    Ok(Organization {
        id: r.try_get("id")?,
        parent_id: r.try_get("parent_id")?,
        kind: OrgKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("organization kind {kind:?}")))?,
        name: r.try_get("name")?,
        slug: r.try_get("slug")?,
        district_code: r.try_get("district_code")?,
        credit_code: r.try_get("credit_code")?,
    })
}

impl MetaStore {
    /// Adds an organization; `org.id` is ignored and the stored one returned.
    pub async fn insert_org(&self, org: &Organization) -> Result<Organization> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO organizations (parent_id, kind, name, slug, district_code, credit_code, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        )))
        .bind(org.parent_id)
        .bind(org.kind.as_str())
        .bind(&org.name)
        .bind(&org.slug)
        .bind(&org.district_code)
        .bind(&org.credit_code)
        .bind(ts(tongshu_core::now()))
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("an organization with slug {:?} already exists", org.slug)))?;
        from_row(&row)
    }

    pub async fn get_org(&self, id: i64) -> Result<Organization> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM organizations WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("organization {id}")))?;
        from_row(&row)
    }

    pub async fn get_org_by_slug(&self, slug: &str) -> Result<Organization> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM organizations WHERE slug = $1")))
            .bind(slug)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("organization {slug:?}")))?;
        from_row(&row)
    }

    /// All organizations, the city first, then by district and name.
    pub async fn list_orgs(&self) -> Result<Vec<Organization>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM organizations ORDER BY CASE kind WHEN 'city' THEN 0 WHEN 'district' THEN 1 ELSE 2 END, district_code, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
