//! The portal administrator's pages: the search synonym dictionary.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, parse_id};
use crate::http::render::{base, error_page, render, see_other};

#[derive(Deserialize, Default)]
pub struct SynonymsQuery {
    done: Option<String>,
}

/// The search synonym dictionary, with the form that adds a rule.
pub async fn synonyms(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<SynonymsQuery>, ApiError>,
) -> Response {
    let done = q.ok().and_then(|q| q.0.done);
    synonyms_page(&state, &caller, StatusCode::OK, crate::http::render::flash(done.as_deref()), "", None).await
}

async fn synonyms_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    flash: Option<&str>,
    line: &str,
    error: Option<String>,
) -> Response {
    match state.portal.synonyms().await {
        Ok(rules) => {
            let mut ctx = base(caller, "synonyms", "搜索词典");
            ctx.insert("rules".into(), json!(rules));
            ctx.insert("line".into(), line.into());
            ctx.insert("error".into(), json!(error));
            ctx.insert("flash".into(), json!(flash));
            render(state, status, "synonyms.html", ctx)
        }
        Err(e) => error_page(state, caller, e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct SynonymForm {
    #[serde(default)]
    line: String,
}

pub async fn add_synonym(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<axum::Form<SynonymForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let line = form.map(|f| f.0.line).unwrap_or_default();
    let result = async {
        let rule = tongshu_core::synonyms::SynonymInput::parse(&line).map_err(|f| {
            ApiError::fields(
                crate::http::error::ErrorCode::InvalidFields,
                f.0.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; "),
                f,
            )
        })?;
        state.portal.add_synonym(caller.required()?, rule).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => see_other("/admin/synonyms?done=synonym_added"),
        Err(e) if e.code == crate::http::error::ErrorCode::InvalidFields => {
            synonyms_page(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, None, &line, Some(e.message)).await
        }
        Err(e) => error_page(&state, &caller, e),
    }
}

pub async fn remove_synonym(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    let result = async {
        state.portal.remove_synonym(caller.required()?, parse_id(&id)?).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => see_other("/admin/synonyms?done=synonym_removed"),
        Err(e) => error_page(&state, &caller, e),
    }
}
