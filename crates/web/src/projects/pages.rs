//! The projects plane's pages (Chinese): the portfolio dashboard, a project (printable as
//! its report), the system inventory with verdicts and tickets, and a round's report.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tongshu_core::policy::Role;
use tongshu_core::projects::evaluation::REVIEW_SHEET;
use tongshu_core::projects::{CHECKLIST, DECOMMISSION, DOCUMENT_KINDS, Stage, SystemKind, SystemStatus};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::charts;
use crate::http::error::ApiError;
use crate::http::render::{DoneQuery, base, error_page, render};

/// What a page says above its content after a form: what was done, or why not.
#[derive(Debug, Default)]
pub(crate) struct Notice {
    pub done: Option<&'static str>,
    pub problem: Option<ApiError>,
}

impl Notice {
    pub fn from_query(q: Result<Query<DoneQuery>, QueryRejection>) -> Self {
        Self { done: done_message(q.as_ref().ok().and_then(|q| q.0.done.as_deref())), problem: None }
    }

    /// Puts the notice into the page's context; the page's status (the refusal's, if any).
    fn apply(self, caller: &Caller, ctx: &mut Map<String, Value>) -> StatusCode {
        if let Some(m) = self.done {
            ctx.insert("flash".into(), m.into());
        }
        let Some(e) = self.problem else { return StatusCode::OK };
        let fields: Vec<_> = e
            .fields
            .as_ref()
            .map(|f| {
                f.0.iter()
                    .map(|x| json!({"field": x.field, "label": field_label(&x.field), "message": x.message}))
                    .collect()
            })
            .unwrap_or_default();
        let message = if fields.is_empty() {
            caller.wording(&e.message)
        } else {
            "请修改以下内容后重新提交：".into()
        };
        ctx.insert("problem".into(), json!({"message": message, "fields": fields}));
        e.code.status()
    }
}

/// What a form's field is called on the page (the code stays beside it).
fn field_label(field: &str) -> Option<&'static str> {
    if let Some(item) = field.strip_prefix("sheet.") {
        return REVIEW_SHEET.iter().find(|(k, _, _)| *k == item).map(|(_, l, _)| *l);
    }
    let base = field.split(['[', '.']).next().unwrap_or(field);
    Some(match base {
        "name" => "名称",
        "year" => "年度",
        "budget" => "预算",
        "purpose" => "建设目标",
        "funding_source" => "资金来源",
        "builds" => "拟建系统",
        "reuses" => "复用的系统",
        "produces" => "将产生的目录",
        "consumes" => "将使用的共享数据",
        "consumes_reason" => "不使用共享数据的理由",
        "reuse_reason" | "reason" => "理由",
        "comment" => "意见",
        "planned_on" => "计划日期",
        "planned_cost" => "计划投资",
        "forecast_on" => "预测日期",
        "actual_on" => "实际日期",
        "actual_cost" => "实际投资",
        "amount" => "支付金额",
        "paid_on" => "支付日期",
        "rating" => "风险等级",
        "kind" => "类型",
        "cost_per_year" => "年运维费用",
        "urls" => "网址",
        "security_level" => "等保级别",
        "last_post_on" => "最近发布日期",
        "oldest_unanswered_on" => "最早未答复留言日期",
        "duplicate_of" => "重复的系统",
        "merged_into" => "并入的系统",
        "outcome" => "结果",
        "matrix" | "weights" => "判断矩阵",
        "project_id" => "项目",
        "documents" => "文档",
        "checklist" => "验收清单",
        "decommission" => "停用清单",
        "experts" => "评审专家",
        _ => return None,
    })
}

