//! The project lifecycle: proposals, the data-sharing registration, experts and their
//! scores, the steps through the gates, milestones and payments, the acceptance and
//! decommission checklists, risk overrides, and a project's whole record.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tongshu_core::FieldErrors;
use tongshu_core::policy::Principal;
use tongshu_core::projects::evaluation::combine_expert_scores;
use tongshu_core::projects::risk::{Rating, check_override};
use tongshu_core::projects::{CHECKLIST, DECOMMISSION, GateFacts, Stage, Transition, check_gate};
use tongshu_store::{
    Baseline, Milestone, NewProject, Payment, ProjectDocument, ProjectEvent, ProjectRecord, ProjectReview, RiskRecord,
};

use crate::{ProjectsError, ProjectsService, Result, forbidden, invalid, parse_day};

/// A proposal as a department enters it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Proposal {
    /// The proposing department (administrators may propose for any; officers for their own).
    pub org_id: Option<i64>,
    pub name: String,
    pub year: Option<i64>,
    pub purpose: String,
    /// Yuan.
    pub budget: i64,
    pub funding_source: String,
    /// Names of the systems it will build.
    #[serde(default)]
    pub builds: Vec<String>,
    /// Systems of the inventory it will reuse (集约利旧).
    #[serde(default)]
    pub reuses: Vec<i64>,
}

/// A milestone to add.
#[derive(Debug, Clone, Deserialize)]
pub struct MilestoneInput {
    pub name: String,
    pub planned_on: String,
    pub planned_cost: i64,
}

/// Everything about a project.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectDetail {
    pub project: ProjectRecord,
    pub stage_label: &'static str,
    pub produces: Vec<i64>,
    pub documents: Vec<ProjectDocument>,
    pub reviews: Vec<ProjectReview>,
    /// The reviewing experts' names by user id.
    pub expert_names: BTreeMap<i64, String>,
    pub review_score: Option<f64>,
    pub milestones: Vec<Milestone>,
    pub baselines: Vec<Baseline>,
    pub payments: Vec<Payment>,
    pub spent: i64,
    pub risks: Vec<RiskRecord>,
    pub rating: Rating,
    pub events: Vec<ProjectEvent>,
    /// What the next steps would need (each gate's problems, by step), for the page.
    pub gates: BTreeMap<&'static str, Vec<tongshu_core::FieldError>>,
    /// What the reader may do on the project now (the page shows only these forms).
    pub may: Abilities,
}

/// What a reader may do on a project in its current stage; the service checks each again
/// when it is done.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Abilities {
    /// The steps possible from the current stage that the reader may take.
    pub steps: Vec<&'static str>,
    /// The department's part: edit the proposal, register data, milestones and their
    /// progress, payments, the self-evaluation.
    pub department: bool,
    /// The bureau's part: experts, the reuse review, checklists, risk, new baselines.
    pub bureau: bool,
    /// Attach documents (the department, the bureau, the evaluation body).
    pub attach: bool,
    /// Score on the review sheet (an assigned expert, while the project is in review).
    pub score: bool,
}

/// Entry ids as a reader writes them (`6、17`, or 无).
fn list(ids: &[i64]) -> String {
    if ids.is_empty() { "无".into() } else { ids.iter().map(i64::to_string).collect::<Vec<_>>().join("、") }
}

fn check_proposal(p: &Proposal) -> Result<(), FieldErrors> {
    let mut e = FieldErrors::default();
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        e.add("name", "项目名称须为 1 到 200 个字");
    }
    if p.purpose.trim().is_empty() || p.purpose.chars().count() > 5000 {
        e.add("purpose", "建设目标须为 1 到 5000 个字");
    }
    if p.budget <= 0 || p.budget > 100_000_000_000 {
        e.add("budget", "预算（元）须大于零且不超过一千亿");
    }
    if p.funding_source.trim().is_empty() || p.funding_source.chars().count() > 100 {
        e.add("funding_source", "资金来源须为 1 到 100 个字");
    }
    if p.year.is_some_and(|y| !(2000..=2100).contains(&y)) {
        e.add("year", "年度须在 2000 到 2100 之间");
    }
    if p.builds.len() > 20 {
        e.add("builds", "最多 20 个拟建系统");
    }
    for (i, b) in p.builds.iter().enumerate() {
        if b.trim().is_empty() || b.chars().count() > 100 {
            e.add(format!("builds[{i}]"), "系统名称须为 1 到 100 个字");
        }
    }
    e.into_result(())
}

