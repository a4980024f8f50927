//! The projects plane's JSON API. Each handler extracts, calls one function of
//! `tongshu_projects::ProjectsService` and answers its value as JSON; who may do what with
//! which project is decided there (with `core::policy`).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tongshu_core::projects::Transition;
use tongshu_projects::{MilestoneInput, Proposal};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody, ErrorCode};
use crate::http::extract::ApiJson;

type Answer = Result<Json<Value>, ApiError>;

fn json(v: impl Serialize) -> Answer {
    serde_json::to_value(v).map(Json).map_err(ApiError::internal)
}

fn ok() -> Answer {
    Ok(Json(serde_json::json!({"ok": true})))
}

/// A proposal (储备申报).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalBody {
    /// The proposing department (default: the caller's).
    pub org_id: Option<i64>,
    pub name: String,
    pub year: Option<i64>,
    /// What it is for (建设目标).
    pub purpose: String,
    /// Yuan.
    pub budget: i64,
    pub funding_source: String,
    /// Names of the systems it will build.
    #[serde(default)]
    pub builds: Vec<String>,
    /// Ids of inventory systems it will reuse.
    #[serde(default)]
    pub reuses: Vec<i64>,
}

impl From<ProposalBody> for Proposal {
    fn from(b: ProposalBody) -> Self {
        Proposal {
            org_id: b.org_id,
            name: b.name,
            year: b.year,
            purpose: b.purpose,
            budget: b.budget,
            funding_source: b.funding_source,
            builds: b.builds,
            reuses: b.reuses,
        }
    }
}

/// The projects the caller may read: the bureau, auditors and the evaluation body all;
/// a department its own; an expert those assigned to it.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", responses((status = 200, description = "projects")))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Answer {
    json(state.projects.list(caller.required()?).await?)
}

/// Files a proposal for a department (its data officers, or the bureau).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = ProposalBody,
    responses((status = 201, description = "the project"), (status = 422, body = ErrorBody)))]
pub async fn propose(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ProposalBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let p = state.projects.propose(caller.required()?, body.into()).await?;
    Ok((StatusCode::CREATED, json(p)?))
}

/// A project with its documents, reviews, milestones, payments, risk ratings, history and
/// what each next step's gate still needs.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, description = "the project"), (status = 404, body = ErrorBody)))]
pub async fn detail(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    json(state.projects.detail(caller.required()?, id).await?)
}

/// Changes a proposal while it is one.
#[utoipa::path(put, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = i64, Path)), request_body = ProposalBody,
    responses((status = 200, description = "the project"), (status = 409, body = ErrorBody)))]
pub async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<ProposalBody>,
) -> Answer {
    json(state.projects.edit_proposal(caller.required()?, id, body.into()).await?)
}

/// The data-sharing registration.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataBody {
    /// Catalog entries of the department the project will produce.
    pub produces: Vec<i64>,
    /// Listed catalog entries it will consume.
    pub consumes: Vec<i64>,
    /// Why it consumes none, when it does not.
    #[serde(default)]
    pub consumes_reason: String,
}

/// Registers the data a project will produce and consume (the data-sharing review).
#[utoipa::path(post, path = "/api/v1/projects/{id}/data", tag = "projects", params(("id" = i64, Path)), request_body = DataBody,
    responses((status = 200, description = "registered"), (status = 422, body = ErrorBody)))]
pub async fn register_data(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<DataBody>,
) -> Answer {
    state.projects.register_data(caller.required()?, id, &b.produces, &b.consumes, &b.consumes_reason).await?;
    ok()
}

/// A reason, a comment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    pub reason: String,
}

/// Records why a new system is needed although the inventory has similar ones (集约利旧).
#[utoipa::path(post, path = "/api/v1/projects/{id}/reuse", tag = "projects", params(("id" = i64, Path)), request_body = ReasonBody,
    responses((status = 200, description = "recorded")))]
pub async fn reuse(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ReasonBody>,
) -> Answer {
    state.projects.set_reuse_reason(caller.required()?, id, &b.reason).await?;
    ok()
}

/// Systems of the inventory that do what the project proposes.
#[utoipa::path(get, path = "/api/v1/projects/{id}/similar", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, description = "similar systems, most alike first")))]
pub async fn similar(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    json(state.projects.similar(caller.required()?, id).await?)
}

