//! The portal's synonym dictionary. What a rule may hold is checked in `tongshu-core`
//! ([`tongshu_core::synonyms::SynonymInput`]); a stored rule that does not decode fails the
//! read rather than being skipped.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use tongshu_core::synonyms::{SEED, SynonymInput};

use crate::{MetaStore, Result, StoreError, ts};

/// A stored synonym rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Synonym {
    pub id: i64,
    pub terms: Vec<String>,
    /// Empty: the terms are equivalent.
    pub targets: Vec<String>,
    /// The rule as a line (`a, b => c`).
    pub line: String,
    /// Who added it (none: the seed).
    pub created_by: Option<i64>,
    pub created_at: String,
}

/// The meta key recording that the seed was added (once, by whichever node got there first).
const SEEDED: &str = "synonyms_seeded";

fn terms_of(r: &AnyRow, column: &str, id: i64) -> Result<Vec<String>> {
    let raw: String = r.try_get(column)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("synonym rule {id}: {column} {raw:?}: {e}")))
}

fn from_row(r: &AnyRow) -> Result<Synonym> {
    let id: i64 = r.try_get("id")?;
    let terms = terms_of(r, "terms", id)?;
    let targets = terms_of(r, "targets", id)?;
    let input = SynonymInput { terms, targets }
        .validate()
        .map_err(|e| StoreError::Corrupt(format!("synonym rule {id}: {e}")))?;
    Ok(Synonym {
        id,
        line: input.to_line(),
        terms: input.terms,
        targets: input.targets,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The insert of one rule (`RETURNING` the row).
fn insert(rule: &SynonymInput, by: Option<i64>) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO synonyms (terms, targets, created_by, created_at) VALUES ($1, $2, $3, $4)
         RETURNING id, terms, targets, created_by, created_at",
    )
    .bind(json(&rule.terms))
    .bind(json(&rule.targets))
    .bind(by)
    .bind(ts(tongshu_core::now()))
}

impl MetaStore {
    /// Every synonym rule, oldest first.
    pub async fn synonyms(&self) -> Result<Vec<Synonym>> {
        let rows = sqlx::query("SELECT id, terms, targets, created_by, created_at FROM synonyms ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Adds a rule (validated by the caller).
    pub async fn add_synonym(&self, rule: &SynonymInput, by: Option<i64>) -> Result<Synonym> {
        from_row(&insert(rule, by).fetch_one(&self.pool).await?)
    }

    /// Removes a rule.
    pub async fn remove_synonym(&self, id: i64) -> Result<()> {
        let done = sqlx::query("DELETE FROM synonyms WHERE id = $1").bind(id).execute(&self.pool).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("synonym rule {id}")));
        }
        Ok(())
    }

    /// Adds the seed dictionary the first time any node starts on this store; never again,
    /// so rules an administrator removed stay removed.
    pub(crate) async fn seed_synonyms_once(&self) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
            .bind(SEEDED)
            .bind(ts(tongshu_core::now()))
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() == 1 {
            for line in SEED {
                let rule = SynonymInput::parse(line)
                    .map_err(|e| StoreError::Corrupt(format!("seed synonym {line:?}: {e}")))?;
                insert(&rule, None).fetch_one(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