/// The message after a form's redirect (`?done=`).
fn done_message(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "proposed" => "项目已申报（储备），补齐材料后可提交评审。",
        "edited" => "申报内容已修改。",
        "step" => "已办理，项目进入新阶段。",
        "data" => "数据共享登记已保存。",
        "reuse" => "集约利旧审查意见已记录。",
        "expert" => "已指定评审专家。",
        "score" => "评分已提交。",
        "milestone" => "里程碑已添加。",
        "progress" => "进度已报告。",
        "rebaseline" => "基线已调整，原计划保留在记录中。",
        "payment" => "支付已登记。",
        "checklist" => "清单已更新。",
        "risk" => "风险等级已调整并留痕。",
        "document" => "文档已上传。",
        "system" => "系统已登记到清单。",
        "facts" => "系统情况已更新。",
        "checked" => "已完成僵尸系统检查，新发现的问题已派发整改工单。",
        "ticket" => "工单已办结。",
        "round" => "后评价轮次已创建。",
        "evaluated" => "评价已保存。",
        _ => return None,
    })
}

/// The inventory's systems in use that `who` may see, to reuse in a proposal (集约利旧).
async fn reusable_systems(state: &AppState, who: &tongshu_core::policy::Principal) -> Vec<Value> {
    let systems = state.projects.systems(who).await.unwrap_or_default();
    systems.iter().filter(|s| s.status != SystemStatus::Stopped).map(|s| json!({"id": s.id, "name": s.name})).collect()
}

/// Departments as (id, name), in the order of the organization list.
async fn orgs_sorted(state: &AppState) -> Vec<(i64, String)> {
    state.accounts.organizations().await.map(|v| v.into_iter().map(|o| (o.id, o.name)).collect()).unwrap_or_default()
}

/// Organization names by id, for the pages' labels.
async fn org_names(state: &AppState) -> std::collections::HashMap<i64, String> {
    state.accounts.organizations().await.map(|v| v.into_iter().map(|o| (o.id, o.name)).collect()).unwrap_or_default()
}

fn yuan_wan(v: i64) -> f64 {
    (v as f64 / 10_000.0 * 10.0).round() / 10.0
}

/// The portfolio dashboard: the city's totals, charts, every project with its variances and
/// risk rating.
pub async fn portfolio(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    portfolio_view(&state, &caller, Notice::from_query(q)).await
}

pub(crate) async fn portfolio_view(state: &AppState, caller: &Caller, notice: Notice) -> Response {
    let found = async {
        let who = caller.required()?;
        Ok::<_, ApiError>((state.projects.portfolio(who).await?, state.projects.rounds().await?))
    }
    .await;
    let (p, rounds) = match found {
        Ok(v) => v,
        Err(e) => return error_page(state, caller, e),
    };
    let orgs = org_names(state).await;
    let name = |id: i64| orgs.get(&id).cloned().unwrap_or_else(|| id.to_string());
    let by_stage: Vec<(String, f64)> = p.totals.by_stage.iter().map(|(k, v)| (k.clone(), *v as f64)).collect();
    let by_kind: Vec<(String, f64)> = p.totals.systems_by_kind.iter().map(|(k, v)| (k.clone(), *v as f64)).collect();
    let mut budgets: Vec<(String, f64)> = p.departments.iter().map(|d| (name(d.org_id), yuan_wan(d.budget))).collect();
    budgets.retain(|(_, v)| *v > 0.0);
    budgets.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut ratings = [0usize; 5];
    for r in &p.projects {
        if (1..=5).contains(&r.rating) {
            ratings[(r.rating - 1) as usize] += 1;
        }
    }
    let rating_bars: Vec<(String, f64)> = ratings
        .iter()
        .enumerate()
        .map(|(i, n)| (format!("{} 级{}", i + 1, ["（高风险）", "", "", "", "（低风险）"][i]), *n as f64))
        .collect();
    let rows: Vec<_> = p
        .projects
        .iter()
        .map(|r| {
            let mut v = json!(r);
            v["org_name"] = json!(name(r.org_id));
            v["budget_wan"] = json!(yuan_wan(r.budget));
            v["spent_wan"] = json!(yuan_wan(r.spent));
            v
        })
        .collect();
    let mut ctx = base(caller, "projects", "政务信息化项目");
    ctx.insert("totals".into(), json!(p.totals));
    ctx.insert("budget_wan".into(), json!(yuan_wan(p.totals.budget)));
    ctx.insert("spent_wan".into(), json!(yuan_wan(p.totals.spent)));
    ctx.insert("projects".into(), json!(rows));
    ctx.insert("rounds".into(), json!(rounds));
    ctx.insert("stage_chart".into(), charts::bars("各阶段项目数", &by_stage).into());
    ctx.insert("rating_chart".into(), charts::bars("风险等级", &rating_bars).into());
    ctx.insert("budget_chart".into(), charts::bars("各部门项目预算（万元）", &budgets).into());
    ctx.insert("kind_chart".into(), charts::bars("各类信息系统", &by_kind).into());
    if let Some(who) = caller.principal.as_ref() {
        // The proposal form: the departments the caller proposes for, the systems to reuse.
        let departments: Vec<_> =
            orgs_sorted(state).await.into_iter().filter(|(id, _)| who.proposes_for(*id)).collect();
        if !departments.is_empty() {
            let reusable = reusable_systems(state, who).await;
            ctx.insert("propose".into(), json!({"departments": departments, "own": who.org_id, "systems": reusable}));
        }
        ctx.insert("may_manage".into(), who.manages_projects().into());
        ctx.insert("this_year".into(), tongshu_core::now().year().into());
    }
    let status = notice.apply(caller, &mut ctx);
    render(state, status, "projects.html", ctx)
}

