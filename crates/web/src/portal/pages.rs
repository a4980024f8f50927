//! The open data portal's pages: search over the public datasets with facets, and a dataset's
//! page with its metadata, items, a preview of its rows, downloads and ready-to-copy API calls.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};
use tongshu_lake::RowQuery;
use tongshu_lake::arrow::util::display::array_value_to_string;
use tongshu_portal::TOPICS;
use tongshu_search::{SearchQuery, Sort};

use crate::AppState;
use crate::http::caller::{Caller, urlencode};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::render::{base, error_page, render};

const PAGE: usize = 20;

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
/// Facet groups shown on the search page: (dimension, title).
const GROUPS: [(&str, &str); 6] = [
    ("topic", "主题"),
    ("organization", "数据提供方"),
    ("district", "区县"),
    ("format", "格式"),
    ("open", "开放属性"),
    ("cycle", "更新周期"),
];

fn label(state: &AppState, dim: &str, value: &str) -> String {
    match dim {
        "organization" => state.portal.organizations().into_iter().find(|(o, _)| o.slug == value).map(|(o, _)| o.name),
        "topic" => TOPICS.iter().find(|(s, _, _)| *s == value).map(|(_, t, _)| (*t).to_owned()),
        "open" => tongshu_core::catalog::OpenType::parse(value).map(|o| o.label().to_owned()),
        "cycle" => tongshu_core::catalog::UpdateCycle::parse(value).map(|c| c.label().to_owned()),
        _ => None,
    }
    .unwrap_or_else(|| value.to_owned())
}

/// `GET /datasets`: search with facets, sorting and paging.
pub async fn search(State(state): State<AppState>, caller: Caller, RawQuery(raw): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()).into_owned().collect();
    search_page(&state, &caller, pairs, None).await
}

