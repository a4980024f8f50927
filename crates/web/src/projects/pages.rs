//! The projects plane's pages (Chinese): the portfolio dashboard, a project (printable as
//! its report), the system inventory with verdicts and tickets, and a round's report.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::charts;
use crate::http::error::ApiError;
use crate::http::render::{base, error_page, render};

/// Organization names by id, for the pages' labels.
async fn org_names(state: &AppState) -> std::collections::HashMap<i64, String> {
    state.accounts.organizations().await.map(|v| v.into_iter().map(|o| (o.id, o.name)).collect()).unwrap_or_default()
}

fn yuan_wan(v: i64) -> f64 {
    (v as f64 / 10_000.0 * 10.0).round() / 10.0
}

/// The portfolio dashboard: the city's totals, charts, every project with its variances and
/// risk rating.
pub async fn portfolio(State(state): State<AppState>, caller: Caller) -> Response {
    let found = async {
        let who = caller.required()?;
        Ok::<_, ApiError>((state.projects.portfolio(who).await?, state.projects.rounds().await?))
    }
    .await;
    let (p, rounds) = match found {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let orgs = org_names(&state).await;
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
    let mut ctx = base(&caller, "projects", "政务信息化项目");
    ctx.insert("totals".into(), json!(p.totals));
    ctx.insert("budget_wan".into(), json!(yuan_wan(p.totals.budget)));
    ctx.insert("spent_wan".into(), json!(yuan_wan(p.totals.spent)));
    ctx.insert("projects".into(), json!(rows));
    ctx.insert("rounds".into(), json!(rounds));
    ctx.insert("stage_chart".into(), charts::bars("各阶段项目数", &by_stage).into());
    ctx.insert("rating_chart".into(), charts::bars("风险等级", &rating_bars).into());
    ctx.insert("budget_chart".into(), charts::bars("各部门项目预算（万元）", &budgets).into());
    ctx.insert("kind_chart".into(), charts::bars("各类信息系统", &by_kind).into());
    render(&state, StatusCode::OK, "projects.html", ctx)
}

/// A project: its record, what each next step still needs, documents, reviews, milestones
/// and baselines, payments, ratings and history (printable as the project's report).
pub async fn project(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Response {
    let found = async {
        let who = caller.required()?;
        Ok::<_, ApiError>((state.projects.detail(who, id).await?, state.projects.similar(who, id).await?))
    }
    .await;
    let (d, similar) = match found {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let orgs = org_names(&state).await;
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
    let mut ctx = base(&caller, "projects", &d.project.name);
    ctx.insert("org_name".into(), json!(orgs.get(&d.project.org_id)));
    ctx.insert("budget_wan".into(), json!(yuan_wan(d.project.budget)));
    ctx.insert("spent_wan".into(), json!(yuan_wan(d.spent)));
    ctx.insert("cost_chart".into(), charts::bars("里程碑投资：计划与实际（万元）", &costs).into());
    ctx.insert("similar".into(), json!(similar));
    ctx.insert("d".into(), json!(d));
    render(&state, StatusCode::OK, "project.html", ctx)
}

/// The inventory of information systems with their verdicts, and the rectification tickets.
pub async fn systems(State(state): State<AppState>, caller: Caller) -> Response {
    let found = async {
        let who = caller.required()?;
        Ok::<_, ApiError>((state.projects.systems(who).await?, state.projects.tickets(who).await?))
    }
    .await;
    let (systems, tickets) = match found {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let orgs = org_names(&state).await;
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
    let mut ctx = base(&caller, "systems", "政务信息系统清单");
    ctx.insert("systems".into(), json!(rows));
    ctx.insert("tickets".into(), json!(tickets));
    render(&state, StatusCode::OK, "systems.html", ctx)
}

/// A round's report: each project's totals by kind of evaluation, the final total and
/// grade, by dimension; the grades' counts (printable; XLSX beside it).
pub async fn round(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Response {
    let found = async { Ok::<_, ApiError>(state.projects.round_report(caller.required()?, id).await?) }.await;
    let r = match found {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let totals: Vec<(String, f64)> = r.rows.iter().filter_map(|x| x.total.map(|t| (x.name.clone(), t))).collect();
    let grades: Vec<(String, f64)> = r.by_grade.iter().map(|(k, v)| (k.clone(), *v as f64)).collect();
    let mut ctx = base(&caller, "projects", &r.round.name);
    ctx.insert("total_chart".into(), charts::bars("各项目综合得分", &totals).into());
    ctx.insert("grade_chart".into(), charts::bars("评价等级分布", &grades).into());
    ctx.insert("r".into(), json!(r));
    render(&state, StatusCode::OK, "evaluation_round.html", ctx)
}