/// A project: its record, what each next step still needs, documents, reviews, milestones
/// and baselines, payments, ratings and history (printable as the project's report).
pub async fn project(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    q: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    project_view(&state, &caller, id, Notice::from_query(q)).await
}

pub(crate) async fn project_view(state: &AppState, caller: &Caller, id: i64, notice: Notice) -> Response {
    let found = async {
        let who = caller.required()?;
        Ok::<_, ApiError>((state.projects.detail(who, id).await?, state.projects.similar(who, id).await?))
    }
    .await;
    let (d, similar) = match found {
        Ok(v) => v,
        Err(e) => return error_page(state, caller, e),
    };
    let orgs = org_names(state).await;
    let costs: Vec<(String, f64)> = d
        .milestones
        .iter()
        .flat_map(|m| {
            [
                (format!("{} 计划", m.name), yuan_wan(m.planned_cost)),
                (format!("{} 实际", m.name), yuan_wan(m.actual_cost.unwrap_or(0))),
            ]
        })
        .collect();
    let mut ctx = base(caller, "projects", &d.project.name);
    ctx.insert("org_name".into(), json!(orgs.get(&d.project.org_id)));
    ctx.insert("budget_wan".into(), json!(yuan_wan(d.project.budget)));
    ctx.insert("spent_wan".into(), json!(yuan_wan(d.spent)));
    ctx.insert("cost_chart".into(), charts::bars("里程碑投资：计划与实际（万元）", &costs).into());
    ctx.insert("similar".into(), json!(similar));
    forms_of_project(state, caller, &d, &mut ctx).await;
    ctx.insert("d".into(), json!(d));
    let status = notice.apply(caller, &mut ctx);
    render(state, status, "project.html", ctx)
}

