//! Public pages: the home page, the catalog list with filters, and an entry's page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tongshu_catalog::EntryFilter;
use tongshu_core::catalog::{EntryStatus, Transition};
use tongshu_core::policy::Action;

use super::api::{CatalogQuery, facets_for};
use crate::AppState;
use crate::http::caller::{Caller, urlencode};
use crate::http::extract::{ApiQuery, parse_id};
use crate::http::render::{base, error_page, flash, render};

pub async fn home(State(state): State<AppState>, caller: Caller) -> Response {
    let viewer = caller.principal.as_ref();
    let result = async {
        let facets = facets_for(&state, &caller).await?;
        let newest = state.catalog.browse(viewer, EntryFilter { limit: 10, ..Default::default() }).await?;
        Ok::<_, crate::http::error::ApiError>((facets, newest))
    }
    .await;
    let (facets, newest) = match result {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let mut ctx = base(&caller, "home", "首页");
    let districts = facets.districts.iter().filter(|d| d.key != state.settings.city.code).count();
    ctx.insert(
        "stats".into(),
        json!({"entries": newest.total, "providers": facets.organizations.len(), "districts": districts}),
    );
    ctx.insert("facets".into(), json!(facets));
    ctx.insert("newest".into(), json!(newest.entries));
    ctx.insert("open".into(), open_figures(&state).await);
    render(&state, StatusCode::OK, "home.html", ctx)
}

/// Headline figures of the open data portal, and its topics with their dataset counts.
async fn open_figures(state: &AppState) -> Value {
    if let Err(e) = state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await {
        tracing::warn!(error = %e, "portal refresh failed");
    }
    let datasets = state.portal.datasets();
    let tables: Vec<&tongshu_library::TableRecord> =
        datasets.iter().filter(|d| d.rows_public()).flat_map(|d| d.tables.iter()).collect();
    let topics: Vec<Value> = tongshu_portal::TOPICS
        .iter()
        .filter_map(|(slug, title, _)| {
            let n = datasets.iter().filter(|d| d.topic.0 == *slug).count();
            (n > 0).then(|| json!({"slug": slug, "title": title, "count": n}))
        })
        .collect();
    let brief = |d: &tongshu_portal::Dataset| json!({"name": d.name, "title": d.entry.body.name, "org": d.org.name});
    let mut newest: Vec<_> = datasets.iter().collect();
    newest.sort_by_key(|d| std::cmp::Reverse(d.entry.listed_at.unwrap_or(d.entry.updated_at)));
    let mut used: Vec<(u64, &tongshu_portal::Dataset)> = datasets
        .iter()
        .map(|d| {
            let u = state.portal.usage_of(&d.name);
            (u.downloads + u.calls, d.as_ref())
        })
        .filter(|(n, _)| *n > 0)
        .collect();
    used.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
    let usage =
        datasets.iter().map(|d| state.portal.usage_of(&d.name)).fold((0, 0), |a, u| (a.0 + u.downloads, a.1 + u.calls));
    let mut orgs = state.portal.organizations();
    orgs.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let districts: Vec<Value> = state
        .portal
        .city()
        .districts
        .iter()
        .map(|c| json!({"code": c.code, "name": c.name, "count": datasets.iter().filter(|d| d.district == c.name).count()}))
        .filter(|d| d["count"] != 0)
        .collect();
    json!({
        "datasets": datasets.len(),
        "records": tables.iter().map(|t| t.rows).sum::<i64>(),
        "providers": state.portal.organizations().len(),
        "apis": tables.len(),
        "downloads": usage.0,
        "calls": usage.1,
        "topics": topics,
        "newest": newest.iter().take(6).map(|d| brief(d)).collect::<Vec<_>>(),
        "most_used": used.iter().take(6).map(|(n, d)| json!({"n": n, "d": brief(d)})).collect::<Vec<_>>(),
        "orgs": orgs.iter().take(12).map(|(o, n)| json!({"slug": o.slug, "name": o.name, "count": n})).collect::<Vec<_>>(),
        "districts": districts,
    })
}

/// The current filters as query pairs, without paging.
fn kept(q: &CatalogQuery) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    let mut keep = |k: &'static str, val: Option<String>| {
        if let Some(val) = val.filter(|s| !s.trim().is_empty()) {
            v.push((k, val));
        }
    };
    keep("q", q.q.clone());
    keep("org", q.org.clone());
    keep("district", q.district.clone());
    keep("class", q.class.clone());
    keep("sharing_type", q.sharing_type.clone());
    keep("open_type", q.open_type.clone());
    keep("format", q.format.clone());
    v
}

fn href(pairs: &[(&str, String)]) -> String {
    let qs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    format!("/catalog?{}", qs.join("&"))
}