impl ProjectsService {
    /// Files a proposal (stage 储备申报) for a department.
    pub async fn propose(&self, who: &Principal, p: Proposal) -> Result<ProjectRecord> {
        let org_id = p.org_id.unwrap_or(who.org_id);
        if !who.proposes_for(org_id) {
            return Err(forbidden("only the department's data officers (or the bureau) propose its projects"));
        }
        check_proposal(&p)?;
        self.check_reuses(&p.reuses).await?;
        self.store.get_org(org_id).await?;
        let year = p.year.unwrap_or_else(|| i64::from(tongshu_core::now().year()));
        // Codes follow the year's count; two nodes proposing at once: the loser tries the next.
        let mut n = self.store.list_projects(None).await?.iter().filter(|x| x.year == year).count() + 1;
        loop {
            let code = format!("XM-{year}-{n:04}");
            let new = NewProject {
                code,
                name: p.name.trim().to_owned(),
                org_id,
                year,
                purpose: p.purpose.trim().to_owned(),
                budget: p.budget,
                funding_source: p.funding_source.trim().to_owned(),
                builds: p.builds.iter().map(|b| b.trim().to_owned()).collect(),
                reuses: p.reuses.clone(),
                created_by: who.username.clone(),
            };
            match self.store.insert_project(&new).await {
                Err(tongshu_store::StoreError::Conflict(_)) if n < 100_000 => n += 1,
                other => return Ok(other?),
            }
        }
    }

    /// Changes a proposal, while it is one.
    pub async fn edit_proposal(&self, who: &Principal, id: i64, p: Proposal) -> Result<ProjectRecord> {
        let cur = self.readable(who, id).await?;
        if !who.proposes_for(cur.org_id) {
            return Err(forbidden("only the department's data officers (or the bureau) edit its proposals"));
        }
        check_proposal(&p)?;
        self.check_reuses(&p.reuses).await?;
        let new = NewProject {
            code: cur.code.clone(),
            name: p.name.trim().to_owned(),
            org_id: cur.org_id,
            year: cur.year,
            purpose: p.purpose.trim().to_owned(),
            budget: p.budget,
            funding_source: p.funding_source.trim().to_owned(),
            builds: p.builds.iter().map(|b| b.trim().to_owned()).collect(),
            reuses: p.reuses.clone(),
            created_by: cur.created_by.clone(),
        };
        self.store.update_proposal(id, &new).await?;
        self.store.add_project_event(id, cur.stage, "edit", &who.username, "").await?;
        Ok(self.store.get_project(id).await?)
    }

    /// The data-sharing registration: catalog entries of the department it will produce
    /// (existing entries, drafts included), and the listed entries of the sharing catalog it
    /// will consume (none only with a reason).
    pub async fn register_data(
        &self,
        who: &Principal,
        id: i64,
        produces: &[i64],
        consumes: &[i64],
        reason: &str,
    ) -> Result<()> {
        let p = self.readable(who, id).await?;
        if !who.proposes_for(p.org_id) {
            return Err(forbidden("only the project's department registers its data"));
        }
        if !matches!(p.stage, Stage::Proposal | Stage::Review | Stage::Approval) {
            return Err(ProjectsError::Conflict(format!(
                "the data registration is made before approval ({})",
                p.stage.label()
            )));
        }
        let mut e = FieldErrors::default();
        for (i, entry) in produces.iter().enumerate() {
            match self.store.get_entry(*entry).await {
                Ok(en) if en.org_id == p.org_id => {}
                Ok(_) => e.add(format!("produces[{i}]"), format!("目录 {entry} 不属于本部门")),
                Err(_) => e.add(format!("produces[{i}]"), format!("目录 {entry} 不存在")),
            }
        }
        for (i, entry) in consumes.iter().enumerate() {
            match self.store.get_entry(*entry).await {
                Ok(en) if en.status == tongshu_core::catalog::EntryStatus::Listed => {}
                Ok(_) => e.add(format!("consumes[{i}]"), format!("目录 {entry} 未上架，不能共享使用")),
                Err(_) => e.add(format!("consumes[{i}]"), format!("目录 {entry} 不存在")),
            }
        }
        if consumes.is_empty() && reason.trim().is_empty() {
            e.add("consumes_reason", "不使用共享数据时须说明理由");
        }
        e.into_result(())?;
        self.store.set_project_data(id, produces, consumes, reason.trim()).await?;
        self.store
            .add_project_event(
                id,
                p.stage,
                "register_data",
                &who.username,
                &format!("产生目录 {}；使用目录 {}", list(produces), list(consumes)),
            )
            .await?;
        Ok(())
    }

