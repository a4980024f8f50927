//! CKAN Action API compatibility (`/api/3/action/{action}`), so that CKAN's clients and
//! harvesters (ckanapi, DCAT harvesters, portals' own scripts) read the open data portal
//! unchanged. Answers use CKAN's envelope `{"help", "success", "result"}` and CKAN's error
//! shapes; parameters come from the query string (GET) or a JSON object body (POST), as in
//! CKAN.
//!
//! Only public datasets appear (see `tongshu_portal`). Dataset names are CKAN-style ASCII
//! slugs; titles stay Chinese. A resource is a library table; its id is the table's name
//! and works with `datastore_search`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tongshu_lake::RowQuery;
use tongshu_lake::values::ColumnType;
use tongshu_portal::{Dataset, PortalError, TOPICS};
use tongshu_search::{SearchQuery, Sort};

use crate::AppState;
use crate::http::caller::Caller;
use tongshu_portal::UsageKind;

/// Most rows `package_search` returns at once (CKAN's default limit).
const MAX_ROWS: usize = 1000;
/// Most records `datastore_search` returns at once (CKAN's default limit).
const MAX_RECORDS: usize = 32_000;
/// The facet fields clients may ask for, with the search dimension each counts.
const FACET_FIELDS: [(&str, &str); 7] = [
    ("organization", "organization"),
    ("groups", "topic"),
    ("tags", "tags"),
    ("res_format", "format"),
    ("district", "district"),
    ("open_type", "open"),
    ("update_cycle", "cycle"),
];

/// A CKAN error answer.
#[derive(Debug)]
pub enum CkanError {
    NotFound(String),
    /// Field → message.
    Validation(Vec<(String, String)>),
    Authorization(String),
    BadRequest(String),
    Internal(String),
}

impl CkanError {
    fn invalid(field: &str, msg: impl Into<String>) -> Self {
        CkanError::Validation(vec![(field.to_owned(), msg.into())])
    }
}

impl From<PortalError> for CkanError {
    fn from(e: PortalError) -> Self {
        match e {
            PortalError::NotFound(m) => CkanError::NotFound(m),
            PortalError::Forbidden(m) => CkanError::Authorization(m),
            PortalError::Invalid(m) => CkanError::BadRequest(m),
            e => CkanError::Internal(e.to_string()),
        }
    }
}

fn envelope(action: &str, base: &str, success: bool, key: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert("help".into(), Value::from(format!("{base}/api/3/action/help_show?name={action}")));
    m.insert("success".into(), Value::from(success));
    m.insert(key.into(), value);
    Value::Object(m)
}

/// A 429 in CKAN's envelope (the rate limit runs before the action).
pub(crate) fn throttled(state: &AppState, action: &str, message: &str) -> Response {
    let error = json!({"__type": "Rate Limit Error", "message": message});
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(envelope(action, &state.base_url(), false, "error", error)))
        .into_response()
}

fn error_response(action: &str, base: &str, e: CkanError) -> Response {
    let (status, error) = match e {
        CkanError::NotFound(m) => {
            (StatusCode::NOT_FOUND, json!({"__type": "Not Found Error", "message": format!("Not found: {m}")}))
        }
        CkanError::Validation(fields) => {
            let mut m = Map::new();
            m.insert("__type".into(), Value::from("Validation Error"));
            for (f, msg) in fields {
                m.insert(f, json!([msg]));
            }
            (StatusCode::CONFLICT, Value::Object(m))
        }
        CkanError::Authorization(m) => {
            (StatusCode::FORBIDDEN, json!({"__type": "Authorization Error", "message": format!("Access denied: {m}")}))
        }
        CkanError::BadRequest(m) => (StatusCode::BAD_REQUEST, json!({"__type": "Bad request", "message": m})),
        CkanError::Internal(m) => {
            tracing::error!(action, error = %m, "CKAN action failed");
            (StatusCode::INTERNAL_SERVER_ERROR, json!({"__type": "Internal Error", "message": "internal error"}))
        }
    };
    (status, axum::Json(envelope(action, base, false, "error", error))).into_response()
}

/// Parameters of one action call.
struct Params(Map<String, Value>);