/// A facet value's link toggles it: on → off, off → on (replacing the same key).
fn toggle(kept: &[(&'static str, String)], key: &'static str, value: &str) -> (String, bool) {
    let on = kept.iter().any(|(k, v)| *k == key && v == value);
    let mut pairs: Vec<(&str, String)> = kept.iter().filter(|(k, _)| *k != key).cloned().collect();
    if !on {
        pairs.push((key, value.to_owned()));
    }
    (href(&pairs), on)
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<ApiQuery<CatalogQuery>, crate::http::error::ApiError>,
) -> Response {
    let q = match query {
        Ok(ApiQuery(q)) => q,
        Err(e) => return error_page(&state, &caller, e),
    };
    let result = async {
        let filter = q.filter()?;
        let page = state.catalog.browse(caller.principal.as_ref(), filter.clone()).await?;
        let facets = facets_for(&state, &caller).await?;
        Ok::<_, crate::http::error::ApiError>((filter, page, facets))
    }
    .await;
    let (filter, page, facets) = match result {
        Ok(v) => v,
        Err(e) => return error_page(&state, &caller, e),
    };
    let kept = kept(&q);
    let group = |title: &str, key: &'static str, items: Vec<(String, String, Option<i64>)>| {
        let items: Vec<Value> = items
            .into_iter()
            .map(|(value, label, count)| {
                let (href, on) = toggle(&kept, key, &value);
                json!({"label": label, "count": count, "href": href, "on": on})
            })
            .collect();
        json!({"title": title, "items": items})
    };
    let vocab = |all: Vec<(&'static str, &'static str)>| -> Vec<(String, String, Option<i64>)> {
        all.into_iter().map(|(v, l)| (v.to_owned(), l.to_owned(), None)).collect()
    };
    use tongshu_core::catalog::{OpenType, SharingType};
    let groups = vec![
        group(
            "分类",
            "class",
            facets.classes.iter().map(|f| (f.key.clone(), f.label.clone(), Some(f.count))).collect(),
        ),
        group(
            "区县",
            "district",
            facets.districts.iter().map(|f| (f.key.clone(), f.label.clone(), Some(f.count))).collect(),
        ),
        group(
            "提供部门",
            "org",
            facets.organizations.iter().map(|f| (f.key.clone(), f.label.clone(), Some(f.count))).collect(),
        ),
        group("共享属性", "sharing_type", vocab(SharingType::ALL.iter().map(|v| (v.as_str(), v.label())).collect())),
        group("开放属性", "open_type", vocab(OpenType::ALL.iter().map(|v| (v.as_str(), v.label())).collect())),
    ];
    let mut ctx = base(&caller, "catalog", "资源目录");
    let base_href = {
        let h = href(&kept);
        if kept.is_empty() { "/catalog?".to_owned() } else { format!("{h}&") }
    };
    ctx.insert(
        "q".into(),
        json!({"q": q.q, "org": q.org, "district": q.district, "class": q.class,
        "sharing_type": q.sharing_type, "open_type": q.open_type}),
    );
    ctx.insert(
        "keep".into(),
        json!(kept.iter().map(|(k, v)| (k.to_string(), Value::from(v.clone()))).collect::<serde_json::Map<_, _>>()),
    );
    ctx.insert("groups".into(), json!(groups));
    ctx.insert("base".into(), base_href.into());
    ctx.insert(
        "page".into(),
        json!({"total": page.total, "limit": filter.limit, "offset": filter.offset, "items": page.entries}),
    );
    render(&state, StatusCode::OK, "catalog_list.html", ctx)
}

#[derive(Deserialize, Default)]
pub struct DetailQuery {
    done: Option<String>,
}

pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<ApiQuery<DetailQuery>, crate::http::error::ApiError>,
) -> Response {
    let viewer = caller.principal.as_ref();
    let entry = match parse_id(&id) {
        Ok(id) => state.catalog.get(viewer, id).await.map_err(crate::http::error::ApiError::from),
        Err(e) => Err(e),
    };
    let entry = match entry {
        Ok(e) => e,
        Err(e) => return error_page(&state, &caller, e),
    };
    let history = match viewer {
        Some(p) if p.can(Action::ReadHistory) && p.may_read_unlisted_of(entry.org_id) => {
            state.catalog.history(p, entry.id).await.unwrap_or_default()
        }
        _ => Vec::new(),
    };
    let actions = viewer.map(|p| {
        let editor = p.can(Action::EditEntries) && p.may_edit_for(entry.org_id);
        let admin = p.can(Action::ReviewEntries);
        json!({
            "edit": editor && entry.status.after(Transition::Edit).is_some(),
            "submit": editor && entry.status.after(Transition::Submit).is_some(),
            "review": admin && entry.status == EntryStatus::Submitted,
            "delist": admin && entry.status == EntryStatus::Listed,
        })
    });
    let tables = match super::api::tables_for(&state, &entry, caller.principal.as_ref()).await {
        Ok(t) => t,
        Err(e) => return error_page(&state, &caller, e),
    };
    let any_action = actions.as_ref().is_some_and(|a| a.as_object().is_some_and(|m| m.values().any(|v| v == true)));
    let mut ctx = base(&caller, "catalog", &entry.body.name);
    ctx.insert("class_label".into(), entry.body.classification.class_label().into());
    ctx.insert("e".into(), json!(entry));
    ctx.insert("history".into(), json!(history));
    ctx.insert("tables".into(), json!(tables));
    ctx.insert("actions".into(), if any_action { actions.unwrap_or(Value::Null) } else { Value::Null });
    ctx.insert(
        "action_labels".into(),
        json!({"create": "创建", "edit": "修改", "submit": "提交审核", "approve": "审核通过", "return": "退回", "delist": "下架"}),
    );
    if let Some(msg) = flash(q.as_ref().ok().and_then(|q| q.0.done.as_deref())) {
        ctx.insert("flash".into(), msg.into());
    }
    render(&state, StatusCode::OK, "catalog_detail.html", ctx)
}
