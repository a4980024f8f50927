//! IT projects (issue 16): the project record and its stage, every step in its history,
//! the catalog entries it will produce, documents, expert reviews, milestones with their
//! earlier baselines, payments, risk ratings, and post-evaluation rounds. A stage changes
//! only conditionally on the stage it comes from, with its history record in the same
//! transaction; stored stages, lists and checklists that do not decode are errors.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;
use tongshu_core::projects::Stage;

use crate::{MetaStore, Result, StoreError, conflict_on_unique, ts};

fn now() -> String {
    ts(tongshu_core::now())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// A project as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectRecord {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub org_id: i64,
    pub year: i64,
    pub purpose: String,
    /// Yuan.
    pub budget: i64,
    pub funding_source: String,
    /// Names of the systems it will build, and inventory systems it will reuse.
    pub builds: Vec<String>,
    pub reuses: Vec<i64>,
    pub stage: Stage,
    pub stage_due: Option<String>,
    /// Catalog entries it will consume; `None`: not yet declared.
    pub consumes: Option<Vec<i64>>,
    pub consumes_reason: String,
    pub reuse_reason: String,
    pub checklist: BTreeMap<String, bool>,
    pub decommission: BTreeMap<String, bool>,
    pub accepted_at: Option<String>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

const PROJECT: &str = "id, code, name, org_id, year, purpose, budget, funding_source, builds, reuses, stage, stage_due, consumes, \
                       consumes_reason, reuse_reason, checklist, decommission, accepted_at, created_by, created_at, updated_at";

fn project_of(r: &AnyRow) -> Result<ProjectRecord> {
    let code: String = r.try_get("code")?;
    let stage: String = r.try_get("stage")?;
    let what = format!("project {code}");
    let consumes: Option<String> = r.try_get("consumes")?;
    Ok(ProjectRecord {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        org_id: r.try_get("org_id")?,
        year: r.try_get("year")?,
        purpose: r.try_get("purpose")?,
        budget: r.try_get("budget")?,
        funding_source: r.try_get("funding_source")?,
        builds: serde_json::from_str(&r.try_get::<String, _>("builds")?).map_err(|e| corrupt(&what, e))?,
        reuses: serde_json::from_str(&r.try_get::<String, _>("reuses")?).map_err(|e| corrupt(&what, e))?,
        stage: Stage::parse(&stage).ok_or_else(|| corrupt(&what, format!("stage {stage:?}")))?,
        stage_due: r.try_get("stage_due")?,
        consumes: consumes.map(|c| serde_json::from_str(&c).map_err(|e| corrupt(&what, e))).transpose()?,
        consumes_reason: r.try_get("consumes_reason")?,
        reuse_reason: r.try_get("reuse_reason")?,
        checklist: serde_json::from_str(&r.try_get::<String, _>("checklist")?).map_err(|e| corrupt(&what, e))?,
        decommission: serde_json::from_str(&r.try_get::<String, _>("decommission")?).map_err(|e| corrupt(&what, e))?,
        accepted_at: r.try_get("accepted_at")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        code,
    })
}

/// A proposal to record.
#[derive(Debug, Clone)]
pub struct NewProject {
    pub code: String,
    pub name: String,
    pub org_id: i64,
    pub year: i64,
    pub purpose: String,
    pub budget: i64,
    pub funding_source: String,
    pub builds: Vec<String>,
    pub reuses: Vec<i64>,
    pub created_by: String,
}

/// One step in a project's history.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ProjectEvent {
    pub id: i64,
    pub project_id: i64,
    pub action: String,
    pub from_stage: Option<String>,
    pub to_stage: String,
    pub actor: String,
    pub comment: String,
    pub at: String,
}

/// A document attached to a project.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ProjectDocument {
    pub id: i64,
    pub project_id: i64,
    pub stage: String,
    pub kind: String,
    pub file_name: String,
    pub sm3: String,
    pub bytes: i64,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

/// An expert's review of a project.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct ProjectReview {
    pub project_id: i64,
    pub expert_id: i64,
    pub score: Option<f64>,
    /// JSON: the review sheet's item scores.
    pub sheet: Option<String>,
    pub comment: String,
    pub scored_at: Option<String>,
}