/// An expert to assign.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpertBody {
    pub username: String,
}

/// Assigns an expert (an account with the expert role) to review the project.
#[utoipa::path(post, path = "/api/v1/projects/{id}/experts", tag = "projects", params(("id" = i64, Path)), request_body = ExpertBody,
    responses((status = 200, description = "assigned"), (status = 422, body = ErrorBody)))]
pub async fn assign_expert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ExpertBody>,
) -> Answer {
    state.projects.assign_expert(caller.required()?, id, &b.username).await?;
    ok()
}

/// An expert's review.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreBody {
    /// The review sheet: necessity, feasibility, data_sharing, reuse, investment, security
    /// → 0–100 each (weighted 25, 20, 20, 15, 10, 10 %).
    pub sheet: BTreeMap<String, f64>,
    #[serde(default)]
    pub comment: String,
}

/// An assigned expert scores the project in review.
#[utoipa::path(post, path = "/api/v1/projects/{id}/score", tag = "projects", params(("id" = i64, Path)), request_body = ScoreBody,
    responses((status = 200, description = "scored"), (status = 409, body = ErrorBody)))]
pub async fn score(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ScoreBody>,
) -> Answer {
    state.projects.score(caller.required()?, id, &b.sheet, &b.comment).await?;
    ok()
}

/// A step of the lifecycle.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepBody {
    /// submit, close_review, return, approve, reject, complete, accept, start_evaluation,
    /// finish_evaluation, rectify, fixed, retire.
    pub transition: String,
    #[serde(default)]
    pub comment: String,
}

/// Takes a step: the gate is checked and every missing piece is named (422 with fields).
#[utoipa::path(post, path = "/api/v1/projects/{id}/steps", tag = "projects", params(("id" = i64, Path)), request_body = StepBody,
    responses((status = 200, description = "the project after the step"), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn step(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<StepBody>,
) -> Answer {
    let t = Transition::parse(&b.transition)
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, format!("transition: unknown step {:?}", b.transition)))?;
    json(state.projects.step(caller.required()?, id, t, &b.comment).await?)
}

/// Which document is attached.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DocumentQuery {
    /// proposal, feasibility, review_opinion, approval, contract, progress, acceptance,
    /// financial_audit, archive, evaluation, rectification, decommission, other.
    pub kind: String,
    /// The file's name.
    pub name: String,
}

/// Attaches a document (the file as the body) to the project's current stage.
#[utoipa::path(post, path = "/api/v1/projects/{id}/documents", tag = "projects", params(("id" = i64, Path), DocumentQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "the document: name, SM3, size"), (status = 422, body = ErrorBody)))]
pub async fn attach(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(q): Query<DocumentQuery>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let d = state.projects.attach(caller.required()?, id, &q.kind, &q.name, body.to_vec()).await?;
    Ok((StatusCode::CREATED, json(d)?))
}

/// A document's file, checked against its SM3 hash.
#[utoipa::path(get, path = "/api/v1/project-documents/{id}", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 404, body = ErrorBody)))]
pub async fn document(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let d = state.projects.document(caller.required()?, id).await?;
    let disposition = format!("attachment; filename*=UTF-8''{}", urlencode(&d.record.file_name));
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("x-content-sm3"), d.record.sm3.clone()),
        ],
        d.bytes,
    )
        .into_response())
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>().replace('+', "%20")
}

/// A milestone to plan.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneBody {
    pub name: String,
    /// YYYY-MM-DD.
    pub planned_on: String,
    /// Yuan.
    pub planned_cost: i64,
}

/// Plans a construction milestone.
#[utoipa::path(post, path = "/api/v1/projects/{id}/milestones", tag = "projects", params(("id" = i64, Path)), request_body = MilestoneBody,
    responses((status = 201, description = "the milestone"), (status = 422, body = ErrorBody)))]
pub async fn add_milestone(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<MilestoneBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let m = MilestoneInput { name: b.name, planned_on: b.planned_on, planned_cost: b.planned_cost };
    Ok((StatusCode::CREATED, json(state.projects.add_milestone(caller.required()?, id, m).await?)?))
}