/// What the project page's forms offer, for what the reader may do (`d.may`).
async fn forms_of_project(
    state: &AppState,
    caller: &Caller,
    d: &tongshu_projects::ProjectDetail,
    ctx: &mut Map<String, Value>,
) {
    let Some(who) = caller.principal.as_ref() else { return };
    let p = &d.project;
    let open = matches!(p.stage, Stage::Proposal | Stage::Review | Stage::Approval);
    if d.may.department && open {
        let mut mine = tongshu_catalog::EntryFilter { org_id: Some(p.org_id), limit: 500, ..Default::default() };
        let own = state.catalog.workbench(who, std::mem::take(&mut mine)).await.map(|x| x.entries).unwrap_or_default();
        let listed = state
            .catalog
            .browse(Some(who), tongshu_catalog::EntryFilter { limit: 2000, ..Default::default() })
            .await
            .map(|x| x.entries)
            .unwrap_or_default();
        let pick = |v: &[tongshu_core::catalog::CatalogEntry]| -> Vec<Value> {
            v.iter().map(|e| json!({"id": e.id, "name": e.body.name})).collect()
        };
        ctx.insert("own_entries".into(), pick(&own).into());
        ctx.insert("listed_entries".into(), pick(&listed).into());
    }
    if d.may.department && p.stage == Stage::Proposal {
        ctx.insert("reusable".into(), reusable_systems(state, who).await.into());
    }
    if d.may.bureau && matches!(p.stage, Stage::Proposal | Stage::Review) {
        let experts: Vec<_> = state
            .accounts
            .users()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|u| u.role == Role::Expert && !d.reviews.iter().any(|r| r.expert_id == u.id))
            .map(|u| json!({"username": u.username, "name": u.display_name}))
            .collect();
        ctx.insert("experts".into(), experts.into());
    }
    let items = |list: &[(&str, &str)], done: &std::collections::BTreeMap<String, bool>| -> Vec<Value> {
        list.iter()
            .map(|(k, l)| json!({"key": k, "label": l, "done": done.get(*k).copied().unwrap_or(false)}))
            .collect()
    };
    ctx.insert("checklist".into(), items(CHECKLIST, &p.checklist).into());
    ctx.insert("decommission".into(), items(DECOMMISSION, &p.decommission).into());
    let sheet: Vec<_> = REVIEW_SHEET.iter().map(|(k, l, w)| json!({"key": k, "label": l, "weight": w})).collect();
    ctx.insert("sheet".into(), sheet.into());
    let kinds: Vec<_> = DOCUMENT_KINDS.iter().map(|(k, l)| json!({"key": k, "label": l})).collect();
    ctx.insert("document_kinds".into(), kinds.into());
    ctx.insert("today".into(), tongshu_core::now().date().to_string().into());
}

/// The inventory of information systems with their verdicts, and the rectification tickets.
pub async fn systems(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<DoneQuery>, QueryRejection>,
) -> Response {
    systems_view(&state, &caller, Notice::from_query(q)).await
}

pub(crate) async fn systems_view(state: &AppState, caller: &Caller, notice: Notice) -> Response {
    let found = async {
        let who = caller.required()?;
        Ok::<_, ApiError>((state.projects.systems(who).await?, state.projects.tickets(who).await?))
    }
    .await;
    let (systems, tickets) = match found {
        Ok(v) => v,
        Err(e) => return error_page(state, caller, e),
    };
    let orgs = org_names(state).await;
    let names: std::collections::HashMap<i64, String> = systems.iter().map(|s| (s.id, s.name.clone())).collect();
    let rows: Vec<_> = systems
        .iter()
        .map(|s| {
            let mut v = json!(s);
            v["org_name"] = json!(orgs.get(&s.org_id));
            v["kind_label"] = json!(s.kind.label());
            v["status_label"] = json!(s.status.label());
            v["verdict_label"] = json!(s.verdict.map(|x| x.label()));
            v
        })
        .collect();
    let tickets: Vec<_> = tickets
        .iter()
        .map(|t| {
            let mut v = json!(t);
            v["system_name"] = json!(names.get(&t.system_id));
            v["findings"] = serde_json::from_str(&t.findings).unwrap_or(json!([]));
            v
        })
        .collect();
    let mut ctx = base(caller, "systems", "政务信息系统清单");
    ctx.insert("systems".into(), json!(rows));
    ctx.insert("tickets".into(), json!(tickets));
    if let Some(who) = caller.principal.as_ref() {
        let departments: Vec<_> =
            orgs_sorted(state).await.into_iter().filter(|(id, _)| who.proposes_for(*id)).collect();
        if !departments.is_empty() {
            let kinds: Vec<_> =
                SystemKind::ALL.iter().map(|k| json!({"key": k.as_str(), "label": k.label()})).collect();
            ctx.insert("keep".into(), json!({"departments": departments, "own": who.org_id, "kinds": kinds}));
        }
        ctx.insert("may_manage".into(), who.manages_projects().into());
        let keeps: Vec<i64> = systems.iter().filter(|s| who.proposes_for(s.org_id)).map(|s| s.id).collect();
        ctx.insert("keeps".into(), keeps.into());
    }
    let status = notice.apply(caller, &mut ctx);
    render(state, status, "systems.html", ctx)
}

