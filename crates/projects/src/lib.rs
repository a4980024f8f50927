//! IT projects and the city's information systems (政务信息化项目管理, issue 16).
//!
//! [`ProjectsService`] keeps the project lifecycle from proposal to post-evaluation
//! (`lifecycle`: the gates of `core::projects` decided on facts gathered from the store,
//! the catalog and the exchange's own records; `documents`: files kept by their SM3 hash
//! in the library's storage),
//! the inventory of information systems (`inventory`: records, spreadsheet import, the
//! search for similar systems), zombie detection and rectification (`zombie`: HTTP probes,
//! the platform's evidence of activity, tickets), post-evaluation rounds (`evaluation`)
//! and the portfolio (`portfolio`: variances, risk ratings, totals). Who may do what is
//! asked of `core::policy::Principal`.

mod documents;
mod evaluation;
mod inventory;
mod lifecycle;
mod portfolio;
mod reports;
mod schedule;
mod zombie;

use tongshu_core::FieldErrors;
use tongshu_core::policy::Principal;
use tongshu_core::projects::zombie::Rules;
use tongshu_core::workdays::{Calendar, DayKind};
use tongshu_store::{MetaStore, ProjectRecord, StoreError};

pub use documents::Document;
pub use evaluation::{Prefill, RoundReport, RoundRow};
pub use inventory::{ImportReport, RefusedRow, Similar, SystemInput};
pub use lifecycle::{Abilities, MilestoneInput, ProjectDetail, Proposal};
pub use portfolio::{DepartmentRow, Portfolio, PortfolioRow, Totals};
pub use reports::{project_xlsx, round_xlsx};
pub use zombie::{CheckResult, ProbeResult};

#[derive(Debug, thiserror::Error)]
pub enum ProjectsError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("file: {0}")]
    Io(String),
}

impl From<StoreError> for ProjectsError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ProjectsError::NotFound(m),
            StoreError::Conflict(m) => ProjectsError::Conflict(m),
            e => ProjectsError::Store(e),
        }
    }
}

impl From<FieldErrors> for ProjectsError {
    fn from(e: FieldErrors) -> Self {
        ProjectsError::Invalid(e)
    }
}

pub type Result<T, E = ProjectsError> = std::result::Result<T, E>;

/// The field `field` is wrong: `message`.
pub(crate) fn invalid(field: &str, message: impl Into<String>) -> ProjectsError {
    let mut e = FieldErrors::default();
    e.add(field, message);
    ProjectsError::Invalid(e)
}

/// Settings of the projects plane.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Zombie rules (thresholds).
    pub rules: Rules,
    /// The review's pass mark (0–100).
    pub pass_mark: f64,
    /// Working days a stage's step is due after the stage began (review, approval,
    /// acceptance).
    pub stage_days: u32,
    /// Working days a rectification ticket is due after it opened.
    pub ticket_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self { rules: Rules::default(), pass_mark: 60.0, stage_days: 20, ticket_days: 20 }
    }
}

/// The projects service. Cheap to clone.
#[derive(Clone)]
pub struct ProjectsService {
    store: MetaStore,
    /// The library, whose files (`_files/projects/…`, beside its tables: a shared directory
    /// or S3) keep attached documents, so every node reads what any node stored.
    files: tongshu_lake::Library,
    settings: Settings,
    http: reqwest::Client,
}

impl ProjectsService {
    pub fn new(store: MetaStore, files: tongshu_lake::Library, settings: Settings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(settings.rules.probe_timeout_secs))
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .unwrap_or_default();
        Self { store, files, settings, http }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The project, if `who` may read it: the bureau, auditors and the evaluation body
    /// read every project, a department its own, an expert those assigned to it.
    pub(crate) async fn readable(&self, who: &Principal, id: i64) -> Result<ProjectRecord> {
        let p = self.store.get_project(id).await?;
        if who.reads_all_projects() || who.proposes_for(p.org_id) {
            return Ok(p);
        }
        if who.scores_projects() && self.store.project_reviews(id).await?.iter().any(|r| r.expert_id == who.user_id) {
            return Ok(p);
        }
        Err(ProjectsError::NotFound(format!("project {id}")))
    }

    /// The working-day calendar as the administrators keep it.
    pub(crate) async fn calendar(&self) -> Result<Calendar> {
        let days = self.store.calendar_days().await?;
        Ok(Calendar::new(days.iter().filter_map(|(d, k, _)| Some((parse_day(d)?, DayKind::parse(k)?)))))
    }

    /// The day `n` working days after today.
    pub(crate) async fn due_in(&self, n: u32) -> Result<String> {
        let today = tongshu_core::now().date();
        Ok(self.calendar().await?.add_working_days(today, n).to_string())
    }
}

pub(crate) fn parse_day(s: &str) -> Option<time::Date> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

pub(crate) fn forbidden(what: &str) -> ProjectsError {
    ProjectsError::Forbidden(what.to_owned())
}
