//! The administrator's review queue and review actions.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use tongshu_catalog::EntryFilter;

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, paging, parse_id};
use crate::http::render::{base, error_page, render, see_other};

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    offset: Option<i64>,
}

pub async fn queue(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<QueueQuery>, ApiError>,
) -> Response {
    let offset = match q {
        Ok(ApiQuery(q)) => q.offset,
        Err(e) => return error_page(&state, &caller, e),
    };
    let result = async {
        let (limit, offset) = paging(Some(20), offset, 20, 20)?;
        let filter = EntryFilter { limit, offset, ..Default::default() };
        let page = state.catalog.review_queue(caller.required()?, filter.clone()).await?;
        Ok::<_, ApiError>((filter, page))
    }
    .await;
    match result {
        Ok((filter, page)) => {
            let mut ctx = base(&caller, "review", "目录审核");
            ctx.insert("base".into(), "/review?".into());
            ctx.insert(
                "page".into(),
                json!({"total": page.total, "limit": filter.limit, "offset": filter.offset, "items": page.entries}),
            );
            render(&state, StatusCode::OK, "review.html", ctx)
        }
        Err(e) => error_page(&state, &caller, e),
    }
}

#[derive(Deserialize, Default)]
pub struct ReviewForm {
    #[serde(default)]
    comment: String,
}

/// The review form; a missing or unreadable body means no comment.
type ReviewBody = Result<axum::Form<ReviewForm>, axum::extract::rejection::FormRejection>;

#[derive(Clone, Copy)]
enum Decision {
    Approve,
    Return,
    Delist,
}

async fn decide(state: &AppState, caller: &Caller, id: &str, form: ReviewBody, d: Decision) -> Response {
    let comment = form.map(|f| f.0.comment).unwrap_or_default();
    let result = async {
        let p = caller.required()?;
        let id = parse_id(id)?;
        let e = match d {
            Decision::Approve => state.catalog.approve(p, id, Some(&comment)).await?,
            Decision::Return => state.catalog.return_entry(p, id, &comment).await?,
            Decision::Delist => state.catalog.delist(p, id, &comment).await?,
        };
        Ok::<_, ApiError>(e.id)
    }
    .await;
    let done = match d {
        Decision::Approve => "approved",
        Decision::Return => "returned",
        Decision::Delist => "delisted",
    };
    match result {
        Ok(id) => see_other(&format!("/catalog/{id}?done={done}")),
        Err(e) => error_page(state, caller, e),
    }
}

pub async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: ReviewBody,
) -> Response {
    decide(&state, &caller, &id, form, Decision::Approve).await
}

pub async fn return_entry(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: ReviewBody,
) -> Response {
    decide(&state, &caller, &id, form, Decision::Return).await
}

pub async fn delist(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    form: ReviewBody,
) -> Response {
    decide(&state, &caller, &id, form, Decision::Delist).await
}
