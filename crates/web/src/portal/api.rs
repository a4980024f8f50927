//! The open portal's interaction API: posts (data requests, feedback,
//! comments, applications, showcase entries) and their decisions, and the search synonym dictionary.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tongshu_portal::interact::PostInput;
use tongshu_portal::{Interaction, InteractionKind};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorBody};
use crate::http::extract::ApiJson;
use crate::http::extract::{ApiQuery, bad_param, parse_id};

fn kind(s: &str) -> Result<InteractionKind, ApiError> {
    InteractionKind::parse(s)
        .ok_or_else(|| bad_param("kind", format!("{s:?}: use request, feedback, comment, application or showcase")))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostRequest {
    /// request | feedback | comment | application | showcase
    pub kind: String,
    pub dataset: Option<String>,
    /// The department a data request is addressed to (slug).
    pub org: Option<String>,
    #[serde(default)]
    pub title: String,
    pub body: String,
    pub rating: Option<i64>,
    pub link: Option<String>,
}

/// Files a post as the caller. Requests, comments and showcase entries are published
/// after moderation; feedback and applications go to the dataset's provider.
#[utoipa::path(post, path = "/api/v1/portal/posts", tag = "portal", request_body = PostRequest,
    responses((status = 201, body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_post(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PostRequest>,
) -> Result<(StatusCode, Json<Interaction>), ApiError> {
    let input = PostInput {
        dataset: req.dataset,
        org: req.org,
        title: req.title,
        body: req.body,
        rating: req.rating,
        link: req.link,
    };
    let post = state.portal.post(caller.required()?, kind(&req.kind)?, &input).await?;
    Ok((StatusCode::CREATED, Json(post)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PostsQuery {
    /// request | comment | showcase (feedback and applications are not public)
    pub kind: String,
    pub dataset: Option<String>,
}

/// What everyone may see: published data requests with their answers, comments, showcase.
#[utoipa::path(get, path = "/api/v1/portal/posts", tag = "portal", params(PostsQuery),
    responses((status = 200, body = [Object]), (status = 400, body = ErrorBody)))]
pub async fn list_posts(
    State(state): State<AppState>,
    q: Result<ApiQuery<PostsQuery>, ApiError>,
) -> Result<Json<Vec<Interaction>>, ApiError> {
    let ApiQuery(q) = q?;
    Ok(Json(state.portal.public_posts(kind(&q.kind)?, q.dataset.as_deref()).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    /// Waiting for the caller: everything pending (administrators) or what is addressed to
    /// the caller's department (data officers).
    #[schema(value_type = Vec<Object>)]
    pub waiting: Vec<Interaction>,
    /// The caller's own posts with their answers.
    #[schema(value_type = Vec<Object>)]
    pub mine: Vec<Interaction>,
}

#[utoipa::path(get, path = "/api/v1/portal/inbox", tag = "portal", responses((status = 200, body = Inbox)))]
pub async fn inbox(State(state): State<AppState>, caller: Caller) -> Result<Json<Inbox>, ApiError> {
    let who = caller.required()?;
    Ok(Json(Inbox { waiting: state.portal.inbox(who).await?, mine: state.portal.my_posts(who).await? }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// publish | hide | answer | approve | refuse
    pub decision: String,
    #[serde(default)]
    pub answer: String,
    /// Days of access an approval grants (default 365).
    pub days: Option<i64>,
}

/// Moderates or answers a post.
#[utoipa::path(post, path = "/api/v1/portal/posts/{id}/decision", tag = "portal", params(("id" = i64, Path)),
    request_body = DecisionRequest,
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> Result<Json<Interaction>, ApiError> {
    let days = req.days.map(|d| d.to_string());
    let d = super::interact::decision(&req.decision, req.answer, days.as_deref())?;
    Ok(Json(state.portal.decide(caller.required()?, parse_id(&id)?, &d).await?))
}

/// A rule of the search synonym dictionary.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SynonymView {
    pub id: i64,
    /// Without targets: terms that find each other.
    pub terms: Vec<String>,
    /// Terms the `terms` also find, one way; empty: none.
    pub targets: Vec<String>,
    /// The rule as one line (`社保, 社会保险` or `离婚, 结婚 => 婚姻登记`).
    pub line: String,
    /// The administrator who added it; null: the seed dictionary.
    pub created_by: Option<i64>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

impl From<tongshu_portal::Synonym> for SynonymView {
    fn from(s: tongshu_portal::Synonym) -> Self {
        Self {
            id: s.id,
            terms: s.terms,
            targets: s.targets,
            line: s.line,
            created_by: s.created_by,
            created_at: s.created_at,
        }
    }
}

/// A new synonym rule: `terms` (and `targets`), or the rule as one `line`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SynonymRequest {
    /// At least two terms when there are no targets, each at most 30 characters.
    #[serde(default)]
    pub terms: Vec<String>,
    /// Terms the `terms` also find, one way.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Instead of `terms`/`targets`: `a, b, c` or `a, b => c`.
    pub line: Option<String>,
}

impl SynonymRequest {
    pub fn into_input(self) -> Result<tongshu_core::synonyms::SynonymInput, ApiError> {
        use tongshu_core::synonyms::SynonymInput;
        let invalid = |f: tongshu_core::FieldErrors| {
            ApiError::fields(crate::http::error::ErrorCode::InvalidFields, format!("invalid synonym rule: {f}"), f)
        };
        match self.line {
            Some(_) if !self.terms.is_empty() || !self.targets.is_empty() => {
                Err(bad_param("line", "give either line or terms and targets, not both"))
            }
            Some(line) => SynonymInput::parse(&line).map_err(invalid),
            None => SynonymInput { terms: self.terms, targets: self.targets }.validate().map_err(invalid),
        }
    }
}

/// The search synonym dictionary (administrators).
#[utoipa::path(get, path = "/api/v1/admin/synonyms", tag = "portal",
    responses((status = 200, body = [SynonymView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn synonyms(State(state): State<AppState>) -> Result<Json<Vec<SynonymView>>, ApiError> {
    Ok(Json(state.portal.synonyms().await?.into_iter().map(Into::into).collect()))
}

/// Adds a synonym rule; searches on every node apply it at once, without reindexing.
#[utoipa::path(post, path = "/api/v1/admin/synonyms", tag = "portal", request_body = SynonymRequest,
    responses((status = 201, body = SynonymView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_synonym(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<SynonymRequest>,
) -> Result<(StatusCode, Json<SynonymView>), ApiError> {
    let rule = req.into_input()?;
    Ok((StatusCode::CREATED, Json(state.portal.add_synonym(caller.required()?, rule).await?.into())))
}

/// Removes a synonym rule.
#[utoipa::path(delete, path = "/api/v1/admin/synonyms/{id}", tag = "portal", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_synonym(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.portal.remove_synonym(caller.required()?, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