impl Params {
    fn parse(query: Option<&str>, body: &[u8]) -> Result<Self, CkanError> {
        let mut m = Map::new();
        for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            m.insert(k.into_owned(), Value::from(v.into_owned()));
        }
        if !body.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(b)) => m.extend(b),
                Ok(_) => {
                    return Err(CkanError::BadRequest("Bad request - JSON Error: the body must be an object".into()));
                }
                Err(e) => return Err(CkanError::BadRequest(format!("Bad request - JSON Error: {e}"))),
            }
        }
        Ok(Params(m))
    }

    fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            v => Some(v.to_string()),
        }
    }

    fn required(&self, key: &str) -> Result<String, CkanError> {
        self.text(key).filter(|s| !s.trim().is_empty()).ok_or_else(|| CkanError::invalid(key, "Missing value"))
    }

    fn int(&self, key: &str, default: usize, max: usize) -> Result<usize, CkanError> {
        let Some(v) = self.text(key) else { return Ok(default) };
        let n: i64 = v.trim().parse().map_err(|_| CkanError::invalid(key, "Invalid integer"))?;
        if n < 0 {
            return Err(CkanError::invalid(key, "Must be a natural number"));
        }
        Ok((n as usize).min(max))
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, CkanError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => match v.as_str().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
                Some("true" | "1" | "yes" | "on") => Ok(true),
                Some("false" | "0" | "no" | "off" | "") => Ok(false),
                _ => Err(CkanError::invalid(key, "Invalid boolean")),
            },
        }
    }

    /// A list given as a JSON array, a JSON array in a string, or comma-separated text.
    fn list(&self, key: &str) -> Result<Option<Vec<String>>, CkanError> {
        let bad = || CkanError::invalid(key, "Must be a list of strings");
        let strings = |a: &Vec<Value>| -> Result<Vec<String>, CkanError> {
            a.iter().map(|v| v.as_str().map(str::to_owned).ok_or_else(bad)).collect()
        };
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => strings(a).map(Some),
            Some(Value::String(s)) if s.trim_start().starts_with('[') => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => strings(&a).map(Some),
                _ => Err(bad()),
            },
            Some(Value::String(s)) => {
                Ok(Some(s.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect()))
            }
            Some(_) => Err(bad()),
        }
    }
}

/// `POST|GET /api/3/action/{action}`.
pub async fn action(
    State(state): State<AppState>,
    caller: Caller,
    Path(action): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let base = state.base_url();
    if let Err(e) = state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await {
        return error_response(&action, &base, e.into());
    }
    let result = match Params::parse(query.as_deref(), &body) {
        Err(e) => Err(e),
        Ok(p) => run(&state, &caller, &action, &p, &base).await,
    };
    match result {
        Ok(value) => axum::Json(envelope(&action, &base, true, "result", value)).into_response(),
        Err(e) => error_response(&action, &base, e),
    }
}

