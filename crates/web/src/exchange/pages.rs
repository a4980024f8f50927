//! The departments' sharing pages (Chinese): the sharing catalog, applying for an entry,
//! requests filed and to answer, grants, supervision, usage with charts, and each data
//! interface's page with its OpenAPI description and a test console.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_core::sharing::RequestStatus;
use tongshu_exchange::{Consumer, DecisionInput, RequestInput, ScopeCondition};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::extract::ApiQuery;
use crate::http::render::{base, error_page, render, see_other};

/// The fields of a submitted form, repeated names kept (checkbox groups).
fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field(f: &[(String, String)], name: &str) -> Option<String> {
    f.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn all(f: &[(String, String)], name: &str) -> Vec<String> {
    f.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
}

/// One row condition from the form's `cond_column`, `cond_op`, `cond_value` (if filled).
fn condition(f: &[(String, String)]) -> Vec<ScopeCondition> {
    match (field(f, "cond_column"), field(f, "cond_op"), field(f, "cond_value")) {
        (Some(column), Some(op), Some(value)) => vec![ScopeCondition { column, op, value }],
        _ => vec![],
    }
}

#[derive(Deserialize, Default)]
pub struct CatalogQuery {
    q: Option<String>,
}

/// `GET /sharing`: the sharing catalog.
pub async fn catalog(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<ApiQuery<CatalogQuery>, ApiError>,
) -> Response {
    let run = async {
        let q = q?.0;
        let entries = state.exchange.sharing_catalog(caller.required()?, q.q.clone(), None).await?;
        let mut ctx = base(&caller, "sharing", "共享目录");
        ctx.insert("entries".into(), json!(entries));
        ctx.insert("q".into(), json!(q.q.unwrap_or_default()));
        Ok::<_, ApiError>(render(&state, StatusCode::OK, "sharing.html", ctx))
    };
    run.await.unwrap_or_else(|e| error_page(&state, &caller, e))
}

async fn apply_page(
    state: &AppState,
    caller: &Caller,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let entry = state.catalog.get(caller.principal.as_ref(), id).await?;
    let mut ctx = base(caller, "sharing", "申请共享");
    ctx.insert(
        "entry".into(),
        json!({"id": entry.id, "name": entry.body.name, "org": entry.org_name,
        "sharing": entry.body.sharing.kind.as_str(), "condition": entry.body.sharing.condition,
        "items": entry.body.items.iter().map(|i| i.name.clone()).collect::<Vec<_>>()}),
    );
    ctx.insert("error".into(), json!(error));
    Ok(render(state, status, "sharing_apply.html", ctx))
}

/// `GET /sharing/apply/{id}`: the request form for one entry.
pub async fn apply_form(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Response {
    apply_page(&state, &caller, id, None, StatusCode::OK).await.unwrap_or_else(|e| error_page(&state, &caller, e))
}

/// `POST /sharing/apply/{id}`: files the request.
pub async fn apply(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let f = fields(&body);
    let input = RequestInput {
        entry_id: id,
        purpose: field(&f, "purpose").unwrap_or_default(),
        legal_basis: field(&f, "legal_basis"),
        items: all(&f, "items"),
        row_filter: condition(&f),
        valid_from: None,
        valid_to: field(&f, "valid_to"),
        consuming_system: field(&f, "consuming_system"),
        app_id: None,
    };
    let result = match caller.required() {
        Ok(p) => state.exchange.request(p, &input).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => see_other("/sharing/requests"),
        Err(e) if e.code != ErrorCode::Unauthorized => {
            let msg = caller.wording(&e.message);
            apply_page(&state, &caller, id, Some(msg), e.code.status())
                .await
                .unwrap_or_else(|e| error_page(&state, &caller, e))
        }
        Err(e) => error_page(&state, &caller, e),
    }
}

/// `GET /sharing/requests`: requests my department filed and, for data officers, those
/// it must answer, with their deadlines.
pub async fn requests(State(state): State<AppState>, caller: Caller) -> Response {
    let run = async {
        let p = caller.required()?;
        let filed = state.exchange.requests(p, false, None).await?;
        let to_answer = if p.answers_requests() {
            state.exchange.requests(p, true, Some(RequestStatus::Pending)).await?
        } else {
            vec![]
        };
        let today = tongshu_exchange::beijing_today().to_string();
        let calendar = state.exchange.calendar().await?;
        let view = |r: &tongshu_exchange::ShareRequest| {
            let pending = r.status == RequestStatus::Pending;
            let due_soon = pending
                && tongshu_core::workdays::parse_day(&r.due_on).is_some_and(|d| {
                    r.due_on >= today
                        && calendar.working_days_between(tongshu_exchange::beijing_today(), d)
                            <= state.exchange.settings().remind_days
                });
            json!({"r": r, "items": r.items, "overdue": pending && r.due_on < today, "due_soon": due_soon})
        };
        let mut ctx = base(&caller, "sharing", "共享申请");
        ctx.insert("filed".into(), json!(filed.iter().map(view).collect::<Vec<_>>()));
        ctx.insert("to_answer".into(), json!(to_answer.iter().map(view).collect::<Vec<_>>()));
        Ok::<_, ApiError>(render(&state, StatusCode::OK, "sharing_requests.html", ctx))
    };
    run.await.unwrap_or_else(|e| error_page(&state, &caller, e))
}

/// `POST /sharing/requests/{id}`: the provider's answer from the page.
pub async fn decide(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let f = fields(&body);
    let approve = field(&f, "decision").as_deref() == Some("approve");
    let items = all(&f, "items");
    let d = DecisionInput {
        approve,
        answer: field(&f, "answer").unwrap_or_default(),
        items: (approve && !items.is_empty()).then_some(items),
        row_filter: condition(&f),
        valid_to: field(&f, "valid_to"),
        clear_items: all(&f, "clear_items"),
        verify_items: Some(all(&f, "verify_items")).filter(|v| approve && !v.is_empty()),
    };
    let run = async {
        state.exchange.decide(caller.required()?, id, &d).await?;
        Ok::<_, ApiError>(see_other("/sharing/requests"))
    };
    run.await.unwrap_or_else(|e| error_page(&state, &caller, e))
}

/// `GET /sharing/grants`: grants my department holds and gives.
pub async fn grants(State(state): State<AppState>, caller: Caller) -> Response {
    let run = async {
        let p = caller.required()?;
        let held = state.exchange.grants(p, false).await?;
        let given = state.exchange.grants(p, true).await?;
        let mut ctx = base(&caller, "sharing", "共享授权");
        ctx.insert("held".into(), json!(grant_views(&state, held).await?));
        ctx.insert("given".into(), json!(grant_views(&state, given).await?));
        Ok::<_, ApiError>(render(&state, StatusCode::OK, "sharing_grants.html", ctx))
    };
    run.await.unwrap_or_else(|e| error_page(&state, &caller, e))
}

/// What the grants page shows of each grant: entry, both organizations, items, interfaces.
async fn grant_views(state: &AppState, list: Vec<tongshu_exchange::GrantRecord>) -> Result<Vec<Value>, ApiError> {
    Ok(state
        .exchange
        .grant_details(list)
        .await?
        .into_iter()
        .map(|d| {
            json!({"g": d.grant, "entry": d.entry, "provider": d.provider, "consumer": d.consumer,
                "items": d.grant.items, "tables": d.tables})
        })
        .collect())
}

/// `POST /sharing/grants/{id}/revoke`.
pub async fn revoke(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let reason = field(&fields(&body), "reason").unwrap_or_default();
    let run = async {
        state.exchange.change_grant(caller.required()?, id, None, &reason).await?;
        Ok::<_, ApiError>(see_other("/sharing/grants"))
    };
    run.await.unwrap_or_else(|e| error_page(&state, &caller, e))
}

/// `GET /sharing/supervision`: overdue requests, timeliness, the three lists, objections.
pub async fn supervision(State(state): State<AppState>, caller: Caller) -> Response {
    let run = async {
        let p = caller.required()?;
        let overdue = state.exchange.overdue(p).await?;
        let (on_time, late) = state.exchange.timeliness(p).await?;
        let orgs: std::collections::HashMap<i64, String> =
            state.accounts.organizations().await?.into_iter().map(|o| (o.id, o.name)).collect();
        let org = |id: i64| orgs.get(&id).cloned().unwrap_or_default();
        let duties: Vec<Value> =
            state.exchange.duties().await?.into_iter().map(|d| json!({"d": d, "org": org(d.duty.org_id)})).collect();
        let demands: Vec<Value> = state
            .exchange
            .demands(p)
            .await?
            .into_iter()
            .map(|d| json!({"d": d, "org": org(d.org_id), "provider": d.provider_org_id.map(org)}))
            .collect();
        let neg: Vec<Value> = state
            .exchange
            .negative_list()
            .await?
            .into_iter()
            .map(|n| json!({"entry_id": n.entry_id, "name": n.name, "basis": n.legal_basis}))
            .collect();
        let objections = state.exchange.objections(p).await?;
        let mut ctx = base(&caller, "sharing", "共享监督");
        let mut org_list: Vec<(i64, String)> = orgs.iter().map(|(k, v)| (*k, v.clone())).collect();
        org_list.sort();
        ctx.insert(
            "orgs".into(),
            json!(org_list.iter().map(|(id, name)| json!({"id": id, "name": name})).collect::<Vec<_>>()),
        );
        ctx.insert(
            "overdue".into(),
            json!(overdue.iter().map(|r| json!({"r": r, "provider": org(r.provider_org_id)})).collect::<Vec<_>>()),
        );
        ctx.insert("answered".into(), json!(on_time + late));
        ctx.insert("on_time".into(), json!(on_time));
        ctx.insert("duties".into(), json!(duties));
        ctx.insert("demands".into(), json!(demands));
        ctx.insert("negative".into(), json!(neg));
        ctx.insert("objections".into(), json!(objections));
        Ok::<_, ApiError>(render(&state, StatusCode::OK, "sharing_supervision.html", ctx))
    };
    run.await.unwrap_or_else(|e| error_page(&state, &caller, e))
}

/// `GET /sharing/usage`: calls per day, per interface and consumer, latency and errors.
pub async fn usage(State(state): State<AppState>, caller: Caller) -> Response {
    let run = async {
        let p = caller.required()?;
        let rows = state.exchange.usage(p, 30).await?;
        let ops = state.exchange.operations(p, 30).await?;
        let orgs: std::collections::HashMap<i64, String> =
            state.accounts.organizations().await?.into_iter().map(|o| (o.id, o.name)).collect();
        let mut by_day: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        let mut by_consumer: std::collections::BTreeMap<String, f64> = Default::default();
        for r in &rows {
            let d = by_day.entry(r.day.clone()).or_default();
            d.0 += r.calls.max(0) as u64;
            d.1 += r.errors.max(0) as u64;
            let name = r.org_id.and_then(|o| orgs.get(&o).cloned()).unwrap_or_else(|| "未认证".into());
            *by_consumer.entry(name).or_default() += r.calls as f64;
        }
        // Every one of the last 30 days, quiet ones too.
        let today = tongshu_core::now().date();
        let days: Vec<(String, u64, u64)> = (0..30)
            .rev()
            .map(|back| {
                let day = (today - time::Duration::days(back)).to_string();
                let (c, e) = by_day.get(&day).copied().unwrap_or_default();
                (day[5..].to_owned(), e, c)
            })
            .collect();
        let mut consumers: Vec<(String, f64)> = by_consumer.into_iter().collect();
        consumers.sort_by(|a, b| b.1.total_cmp(&a.1));
        // The latest records the caller may read (the exchange decides which).
        let f = tongshu_exchange::EvidenceFilter { limit: 50, ..Default::default() };
        let (evidence, _) = state.exchange.evidence(p, f).await?;
        let mut ctx = base(&caller, "sharing", "共享计量");
        ctx.insert(
            "evidence".into(),
            json!(
                evidence
                    .iter()
                    .map(|r| json!({"r": r, "org": r.fields.org_id.and_then(|o| orgs.get(&o).cloned())}))
                    .collect::<Vec<_>>()
            ),
        );
        ctx.insert("daily_chart".into(), json!(crate::http::charts::columns("每日调用与错误", &days)));
        ctx.insert("consumer_chart".into(), json!(crate::http::charts::bars("各单位调用次数", &consumers)));
        ctx.insert(
            "rows".into(),
            json!(
                rows.iter()
                    .map(|r| json!({"r": r, "org": r.org_id.and_then(|o| orgs.get(&o).cloned())}))
                    .collect::<Vec<_>>()
            ),
        );
        ctx.insert("ops".into(), json!(ops));
        ctx.insert("verify_flags".into(), json!(state.exchange.verify_flags(p).await?));
        Ok::<_, ApiError>(render(&state, StatusCode::OK, "sharing_usage.html", ctx))
    };
    run.await.unwrap_or_else(|e| error_page(&state, &caller, e))
}

/// `GET /sharing/interfaces/{table}`: the interface's OpenAPI description as the caller's
/// grant shapes it, and a console that calls it with the caller's session.
pub async fn interface(State(state): State<AppState>, caller: Caller, Path(table): Path<String>) -> Response {
    interface_page(&state, &caller, &table, false).await
}

/// `GET /sharing/views/{name}`: the same for a custom interface.
pub async fn view(State(state): State<AppState>, caller: Caller, Path(name): Path<String>) -> Response {
    interface_page(&state, &caller, &name, true).await
}

async fn interface_page(state: &AppState, caller: &Caller, name: &str, view: bool) -> Response {
    let run = async {
        let p = caller.required()?;
        let consumer = Consumer::user(p.org_id, p.user_id);
        let (access, sql) = if view {
            let (v, access, _) = state.exchange.view_access(&consumer, name).await?;
            (access, Some(v.sql))
        } else {
            (state.exchange.access(&consumer, name).await?, None)
        };
        let doc = super::interfaces::interface_doc(name, &access, view);
        let mut ctx = base(caller, "sharing", "数据接口");
        ctx.insert("table".into(), json!(name));
        ctx.insert("view".into(), json!(view));
        ctx.insert("sql".into(), json!(sql));
        let api =
            if view { format!("/api/v1/exchange/views/{name}") } else { format!("/api/v1/exchange/tables/{name}") };
        ctx.insert("api_base".into(), json!(api));
        ctx.insert("entry".into(), json!({"name": access.entry.body.name, "org": access.entry.org_name}));
        ctx.insert(
            "items".into(),
            json!(
                access.masks.items.iter().map(|(i, m)| json!({"name": i, "mask": m.to_string()})).collect::<Vec<_>>()
            ),
        );
        ctx.insert("scope".into(), json!(access.scope));
        ctx.insert("doc".into(), json!(serde_json::to_string_pretty(&doc).unwrap_or_default()));
        Ok::<_, ApiError>(render(state, StatusCode::OK, "sharing_interface.html", ctx))
    };
    run.await.unwrap_or_else(|e| error_page(state, caller, e))
}

/// Runs one page action and goes back to `to`, or shows the error.
async fn act<F>(state: &AppState, caller: &Caller, to: &str, f: F) -> Response
where
    F: std::future::Future<Output = Result<(), tongshu_exchange::ExchangeError>>,
{
    match f.await {
        Ok(()) => see_other(to),
        Err(e) => error_page(state, caller, e.into()),
    }
}

/// `POST /sharing/demands`: posts a need on the demand list.
pub async fn post_demand(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let f = fields(&body);
    let Ok(p) = caller.required() else { return see_other("/login") };
    let (title, description) = (field(&f, "title").unwrap_or_default(), field(&f, "description").unwrap_or_default());
    act(&state, &caller, "/sharing/supervision", async {
        state.exchange.post_demand(p, &title, &description).await.map(|_| ())
    })
    .await
}

/// `POST /sharing/demands/{id}`: the platform assigns (`org_id`), the provider answers
/// (`entry_id` and/or `answer`).
pub async fn demand_step(State(state): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Bytes) -> Response {
    let f = fields(&body);
    let Ok(p) = caller.required() else { return see_other("/login") };
    let org = field(&f, "org_id").and_then(|v| v.parse::<i64>().ok());
    let entry = field(&f, "entry_id").and_then(|v| v.parse::<i64>().ok());
    let answer = field(&f, "answer").unwrap_or_default();
    act(&state, &caller, "/sharing/supervision", async {
        match org {
            Some(org) => state.exchange.assign_demand(p, id, org).await.map(|_| ()),
            None => state.exchange.answer_demand(p, id, entry, &answer).await.map(|_| ()),
        }
    })
    .await
}

/// `POST /sharing/objections`: raises an objection from an interface's page.
pub async fn object(State(state): State<AppState>, caller: Caller, body: Bytes) -> Response {
    let f = fields(&body);
    let Ok(p) = caller.required() else { return see_other("/login") };
    let input = tongshu_exchange::ObjectionInput {
        table: field(&f, "table").unwrap_or_default(),
        record: field(&f, "record").unwrap_or_default(),
        item: field(&f, "item"),
        expected: field(&f, "expected"),
        evidence: field(&f, "evidence").unwrap_or_default(),
    };
    act(&state, &caller, "/sharing/supervision", async { state.exchange.object(p, &input).await.map(|_| ()) }).await
}

/// `POST /sharing/objections/{id}`: the provider corrects (naming the version) or rejects.
pub async fn answer_objection(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    let Ok(p) = caller.required() else { return see_other("/login") };
    let version = field(&f, "fixed_version").and_then(|v| v.parse::<i64>().ok());
    let answer = field(&f, "answer").unwrap_or_default();
    act(&state, &caller, "/sharing/supervision", async {
        state.exchange.answer_objection(p, id, version, &answer).await.map(|_| ())
    })
    .await
}
