//! Resource library pages: the department's tables with upload and export, a job's
//! progress and report, and the administrators' SQL console.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::http::extract::parse_id;
use crate::http::render::{base, error_page, render};

pub async fn library(State(state): State<AppState>, caller: Caller) -> Response {
    let result = async {
        let who = caller.required()?;
        let tables = state.library.tables_for(who).await?;
        let jobs = state.library.jobs(who, 20).await?;
        Ok::<_, ApiError>((tables, jobs))
    }
    .await;
    let (tables, jobs) = match result {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let mut ctx = base(&caller, "library", "资源库");
    ctx.insert("tables".into(), json!(tables));
    ctx.insert("jobs".into(), json!(jobs));
    render(&state, StatusCode::OK, "library.html", ctx)
}

pub async fn job(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    let result = async { Ok::<_, ApiError>(state.library.job(caller.required()?, parse_id(&id)?).await?) }.await;
    match result {
        Ok(job) => {
            let mut ctx = base(&caller, "library", &format!("导入作业 #{}", job.id));
            ctx.insert("job".into(), json!(job));
            render(&state, StatusCode::OK, "job.html", ctx)
        }
        Err(e) => error_page(&state, &caller, e),
    }
}

const CONSOLE_ROWS: usize = 1000;

async fn console(
    state: &AppState,
    caller: &Caller,
    sql: &str,
    status: StatusCode,
    outcome: Option<Result<super::api::SqlAnswer, ApiError>>,
) -> Response {
    let mut ctx = base(caller, "sql", "SQL 查询控制台");
    ctx.insert("sql".into(), sql.into());
    ctx.insert("max_rows".into(), CONSOLE_ROWS.into());
    match outcome {
        Some(Ok(answer)) => {
            ctx.insert("answer".into(), json!(answer));
        }
        Some(Err(e)) => {
            ctx.insert("error".into(), e.message.into());
        }
        None => {}
    }
    let tables = state.library.lake().list().await.unwrap_or_default();
    ctx.insert("tables".into(), json!(tables));
    render(state, status, "sql.html", ctx)
}

pub async fn sql_form(State(state): State<AppState>, caller: Caller) -> Response {
    let first = state.library.lake().list().await.unwrap_or_default().into_iter().next();
    let example = first.map(|t| format!("SELECT * FROM {t} LIMIT 20")).unwrap_or_default();
    console(&state, &caller, &example, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct SqlForm {
    sql: String,
}

pub async fn sql_run(
    State(state): State<AppState>,
    caller: Caller,
    form: Result<axum::Form<SqlForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(axum::Form(form)) = form else {
        return console(
            &state,
            &caller,
            "",
            StatusCode::BAD_REQUEST,
            Some(Err(ApiError::new(crate::http::error::ErrorCode::BadRequest, "缺少 SQL"))),
        )
        .await;
    };
    let outcome = super::api::run_sql(&state, &form.sql, Some(CONSOLE_ROWS)).await;
    let status = if outcome.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    console(&state, &caller, &form.sql, status, Some(outcome)).await
}