async fn run(state: &AppState, caller: &Caller, action: &str, p: &Params, base: &str) -> Result<Value, CkanError> {
    let portal = &state.portal;
    match action {
        "status_show" => Ok(json!({
            "site_title": portal.city().portal_title,
            "site_description": format!("Tongshu 通数: the open data portal of {}", portal.city().name_en),
            "site_url": base,
            "ckan_version": "2.10.4",
            "locale_default": "zh_Hans_CN",
            "extensions": ["datastore", "tongshu"],
        })),
        "package_list" => {
            let (limit, offset) = (p.int("limit", usize::MAX, usize::MAX)?, p.int("offset", 0, usize::MAX)?);
            let mut names: Vec<String> = portal.datasets().iter().map(|d| d.name.clone()).collect();
            names.sort();
            Ok(json!(names.into_iter().skip(offset).take(limit).collect::<Vec<_>>()))
        }
        "package_show" => {
            let ds = portal.dataset(p.required("id")?.trim())?;
            Ok(package(&ds, base))
        }
        "package_search" => package_search(state, p, base),
        "organization_list" => {
            let all = p.flag("all_fields", false)?;
            let mut orgs = portal.organizations();
            orgs.sort_by(|a, b| a.0.slug.cmp(&b.0.slug));
            let (limit, offset) = (p.int("limit", 1000, 1000)?, p.int("offset", 0, usize::MAX)?);
            let orgs = orgs.into_iter().skip(offset).take(limit);
            Ok(if all {
                json!(orgs.map(|(o, n)| organization(&o, n)).collect::<Vec<_>>())
            } else {
                json!(orgs.map(|(o, _)| o.slug).collect::<Vec<_>>())
            })
        }
        "organization_show" => {
            let id = p.required("id")?;
            let (org, n) = portal
                .organizations()
                .into_iter()
                .find(|(o, _)| o.slug == id.trim() || o.id.to_string() == id.trim())
                .ok_or_else(|| CkanError::NotFound(format!("organization {id:?}")))?;
            let mut v = organization(&org, n);
            if p.flag("include_datasets", false)? {
                let mut ds: Vec<Value> = portal
                    .datasets()
                    .iter()
                    .filter(|d| d.org.id == org.id)
                    .take(1000)
                    .map(|d| package(d, base))
                    .collect();
                ds.truncate(1000);
                v["packages"] = json!(ds);
            }
            Ok(v)
        }
        "group_list" => {
            let all = p.flag("all_fields", false)?;
            let datasets = portal.datasets();
            let groups = TOPICS.iter().filter_map(|(slug, title, _)| {
                let n = datasets.iter().filter(|d| d.topic.0 == *slug).count();
                (n > 0).then(|| group(slug, title, n))
            });
            Ok(if all {
                json!(groups.collect::<Vec<_>>())
            } else {
                json!(groups.map(|g| g["name"].clone()).collect::<Vec<_>>())
            })
        }
        "group_show" => {
            let id = p.required("id")?;
            let (slug, title, _) = TOPICS
                .iter()
                .find(|(s, _, _)| *s == id.trim())
                .ok_or_else(|| CkanError::NotFound(format!("group {id:?}")))?;
            let n = portal.datasets().iter().filter(|d| d.topic.0 == *slug).count();
            Ok(group(slug, title, n))
        }
        "tag_list" => {
            let needle = p.text("query").unwrap_or_default();
            let mut tags: Vec<String> = portal
                .datasets()
                .iter()
                .flat_map(|d| d.entry.body.keywords.clone())
                .filter(|t| t.contains(needle.trim()))
                .collect();
            tags.sort();
            tags.dedup();
            Ok(if p.flag("all_fields", false)? {
                json!(tags.iter().map(|t| tag(t)).collect::<Vec<_>>())
            } else {
                json!(tags)
            })
        }
        "resource_show" => {
            let id = p.required("id")?;
            let ds = portal.dataset_of_table(id.trim())?;
            let (i, t) = ds
                .tables
                .iter()
                .enumerate()
                .find(|(_, t)| t.name == id.trim())
                .ok_or_else(|| CkanError::NotFound(format!("resource {id:?}")))?;
            Ok(resource(&ds, t, i, base))
        }
        "datastore_search" => datastore_search(state, caller, p, base).await,
        _ => Err(CkanError::BadRequest(format!("Bad request - Action name not known: {action}"))),
    }
}

fn ckan_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn organization(o: &tongshu_core::org::Organization, n: usize) -> Value {
    json!({
        "id": o.id.to_string(),
        "name": o.slug,
        "title": o.name,
        "display_name": o.name,
        "description": "",
        "image_url": "",
        "type": "organization",
        "is_organization": true,
        "state": "active",
        "approval_status": "approved",
        "package_count": n,
    })
}

fn group(slug: &str, title: &str, n: usize) -> Value {
    json!({
        "id": slug, "name": slug, "title": title, "display_name": title, "description": "",
        "image_url": "", "type": "group", "is_organization": false, "state": "active",
        "approval_status": "approved", "package_count": n,
    })
}

fn tag(t: &str) -> Value {
    json!({"id": t, "name": t, "display_name": t, "state": "active", "vocabulary_id": null})
}

fn resource(ds: &Dataset, t: &tongshu_library::TableRecord, position: usize, base: &str) -> Value {
    json!({
        "id": t.name,
        "package_id": ds.entry.id.to_string(),
        "name": if ds.tables.len() == 1 { ds.entry.body.name.clone() } else { format!("{} ({})", ds.entry.body.name, t.name) },
        "description": ds.entry.body.summary,
        "format": "CSV",
        "mimetype": "text/csv",
        "url": format!("{base}/api/v1/open/tables/{}/download?format=csv", t.name),
        "datastore_active": true,
        "state": "active",
        "position": position,
        "size": t.bytes,
        "created": ckan_time(ds.entry.created_at),
        "last_modified": ckan_time(t.updated_at),
        "metadata_modified": ckan_time(t.updated_at),
        "url_type": "datastore",
        "tongshu_rows": t.rows,
        "tongshu_version": t.version,
    })
}