/// A construction milestone.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Milestone {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub planned_on: String,
    pub forecast_on: Option<String>,
    pub actual_on: Option<String>,
    pub planned_cost: i64,
    pub actual_cost: Option<i64>,
    pub baseline: i64,
    pub updated_at: String,
}

/// A milestone's earlier plan.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Baseline {
    pub id: i64,
    pub milestone_id: i64,
    pub planned_on: String,
    pub planned_cost: i64,
    pub reason: String,
    pub actor: String,
    pub at: String,
}

/// A payment.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Payment {
    pub id: i64,
    pub project_id: i64,
    pub amount: i64,
    pub paid_on: String,
    pub note: String,
    pub actor: String,
}

/// A risk rating, computed or overridden.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RiskRecord {
    pub id: i64,
    pub project_id: i64,
    pub rating: i64,
    pub overridden: i64,
    pub comment: String,
    pub actor: String,
    pub at: String,
}

/// A post-evaluation round.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RoundRecord {
    pub id: i64,
    pub name: String,
    pub year: i64,
    pub tree: String,
    pub matrix: Option<String>,
    pub consistency_ratio: Option<f64>,
    pub created_by: String,
    pub created_at: String,
}

/// One evaluation of a project in a round.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct EvaluationRecord {
    pub id: i64,
    pub round_id: i64,
    pub project_id: i64,
    pub kind: String,
    pub scores: String,
    pub total: f64,
    pub grade: String,
    pub comment: String,
    pub actor: String,
    pub at: String,
}

/// What the platform's records say of an entry's data ([`MetaStore::entry_facts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryFacts {
    pub status: String,
    pub tables: i64,
    pub rows: i64,
    pub grants: i64,
    pub live_grants: i64,
    pub calls: i64,
}

