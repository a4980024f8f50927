//! `GET /stats`: the open portal's statistics page (charts from [`crate::http::charts`]).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::AppState;
use crate::http::caller::Caller;
use crate::http::charts::{bars, columns};
use crate::http::error::ApiError;
use crate::http::render::{base, error_page, render};

pub async fn stats(State(state): State<AppState>, caller: Caller) -> Response {
    match figures(&state).await {
        Ok(ctx_figures) => {
            let mut ctx = base(&caller, "stats", "统计");
            ctx.extend(ctx_figures);
            render(&state, StatusCode::OK, "stats.html", ctx)
        }
        Err(e) => error_page(&state, &caller, e),
    }
}

async fn figures(state: &AppState) -> Result<serde_json::Map<String, Value>, ApiError> {
    state.portal.refresh_if_due(std::time::Duration::from_secs(1)).await?;
    state.portal.flush_usage().await?;
    let datasets = state.portal.datasets();
    let mut by_org: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut by_district: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    let mut records = 0i64;
    let mut used: Vec<(u64, &str, &str)> = Vec::new();
    for d in &datasets {
        let rows: i64 = d.tables.iter().map(|t| t.rows).sum();
        records += rows;
        for (map, key) in [(&mut by_org, d.org.name.clone()), (&mut by_district, d.district.clone())] {
            let e = map.entry(key).or_default();
            e.0 += 1.0;
            e.1 += rows as f64;
        }
        let u = state.portal.usage_of(&d.name);
        if u.downloads + u.calls > 0 {
            used.push((u.downloads + u.calls, &d.name, &d.entry.body.name));
        }
    }
    used.sort_by_key(|u| std::cmp::Reverse(u.0));
    let top = |m: &BTreeMap<String, (f64, f64)>, pick: fn(&(f64, f64)) -> f64| -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = m.iter().map(|(k, x)| (k.clone(), pick(x))).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.truncate(15);
        v
    };
    let since = (tongshu_core::now() - time::Duration::days(29)).date();
    let recorded: BTreeMap<String, (u64, u64)> =
        state.portal.usage_by_day(None).await?.into_iter().map(|d| (d.day, (d.downloads, d.calls))).collect();
    let days: Vec<(String, u64, u64)> = (0..30)
        .map(|i| {
            let day = (since + time::Duration::days(i)).to_string();
            let (a, b) = recorded.get(&day).copied().unwrap_or_default();
            (day, a, b)
        })
        .collect();
    let (downloads, calls) = days.iter().fold((0, 0), |acc, d| (acc.0 + d.1, acc.1 + d.2));
    let mut m = serde_json::Map::new();
    m.insert(
        "figures".into(),
        json!({
            "datasets": datasets.len(), "records": records, "orgs": by_org.len(),
            "apis": datasets.iter().map(|d| d.tables.len()).sum::<usize>(),
            "downloads": downloads, "calls": calls,
        }),
    );
    m.insert("datasets_by_org".into(), bars("各部门开放数据集数量", &top(&by_org, |x| x.0)).into());
    m.insert("records_by_org".into(), bars("各部门开放数据记录数", &top(&by_org, |x| x.1)).into());
    m.insert("datasets_by_district".into(), bars("各区县开放数据集数量", &top(&by_district, |x| x.0)).into());
    m.insert("usage_by_day".into(), columns("近 30 天下载与接口调用", &days).into());
    m.insert(
        "most_used".into(),
        json!(
            used.iter()
                .take(10)
                .map(|(n, name, title)| json!({"name": name, "title": title, "n": n}))
                .collect::<Vec<_>>()
        ),
    );
    Ok(m)
}