/// Progress of a milestone.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressBody {
    pub forecast_on: Option<String>,
    pub actual_on: Option<String>,
    pub actual_cost: Option<i64>,
}

/// Reports a milestone's forecast or actual date and cost.
#[utoipa::path(post, path = "/api/v1/milestones/{id}/report", tag = "projects", params(("id" = i64, Path)), request_body = ProgressBody,
    responses((status = 200, description = "reported")))]
pub async fn report_milestone(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ProgressBody>,
) -> Answer {
    state
        .projects
        .report_milestone(caller.required()?, id, b.forecast_on.as_deref(), b.actual_on.as_deref(), b.actual_cost)
        .await?;
    ok()
}

/// A new baseline.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineBody {
    pub planned_on: String,
    pub planned_cost: i64,
    pub reason: String,
}

/// Re-baselines a milestone with a reason (the earlier plan is kept).
#[utoipa::path(post, path = "/api/v1/milestones/{id}/rebaseline", tag = "projects", params(("id" = i64, Path)), request_body = BaselineBody,
    responses((status = 200, description = "re-baselined"), (status = 422, body = ErrorBody)))]
pub async fn rebaseline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<BaselineBody>,
) -> Answer {
    state.projects.rebaseline(caller.required()?, id, &b.planned_on, b.planned_cost, &b.reason).await?;
    ok()
}

/// A payment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// Yuan.
    pub amount: i64,
    pub paid_on: String,
    #[serde(default)]
    pub note: String,
}

/// Records a payment.
#[utoipa::path(post, path = "/api/v1/projects/{id}/payments", tag = "projects", params(("id" = i64, Path)), request_body = PaymentBody,
    responses((status = 201, description = "the payment")))]
pub async fn add_payment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<PaymentBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let p = state.projects.add_payment(caller.required()?, id, b.amount, &b.paid_on, &b.note).await?;
    Ok((StatusCode::CREATED, json(p)?))
}

/// Checklist items.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChecklistBody {
    /// technical, financial, archive, effectiveness; data_archived, entries_delisted,
    /// grants_revoked → passed or done.
    pub items: BTreeMap<String, bool>,
}

/// Marks acceptance or decommission checklist items.
#[utoipa::path(post, path = "/api/v1/projects/{id}/checklist", tag = "projects", params(("id" = i64, Path)), request_body = ChecklistBody,
    responses((status = 200, description = "recorded"), (status = 422, body = ErrorBody)))]
pub async fn checklist(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<ChecklistBody>,
) -> Answer {
    state.projects.check_items(caller.required()?, id, &b.items).await?;
    ok()
}

/// A risk rating.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskBody {
    /// 1 (high risk) to 5 (low).
    pub rating: i64,
    pub comment: String,
}

/// Overrides the computed risk rating with a comment (history kept).
#[utoipa::path(post, path = "/api/v1/projects/{id}/risk", tag = "projects", params(("id" = i64, Path)), request_body = RiskBody,
    responses((status = 200, description = "recorded"), (status = 422, body = ErrorBody)))]
pub async fn risk(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<RiskBody>,
) -> Answer {
    state.projects.override_risk(caller.required()?, id, b.rating, &b.comment).await?;
    ok()
}

/// The indicators the platform measures of a project, pre-filled.
#[utoipa::path(get, path = "/api/v1/projects/{id}/prefill", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, description = "scores and how they were measured")))]
pub async fn prefill(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    json(state.projects.prefill(caller.required()?, id).await?)
}

/// The portfolio: per project stage, budget against spent, variances, risk rating and
/// systems; per department sums; the city's totals.
#[utoipa::path(get, path = "/api/v1/portfolio", tag = "projects", responses((status = 200, description = "the portfolio")))]
pub async fn portfolio(State(state): State<AppState>, caller: Caller) -> Answer {
    json(state.projects.portfolio(caller.required()?).await?)
}

/// The information systems the caller may read.
#[utoipa::path(get, path = "/api/v1/systems", tag = "systems", responses((status = 200, description = "systems")))]
pub async fn systems(State(state): State<AppState>, caller: Caller) -> Answer {
    json(state.projects.systems(caller.required()?).await?)
}

