//! The projects plane's page forms (Chinese, no script needed): each reads the posted
//! fields, calls the one service function its API twin calls, and goes back to its page
//! with what was done, or shows that page again with every problem named (nothing is kept
//! of a refused form). Documents and spreadsheets are uploaded by the pages' script to the
//! API, as the library's files are.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use tongshu_core::projects::{CHECKLIST, DECOMMISSION, Transition};
use tongshu_projects::{MilestoneInput, Proposal, SystemInput};

use super::pages::{Notice, portfolio_view, project_view, round_view, systems_view};
use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::form::Posted;
use crate::http::render::{error_page, see_other};

/// The page a form lives on, shown again when the form is refused.
enum Back {
    Portfolio,
    Project(i64),
    Systems,
    Round(i64),
}

/// Goes to `to` after a form was taken, or shows the form's page with why it was not.
async fn answer(state: &AppState, caller: &Caller, back: Back, done: Result<String, ApiError>) -> Response {
    let problem = match done {
        Ok(to) => return see_other(&to),
        Err(e) if e.code == ErrorCode::Unauthorized => return error_page(state, caller, e),
        Err(e) => e,
    };
    let notice = Notice { done: None, problem: Some(problem) };
    match back {
        Back::Portfolio => portfolio_view(state, caller, notice).await,
        Back::Project(id) => project_view(state, caller, id, notice).await,
        Back::Systems => systems_view(state, caller, notice).await,
        Back::Round(id) => round_view(state, caller, id, None, notice).await,
    }
}

fn to_project(id: i64, done: &str, anchor: &str) -> String {
    format!("/projects/{id}?done={done}#{anchor}")
}

/// A proposal as the form gives it.
fn proposal(body: &[u8]) -> Result<Proposal, ApiError> {
    let mut f = Posted::parse(body);
    let p = Proposal {
        org_id: f.int("org_id"),
        name: f.text("name"),
        year: f.int("year"),
        purpose: f.text("purpose"),
        budget: f.required_int("budget"),
        funding_source: f.text("funding_source"),
        builds: f.list("builds"),
        reuses: f.ids("reuses"),
    };
    f.finish()?;
    Ok(p)
}

/// `POST /projects`: a department's proposal.
pub async fn propose(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let done = async {
        let made = state.projects.propose(caller.required()?, proposal(&body)?).await?;
        Ok(to_project(made.id, "proposed", "gates"))
    }
    .await;
    answer(&state, &caller, Back::Portfolio, done).await
}

