//! A dataset's quality score: uData's nine metadata checks and open objections (数据异议)
//! against its tables, each passed or not with a
//! reason a provider can act on. The score is the share of checks passed, 0 to 100.

use tongshu_core::catalog::{DataType, Freshness, OpenType, ResourceFormat};

use crate::Dataset;

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Check {
    /// Stable key (`license`, `temporal`, ...).
    pub key: &'static str,
    /// The check's name as users read it.
    pub label: &'static str,
    pub passed: bool,
    /// Why, in a few words.
    pub detail: String,
    /// The same in English, for English pages.
    pub detail_en: String,
}

/// A dataset's checks and score.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Quality {
    pub score: u32,
    pub checks: Vec<Check>,
}

/// Summaries shorter than this (in characters) fail the description check.
pub const MIN_SUMMARY: usize = 60;

/// Scores `ds` as of `now`, with `open_objections` unanswered objections to its tables.
pub fn quality(ds: &Dataset, now: time::OffsetDateTime, open_objections: i64) -> Quality {
    let e = &ds.entry.body;
    let check =
        |key, label, passed, (detail, detail_en): (String, String)| Check { key, label, passed, detail, detail_en };
    let summary_len = e.summary.chars().count();
    let dated = e.items.iter().filter(|i| matches!(i.data_type, DataType::Date | DataType::DateTime)).count();
    let rows: i64 = ds.tables.iter().map(|t| t.rows).sum();
    let last_fed = ds.tables.iter().map(|t| t.updated_at).max();
    let open_format = !ds.tables.is_empty()
        || matches!(e.format, ResourceFormat::Database | ResourceFormat::Spreadsheet | ResourceFormat::SelfDescribing);
    let undocumented: Vec<&str> =
        e.items.iter().filter(|i| i.description.trim().is_empty()).map(|i| i.name.as_str()).collect();
    let checks = vec![
        match e.open.kind {
            OpenType::Open => check("license", "开放许可", true, ("CC BY 4.0".into(), "CC BY 4.0".into())),
            _ => match e.open.condition.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
                Some(c) => check("license", "开放许可", true, (format!("使用条件：{c}"), format!("conditions: {c}"))),
                None => check(
                    "license",
                    "开放许可",
                    false,
                    ("有条件开放但未写明使用条件".into(), "open on conditions that are not written down".into()),
                ),
            },
        },
        check(
            "temporal",
            "时间覆盖",
            dated > 0,
            if dated > 0 {
                (format!("{dated} 个日期型信息项"), format!("{dated} date items"))
            } else {
                ("没有日期型信息项".into(), "no date items".into())
            },
        ),
        check(
            "spatial",
            "空间覆盖",
            !ds.district.is_empty(),
            (format!("{}（{}）", ds.district, ds.entry.district_code), ds.entry.district_code.clone()),
        ),
        check("frequency", "更新频率", true, (e.update_cycle.label().to_owned(), e.update_cycle.as_str().to_owned())),
        match last_fed.map(|t| e.update_cycle.freshness(t, now)) {
            Some(Freshness::Fresh { days_since }) => check(
                "on_time",
                "按时更新",
                true,
                (format!("{days_since} 天前更新"), format!("fed {days_since} days ago")),
            ),
            Some(Freshness::Overdue { days_since, allowed_days }) => check(
                "on_time",
                "按时更新",
                false,
                (
                    format!("{days_since} 天未更新（应在 {allowed_days} 天内）"),
                    format!("not fed for {days_since} days (due within {allowed_days})"),
                ),
            ),
            Some(Freshness::Behind { .. }) => {
                check("on_time", "按时更新", false, ("实时同步落后".into(), "real-time feed behind".into()))
            }
            None => check("on_time", "按时更新", false, ("尚无数据".into(), "no data yet".into())),
        },
        check(
            "description",
            "描述充分",
            summary_len >= MIN_SUMMARY,
            (
                format!("摘要 {summary_len} 字（至少 {MIN_SUMMARY} 字）"),
                format!("summary of {summary_len} characters (at least {MIN_SUMMARY})"),
            ),
        ),
        check(
            "open_format",
            "开放格式",
            open_format,
            if open_format {
                ("CSV、JSON 等".into(), "CSV, JSON and more".into())
            } else {
                ("非机器可读格式".into(), "not machine-readable".into())
            },
        ),
        check(
            "available",
            "资源可用",
            rows > 0,
            if rows > 0 {
                (format!("{rows} 条记录可下载"), format!("{rows} records to download"))
            } else {
                ("没有可下载的数据".into(), "nothing to download".into())
            },
        ),
        check(
            "documentation",
            "信息项说明",
            !e.items.is_empty() && undocumented.is_empty(),
            match (e.items.len(), undocumented.len()) {
                (0, _) => ("没有信息项".into(), "no items".into()),
                (n, 0) => (format!("{n} 个信息项均有说明"), format!("all {n} items described")),
                (_, k) => (
                    format!("{k} 个信息项缺少说明：{}", undocumented.join("、")),
                    format!("{k} items undescribed: {}", undocumented.join(", ")),
                ),
            },
        ),
        check(
            "objections",
            "数据异议",
            open_objections == 0,
            if open_objections == 0 {
                ("没有待处理的数据异议".into(), "no open objections".into())
            } else {
                (format!("{open_objections} 条数据异议待处理"), format!("{open_objections} open objections"))
            },
        ),
    ];
    let passed = checks.iter().filter(|c| c.passed).count() as u32;
    Quality { score: (passed * 100 + checks.len() as u32 / 2) / checks.len() as u32, checks }
}
