//! Reports as files: a round's summary as an XLSX workbook (every project's totals by kind
//! of evaluation, the final total and grade, each dimension, and a chart of the totals).
//! The printable HTML reports are the web's pages of the same data.

use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, XlsxError};

use crate::evaluation::{KINDS, RoundReport};
use crate::lifecycle::ProjectDetail;
use crate::{ProjectsError, Result};

fn xlsx_err(e: XlsxError) -> ProjectsError {
    ProjectsError::Io(format!("xlsx: {e}"))
}

/// The round's report as an XLSX workbook.
pub fn round_xlsx(r: &RoundReport) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("汇总").map_err(xlsx_err)?;
    ws.write_string_with_format(0, 0, &r.round.name, &bold).map_err(xlsx_err)?;
    let mut header: Vec<String> = vec!["项目编号".into(), "项目名称".into()];
    header.extend(KINDS.iter().rev().map(|(_, l)| (*l).to_owned()));
    header.extend(["综合得分".into(), "等级".into()]);
    header.extend(r.tree.dimensions.iter().map(|d| format!("{}（{:.1}%）", d.name, d.weight * 100.0)));
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(2, c as u16, h, &bold).map_err(xlsx_err)?;
    }
    let total_col = 2 + KINDS.len() as u16;
    for (i, row) in r.rows.iter().enumerate() {
        let y = 3 + i as u32;
        ws.write_string(y, 0, &row.code).map_err(xlsx_err)?;
        ws.write_string(y, 1, &row.name).map_err(xlsx_err)?;
        for (k, (kind, _)) in KINDS.iter().rev().enumerate() {
            if let Some(t) = row.totals.get(*kind) {
                ws.write_number(y, 2 + k as u16, *t).map_err(xlsx_err)?;
            }
        }
        if let Some(t) = row.total {
            ws.write_number(y, total_col, t).map_err(xlsx_err)?;
        }
        ws.write_string(y, total_col + 1, row.grade.as_deref().unwrap_or("")).map_err(xlsx_err)?;
        for (k, (_, s)) in row.by_dimension.iter().enumerate() {
            ws.write_number(y, total_col + 2 + k as u16, *s).map_err(xlsx_err)?;
        }
    }
    let last = 2 + r.rows.len() as u32;
    let summary = last + 2;
    ws.write_string_with_format(summary, 0, "评价项目数", &bold).map_err(xlsx_err)?;
    ws.write_number(summary, 1, r.evaluated as f64).map_err(xlsx_err)?;
    ws.write_string_with_format(summary + 1, 0, "现场评价", &bold).map_err(xlsx_err)?;
    ws.write_number(summary + 1, 1, r.on_site as f64).map_err(xlsx_err)?;
    ws.write_string_with_format(summary + 2, 0, "平均综合得分", &bold).map_err(xlsx_err)?;
    if let Some(a) = r.average {
        ws.write_number(summary + 2, 1, (a * 100.0).round() / 100.0).map_err(xlsx_err)?;
    }
    for (i, (grade, n)) in r.by_grade.iter().enumerate() {
        ws.write_string(summary + 3 + i as u32, 0, grade).map_err(xlsx_err)?;
        ws.write_number(summary + 3 + i as u32, 1, *n as f64).map_err(xlsx_err)?;
    }
    ws.set_column_width(1, 28).map_err(xlsx_err)?;
    if !r.rows.is_empty() {
        let mut chart = Chart::new(ChartType::Bar);
        chart.title().set_name("各项目综合得分");
        chart.add_series().set_categories(("汇总", 3, 1, last, 1)).set_values(("汇总", 3, total_col, last, total_col));
        chart.legend().set_hidden();
        ws.insert_chart(summary, 4, &chart).map_err(xlsx_err)?;
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

/// A project's report as an XLSX workbook: its record, milestones (with a chart of planned
/// against actual cost), payments, ratings and the whole history.
pub fn project_xlsx(d: &ProjectDetail) -> Result<Vec<u8>> {
    let p = &d.project;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("概况").map_err(xlsx_err)?;
    ws.write_string_with_format(0, 0, &p.name, &bold).map_err(xlsx_err)?;
    let rating = d.rating.rating.to_string();
    let score = d.review_score.map(|s| format!("{s:.1}")).unwrap_or_default();
    let rows: [(&str, String); 11] = [
        ("项目编号", p.code.clone()),
        ("年度", p.year.to_string()),
        ("阶段", d.stage_label.to_owned()),
        ("建设目标", p.purpose.clone()),
        ("预算（元）", p.budget.to_string()),
        ("资金来源", p.funding_source.clone()),
        ("已支付（元）", d.spent.to_string()),
        ("拟建系统", p.builds.join("、")),
        ("专家评审得分", score),
        ("风险等级", rating),
        ("风险说明", d.rating.reasons.join("；")),
    ];
    for (i, (k, v)) in rows.iter().enumerate() {
        ws.write_string_with_format(2 + i as u32, 0, *k, &bold).map_err(xlsx_err)?;
        ws.write_string(2 + i as u32, 1, v).map_err(xlsx_err)?;
    }
    ws.set_column_width(0, 16).map_err(xlsx_err)?;
    ws.set_column_width(1, 60).map_err(xlsx_err)?;

    let ms = wb.add_worksheet();
    ms.set_name("里程碑").map_err(xlsx_err)?;
    for (c, h) in ["里程碑", "计划日期", "预测日期", "实际日期", "计划投资（元）", "实际投资（元）", "基线调整次数"]
        .iter()
        .enumerate()
    {
        ms.write_string_with_format(0, c as u16, *h, &bold).map_err(xlsx_err)?;
    }
    for (i, m) in d.milestones.iter().enumerate() {
        let y = 1 + i as u32;
        ms.write_string(y, 0, &m.name).map_err(xlsx_err)?;
        ms.write_string(y, 1, &m.planned_on).map_err(xlsx_err)?;
        ms.write_string(y, 2, m.forecast_on.as_deref().unwrap_or("")).map_err(xlsx_err)?;
        ms.write_string(y, 3, m.actual_on.as_deref().unwrap_or("")).map_err(xlsx_err)?;
        ms.write_number(y, 4, m.planned_cost as f64).map_err(xlsx_err)?;
        if let Some(c) = m.actual_cost {
            ms.write_number(y, 5, c as f64).map_err(xlsx_err)?;
        }
        ms.write_number(y, 6, m.baseline as f64).map_err(xlsx_err)?;
    }
    if !d.milestones.is_empty() {
        let last = d.milestones.len() as u32;
        let mut chart = Chart::new(ChartType::Column);
        chart.title().set_name("里程碑投资：计划与实际");
        chart.add_series().set_name("计划").set_categories(("里程碑", 1, 0, last, 0)).set_values((
            "里程碑",
            1,
            4,
            last,
            4,
        ));
        chart.add_series().set_name("实际").set_categories(("里程碑", 1, 0, last, 0)).set_values((
            "里程碑",
            1,
            5,
            last,
            5,
        ));
        ms.insert_chart(last + 2, 0, &chart).map_err(xlsx_err)?;
    }

    let hs = wb.add_worksheet();
    hs.set_name("过程记录").map_err(xlsx_err)?;
    for (c, h) in ["时间", "操作", "从", "到", "操作人", "说明"].iter().enumerate() {
        hs.write_string_with_format(0, c as u16, *h, &bold).map_err(xlsx_err)?;
    }
    for (i, e) in d.events.iter().enumerate() {
        let y = 1 + i as u32;
        hs.write_string(y, 0, &e.at).map_err(xlsx_err)?;
        hs.write_string(y, 1, &e.action).map_err(xlsx_err)?;
        hs.write_string(y, 2, e.from_stage.as_deref().unwrap_or("")).map_err(xlsx_err)?;
        hs.write_string(y, 3, &e.to_stage).map_err(xlsx_err)?;
        hs.write_string(y, 4, &e.actor).map_err(xlsx_err)?;
        hs.write_string(y, 5, &e.comment).map_err(xlsx_err)?;
    }
    for (i, pay) in d.payments.iter().enumerate() {
        let y = d.events.len() as u32 + 3 + i as u32;
        hs.write_string(y, 0, &pay.paid_on).map_err(xlsx_err)?;
        hs.write_string(y, 1, "支付").map_err(xlsx_err)?;
        hs.write_number(y, 2, pay.amount as f64).map_err(xlsx_err)?;
        hs.write_string(y, 5, &pay.note).map_err(xlsx_err)?;
    }
    wb.save_to_buffer().map_err(xlsx_err)
}
