//! Reports as files: a round's summary as an XLSX workbook (every project's totals by kind
//! of evaluation, the final total and grade, each dimension, and a chart of the totals).
//! The printable HTML reports are the web's pages of the same data.

use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, XlsxError};

use crate::evaluation::{KINDS, RoundReport};
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
