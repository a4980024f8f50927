//! The data officer's workbench: the organization's entries, and the entry form.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tongshu_catalog::CatalogError;
use tongshu_catalog::EntryFilter;
use tongshu_core::FieldErrors;
use tongshu_core::catalog::{EntryInput, EntryStatus};

use super::form::{EntryForm, ItemRow, view_of};
use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::ApiError;
use crate::http::extract::{ApiQuery, paging, parse_id};
use crate::http::render::{base, error_page, render, see_other};
use crate::http::zh;

#[derive(Deserialize, Default)]
pub struct WorkbenchQuery {
    status: Option<String>,
    offset: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<WorkbenchQuery>, ApiError>,
) -> Response {
    let q = match q {
        Ok(ApiQuery(q)) => q,
        Err(e) => return error_page(&state, &caller, e),
    };
    let result = async {
        let p = caller.required()?;
        let (limit, offset) = paging(Some(20), q.offset, 20, 20)?;
        let statuses = q.status.as_deref().and_then(EntryStatus::parse).into_iter().collect();
        let filter = EntryFilter { statuses, limit, offset, ..Default::default() };
        let page = state.catalog.workbench(p, filter.clone()).await?;
        let org = state.accounts.organization(p.org_id).await?;
        Ok::<_, ApiError>((filter, page, org.name))
    }
    .await;
    let (filter, page, org_name) = match result {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let mut ctx = base(&caller, "workbench", "目录编制");
    let status = q.status.unwrap_or_default();
    ctx.insert("org_name".into(), org_name.into());
    ctx.insert("status".into(), status.clone().into());
    ctx.insert("base".into(), format!("/workbench?status={status}&").into());
    ctx.insert(
        "page".into(),
        json!({"total": page.total, "limit": filter.limit, "offset": filter.offset, "items": page.entries}),
    );
    render(&state, StatusCode::OK, "workbench.html", ctx)
}

/// Renders the entry form with values, errors (translated for people) and status.
#[allow(clippy::too_many_arguments, reason = "the form's parts are all distinct inputs")]
async fn form_page(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    heading: &str,
    action: &str,
    show_code: bool,
    (fields, rows): (Map<String, Value>, Vec<ItemRow>),
    errors: &FieldErrors,
) -> Response {
    let mut ctx = base(caller, "workbench", heading);
    let errs: Map<String, Value> = errors
        .0
        .iter()
        .rev() // the first message for a field wins
        .map(|e| (e.field.clone(), Value::String(caller.wording(&e.message))))
        .collect();
    ctx.insert("heading".into(), heading.into());
    ctx.insert("action".into(), action.into());
    ctx.insert("form".into(), Value::Object(fields));
    ctx.insert("item_rows".into(), json!(rows));
    ctx.insert("errors".into(), Value::Object(errs));
    ctx.insert("show_code".into(), show_code.into());
    // Administrators may file an entry for any organization.
    if caller.principal.as_ref().is_some_and(|p| p.runs_the_platform())
        && show_code
        && let Ok(orgs) = state.accounts.organizations().await
    {
        let orgs: Vec<_> = orgs.iter().map(|o| json!({"id": o.id, "name": o.name})).collect();
        ctx.insert("orgs".into(), json!(orgs));
    }
    render(state, status, "entry_form.html", ctx)
}

pub async fn new_form(State(state): State<AppState>, caller: Caller) -> Response {
    let input = EntryInput { class: "3".into(), ..Default::default() };
    let mut view = view_of(&input);
    if let Some(p) = &caller.principal {
        view.0.insert("org_id".into(), p.org_id.to_string().into());
    }
    form_page(&state, &caller, StatusCode::OK, "新建资源目录", "/workbench/new", true, view, &FieldErrors::default())
        .await
}

/// Merges the form's own problems with the service's answer, or passes other errors on.
fn invalid(form: &EntryForm, e: CatalogError) -> Result<FieldErrors, ApiError> {
    match e {
        CatalogError::Invalid(mut f) => {
            let mut all = form.errors.clone();
            all.0.append(&mut f.0);
            Ok(all)
        }
        CatalogError::Conflict(m) => {
            let mut f = form.errors.clone();
            let field = if m.starts_with("resource code") { "code" } else { "name" };
            f.add(field, m.clone());
            f.add("form", zh::translate(&m));
            Ok(f)
        }
        e => Err(e.into()),
    }
}

pub async fn create(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let form = EntryForm::parse(&body);
    let Ok(p) = caller.required() else {
        return error_page(&state, &caller, ApiError::from(CatalogError::Forbidden("sign in first".into())));
    };
    let result = if form.errors.is_empty() {
        state.catalog.create(p, form.org_id, &form.input, form.code.as_deref()).await
    } else {
        // Report the form's own problems together with every validation problem.
        Err(CatalogError::Invalid(form.input.validate().err().unwrap_or_default()))
    };
    match result {
        Ok(e) => see_other(&format!("/catalog/{}?done=created", e.id)),
        Err(e) => match invalid(&form, e) {
            Ok(errors) => {
                form_page(
                    &state,
                    &caller,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "新建资源目录",
                    "/workbench/new",
                    true,
                    form.view(),
                    &errors,
                )
                .await
            }
            Err(e) => error_page(&state, &caller, e),
        },
    }
}

pub async fn edit_form(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    let entry = match parse_id(&id) {
        Ok(id) => state.catalog.get(caller.principal.as_ref(), id).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match entry {
        Ok(e) => {
            let action = format!("/workbench/{}/edit", e.id);
            let heading = format!("编辑资源目录 · {}", e.code);
            form_page(
                &state,
                &caller,
                StatusCode::OK,
                &heading,
                &action,
                false,
                view_of(&e.body.to_input()),
                &FieldErrors::default(),
            )
            .await
        }
        Err(e) => error_page(&state, &caller, e),
    }
}

pub async fn update(State(state): State<AppState>, caller: Caller, Path(id): Path<String>, body: Bytes) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(e) => return error_page(&state, &caller, e),
    };
    let form = EntryForm::parse(&body);
    let Ok(p) = caller.required() else {
        return error_page(&state, &caller, ApiError::from(CatalogError::Forbidden("sign in first".into())));
    };
    let result = if form.errors.is_empty() {
        state.catalog.update(p, id, &form.input).await
    } else {
        Err(CatalogError::Invalid(form.input.validate().err().unwrap_or_default()))
    };
    match result {
        Ok(e) => see_other(&format!("/catalog/{}?done=updated", e.id)),
        Err(e) => match invalid(&form, e) {
            Ok(errors) => {
                let action = format!("/workbench/{id}/edit");
                form_page(
                    &state,
                    &caller,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "编辑资源目录",
                    &action,
                    false,
                    form.view(),
                    &errors,
                )
                .await
            }
            Err(e) => error_page(&state, &caller, e),
        },
    }
}

pub async fn submit(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> Response {
    let result = async {
        let e = state.catalog.submit(caller.required()?, parse_id(&id)?).await?;
        Ok::<_, ApiError>(e.id)
    }
    .await;
    match result {
        Ok(id) => see_other(&format!("/catalog/{id}?done=submitted")),
        Err(e) => error_page(&state, &caller, e),
    }
}