    /// The reviewer's reason why a new system is needed although similar ones exist.
    pub async fn set_reuse_reason(&self, who: &Principal, id: i64, reason: &str) -> Result<()> {
        let p = self.readable(who, id).await?;
        if !who.manages_projects() {
            return Err(forbidden("only the bureau records the reuse review"));
        }
        if reason.trim().is_empty() {
            return Err(invalid("reuse_reason", "须说明新建的理由"));
        }
        self.store.set_reuse_reason(id, reason.trim()).await?;
        self.store.add_project_event(id, p.stage, "reuse_review", &who.username, reason.trim()).await?;
        Ok(())
    }

    /// Assigns an expert (an account with the expert role) to review the project.
    pub async fn assign_expert(&self, who: &Principal, id: i64, username: &str) -> Result<()> {
        let p = self.readable(who, id).await?;
        if !who.manages_projects() {
            return Err(forbidden("only the bureau assigns experts"));
        }
        let Some((expert, _)) = self.store.user_credentials(username).await? else {
            return Err(invalid("expert", format!("没有用户 {username}")));
        };
        if !expert.principal().scores_projects() {
            return Err(invalid("expert", format!("{username} 不是评审专家")));
        }
        if !matches!(p.stage, Stage::Proposal | Stage::Review) {
            return Err(ProjectsError::Conflict(format!(
                "experts are assigned before the review closes ({})",
                p.stage.label()
            )));
        }
        self.store.assign_expert(id, expert.id).await?;
        self.store.add_project_event(id, p.stage, "assign_expert", &who.username, username).await?;
        Ok(())
    }

    /// Inventory systems a proposal says it reuses must exist and be in use.
    async fn check_reuses(&self, reuses: &[i64]) -> Result<()> {
        let mut e = tongshu_core::FieldErrors::default();
        for (i, id) in reuses.iter().enumerate() {
            match self.store.get_system(*id).await {
                Ok(s) if s.status != tongshu_core::projects::SystemStatus::Stopped => {}
                Ok(s) => e.add(format!("reuses[{i}]"), format!("系统“{}”已停用", s.name)),
                Err(_) => e.add(format!("reuses[{i}]"), format!("系统 {id} 不在清单中")),
            }
        }
        Ok(e.into_result(())?)
    }

    /// An assigned expert's review of a project in review: a score for every item of the
    /// review sheet (`core::projects::evaluation::REVIEW_SHEET`, 0–100 each), weighted into
    /// the expert's score, with a comment.
    pub async fn score(&self, who: &Principal, id: i64, sheet: &BTreeMap<String, f64>, comment: &str) -> Result<()> {
        let p = self.readable(who, id).await?;
        if !who.scores_projects() {
            return Err(forbidden("only assigned experts score"));
        }
        let score = tongshu_core::projects::evaluation::review_score(sheet)?;
        let json = serde_json::to_string(sheet).map_err(|e| ProjectsError::Input(e.to_string()))?;
        self.store.score_project(id, who.user_id, score, &json, comment.trim()).await?;
        self.store.add_project_event(id, p.stage, "score", &who.username, &format!("{score:.1}")).await?;
        Ok(())
    }

