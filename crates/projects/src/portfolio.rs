//! The portfolio (as the US IT Dashboard's): per project its stage, budget against spent,
//! cost and schedule variance, the risk rating (computed from the variances, overdue
//! steps and its systems' zombie verdicts, or an operator's override), its systems; per
//! department the sums; and the city's totals as the seed reports them.

use std::collections::BTreeMap;

use serde::Serialize;
use tongshu_core::policy::Principal;
use tongshu_core::projects::risk::{Rating, RiskFacts, rate};
use tongshu_core::projects::zombie::Severity;
use tongshu_core::projects::{Stage, SystemStatus};
use tongshu_store::{ProjectRecord, SystemRecord};

use crate::{ProjectsService, Result, parse_day};

/// One project's line.
#[derive(Debug, Clone, Serialize)]
pub struct PortfolioRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub org_id: i64,
    pub stage: Stage,
    pub stage_label: &'static str,
    pub status: &'static str,
    pub budget: i64,
    pub spent: i64,
    pub cost_variance_pct: f64,
    pub schedule_variance_days: i64,
    /// The rating in force (the latest override, else the computed one) and why.
    pub rating: i64,
    pub overridden: bool,
    pub reasons: Vec<String>,
    pub systems: usize,
    pub worst_system: Option<Severity>,
}

/// One department's sums.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DepartmentRow {
    pub org_id: i64,
    pub projects: usize,
    pub budget: i64,
    pub spent: i64,
    pub high_risk: usize,
    pub systems: usize,
    pub zombies: usize,
}

/// The city's totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub projects: usize,
    /// Projects that went through expert review.
    pub reviewed: usize,
    pub budget: i64,
    pub spent: i64,
    pub systems: usize,
    pub systems_by_kind: BTreeMap<String, usize>,
    pub zombies_now: usize,
    pub semi_zombies_now: usize,
    /// Tickets closed: fixed, merged or stopped.
    pub rectified: usize,
    pub systems_stopped: usize,
    pub projects_evaluated: usize,
    pub by_stage: BTreeMap<String, usize>,
}

/// The portfolio.
#[derive(Debug, Clone, Serialize)]
pub struct Portfolio {
    pub projects: Vec<PortfolioRow>,
    pub departments: Vec<DepartmentRow>,
    pub totals: Totals,
}

impl ProjectsService {
    /// The variances and the computed rating of a project.
    pub(crate) async fn rating_of(&self, p: &ProjectRecord) -> Result<Rating> {
        let systems = self.store.list_systems(None).await?;
        Ok(rate(&self.risk_facts(p, &systems).await?))
    }

    /// A project's variances, overdue steps and its systems' worst verdict (`systems`: the
    /// inventory, read once by the caller).
    async fn risk_facts(&self, p: &ProjectRecord, systems: &[SystemRecord]) -> Result<RiskFacts> {
        let today = tongshu_core::now().date();
        let ms = self.store.milestones(p.id).await?;
        let planned: i64 = ms.iter().map(|m| m.planned_cost).sum();
        let estimate: i64 = ms.iter().map(|m| m.actual_cost.unwrap_or(m.planned_cost)).sum();
        let cost_variance_pct = if planned > 0 { (estimate - planned) as f64 * 100.0 / planned as f64 } else { 0.0 };
        let schedule_variance_days = ms
            .iter()
            .filter_map(|m| {
                let plan = parse_day(&m.planned_on)?;
                let at = match (&m.actual_on, &m.forecast_on) {
                    (Some(a), _) => parse_day(a)?,
                    (None, Some(f)) => parse_day(f)?.max(today),
                    (None, None) => plan.max(today),
                };
                Some((at - plan).whole_days())
            })
            .max()
            .unwrap_or(0)
            .max(0);
        let overdue = p.stage_due.as_deref().and_then(parse_day).is_some_and(|d| d < today);
        let worst_system = systems
            .iter()
            .filter(|s| s.project_id == Some(p.id) && s.status != SystemStatus::Stopped)
            .filter_map(|s| s.verdict)
            .max();
        Ok(RiskFacts { cost_variance_pct, schedule_variance_days, overdue_gates: usize::from(overdue), worst_system })
    }

    /// The portfolio of the projects `who` may read, with the city's totals of them.
    pub async fn portfolio(&self, who: &Principal) -> Result<Portfolio> {
        let projects = self.list(who).await?;
        let systems = self.systems(who).await?;
        let inventory = self.store.list_systems(None).await?;
        let tickets = self.tickets(who).await?;
        let mut rows = Vec::new();
        let mut totals = Totals::default();
        let mut departments: BTreeMap<i64, DepartmentRow> = BTreeMap::new();
        let mut evaluated = std::collections::HashSet::new();
        for r in self.store.list_rounds().await? {
            for e in self.store.evaluations(r.id).await? {
                evaluated.insert(e.project_id);
            }
        }
        for p in &projects {
            let facts = self.risk_facts(p, &inventory).await?;
            let computed = rate(&facts);
            let last_override = self.store.risks(p.id).await?.into_iter().rev().find(|r| r.overridden == 1);
            let spent: i64 = self.store.payments(p.id).await?.iter().map(|x| x.amount).sum();
            let own: Vec<_> = systems.iter().filter(|s| s.project_id == Some(p.id)).collect();
            let (rating, overridden, reasons) = match &last_override {
                Some(o) => (o.rating, true, vec![o.comment.clone()]),
                None => (i64::from(computed.rating), false, computed.reasons.clone()),
            };
            let d =
                departments.entry(p.org_id).or_insert_with(|| DepartmentRow { org_id: p.org_id, ..Default::default() });
            d.projects += 1;
            d.budget += p.budget;
            d.spent += spent;
            d.high_risk += usize::from(rating <= 2);
            totals.projects += 1;
            totals.reviewed += usize::from(!matches!(p.stage, Stage::Proposal | Stage::Review));
            totals.budget += p.budget;
            totals.spent += spent;
            totals.projects_evaluated += usize::from(evaluated.contains(&p.id));
            *totals.by_stage.entry(p.stage.label().to_owned()).or_insert(0) += 1;
            rows.push(PortfolioRow {
                id: p.id,
                code: p.code.clone(),
                name: p.name.clone(),
                org_id: p.org_id,
                stage: p.stage,
                stage_label: p.stage.label(),
                status: p.stage.status(),
                budget: p.budget,
                spent,
                cost_variance_pct: (facts.cost_variance_pct * 10.0).round() / 10.0,
                schedule_variance_days: facts.schedule_variance_days,
                rating,
                overridden,
                reasons,
                systems: own.len(),
                worst_system: facts.worst_system,
            });
        }
        for s in &systems {
            let d =
                departments.entry(s.org_id).or_insert_with(|| DepartmentRow { org_id: s.org_id, ..Default::default() });
            d.systems += 1;
            d.zombies += usize::from(s.status != SystemStatus::Stopped && s.verdict == Some(Severity::Zombie));
            totals.systems += 1;
            *totals.systems_by_kind.entry(s.kind.label().to_owned()).or_insert(0) += 1;
            if s.status == SystemStatus::Stopped {
                totals.systems_stopped += 1;
            } else {
                totals.zombies_now += usize::from(s.verdict == Some(Severity::Zombie));
                totals.semi_zombies_now += usize::from(s.verdict == Some(Severity::SemiZombie));
            }
        }
        totals.rectified = tickets.iter().filter(|t| t.status != "open").count();
        Ok(Portfolio { projects: rows, departments: departments.into_values().collect(), totals })
    }
}