impl MetaStore {
    /// Records a proposal (stage `proposal`) and its first history record, together.
    pub async fn insert_project(&self, p: &NewProject) -> Result<ProjectRecord> {
        let mut tx = self.pool.begin().await?;
        let at = now();
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO projects (code, name, org_id, year, purpose, budget, funding_source, stage, created_by, created_at, updated_at,
                 builds, reuses)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'proposal', $8, $9, $9, $10, $11) RETURNING {PROJECT}"
        )))
        .bind(&p.code)
        .bind(&p.name)
        .bind(p.org_id)
        .bind(p.year)
        .bind(&p.purpose)
        .bind(p.budget)
        .bind(&p.funding_source)
        .bind(&p.created_by)
        .bind(&at)
        .bind(serde_json::to_string(&p.builds).map_err(|e| corrupt("builds", e))?)
        .bind(serde_json::to_string(&p.reuses).map_err(|e| corrupt("reuses", e))?)
        .fetch_one(&mut *tx)
        .await
        .map_err(conflict_on_unique(|| format!("a project coded {:?} already exists", p.code)))?;
        let project = project_of(&row)?;
        sqlx::query(
            "INSERT INTO project_events (project_id, action, from_stage, to_stage, actor, comment, at)
             VALUES ($1, 'create', NULL, 'proposal', $2, '', $3)",
        )
        .bind(project.id)
        .bind(&p.created_by)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(project)
    }

    pub async fn get_project(&self, id: i64) -> Result<ProjectRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {PROJECT} FROM projects WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("project {id}")))?;
        project_of(&row)
    }

    /// Every project (of `org_id` when given), newest first.
    pub async fn list_projects(&self, org_id: Option<i64>) -> Result<Vec<ProjectRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PROJECT} FROM projects WHERE ($1 IS NULL OR org_id = $1) ORDER BY year DESC, id DESC"
        )))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(project_of).collect()
    }

    /// Changes a proposal's fields, only while it is a proposal.
    pub async fn update_proposal(&self, id: i64, p: &NewProject) -> Result<()> {
        let done = sqlx::query(
            "UPDATE projects SET name = $2, purpose = $3, budget = $4, funding_source = $5, updated_at = $6,
                 builds = $7, reuses = $8
             WHERE id = $1 AND stage = 'proposal'",
        )
        .bind(id)
        .bind(&p.name)
        .bind(&p.purpose)
        .bind(p.budget)
        .bind(&p.funding_source)
        .bind(now())
        .bind(serde_json::to_string(&p.builds).map_err(|e| corrupt("builds", e))?)
        .bind(serde_json::to_string(&p.reuses).map_err(|e| corrupt("reuses", e))?)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("project {id} is no longer a proposal")));
        }
        Ok(())
    }

    /// Moves a project from `from` to `to` with its history record, in one transaction,
    /// only if it still stands at `from` (two reviewers cannot both move it).
    #[allow(clippy::too_many_arguments)]
    pub async fn move_project(
        &self,
        id: i64,
        from: Stage,
        to: Stage,
        action: &str,
        actor: &str,
        comment: &str,
        stage_due: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let at = now();
        let accepted = (to == Stage::Operation && from == Stage::Acceptance).then(|| at.clone());
        let done = sqlx::query(
            "UPDATE projects SET stage = $3, stage_due = $4, updated_at = $5, accepted_at = COALESCE($6, accepted_at)
             WHERE id = $1 AND stage = $2",
        )
        .bind(id)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(stage_due)
        .bind(&at)
        .bind(accepted)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("project {id} is no longer at stage {}", from.label())));
        }
        sqlx::query(
            "INSERT INTO project_events (project_id, action, from_stage, to_stage, actor, comment, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(action)
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(actor)
        .bind(comment)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a step that does not change the stage (a document, a score, an override…).
    pub async fn add_project_event(
        &self,
        id: i64,
        stage: Stage,
        action: &str,
        actor: &str,
        comment: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO project_events (project_id, action, from_stage, to_stage, actor, comment, at)
             VALUES ($1, $2, $3, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(action)
        .bind(stage.as_str())
        .bind(actor)
        .bind(comment)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn project_events(&self, id: i64) -> Result<Vec<ProjectEvent>> {
        Ok(sqlx::query_as("SELECT * FROM project_events WHERE project_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The data-sharing registration: the entries it will produce, those it will consume
    /// (with the reason when none), in one transaction.
    pub async fn set_project_data(&self, id: i64, produces: &[i64], consumes: &[i64], reason: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM project_entries WHERE project_id = $1").bind(id).execute(&mut *tx).await?;
        for e in produces {
            sqlx::query("INSERT INTO project_entries (project_id, entry_id) VALUES ($1, $2)")
                .bind(id)
                .bind(e)
                .execute(&mut *tx)
                .await
                .map_err(conflict_on_unique(|| format!("entry {e} is listed twice")))?;
        }
        let list = serde_json::to_string(consumes).map_err(|e| corrupt("consumes", e))?;
        sqlx::query("UPDATE projects SET consumes = $2, consumes_reason = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(list)
            .bind(reason)
            .bind(now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn project_entries(&self, id: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT entry_id FROM project_entries WHERE project_id = $1 ORDER BY entry_id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn set_reuse_reason(&self, id: i64, reason: &str) -> Result<()> {
        sqlx::query("UPDATE projects SET reuse_reason = $2, updated_at = $3 WHERE id = $1")
            .bind(id)
            .bind(reason)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the acceptance and decommission checklists.
    pub async fn set_project_checklists(
        &self,
        id: i64,
        checklist: &BTreeMap<String, bool>,
        decommission: &BTreeMap<String, bool>,
    ) -> Result<()> {
        sqlx::query("UPDATE projects SET checklist = $2, decommission = $3, updated_at = $4 WHERE id = $1")
            .bind(id)
            .bind(serde_json::to_string(checklist).map_err(|e| corrupt("checklist", e))?)
            .bind(serde_json::to_string(decommission).map_err(|e| corrupt("decommission", e))?)
            .bind(now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn add_project_document(
        &self,
        id: i64,
        stage: Stage,
        kind: &str,
        file_name: &str,
        sm3: &str,
        bytes: i64,
        actor: &str,
    ) -> Result<ProjectDocument> {
        Ok(sqlx::query_as(
            "INSERT INTO project_documents (project_id, stage, kind, file_name, sm3, bytes, uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
        )
        .bind(id)
        .bind(stage.as_str())
        .bind(kind)
        .bind(file_name)
        .bind(sm3)
        .bind(bytes)
        .bind(actor)
        .bind(now())
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn project_documents(&self, id: i64) -> Result<Vec<ProjectDocument>> {
        Ok(sqlx::query_as("SELECT * FROM project_documents WHERE project_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn get_project_document(&self, id: i64) -> Result<ProjectDocument> {
        sqlx::query_as("SELECT * FROM project_documents WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("document {id}")))
    }

    pub async fn assign_expert(&self, id: i64, expert_id: i64) -> Result<()> {
        sqlx::query("INSERT INTO project_reviews (project_id, expert_id) VALUES ($1, $2)")
            .bind(id)
            .bind(expert_id)
            .execute(&self.pool)
            .await
            .map_err(conflict_on_unique(|| "the expert is already assigned".into()))?;
        Ok(())
    }

    /// An assigned expert's score (and the review sheet it came from), while the project
    /// is in review.
    pub async fn score_project(&self, id: i64, expert_id: i64, score: f64, sheet: &str, comment: &str) -> Result<()> {
        let done = sqlx::query(
            "UPDATE project_reviews SET score = $3, comment = $4, scored_at = $5, sheet = $6
             WHERE project_id = $1 AND expert_id = $2 AND EXISTS (SELECT 1 FROM projects WHERE id = $1 AND stage = 'review')",
        )
        .bind(id)
        .bind(expert_id)
        .bind(score)
        .bind(comment)
        .bind(now())
        .bind(sheet)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!("project {id} is not in review by this expert")));
        }
        Ok(())
    }

    pub async fn project_reviews(&self, id: i64) -> Result<Vec<ProjectReview>> {
        Ok(sqlx::query_as("SELECT * FROM project_reviews WHERE project_id = $1 ORDER BY expert_id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn add_milestone(&self, id: i64, name: &str, planned_on: &str, planned_cost: i64) -> Result<Milestone> {
        Ok(sqlx::query_as(
            "INSERT INTO project_milestones (project_id, name, planned_on, planned_cost, updated_at)
             VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(id)
        .bind(name)
        .bind(planned_on)
        .bind(planned_cost)
        .bind(now())
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn get_milestone(&self, id: i64) -> Result<Milestone> {
        sqlx::query_as("SELECT * FROM project_milestones WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("milestone {id}")))
    }

    /// Reports a milestone's forecast or actual date and cost.
    pub async fn report_milestone(
        &self,
        id: i64,
        forecast_on: Option<&str>,
        actual_on: Option<&str>,
        actual_cost: Option<i64>,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE project_milestones SET forecast_on = COALESCE($2, forecast_on), actual_on = COALESCE($3, actual_on),
                 actual_cost = COALESCE($4, actual_cost), updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(forecast_on)
        .bind(actual_on)
        .bind(actual_cost)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A new plan for a milestone; the old one is kept with the reason, together.
    pub async fn rebaseline(
        &self,
        id: i64,
        planned_on: &str,
        planned_cost: i64,
        reason: &str,
        actor: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let at = now();
        sqlx::query(
            "INSERT INTO project_baselines (milestone_id, planned_on, planned_cost, reason, actor, at)
             SELECT id, planned_on, planned_cost, $2, $3, $4 FROM project_milestones WHERE id = $1",
        )
        .bind(id)
        .bind(reason)
        .bind(actor)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE project_milestones SET planned_on = $2, planned_cost = $3, baseline = baseline + 1, updated_at = $4
             WHERE id = $1",
        )
        .bind(id)
        .bind(planned_on)
        .bind(planned_cost)
        .bind(&at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn milestones(&self, id: i64) -> Result<Vec<Milestone>> {
        Ok(sqlx::query_as("SELECT * FROM project_milestones WHERE project_id = $1 ORDER BY planned_on, id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn baselines(&self, milestone_id: i64) -> Result<Vec<Baseline>> {
        Ok(sqlx::query_as("SELECT * FROM project_baselines WHERE milestone_id = $1 ORDER BY id")
            .bind(milestone_id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn add_payment(&self, id: i64, amount: i64, paid_on: &str, note: &str, actor: &str) -> Result<Payment> {
        Ok(sqlx::query_as(
            "INSERT INTO project_payments (project_id, amount, paid_on, note, actor) VALUES ($1, $2, $3, $4, $5) RETURNING *",
        )
        .bind(id)
        .bind(amount)
        .bind(paid_on)
        .bind(note)
        .bind(actor)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn payments(&self, id: i64) -> Result<Vec<Payment>> {
        Ok(sqlx::query_as("SELECT * FROM project_payments WHERE project_id = $1 ORDER BY paid_on, id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn add_risk(&self, id: i64, rating: i64, overridden: bool, comment: &str, actor: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO project_risks (project_id, rating, overridden, comment, actor, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(rating)
        .bind(i64::from(overridden))
        .bind(comment)
        .bind(actor)
        .bind(now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn risks(&self, id: i64) -> Result<Vec<RiskRecord>> {
        Ok(sqlx::query_as("SELECT * FROM project_risks WHERE project_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&self.pool)
            .await?)
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_round(
        &self,
        name: &str,
        year: i64,
        tree: &str,
        matrix: Option<&str>,
        cr: Option<f64>,
        actor: &str,
    ) -> Result<RoundRecord> {
        sqlx::query_as(
            "INSERT INTO evaluation_rounds (name, year, tree, matrix, consistency_ratio, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *",
        )
        .bind(name)
        .bind(year)
        .bind(tree)
        .bind(matrix)
        .bind(cr)
        .bind(actor)
        .bind(now())
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_on_unique(|| format!("a round named {name:?} already exists")))
    }

    pub async fn get_round(&self, id: i64) -> Result<RoundRecord> {
        sqlx::query_as("SELECT * FROM evaluation_rounds WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("evaluation round {id}")))
    }

    pub async fn list_rounds(&self) -> Result<Vec<RoundRecord>> {
        Ok(sqlx::query_as("SELECT * FROM evaluation_rounds ORDER BY year DESC, id DESC").fetch_all(&self.pool).await?)
    }

    /// Records (or replaces) one kind of evaluation of a project in a round.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_evaluation(
        &self,
        round_id: i64,
        project_id: i64,
        kind: &str,
        scores: &str,
        total: f64,
        grade: &str,
        comment: &str,
        actor: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM project_evaluations WHERE round_id = $1 AND project_id = $2 AND kind = $3")
            .bind(round_id)
            .bind(project_id)
            .bind(kind)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO project_evaluations (round_id, project_id, kind, scores, total, grade, comment, actor, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(round_id)
        .bind(project_id)
        .bind(kind)
        .bind(scores)
        .bind(total)
        .bind(grade)
        .bind(comment)
        .bind(actor)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn evaluations(&self, round_id: i64) -> Result<Vec<EvaluationRecord>> {
        Ok(sqlx::query_as("SELECT * FROM project_evaluations WHERE round_id = $1 ORDER BY project_id, kind")
            .bind(round_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// What the platform's own records say of a catalog entry's data: its status, the rows
    /// of its library tables, its grants (live ones), and the answered interface calls on
    /// its tables. Acceptance and decommissioning are checked against these.
    pub async fn entry_facts(&self, entry_id: i64) -> Result<EntryFacts> {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM catalog_entries WHERE id = $1")
            .bind(entry_id)
            .fetch_optional(&self.pool)
            .await?;
        let status = status.ok_or_else(|| StoreError::NotFound(format!("catalog entry {entry_id}")))?;
        let (tables, rows): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), CAST(SUM(row_count) AS BIGINT) FROM library_tables WHERE entry_id = $1")
                .bind(entry_id)
                .fetch_one(&self.pool)
                .await?;
        let (grants, live): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS BIGINT) FROM grants WHERE entry_id = $1",
        )
        .bind(entry_id)
        .fetch_one(&self.pool)
        .await?;
        let calls: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM evidence WHERE kind = 'call' AND status < 400
                 AND subject IN (SELECT 'table:' || name FROM library_tables WHERE entry_id = $1)",
        )
        .bind(entry_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(EntryFacts { status, tables, rows: rows.unwrap_or(0), grants, live_grants: live.unwrap_or(0), calls })
    }
}