    /// The facts the gates are decided on.
    async fn facts(&self, p: &ProjectRecord, comment: &str) -> Result<GateFacts> {
        let reviews = self.store.project_reviews(p.id).await?;
        let scores: Vec<f64> = reviews.iter().filter_map(|r| r.score).collect();
        let milestones = self.store.milestones(p.id).await?;
        let produces = self.store.project_entries(p.id).await?;
        // Promised data is shared when its entry is listed, has a library table with rows,
        // and the exchange recorded a grant or an answered call of it.
        let mut promised_not_shared = Vec::new();
        if p.stage == Stage::Acceptance {
            for e in &produces {
                let f = self.store.entry_facts(*e).await?;
                if f.status != "listed" || f.rows == 0 || (f.grants == 0 && f.calls == 0) {
                    let name =
                        self.store.get_entry(*e).await.map(|x| x.body.name.clone()).unwrap_or_else(|_| e.to_string());
                    promised_not_shared.push(name);
                }
            }
        }
        let similar = self.similar_systems(p).await?;
        Ok(GateFacts {
            documents: self.store.project_documents(p.id).await?.into_iter().map(|d| d.kind).collect(),
            name: p.name.clone(),
            purpose: p.purpose.clone(),
            budget: p.budget,
            funding_source: p.funding_source.clone(),
            experts_assigned: reviews.len(),
            experts_scored: scores.len(),
            review_score: combine_expert_scores(&scores),
            pass_mark: self.settings.pass_mark,
            produces: produces.len(),
            consumption_declared: p.consumes.is_some(),
            similar_systems: similar.len(),
            reuse_reason: !p.reuse_reason.trim().is_empty(),
            milestones: milestones.len(),
            milestones_open: milestones.iter().filter(|m| m.actual_on.is_none()).count(),
            checklist_open: CHECKLIST
                .iter()
                .filter(|(k, _)| !p.checklist.get(*k).copied().unwrap_or(false))
                .map(|(k, _)| (*k).to_owned())
                .collect(),
            promised_not_shared,
            decommission_open: DECOMMISSION
                .iter()
                .filter(|(k, _)| !p.decommission.get(*k).copied().unwrap_or(false))
                .map(|(k, _)| (*k).to_owned())
                .collect(),
            comment: comment.to_owned(),
        })
    }

    /// Takes step `t` of project `id`: the department submits and completes, the bureau
    /// takes the other steps; the gate is checked on the project's facts and every problem
    /// is named; the step and its history record are written together, only if the project
    /// still stands where it stood.
    pub async fn step(&self, who: &Principal, id: i64, t: Transition, comment: &str) -> Result<ProjectRecord> {
        let p = self.readable(who, id).await?;
        let allowed = if t.by_department() { who.proposes_for(p.org_id) } else { who.manages_projects() };
        if !allowed {
            return Err(forbidden(if t.by_department() {
                "only the project's department takes this step"
            } else {
                "only the bureau takes this step"
            }));
        }
        let facts = self.facts(&p, comment.trim()).await?;
        let to = check_gate(p.stage, t, &facts)?;
        let due = match to {
            Stage::Review | Stage::Approval | Stage::Acceptance | Stage::Rectification => {
                Some(self.due_in(self.settings.stage_days).await?)
            }
            _ => None,
        };
        self.store.move_project(id, p.stage, to, t.as_str(), &who.username, comment.trim(), due.as_deref()).await?;
        let moved = self.store.get_project(id).await?;
        self.record_rating(&moved, &who.username).await?;
        Ok(moved)
    }

    /// Adds a construction milestone (the department, or the bureau).
    pub async fn add_milestone(&self, who: &Principal, id: i64, m: MilestoneInput) -> Result<Milestone> {
        let p = self.readable(who, id).await?;
        if !who.proposes_for(p.org_id) {
            return Err(forbidden("only the project's department plans its milestones"));
        }
        let mut e = FieldErrors::default();
        if m.name.trim().is_empty() {
            e.add("name", "里程碑名称不能为空");
        }
        if parse_day(&m.planned_on).is_none() {
            e.add("planned_on", "计划日期须为 YYYY-MM-DD");
        }
        if m.planned_cost < 0 {
            e.add("planned_cost", "计划投资不能为负");
        }
        e.into_result(())?;
        if !matches!(p.stage, Stage::Approval | Stage::Construction) {
            return Err(ProjectsError::Conflict(format!(
                "milestones are planned at approval or construction ({})",
                p.stage.label()
            )));
        }
        let ms = self.store.add_milestone(id, m.name.trim(), &m.planned_on, m.planned_cost).await?;
        self.store.add_project_event(id, p.stage, "milestone", &who.username, m.name.trim()).await?;
        Ok(ms)
    }