/// A system to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SystemBody {
    pub name: String,
    /// website, oa, email, business, public_service, wechat, microblog, app, other (or
    /// the Chinese words).
    pub kind: String,
    pub org_id: Option<i64>,
    pub project_id: Option<i64>,
    #[serde(default)]
    pub vendor: String,
    pub cost_per_year: Option<i64>,
    #[serde(default)]
    pub urls: Vec<String>,
    #[serde(default)]
    pub hosting: String,
    pub security_level: Option<i64>,
    pub status: Option<String>,
    /// Catalog entries it produces.
    #[serde(default)]
    pub entries: Vec<i64>,
    /// Exchange apps it calls interfaces with.
    #[serde(default)]
    pub apps: Vec<i64>,
    #[serde(default)]
    pub users: String,
    #[serde(default)]
    pub function: String,
    pub last_post_on: Option<String>,
}

/// Adds a system to the inventory.
#[utoipa::path(post, path = "/api/v1/systems", tag = "systems", request_body = SystemBody,
    responses((status = 201, description = "the system"), (status = 422, body = ErrorBody)))]
pub async fn add_system(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<SystemBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let input = tongshu_projects::SystemInput {
        name: b.name,
        kind: b.kind,
        org_id: b.org_id,
        project_id: b.project_id,
        vendor: b.vendor,
        cost_per_year: b.cost_per_year,
        urls: b.urls,
        hosting: b.hosting,
        security_level: b.security_level,
        status: b.status,
        entries: b.entries,
        apps: b.apps,
        users: b.users,
        function: b.function,
        last_post_on: b.last_post_on,
    };
    Ok((StatusCode::CREATED, json(state.projects.add_system(caller.required()?, input).await?)?))
}

/// The imported file's name (its extension tells the format).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImportQuery {
    pub name: String,
}

/// Imports the bureau's spreadsheet of systems (XLSX/XLS/CSV in UTF-8 or GBK as the body):
/// every readable row is added, each other row reported with its column, value and reason.
#[utoipa::path(post, path = "/api/v1/systems/import", tag = "systems", params(ImportQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "the import report"), (status = 422, body = ErrorBody)))]
pub async fn import_systems(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Answer {
    let who = caller.required()?;
    let name = q.name.rsplit(['/', '\\']).next().unwrap_or("systems.xlsx").to_owned();
    let dir = tempfile::tempdir_in(std::env::temp_dir()).map_err(ApiError::internal)?;
    let path = dir.path().join(&name);
    tokio::fs::write(&path, &body).await.map_err(ApiError::internal)?;
    json(state.projects.import_systems(who, &path).await?)
}

/// Probes every system's URLs now.
#[utoipa::path(post, path = "/api/v1/systems/probe", tag = "systems", responses((status = 200, description = "probe results")))]
pub async fn probe(State(state): State<AppState>, caller: Caller) -> Answer {
    json(state.projects.probe_all(caller.required()?).await?)
}

/// Judges every system by the zombie rules; findings open rectification tickets.
#[utoipa::path(post, path = "/api/v1/systems/check", tag = "systems", responses((status = 200, description = "verdicts and tickets")))]
pub async fn check(State(state): State<AppState>, caller: Caller) -> Answer {
    json(state.projects.check_systems(caller.required()?).await?)
}

/// A system.
#[utoipa::path(get, path = "/api/v1/systems/{id}", tag = "systems", params(("id" = i64, Path)),
    responses((status = 200, description = "the system"), (status = 404, body = ErrorBody)))]
pub async fn system(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    json(state.projects.system(caller.required()?, id).await?)
}

/// Facts the probes cannot see.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactsBody {
    /// A new-media account's last post (YYYY-MM-DD).
    pub last_post_on: Option<String>,
    /// The day the oldest unanswered public message came.
    pub oldest_unanswered_on: Option<String>,
    /// Another system doing the same.
    pub duplicate_of: Option<i64>,
}

/// Enters a system's facts.
#[utoipa::path(post, path = "/api/v1/systems/{id}/facts", tag = "systems", params(("id" = i64, Path)), request_body = FactsBody,
    responses((status = 200, description = "recorded"), (status = 422, body = ErrorBody)))]
pub async fn system_facts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<FactsBody>,
) -> Answer {
    state
        .projects
        .set_system_facts(
            caller.required()?,
            id,
            b.last_post_on.as_deref(),
            b.oldest_unanswered_on.as_deref(),
            b.duplicate_of,
        )
        .await?;
    ok()
}