/// The search page; `focus` heads it when it is an organization's, topic's or district's
/// page (their figures, and the search narrowed to them).
async fn search_page(
    state: &AppState,
    caller: &Caller,
    pairs: Vec<(String, String)>,
    focus: Option<Value>,
) -> Response {
    let (state, caller) = (state.clone(), caller.clone());
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let text = get("q").unwrap_or_default();
    let filters: Vec<(String, String)> =
        pairs.iter().filter(|(k, v)| GROUPS.iter().any(|(d, _)| d == k) && !v.is_empty()).cloned().collect();
    let sort_name = get("sort").unwrap_or_else(|| "relevance".into());
    let sort = match sort_name.as_str() {
        "newest" => Sort::Newest,
        "downloads" => Sort::Downloads,
        "calls" => Sort::Calls,
        _ => Sort::Relevance,
    };
    let offset = get("offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0).min(100_000);
    if let Err(e) = state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await {
        return error_page(&state, &caller, ApiError::internal(e));
    }
    let q = SearchQuery {
        text: text.clone(),
        filters: filters.clone(),
        facets: GROUPS.iter().map(|(d, _)| (*d).to_owned()).collect(),
        sort,
        offset,
        limit: PAGE,
    };
    let found = match state.portal.search(&q) {
        Ok(f) => f,
        Err(e) => return error_page(&state, &caller, ApiError::new(ErrorCode::BadRequest, e.to_string())),
    };
    // Links keep every other parameter; a facet value toggles.
    let href = |drop: &str, add: Option<(&str, &str)>, toggle: Option<(&str, &str)>| {
        let mut v: Vec<(String, String)> = pairs.iter().filter(|(k, _)| k != "offset" && k != drop).cloned().collect();
        if let Some((k, val)) = toggle {
            if let Some(i) = v.iter().position(|(a, b)| a == k && b == val) {
                v.remove(i);
            } else {
                v.push((k.to_owned(), val.to_owned()));
            }
        }
        if let Some((k, val)) = add {
            v.push((k.to_owned(), val.to_owned()));
        }
        let qs: Vec<String> = v.iter().map(|(k, val)| format!("{k}={}", urlencode(val))).collect();
        format!("/datasets?{}", qs.join("&"))
    };
    let groups: Vec<Value> = GROUPS
        .iter()
        .map(|(dim, title)| {
            let items: Vec<Value> = found
                .results
                .facets
                .get(*dim)
                .map(|values| {
                    values
                        .iter()
                        .take(12)
                        .map(|(v, n)| {
                            let on = filters.iter().any(|(k, x)| k == dim && x == v);
                            json!({"label": label(&state, dim, v), "count": n, "on": on, "href": href("", None, Some((dim, v)))})
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({"title": title, "items": items})
        })
        .collect();
    let hits: Vec<Value> = found
        .results
        .hits
        .iter()
        .zip(&found.datasets)
        .map(|(h, d)| {
            json!({
                "name": d.name, "title_html": h.title_html, "summary_html": h.summary_html,
                "org": d.org.name, "district": d.district, "topic": d.topic.1,
                "open": d.entry.body.open.kind.label(), "cycle": d.entry.body.update_cycle.label(),
                "tables": d.tables.len(), "rows": d.tables.iter().map(|t| t.rows).sum::<i64>(),
                "updated": rfc3339(d.entry.updated_at),
            })
        })
        .collect();
    let sorts: Vec<Value> = [
        ("relevance", "相关度"),
        ("newest", "最新"),
        ("downloads", "下载最多"),
        ("calls", "调用最多"),
    ]
    .iter()
    .map(|(k, t)| json!({"key": k, "label": t, "on": *k == sort_name, "href": href("sort", Some(("sort", k)), None)}))
    .collect();
    let title = focus.as_ref().and_then(|f| f["name"].as_str()).unwrap_or("开放数据").to_owned();
    let mut ctx = base(&caller, "datasets", &title);
    ctx.insert("focus".into(), json!(focus));
    ctx.insert("q".into(), json!(text));
    ctx.insert("total".into(), json!(found.results.total));
    ctx.insert("relaxed".into(), json!(found.results.relaxed));
    ctx.insert("hits".into(), json!(hits));
    ctx.insert("groups".into(), json!(groups));
    ctx.insert("sorts".into(), json!(sorts));
    ctx.insert("filtered".into(), json!(!filters.is_empty()));
    ctx.insert("keep".into(), json!(pairs.iter().filter(|(k, _)| k != "q" && k != "offset").collect::<Vec<_>>()));
    ctx.insert(
        "page".into(),
        json!({"total": found.results.total, "limit": PAGE, "offset": offset, "base": format!("{}&", href("", None, None))}),
    );
    render(&state, StatusCode::OK, "datasets.html", ctx)
}

/// `GET /datasets/{name}`: one public dataset.
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    q: Result<crate::http::extract::ApiQuery<crate::http::render::DoneQuery>, ApiError>,
) -> Response {
    let done = q.ok().and_then(|q| q.0.done);
    if let Err(e) = state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await {
        return error_page(&state, &caller, ApiError::internal(e));
    }
    let d = match state.portal.dataset(&name) {
        Ok(d) => d,
        Err(_) => return error_page(&state, &caller, ApiError::new(ErrorCode::NotFound, "没有这个开放数据集")),
    };
    let site = state.base_url();
    let viewer = caller.principal.as_ref();
    let access = match viewer {
        Some(who) => state.portal.has_access(who, &d).await.unwrap_or(false),
        None => d.rows_public(),
    };
    // A preview of the first rows of the first table, when the viewer may read them.
    let mut preview = Value::Null;
    if let (Some(t), true) = (d.tables.first(), access) {
        let q = RowQuery { table: t.name.clone(), limit: 10, total: false, ..Default::default() };
        if let Ok((_, page)) = state.portal.rows(&q, viewer).await {
            let columns: Vec<&str> = page.fields.iter().map(|(n, _)| n.as_str()).collect();
            let mut rows = Vec::new();
            for b in &page.batches {
                for i in 0..b.num_rows() {
                    let row: Vec<String> =
                        b.columns()
                            .iter()
                            .map(|c| {
                                if c.is_null(i) {
                                    String::new()
                                } else {
                                    array_value_to_string(c, i).unwrap_or_default()
                                }
                            })
                            .collect();
                    rows.push(row);
                }
            }
            preview = json!({"columns": columns, "rows": rows});
        }
    }
    let now = tongshu_core::now();
    let feeds = state.library.feed_lags().await.unwrap_or_default();
    let tables: Vec<Value> = d
        .tables
        .iter()
        .map(|t| {
            let feed = feeds.get(&t.name).copied();
            let fresh = match d.entry.body.update_cycle.freshness_fed(t.updated_at, feed, now) {
                tongshu_core::catalog::Freshness::Fresh { .. } => "fresh",
                tongshu_core::catalog::Freshness::Overdue { .. } => "overdue",
                tongshu_core::catalog::Freshness::Behind { .. } => "behind",
            };
            let downloads: Vec<Value> = ["csv", "xlsx", "json", "parquet"]
                .iter()
                .map(|f| {
                    let href = format!("/api/v1/open/tables/{}/download?format={f}", t.name);
                    json!({"format": f.to_uppercase(), "href": href})
                })
                .collect();
            json!({
                "name": t.name, "rows": t.rows, "bytes": t.bytes, "version": t.version,
                "updated": rfc3339(t.updated_at), "fresh": fresh,
                "lag_seconds": feed.and_then(|f| f.lag_seconds), "live": feed.map(|f| f.live),
                "downloads": downloads,
                "api": {
                    "ckan": format!("curl '{site}/api/3/action/datastore_search?resource_id={}&limit=5'", t.name),
                    "python": format!("import ckanapi\nckan = ckanapi.RemoteCKAN('{site}')\nrows = ckan.action.datastore_search(resource_id='{}', limit=5)", t.name),
                    "download": format!("curl -o {0}.csv '{site}/api/v1/open/tables/{0}/download?format=csv'", t.name),
                },
            })
        })
        .collect();
    let related: Vec<Value> = state
        .portal
        .search(&SearchQuery { filters: vec![("topic".into(), d.topic.0.to_owned())], limit: 6, ..Default::default() })
        .map(|f| {
            f.datasets
                .iter()
                .filter(|r| r.entry.id != d.entry.id)
                .take(5)
                .map(|r| json!({"name": r.name, "title": r.entry.body.name, "org": r.org.name}))
                .collect()
        })
        .unwrap_or_default();
    let objections = state.portal.open_objections(&d).await.unwrap_or(0);
    let quality = tongshu_portal::quality::quality(&d, now, objections);
    let usage = state.portal.usage_of(&d.name);
    let rating = state.portal.rating(&d.name).await.ok().flatten();
    let comments: Vec<Value> = state
        .portal
        .public_posts(tongshu_portal::InteractionKind::Comment, Some(&d.name))
        .await
        .map(|c| c.iter().map(super::interact::post_view).collect())
        .unwrap_or_default();
    let mut versions = Vec::new();
    if let Some(t) = d.tables.first()
        && let Ok(history) = state.library.lake().history(&t.name).await
    {
        versions = history
            .iter()
            .take(8)
            .map(|v| {
                let at = v
                    .timestamp
                    .and_then(|ms| time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).ok())
                    .map(rfc3339);
                let added = v.metrics.get("num_added_rows").or_else(|| v.metrics.get("numOutputRows")).cloned();
                json!({"version": v.version, "at": at, "operation": v.operation, "added": added})
            })
            .collect();
    }
    let e = &d.entry;
    let mut ctx = base(&caller, "datasets", &e.body.name);
    ctx.insert("quality".into(), json!(quality));
    ctx.insert("usage".into(), json!(usage));
    ctx.insert("rating".into(), json!(rating.map(|(avg, n)| json!({"avg": format!("{avg:.1}"), "n": n}))));
    ctx.insert("comments".into(), json!(comments));
    ctx.insert("versions".into(), json!(versions));
    ctx.insert("access".into(), json!(access));
    ctx.insert("flash".into(), json!(crate::http::render::posted_flash(done.as_deref())));
    ctx.insert(
        "d".into(),
        json!({
            "name": d.name, "title": e.body.name, "summary": e.body.summary, "code": e.code.as_str(),
            "org": d.org.name, "org_slug": d.org.slug, "district": d.district, "topic": d.topic.1, "topic_slug": d.topic.0,
            "format": e.body.format.label(), "open": e.body.open.kind.label(), "open_condition": e.body.open.condition,
            "rows_public": d.rows_public(), "cycle": e.body.update_cycle.label(), "keywords": e.body.keywords,
            "items": e.body.items, "listed": e.listed_at.map(rfc3339), "updated": rfc3339(e.updated_at),
            "package_show": format!("curl '{site}/api/3/action/package_show?id={}'", d.name),
            "dcat": format!("/datasets/{}/dcat.ttl", d.name),
        }),
    );
    ctx.insert("tables".into(), json!(tables));
    ctx.insert("preview".into(), preview);
    ctx.insert("related".into(), json!(related));
    render(&state, StatusCode::OK, "dataset.html", ctx)
}

/// The figures of the public datasets `pick` selects, for the head of a focus page.
fn focus(state: &AppState, kind: &str, name: &str, pick: impl Fn(&tongshu_portal::Dataset) -> bool) -> Value {
    let (mut datasets, mut records, mut downloads, mut calls, mut tables) = (0, 0i64, 0u64, 0u64, 0usize);
    for d in state.portal.datasets().iter().filter(|d| pick(d)) {
        datasets += 1;
        tables += d.tables.len();
        records += d.tables.iter().map(|t| t.rows).sum::<i64>();
        let u = state.portal.usage_of(&d.name);
        downloads += u.downloads;
        calls += u.calls;
    }
    json!({"kind": kind, "name": name, "datasets": datasets, "records": records, "apis": tables,
           "downloads": downloads, "calls": calls})
}

async fn focus_page(state: &AppState, caller: &Caller, dim: &str, value: &str, head: Option<Value>) -> Response {
    if let Err(e) = state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await {
        return error_page(state, caller, ApiError::internal(e));
    }
    match head {
        Some(h) if h["datasets"] != 0 => {
            search_page(state, caller, vec![(dim.to_owned(), value.to_owned())], Some(h)).await
        }
        _ => error_page(state, caller, ApiError::new(ErrorCode::NotFound, "没有这个部门、主题或区县的开放数据")),
    }
}

/// `GET /organizations/{slug}`: a provider's page (also the IRI of its DCAT description).
pub async fn organization(State(state): State<AppState>, caller: Caller, Path(slug): Path<String>) -> Response {
    let _ = state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await;
    let org = state.portal.organizations().into_iter().find(|(o, _)| o.slug == slug).map(|(o, _)| o);
    let head = org.map(|o| focus(&state, "数据提供方", &o.name, |d| d.org.id == o.id));
    focus_page(&state, &caller, "organization", &slug, head).await
}

/// `GET /topics/{slug}`: a topic's page.
pub async fn topic(State(state): State<AppState>, caller: Caller, Path(slug): Path<String>) -> Response {
    let _ = state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await;
    let head =
        TOPICS.iter().find(|(s, _, _)| *s == slug).map(|(s, t, _)| focus(&state, "主题", t, |d| d.topic.0 == *s));
    focus_page(&state, &caller, "topic", &slug, head).await
}

/// `GET /districts/{code}`: a district's page, by its GB/T 2260 code.
pub async fn district(State(state): State<AppState>, caller: Caller, Path(code): Path<String>) -> Response {
    let _ = state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await;
    let name = state.portal.city().area(&code).map(str::to_owned);
    let head = name.as_ref().map(|n| focus(&state, "区县", n, |d| d.district == *n));
    focus_page(&state, &caller, "district", name.as_deref().unwrap_or(""), head).await
}

/// The catalogue and its topic scheme: the dataset search.
pub async fn all() -> axum::response::Redirect {
    axum::response::Redirect::to("/datasets")
}