/// A dataset in CKAN's package shape.
fn package(ds: &Dataset, base: &str) -> Value {
    let e = &ds.entry;
    let extras = [
        ("resource_code", e.code.as_str().to_owned()),
        ("classification", e.body.classification.code()),
        ("format", e.body.format.label().to_owned()),
        ("update_cycle", e.body.update_cycle.label().to_owned()),
        ("open_type", e.body.open.kind.label().to_owned()),
        ("open_condition", e.body.open.condition.clone().unwrap_or_default()),
        ("district", ds.district.clone()),
        ("district_code", e.district_code.clone()),
        ("provider_credit_code", e.org_credit_code.clone().unwrap_or_default()),
    ];
    json!({
        "id": e.id.to_string(),
        "name": ds.name,
        "title": e.body.name,
        "notes": e.body.summary,
        "type": "dataset",
        "state": "active",
        "private": false,
        "url": format!("{base}/datasets/{}", ds.name),
        "author": e.org_name,
        "maintainer": e.org_name,
        "license_id": "cc-by-4.0",
        "license_title": "知识共享署名 4.0 (CC BY 4.0)",
        "metadata_created": ckan_time(e.listed_at.unwrap_or(e.created_at)),
        "metadata_modified": ckan_time(e.updated_at),
        "owner_org": ds.org.id.to_string(),
        "organization": organization(&ds.org, 0),
        "groups": [group(ds.topic.0, ds.topic.1, 0)],
        "tags": e.body.keywords.iter().map(|t| tag(t)).collect::<Vec<_>>(),
        "num_tags": e.body.keywords.len(),
        "resources": ds.tables.iter().enumerate().map(|(i, t)| resource(ds, t, i, base)).collect::<Vec<_>>(),
        "num_resources": ds.tables.len(),
        "extras": extras.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    })
}