    /// Reports a milestone's forecast or actual date and its actual cost.
    pub async fn report_milestone(
        &self,
        who: &Principal,
        milestone: i64,
        forecast_on: Option<&str>,
        actual_on: Option<&str>,
        actual_cost: Option<i64>,
    ) -> Result<()> {
        let m = self.store.get_milestone(milestone).await?;
        let p = self.readable(who, m.project_id).await?;
        if !who.proposes_for(p.org_id) {
            return Err(forbidden("only the project's department reports its progress"));
        }
        let mut e = FieldErrors::default();
        for (field, v) in [("forecast_on", forecast_on), ("actual_on", actual_on)] {
            if v.is_some_and(|d| parse_day(d).is_none()) {
                e.add(field, "日期须为 YYYY-MM-DD");
            }
        }
        if actual_cost.is_some_and(|c| c < 0) {
            e.add("actual_cost", "实际投资不能为负");
        }
        e.into_result(())?;
        self.store.report_milestone(milestone, forecast_on, actual_on, actual_cost).await?;
        self.store.add_project_event(p.id, p.stage, "progress", &who.username, &m.name).await?;
        self.record_rating(&p, &who.username).await?;
        Ok(())
    }

    /// A new plan for a milestone, with the reason; the old plan is kept.
    pub async fn rebaseline(
        &self,
        who: &Principal,
        milestone: i64,
        planned_on: &str,
        planned_cost: i64,
        reason: &str,
    ) -> Result<()> {
        let m = self.store.get_milestone(milestone).await?;
        let p = self.readable(who, m.project_id).await?;
        if !who.manages_projects() {
            return Err(forbidden("only the bureau approves a new baseline"));
        }
        let mut e = FieldErrors::default();
        if parse_day(planned_on).is_none() {
            e.add("planned_on", "计划日期须为 YYYY-MM-DD");
        }
        if planned_cost < 0 {
            e.add("planned_cost", "计划投资不能为负");
        }
        if reason.trim().is_empty() {
            e.add("reason", "调整基线须说明理由");
        }
        e.into_result(())?;
        self.store.rebaseline(milestone, planned_on, planned_cost, reason.trim(), &who.username).await?;
        self.store.add_project_event(p.id, p.stage, "rebaseline", &who.username, reason.trim()).await?;
        self.record_rating(&p, &who.username).await?;
        Ok(())
    }

    pub async fn add_payment(
        &self,
        who: &Principal,
        id: i64,
        amount: i64,
        paid_on: &str,
        note: &str,
    ) -> Result<Payment> {
        let p = self.readable(who, id).await?;
        if !who.proposes_for(p.org_id) {
            return Err(forbidden("only the project's department reports its payments"));
        }
        let mut e = FieldErrors::default();
        if amount <= 0 {
            e.add("amount", "支付金额须大于零");
        }
        if parse_day(paid_on).is_none() {
            e.add("paid_on", "支付日期须为 YYYY-MM-DD");
        }
        e.into_result(())?;
        let pay = self.store.add_payment(id, amount, paid_on, note.trim(), &who.username).await?;
        self.store.add_project_event(id, p.stage, "payment", &who.username, &amount.to_string()).await?;
        Ok(pay)
    }

    /// Marks items of the acceptance checklist (technical, financial, archive,
    /// effectiveness) or of the decommission checklist as passed or not (the bureau).
    pub async fn check_items(&self, who: &Principal, id: i64, items: &BTreeMap<String, bool>) -> Result<()> {
        let p = self.readable(who, id).await?;
        if !who.manages_projects() {
            return Err(forbidden("only the bureau keeps the checklists"));
        }
        let (mut checklist, mut decommission) = (p.checklist.clone(), p.decommission.clone());
        let mut e = FieldErrors::default();
        for (k, v) in items {
            if CHECKLIST.iter().any(|(c, _)| c == k) {
                checklist.insert(k.clone(), *v);
            } else if DECOMMISSION.iter().any(|(c, _)| c == k) {
                decommission.insert(k.clone(), *v);
            } else {
                e.add(format!("items.{k}"), "不是验收或停用清单的项目");
            }
        }
        e.into_result(())?;
        self.store.set_project_checklists(id, &checklist, &decommission).await?;
        let said = items.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
        self.store.add_project_event(id, p.stage, "checklist", &who.username, &said).await?;
        Ok(())
    }

    /// An operator's risk rating (1–5) with its reason; the history keeps both kinds.
    pub async fn override_risk(&self, who: &Principal, id: i64, rating: i64, comment: &str) -> Result<()> {
        let p = self.readable(who, id).await?;
        if !who.manages_projects() {
            return Err(forbidden("only the bureau rates a project's risk"));
        }
        let rating = check_override(rating, comment)?;
        self.store.add_risk(id, i64::from(rating), true, comment.trim(), &who.username).await?;
        self.store
            .add_project_event(id, p.stage, "risk", &who.username, &format!("{rating}: {}", comment.trim()))
            .await?;
        Ok(())
    }

