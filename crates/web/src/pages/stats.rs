//! `GET /stats`: the open portal's statistics page. Charts are SVG drawn here, so they
//! render without scripts or anything from the internet.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{base, error_page, render};
use crate::AppState;
use crate::caller::Caller;
use crate::error::ApiError;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A horizontal bar chart of `(label, value)`, largest first as given.
pub fn bars(title: &str, items: &[(String, f64)]) -> String {
    let max = items.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
    let (label_w, bar_w, row_h) = (170.0, 480.0, 22.0);
    let height = row_h * items.len() as f64 + 10.0;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {} {height}" xmlns="http://www.w3.org/2000/svg">"#,
        escape(title),
        label_w + bar_w + 90.0
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let w = (v / max * bar_w).max(1.0);
        let short: String = label.chars().take(12).collect();
        svg += &format!(
            r#"<text x="{}" y="{}" text-anchor="end">{}</text><rect class="bar" x="{label_w}" y="{y}" width="{w:.1}" height="{}"><title>{}: {v}</title></rect><text x="{}" y="{}">{}</text>"#,
            label_w - 6.0,
            y + 14.0,
            escape(&short),
            row_h - 6.0,
            escape(label),
            label_w + w + 4.0,
            y + 14.0,
            v
        );
    }
    svg + "</svg>"
}

/// A daily column chart of two series (downloads and calls).
pub fn columns(title: &str, days: &[(String, u64, u64)]) -> String {
    let max = days.iter().map(|(_, a, b)| (*a).max(*b)).max().unwrap_or(0).max(1) as f64;
    let (h, col_w, left) = (160.0, 22.0, 40.0);
    let width = left + col_w * days.len().max(1) as f64 + 10.0;
    let mut svg = format!(
        r#"<svg class="chart" role="img" aria-label="{}" viewBox="0 0 {width} {}" xmlns="http://www.w3.org/2000/svg"><line class="axis" x1="{left}" y1="{h}" x2="{width}" y2="{h}"/><text x="0" y="12">{max}</text>"#,
        escape(title),
        h + 30.0
    );
    for (i, (day, downloads, calls)) in days.iter().enumerate() {
        let x = left + i as f64 * col_w;
        for (j, (v, class)) in [(*downloads, "bar2"), (*calls, "bar")].into_iter().enumerate() {
            let bh = v as f64 / max * (h - 20.0);
            svg += &format!(
                r#"<rect class="{class}" x="{:.1}" y="{:.1}" width="9" height="{bh:.1}"><title>{day} {}: {v}</title></rect>"#,
                x + j as f64 * 10.0,
                h - bh,
                if class == "bar2" { "下载" } else { "调用" }
            );
        }
        if i % 5 == 0 {
            svg += &format!(r#"<text x="{x}" y="{}">{}</text>"#, h + 14.0, escape(day.get(5..).unwrap_or(day)));
        }
    }
    svg + "</svg>"
}

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
    let recorded: BTreeMap<String, (u64, u64)> = state
        .store
        .usage_by_day(&since.to_string(), None)
        .await?
        .into_iter()
        .map(|d| (d.day, (d.downloads, d.calls)))
        .collect();
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

#[cfg(test)]
mod tests {
    #[test]
    fn charts_escape_labels_and_scale_to_the_largest_value() {
        let svg = super::bars("t", &[("<script>".into(), 10.0), ("b".into(), 5.0)]);
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;"));
        assert!(svg.contains(r#"width="480.0""#) && svg.contains(r#"width="240.0""#), "{svg}");
    }
}