/// Splits `field:value` and `field:"quoted value"` terms (joined by spaces, `AND` or `+`)
/// into search filters; `ckan_field` names are the facet fields. Terms with other fields
/// are refused naming `param`; plain words are returned as text.
fn parse_terms(s: &str, param: &str) -> Result<(Vec<(String, String)>, String), CkanError> {
    let mut filters = Vec::new();
    let mut text = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (token, after) = match rest[..end].find(":\"") {
            // `field:"a quoted value"` may span spaces.
            Some(colon) => {
                let close = rest[colon + 2..]
                    .find('"')
                    .map(|i| colon + 2 + i + 1)
                    .ok_or_else(|| CkanError::invalid(param, "unclosed quote"))?;
                (&rest[..close], &rest[close..])
            }
            None => (&rest[..end], &rest[end..]),
        };
        rest = after.trim_start();
        let token = token.trim_start_matches('+');
        if token.is_empty() || token == "AND" || token == "*:*" {
            continue;
        }
        match token.split_once(':') {
            Some((field, value)) => {
                let value = value.trim_matches('"');
                let dim = FACET_FIELDS.iter().find(|(f, _)| *f == field).map(|(_, d)| *d).ok_or_else(|| {
                    CkanError::invalid(
                        param,
                        format!(
                            "unknown field {field:?}; use {}",
                            FACET_FIELDS.iter().map(|(f, _)| *f).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                if !value.is_empty() {
                    filters.push((dim.to_owned(), value.to_owned()));
                }
            }
            None => text.push(token),
        }
    }
    Ok((filters, text.join(" ")))
}

fn package_search(state: &AppState, p: &Params, base: &str) -> Result<Value, CkanError> {
    let (mut filters, text) = parse_terms(&p.text("q").unwrap_or_default(), "q")?;
    filters.extend(parse_terms(&p.text("fq").unwrap_or_default(), "fq")?.0);
    if let Some(list) = p.list("fq_list")? {
        for fq in list {
            filters.extend(parse_terms(&fq, "fq_list")?.0);
        }
    }
    let facet_fields = p.list("facet.field")?.unwrap_or_default();
    let mut dims = Vec::new();
    for f in &facet_fields {
        let dim = FACET_FIELDS
            .iter()
            .find(|(name, _)| name == f)
            .map(|(_, d)| *d)
            .ok_or_else(|| CkanError::invalid("facet.field", format!("unknown facet field {f:?}")))?;
        dims.push(dim.to_owned());
    }
    let sort_text = p.text("sort").unwrap_or_else(|| "score desc, metadata_modified desc".into());
    let sort = match sort_text.split(',').next().unwrap_or("").trim() {
        "score desc" | "" => Sort::Relevance,
        "metadata_modified desc" => Sort::Newest,
        "views_recent desc" | "downloads desc" => Sort::Downloads,
        "api_calls desc" => Sort::Calls,
        other => {
            return Err(CkanError::invalid(
                "sort",
                format!(
                    "cannot sort by {other:?}; use score desc, metadata_modified desc, views_recent desc or api_calls desc"
                ),
            ));
        }
    };
    let rows = p.int("rows", 10, MAX_ROWS)?;
    let start = p.int("start", 0, 1_000_000)?;
    let facet_limit = p.int("facet.limit", 50, 1000)?;
    let q = SearchQuery { text, filters, facets: dims.clone(), sort, offset: start, limit: rows };
    let found = state.portal.search(&q)?;
    let mut search_facets = Map::new();
    let mut facets = Map::new();
    let datasets = state.portal.datasets();
    for (field, dim) in facet_fields.iter().zip(&dims) {
        let values = found.results.facets.get(dim).cloned().unwrap_or_default();
        let display = |v: &str| -> String {
            match dim.as_str() {
                "organization" => datasets.iter().find(|d| d.org.slug == v).map(|d| d.org.name.clone()),
                "topic" => TOPICS.iter().find(|(s, _, _)| *s == v).map(|(_, t, _)| (*t).to_owned()),
                "open" => tongshu_core::catalog::OpenType::parse(v).map(|o| o.label().to_owned()),
                "cycle" => tongshu_core::catalog::UpdateCycle::parse(v).map(|c| c.label().to_owned()),
                _ => None,
            }
            .unwrap_or_else(|| v.to_owned())
        };
        let items: Vec<Value> = values
            .iter()
            .take(facet_limit)
            .map(|(v, n)| json!({"name": v, "display_name": display(v), "count": n}))
            .collect();
        facets.insert(field.clone(), Value::Object(values.iter().map(|(v, n)| (v.clone(), json!(n))).collect()));
        search_facets.insert(field.clone(), json!({"title": field, "items": items}));
    }
    Ok(json!({
        "count": found.results.total,
        "sort": sort_text,
        "results": found.datasets.iter().map(|d| package(d, base)).collect::<Vec<_>>(),
        "facets": facets,
        "search_facets": search_facets,
        "tongshu_relaxed": found.results.relaxed,
        "tongshu_highlights": found.results.hits.iter().map(|h| json!({"id": h.id.to_string(), "title": h.title_html, "notes": h.summary_html})).collect::<Vec<_>>(),
    }))
}

fn ckan_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Text => "text",
        ColumnType::Integer => "int",
        ColumnType::Number => "float",
        ColumnType::Date => "date",
        ColumnType::DateTime => "timestamp",
        ColumnType::Boolean => "bool",
        ColumnType::Decimal { .. } => "numeric",
    }
}

async fn datastore_search(state: &AppState, caller: &Caller, p: &Params, base: &str) -> Result<Value, CkanError> {
    let resource_id = p.required("resource_id")?.trim().to_owned();
    let limit = p.int("limit", 100, MAX_RECORDS)?;
    let offset = p.int("offset", 0, usize::MAX / 2)?;
    let mut equals = Vec::new();
    let filters = match p.0.get("filters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(Value::String(s)) if s.trim().is_empty() => Map::new(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => return Err(CkanError::invalid("filters", "Must be a JSON object")),
        },
        Some(_) => return Err(CkanError::invalid("filters", "Must be a JSON object")),
    };
    for (field, v) in filters {
        let one = |v: &Value| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Null => Ok(String::new()),
            _ => Err(CkanError::invalid("filters", format!("the value of {field:?} must be text, a number or a list"))),
        };
        let values = match &v {
            Value::Array(a) => a.iter().map(one).collect::<Result<Vec<_>, _>>()?,
            v => vec![one(v)?],
        };
        equals.push((field, values));
    }
    let text = match p.0.get("q") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(CkanError::invalid("q", "full-text search per field is not supported; give text")),
    };
    let sort = match p.text("sort") {
        None => vec![],
        Some(s) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| {
                let t = t.trim_matches('"');
                match t.rsplit_once(' ') {
                    Some((f, dir)) if dir.eq_ignore_ascii_case("desc") => {
                        Ok((f.trim().trim_matches('"').to_owned(), true))
                    }
                    Some((f, dir)) if dir.eq_ignore_ascii_case("asc") => {
                        Ok((f.trim().trim_matches('"').to_owned(), false))
                    }
                    _ => Ok((t.to_owned(), false)),
                }
            })
            .collect::<Result<Vec<_>, CkanError>>()?,
    };
    let records_format = p.text("records_format").unwrap_or_else(|| "objects".into());
    if !matches!(records_format.as_str(), "objects" | "lists" | "csv" | "tsv") {
        return Err(CkanError::invalid("records_format", "use objects, lists, csv or tsv"));
    }
    let include_total = p.flag("include_total", true)?;
    let q = RowQuery {
        table: resource_id.clone(),
        columns: p.list("fields")?,
        equals,
        text,
        sort,
        limit,
        offset,
        distinct: p.flag("distinct", false)?,
        total: include_total,
        ..Default::default()
    };
    let (ds, page) = state.portal.rows(&q, caller.principal.as_ref()).await.map_err(|e| match e {
        PortalError::Invalid(m) => CkanError::invalid("filters", m),
        e => e.into(),
    })?;
    state.portal.count_usage(&ds.name, UsageKind::Call, caller.token_id(), 1);
    let objects = crate::http::rows::json_objects(&page.batches).map_err(|e| CkanError::Internal(e.message))?;
    let names: Vec<&str> = page.fields.iter().map(|(n, _)| n.as_str()).collect();
    let records = match records_format.as_str() {
        "objects" => json!(objects),
        "lists" => {
            json!(objects.iter().map(|o| names.iter().map(|n| o[*n].clone()).collect::<Vec<_>>()).collect::<Vec<_>>())
        }
        sep => {
            let sep = if sep == "csv" { b',' } else { b'\t' };
            let mut w = csv_writer(sep);
            for o in &objects {
                let cells: Vec<String> = names
                    .iter()
                    .map(|n| match &o[*n] {
                        Value::Null => String::new(),
                        Value::String(s) => s.clone(),
                        v => v.to_string(),
                    })
                    .collect();
                w.write_record(&cells).map_err(|e| CkanError::Internal(e.to_string()))?;
            }
            json!(
                String::from_utf8_lossy(&w.into_inner().map_err(|e| CkanError::Internal(e.to_string()))?).into_owned()
            )
        }
    };
    // The links repeat every parameter of this call (filters, q, fields, sort, ...) but the
    // offset, so that a client following `next` pages through the same rows.
    let link = |off: usize| {
        let mut u = form_urlencoded::Serializer::new(String::new());
        u.append_pair("resource_id", &resource_id);
        for (k, v) in &p.0 {
            if matches!(k.as_str(), "resource_id" | "offset" | "limit") {
                continue;
            }
            match v {
                Value::String(s) => u.append_pair(k, s),
                Value::Null => continue,
                v => u.append_pair(k, &v.to_string()),
            };
        }
        if off > 0 {
            u.append_pair("offset", &off.to_string());
        }
        if limit != 100 {
            u.append_pair("limit", &limit.to_string());
        }
        format!("/api/3/action/datastore_search?{}", u.finish())
    };
    let _ = base;
    let mut result = json!({
        "resource_id": resource_id,
        "fields": page.fields.iter().map(|(n, t)| json!({"id": n, "type": ckan_type(*t)})).collect::<Vec<_>>(),
        "records": records,
        "records_format": records_format,
        "limit": limit,
        "offset": offset,
        "include_total": include_total,
        "_links": {"start": link(0), "next": link(offset + limit)},
    });
    if let Some(total) = page.total {
        result["total"] = json!(total);
        result["total_was_estimated"] = json!(false);
    }
    Ok(result)
}

fn csv_writer(sep: u8) -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().delimiter(sep).has_headers(false).from_writer(Vec::new())
}