    /// Records the computed rating when it differs from the last one recorded.
    async fn record_rating(&self, p: &ProjectRecord, actor: &str) -> Result<()> {
        let rating = self.rating_of(p).await?;
        let last = self.store.risks(p.id).await?.into_iter().last();
        if last.is_none_or(|r| r.rating != i64::from(rating.rating) && r.overridden == 0) {
            self.store.add_risk(p.id, i64::from(rating.rating), false, &rating.reasons.join("；"), actor).await?;
        }
        Ok(())
    }

    /// Everything about a project that `who` may read.
    pub async fn detail(&self, who: &Principal, id: i64) -> Result<ProjectDetail> {
        let project = self.readable(who, id).await?;
        let reviews = self.store.project_reviews(id).await?;
        let scores: Vec<f64> = reviews.iter().filter_map(|r| r.score).collect();
        let mut expert_names = BTreeMap::new();
        for r in &reviews {
            if let Ok(u) = self.store.get_user(r.expert_id).await {
                expert_names.insert(r.expert_id, u.display_name);
            }
        }
        let milestones = self.store.milestones(id).await?;
        let mut baselines = Vec::new();
        for m in &milestones {
            baselines.extend(self.store.baselines(m.id).await?);
        }
        let payments = self.store.payments(id).await?;
        let mut gates = BTreeMap::new();
        // The comment comes with the step itself: the preview does not count it as missing.
        let facts = self.facts(&project, "（随办理填写）").await?;
        for t in tongshu_core::projects::Transition::ALL {
            if project.stage.after(t).is_some()
                && let Err(e) = check_gate(project.stage, t, &facts)
            {
                gates.insert(t.as_str(), e.0);
            }
        }
        use tongshu_core::projects::Transition;
        // Forward steps first: sending back or refusing is the exception.
        let mut steps: Vec<Transition> = Transition::ALL
            .into_iter()
            .filter(|t| project.stage.after(*t).is_some())
            .filter(|t| if t.by_department() { who.proposes_for(project.org_id) } else { who.manages_projects() })
            .collect();
        steps.sort_by_key(|t| matches!(t, Transition::Return | Transition::Reject));
        let steps = steps.into_iter().map(|t| t.as_str()).collect();
        let may = Abilities {
            steps,
            department: who.proposes_for(project.org_id),
            bureau: who.manages_projects(),
            attach: who.proposes_for(project.org_id) || who.manages_projects() || who.evaluates_projects(),
            score: who.scores_projects()
                && project.stage == Stage::Review
                && reviews.iter().any(|r| r.expert_id == who.user_id),
        };
        Ok(ProjectDetail {
            may,
            stage_label: project.stage.label(),
            produces: self.store.project_entries(id).await?,
            documents: self.store.project_documents(id).await?,
            review_score: combine_expert_scores(&scores),
            reviews,
            expert_names,
            spent: payments.iter().map(|p| p.amount).sum(),
            payments,
            baselines,
            milestones,
            risks: self.store.risks(id).await?,
            rating: self.rating_of(&project).await?,
            events: self.store.project_events(id).await?,
            gates,
            project,
        })
    }

    /// A project's report as an XLSX workbook (see [`crate::project_xlsx`]).
    pub async fn project_report_xlsx(&self, who: &Principal, id: i64) -> Result<Vec<u8>> {
        let d = self.detail(who, id).await?;
        tokio::task::spawn_blocking(move || crate::project_xlsx(&d))
            .await
            .map_err(|e| ProjectsError::Io(e.to_string()))?
    }

    /// The projects `who` may read.
    pub async fn list(&self, who: &Principal) -> Result<Vec<ProjectRecord>> {
        let all = self.store.list_projects(None).await?;
        let mut out = Vec::new();
        for p in all {
            let mine = who.reads_all_projects()
                || who.proposes_for(p.org_id)
                || (who.scores_projects()
                    && self.store.project_reviews(p.id).await?.iter().any(|r| r.expert_id == who.user_id));
            if mine {
                out.push(p);
            }
        }
        Ok(out)
    }
}