/// A round's report: each project's totals by kind of evaluation, the final total and
/// grade, by dimension; the grades' counts (printable; XLSX beside it).
pub async fn round(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    q: Result<Query<RoundQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|q| q.0).unwrap_or_default();
    let notice = Notice { done: done_message(q.done.as_deref()), problem: None };
    round_view(&state, &caller, id, q.project, notice).await
}

/// A round page's query: the project whose evaluation form is pre-filled.
#[derive(Debug, Default, Deserialize)]
pub struct RoundQuery {
    project: Option<i64>,
    done: Option<String>,
}

pub(crate) async fn round_view(
    state: &AppState,
    caller: &Caller,
    id: i64,
    project: Option<i64>,
    notice: Notice,
) -> Response {
    let found = async { Ok::<_, ApiError>(state.projects.round_report(caller.required()?, id).await?) }.await;
    let r = match found {
        Ok(v) => v,
        Err(e) => return error_page(state, caller, e),
    };
    let totals: Vec<(String, f64)> = r.rows.iter().filter_map(|x| x.total.map(|t| (x.name.clone(), t))).collect();
    let grades: Vec<(String, f64)> = r.by_grade.iter().map(|(k, v)| (k.clone(), *v as f64)).collect();
    let mut ctx = base(caller, "projects", &r.round.name);
    ctx.insert("total_chart".into(), charts::bars("各项目综合得分", &totals).into());
    ctx.insert("grade_chart".into(), charts::bars("评价等级分布", &grades).into());
    ctx.insert("r".into(), json!(r));
    if let Some(who) = caller.principal.as_ref() {
        // The evaluation form: projects past acceptance the caller may evaluate, the kinds
        // it may record, the platform's measured scores for the chosen project.
        let projects: Vec<_> = state
            .projects
            .list(who)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|p| matches!(p.stage, Stage::Operation | Stage::Evaluation | Stage::Rectification))
            .filter(|p| who.proposes_for(p.org_id) || who.evaluates_projects())
            .map(|p| json!({"id": p.id, "name": format!("{} {}", p.code, p.name)}))
            .collect();
        let mut kinds = Vec::new();
        if who.evaluates_projects() {
            kinds.extend([
                json!({"key": "on_site", "label": "现场评价"}),
                json!({"key": "third_party", "label": "第三方评价"}),
            ]);
        }
        if matches!(who.role, Role::DataOfficer | Role::PlatformAdmin) {
            kinds.push(json!({"key": "self", "label": "单位自评"}));
        }
        if !projects.is_empty() && !kinds.is_empty() {
            let chosen = project.and_then(|p| projects.iter().any(|x| x["id"] == p).then_some(p));
            let prefill = match chosen {
                Some(p) => state.projects.prefill(who, p).await.ok(),
                None => None,
            };
            ctx.insert(
                "evaluate".into(),
                json!({"projects": projects, "kinds": kinds, "chosen": chosen, "prefill": prefill}),
            );
        }
    }
    let status = notice.apply(caller, &mut ctx);
    render(state, status, "evaluation_round.html", ctx)
}