/// Rectification tickets the caller may read.
#[utoipa::path(get, path = "/api/v1/tickets", tag = "systems", responses((status = 200, description = "tickets")))]
pub async fn tickets(State(state): State<AppState>, caller: Caller) -> Answer {
    json(state.projects.tickets(caller.required()?).await?)
}

/// How a ticket ends.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// fixed (re-checked), merged (into `merged_into`) or stopped (decommission checklist).
    pub outcome: String,
    #[serde(default)]
    pub note: String,
    pub merged_into: Option<i64>,
}

/// Closes a rectification ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/close", tag = "systems", params(("id" = i64, Path)), request_body = CloseBody,
    responses((status = 200, description = "closed"), (status = 422, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close_ticket(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<CloseBody>,
) -> Answer {
    state.projects.close_ticket(caller.required()?, id, &b.outcome, &b.note, b.merged_into).await?;
    ok()
}

/// Evaluation rounds.
#[utoipa::path(get, path = "/api/v1/evaluation/rounds", tag = "projects", responses((status = 200, description = "rounds")))]
pub async fn rounds(State(state): State<AppState>, caller: Caller) -> Answer {
    caller.required()?;
    json(state.projects.rounds().await?)
}

/// A round to open.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundBody {
    pub name: String,
    pub year: i64,
    /// The four dimensions' weights (construction, operation, effect, benefit), summing to 1 …
    pub weights: Option<Vec<f64>>,
    /// … or their AHP pairwise comparison matrix (4×4, Saaty's scale; CR < 0.1).
    pub matrix: Option<Vec<Vec<f64>>>,
}

/// Opens an evaluation round with its weights.
#[utoipa::path(post, path = "/api/v1/evaluation/rounds", tag = "projects", request_body = RoundBody,
    responses((status = 201, description = "the round"), (status = 422, body = ErrorBody)))]
pub async fn create_round(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(b): ApiJson<RoundBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let r = state.projects.create_round(caller.required()?, &b.name, b.year, b.weights, b.matrix).await?;
    Ok((StatusCode::CREATED, json(r)?))
}

/// An evaluation.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvaluationBody {
    pub project_id: i64,
    /// self, third_party or on_site.
    pub kind: String,
    /// Indicator key → 0–100, for every indicator of the round's tree.
    pub scores: BTreeMap<String, f64>,
    #[serde(default)]
    pub comment: String,
}

/// Records an evaluation of a project in a round.
#[utoipa::path(post, path = "/api/v1/evaluation/rounds/{id}/evaluations", tag = "projects", params(("id" = i64, Path)),
    request_body = EvaluationBody, responses((status = 200, description = "the evaluation"), (status = 422, body = ErrorBody)))]
pub async fn evaluate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(b): ApiJson<EvaluationBody>,
) -> Answer {
    json(state.projects.evaluate(caller.required()?, id, b.project_id, &b.kind, b.scores, &b.comment).await?)
}

/// A round's report: each project's totals and grade, the grades' counts, the average
/// (a department sees its own projects' lines).
#[utoipa::path(get, path = "/api/v1/evaluation/rounds/{id}/report", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, description = "the report")))]
pub async fn round_report(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Answer {
    json(state.projects.round_report(caller.required()?, id).await?)
}

/// A project's report as an XLSX workbook: its record, milestones with a chart, the history.
#[utoipa::path(get, path = "/api/v1/projects/{id}/report.xlsx", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, description = "the workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn project_report_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let bytes = state.projects.project_report_xlsx(caller.required()?, id).await?;
    Ok(workbook(bytes, &format!("project-{id}.xlsx")))
}

fn workbook(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        bytes,
    )
        .into_response()
}

/// A round's report as an XLSX workbook (with a chart of the totals).
#[utoipa::path(get, path = "/api/v1/evaluation/rounds/{id}/report.xlsx", tag = "projects", params(("id" = i64, Path)),
    responses((status = 200, description = "the workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")))]
pub async fn round_report_xlsx(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let bytes = state.projects.round_report_xlsx(caller.required()?, id).await?;
    Ok(workbook(bytes, &format!("round-{id}.xlsx")))
}