/// `POST /projects/{id}`: the proposal changed, while it is one.
pub async fn edit(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        state.projects.edit_proposal(caller.required()?, id, proposal(&body)?).await?;
        Ok(to_project(id, "edited", "gates"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/steps`: the next step (gated) with a comment.
pub async fn step(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let f = Posted::parse(&body);
        let name = f.text("transition");
        let Some(t) = Transition::ALL.into_iter().find(|t| t.as_str() == name) else {
            return Err(ApiError::new(ErrorCode::BadRequest, format!("transition: unknown step {name:?}")));
        };
        state.projects.step(caller.required()?, id, t, &f.text("comment")).await?;
        Ok(to_project(id, "step", "stage"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/data`: the data-sharing registration.
pub async fn register_data(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let (produces, consumes) = (f.ids("produces"), f.ids("consumes"));
        f.finish()?;
        let who = caller.required()?;
        state.projects.register_data(who, id, &produces, &consumes, &f.text("consumes_reason")).await?;
        Ok(to_project(id, "data", "data"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/reuse`: the reviewer's reason for a new system (集约利旧).
pub async fn reuse(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let f = Posted::parse(&body);
        state.projects.set_reuse_reason(caller.required()?, id, &f.text("reason")).await?;
        Ok(to_project(id, "reuse", "gates"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/experts`: assigns a reviewing expert.
pub async fn assign_expert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let done = async {
        let f = Posted::parse(&body);
        state.projects.assign_expert(caller.required()?, id, &f.text("username")).await?;
        Ok(to_project(id, "expert", "reviews"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// Scores typed as `prefix.key` fields: each must be a number (a blank one is left out,
/// for the service to name as missing).
fn scores(f: &mut Posted, prefix: &str) -> Result<BTreeMap<String, f64>, ApiError> {
    let mut out = BTreeMap::new();
    for (k, _) in f.prefixed(prefix) {
        if let Some(v) = f.number(&format!("{prefix}.{k}")) {
            out.insert(k, v);
        }
    }
    f.finish()?;
    Ok(out)
}

/// `POST /projects/{id}/score`: an assigned expert's review sheet.
pub async fn score(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let sheet = scores(&mut f, "sheet")?;
        state.projects.score(caller.required()?, id, &sheet, &f.text("comment")).await?;
        Ok(to_project(id, "score", "reviews"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/milestones`: a construction milestone.
pub async fn add_milestone(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let m = MilestoneInput {
            name: f.text("name"),
            planned_on: f.text("planned_on"),
            planned_cost: f.required_int("planned_cost"),
        };
        f.finish()?;
        state.projects.add_milestone(caller.required()?, id, m).await?;
        Ok(to_project(id, "milestone", "milestones"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/milestones/{m}/report`: a milestone's forecast or actual.
pub async fn report_milestone(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, m)): Path<(i64, i64)>,
    body: Bytes,
) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let cost = f.int("actual_cost");
        f.finish()?;
        let (forecast, actual) = (f.opt("forecast_on"), f.opt("actual_on"));
        let who = caller.required()?;
        state.projects.report_milestone(who, m, forecast.as_deref(), actual.as_deref(), cost).await?;
        Ok(to_project(id, "progress", "milestones"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/milestones/{m}/rebaseline`: a new plan with its reason.
pub async fn rebaseline(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, m)): Path<(i64, i64)>,
    body: Bytes,
) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let cost = f.required_int("planned_cost");
        f.finish()?;
        let who = caller.required()?;
        state.projects.rebaseline(who, m, &f.text("planned_on"), cost, &f.text("reason")).await?;
        Ok(to_project(id, "rebaseline", "milestones"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/payments`: a payment made.
pub async fn add_payment(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let amount = f.required_int("amount");
        f.finish()?;
        state.projects.add_payment(caller.required()?, id, amount, &f.text("paid_on"), &f.text("note")).await?;
        Ok(to_project(id, "payment", "payments"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/checklist`: the acceptance or decommission checklist as ticked
/// (`item` names each item shown, `done` each ticked one).
pub async fn checklist(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let f = Posted::parse(&body);
        let ticked = f.all("done");
        let known = |k: &str| CHECKLIST.iter().chain(DECOMMISSION).any(|(c, _)| *c == k);
        let items: BTreeMap<String, bool> = f
            .all("item")
            .into_iter()
            .chain(ticked.iter().filter(|k| !known(k)).cloned())
            .map(|k| {
                let v = ticked.contains(&k);
                (k, v)
            })
            .collect();
        state.projects.check_items(caller.required()?, id, &items).await?;
        Ok(to_project(id, "checklist", "checklists"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /projects/{id}/risk`: the bureau's rating with its reason.
pub async fn risk(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let rating = f.required_int("rating");
        f.finish()?;
        state.projects.override_risk(caller.required()?, id, rating, &f.text("comment")).await?;
        Ok(to_project(id, "risk", "risks"))
    }
    .await;
    answer(&state, &caller, Back::Project(id), done).await
}

/// `POST /systems`: one system entered by hand.
pub async fn add_system(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let s = SystemInput {
            name: f.text("name"),
            kind: f.text("kind"),
            org_id: f.int("org_id"),
            project_id: f.int("project_id"),
            vendor: f.text("vendor"),
            cost_per_year: f.int("cost_per_year"),
            urls: f.list("urls"),
            hosting: f.text("hosting"),
            security_level: f.int("security_level"),
            status: f.opt("status"),
            entries: f.ids("entries"),
            apps: Vec::new(),
            users: f.text("users"),
            function: f.text("function"),
            last_post_on: f.opt("last_post_on"),
        };
        f.finish()?;
        let s = state.projects.add_system(caller.required()?, s).await?;
        Ok(format!("/systems?done=system#system-{}", s.id))
    }
    .await;
    answer(&state, &caller, Back::Systems, done).await
}

/// `POST /systems/{id}/facts`: what the probes cannot see.
pub async fn system_facts(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let duplicate_of = f.int("duplicate_of");
        f.finish()?;
        let (post, unanswered) = (f.opt("last_post_on"), f.opt("oldest_unanswered_on"));
        let who = caller.required()?;
        state.projects.set_system_facts(who, id, post.as_deref(), unanswered.as_deref(), duplicate_of).await?;
        Ok(format!("/systems?done=facts#system-{id}"))
    }
    .await;
    answer(&state, &caller, Back::Systems, done).await
}

/// `POST /systems/check`: judges every system now and opens tickets for new findings.
pub async fn check(State(state): State<AppState>, caller: Caller) -> Response {
    let done = async {
        state.projects.check_systems(caller.required()?).await?;
        Ok("/systems?done=checked#tickets".to_owned())
    }
    .await;
    answer(&state, &caller, Back::Systems, done).await
}

/// `POST /tickets/{id}/close`: fixed (re-checked), merged into another system, or stopped.
pub async fn close_ticket(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let into = f.int("merged_into");
        f.finish()?;
        state.projects.close_ticket(caller.required()?, id, &f.text("outcome"), &f.text("note"), into).await?;
        Ok("/systems?done=ticket#tickets".to_owned())
    }
    .await;
    answer(&state, &caller, Back::Systems, done).await
}

/// `POST /evaluation`: a new round, weights from a pairwise matrix (or the standard's).
pub async fn create_round(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let year = f.required_int("year");
        let matrix = f.matrix("matrix");
        f.finish()?;
        let r = state.projects.create_round(caller.required()?, &f.text("name"), year, None, matrix).await?;
        Ok(format!("/evaluation/{}?done=round", r.id))
    }
    .await;
    answer(&state, &caller, Back::Portfolio, done).await
}

/// `POST /evaluation/{id}`: one project's evaluation of a kind, a score per indicator.
pub async fn evaluate(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let done = async {
        let mut f = Posted::parse(&body);
        let project = f.required_int("project_id");
        let scores = scores(&mut f, "score")?;
        let who = caller.required()?;
        state.projects.evaluate(who, id, project, &f.text("kind"), scores, &f.text("comment")).await?;
        Ok(format!("/evaluation/{id}?done=evaluated#results"))
    }
    .await;
    answer(&state, &caller, Back::Round(id), done).await
}
